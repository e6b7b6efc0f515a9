// The segment builder's thread (see segmentBuilder.ts): merges the segments it is sent.
import { parentPort } from 'node:worker_threads';
import { mergeSegments } from './projectionTree.js';
import type { BuildAnswer, BuildRequest } from './segmentBuilder.js';

parentPort!.on('message', ({ job, inputs, serial }: BuildRequest) => {
  let answer: BuildAnswer;
  try {
    answer = { job, shape: mergeSegments(inputs, serial) };
  } catch (error) {
    answer = { job, failure: (error as Error).message };
  }
  parentPort!.postMessage(answer);
});
