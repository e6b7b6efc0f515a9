// A thread that builds merged segments of the index's trees (projectionTree.ts), so that a merge
// of large segments (tens of milliseconds at 10^6 records) does not hold up the memory's thread:
// the tree keeps searching the two segments until the merged one replaces them. Segments live in
// shared memories, so a merge's inputs and result pass between the threads without a copy.
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/moduleWorker.js';
import type { SegmentShape } from './projectionTree.js';

/** A merge for the builder's thread. */
export interface BuildRequest {
  job: number;
  inputs: SegmentShape[];
  serial: number;
}

/** Its answer: the merged segment, or why there is none. */
export type BuildAnswer = { job: number; shape: SegmentShape } | { job: number; failure: string };

export class SegmentBuilder {
  private readonly worker: Worker;
  private nextJob = 0;
  private readonly pending = new Map<number, { resolve: (shape: SegmentShape) => void; reject: (error: Error) => void }>();
  private closed = false;

  constructor() {
    this.worker = spawnModuleWorker(import.meta.url, 'segmentBuilderWorker', null);
    this.worker.on('message', (answer: BuildAnswer) => {
      const waiting = this.pending.get(answer.job);
      if (!waiting) return;
      this.pending.delete(answer.job);
      if ('shape' in answer) waiting.resolve(answer.shape);
      else waiting.reject(new Error(`the segment builder failed: ${answer.failure}`));
      if (this.pending.size === 0) this.worker.unref();
    });
    let failure = '';
    this.worker.on('error', (error) => (failure = `: ${error.message}`));
    this.worker.on('exit', () => {
      this.closed = true;
      for (const waiting of this.pending.values()) waiting.reject(new Error(`the segment builder's thread stopped${failure}`));
      this.pending.clear();
    });
    // Idle, it must not keep the process alive; a merge under way does.
    this.worker.unref();
  }

  /** The merged segment over `inputs` (segments of one tree, in their order), as segment number `serial`. */
  build(inputs: SegmentShape[], serial: number): Promise<SegmentShape> {
    if (this.closed) return Promise.reject(new Error('the segment builder is closed'));
    const job = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ job, inputs, serial } satisfies BuildRequest);
    });
  }

  /** Stops the thread; merges under way are dropped (their trees keep the segments they had). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
  }
}
