// The segment builder (worker thread; see segmentBuilder.ts): builds each merge it is sent from
// its sources' shared memories (and, after a replay, a bulk load's buffer) and posts the new
// segment's shape back.
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { PointBuffer, Segment, buildSegment } from './projectionTree.js';
import type { MergeReply, MergeRequest } from './segmentBuilder.js';
import { ReleasedMemories, lowerPriority } from '../util/workerThread.js';

/** The lowest priority, as the search helper's: merges run on CPU time that decisions and the engine do not want. */
const BUILDER_NICE = 19;

// The sources' memories stay allocated while this thread holds them.
const released = new ReleasedMemories(64 * 2 ** 20);
const port = parentPort!;
lowerPriority(BUILDER_NICE);
port.on('message', ({ id, leadDims, W, serial, sources }: MergeRequest & { id: number }) => {
  let reply: MergeReply;
  try {
    const started = performance.now();
    const sets = sources.map((source) => ('memory' in source ? new Segment(source, false) : PointBuffer.fromShape(source)));
    const shape = buildSegment(leadDims, W, sets, serial);
    reply = { id, shape, ms: performance.now() - started };
  } catch (error) {
    reply = { id, error: (error as Error).message };
  }
  port.postMessage(reply);
  // A buffer's code memory is the new segment's now.
  for (const source of sources) if ('memory' in source) released.release(source.memory.buffer.byteLength);
  released.collectIfDue();
});
