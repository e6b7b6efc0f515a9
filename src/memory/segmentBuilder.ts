// Merges of an online index's segments on a thread of their own (segmentBuilderWorker.ts). A
// merge of a large tree's segments takes hundreds of milliseconds at 10^6 records; on the
// memory's thread, every decision queued behind it waited that long. The thread builds the merged
// segment in a new shared memory from its sources' memories (immutable once built) and posts its
// shape back; the tree swaps it in for its sources between decisions (projectionTree.ts).
// Soundness does not depend on it: until the swap the sources are searched, and they hold the
// same points. After a replay it also builds a share of the trees (RegionIndex.buildTogether).
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/moduleWorker.js';
import type { BufferShape, SegmentShape } from './projectionTree.js';

/**
 * A merge of `sources` (shapes of segments with leadDims and W, and, last, a bulk load's buffer
 * when a tree is built after a replay) into segment number `serial`.
 */
export interface MergeRequest {
  leadDims: number;
  W: number;
  serial: number;
  sources: (SegmentShape | BufferShape)[];
}

export type MergeReply = { id: number; shape: SegmentShape; ms: number } | { id: number; error: string };

/** Merges (and builds after a replay) made, and the time they took on the builder's thread. */
export interface MergeCounts {
  merges: number;
  totalMs: number;
  maxMs: number;
}

export class SegmentBuilder {
  private readonly worker: Worker;
  private next = 0;
  /** Callbacks of the merges posted and not answered; at most one per tree (the trees' own bound). */
  private readonly waiting = new Map<number, (shape: SegmentShape | null) => void>();
  private idleWaiters: (() => void)[] = [];
  /** False once closed, or once the thread failed: trees then merge on their own thread. */
  alive = true;
  readonly counts: MergeCounts = { merges: 0, totalMs: 0, maxMs: 0 };

  constructor() {
    this.worker = spawnModuleWorker(import.meta.url, 'segmentBuilderWorker', null);
    this.worker.on('message', (reply: MergeReply) => this.answer(reply));
    let failure = '';
    this.worker.on('error', (error) => (failure = `: ${error.message}`));
    this.worker.on('exit', () => {
      const closed = !this.alive;
      this.alive = false;
      if (!closed) process.emitWarning(`the memory's segment builder thread stopped${failure}; merges go on in the memory's thread`, 'SegmentBuilderWarning');
      for (const done of this.waiting.values()) done(null);
      this.waiting.clear();
      this.settle();
    });
    // Only merges in flight keep the process alive (see settled()).
    this.worker.unref();
  }

  /**
   * Builds the merge on the builder's thread; `done` gets the new segment's shape, or null if
   * the builder stopped. `transfer`: array buffers of the request that move there; `awaited`:
   * someone waits for it (a build after a replay), so it keeps the process alive, as settled() does.
   */
  merge(
    request: MergeRequest, done: (shape: SegmentShape | null) => void,
    { transfer = [], awaited = false }: { transfer?: ArrayBuffer[]; awaited?: boolean } = {},
  ): void {
    if (!this.alive) {
      done(null);
      return;
    }
    const id = this.next++;
    this.waiting.set(id, done);
    if (awaited) this.worker.ref();
    this.worker.postMessage({ id, ...request }, transfer);
  }

  /** Merges in flight. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Resolves once no merge is in flight (each finished merge may start the next one, which this waits for too). */
  settled(): Promise<void> {
    if (this.waiting.size === 0) return Promise.resolve();
    this.worker.ref();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the thread; merges in flight are dropped (their sources stay). */
  close(): void {
    if (!this.alive) return;
    this.alive = false;
    void this.worker.terminate();
  }

  private answer(reply: MergeReply): void {
    const done = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    if (!this.alive) {
      done?.(null); // closed: a merge that arrives late is dropped, as close() says
    } else if ('error' in reply) {
      // A merge that failed there fails here too: the memory's thread then reports it.
      process.emitWarning(`a segment merge failed on the builder's thread: ${reply.error}; merges go on in the memory's thread`, 'SegmentBuilderWarning');
      this.close();
      done?.(null);
    } else {
      this.counts.merges++;
      this.counts.totalMs += reply.ms;
      this.counts.maxMs = Math.max(this.counts.maxMs, reply.ms);
      done?.(reply.shape);
    }
    this.settle();
  }

  private settle(): void {
    if (this.waiting.size > 0) return;
    this.worker.unref();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
