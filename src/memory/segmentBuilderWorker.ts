// The segment builder's thread (see segmentBuilder.ts): merges the segments it is sent.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { mergeSegments } from './projectionTree.js';
import type { BuildAnswer, BuildRequest } from './segmentBuilder.js';

// The lowest priority: merges must not take the cores from decisions (the memory's thread and the
// search helper). Linux gives a thread its own nice value, so this one alone is lowered.
try {
  setPriority(19);
} catch {
  // Not allowed here: merges then compete as equals.
}

parentPort!.on('message', ({ job, inputs, serial }: BuildRequest) => {
  let answer: BuildAnswer;
  try {
    answer = { job, shape: mergeSegments(inputs, serial) };
  } catch (error) {
    answer = { job, failure: (error as Error).message };
  }
  parentPort!.postMessage(answer);
});
