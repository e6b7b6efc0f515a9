// A second thread for the index's searches. One decision searches many trees (one per answer and
// band of radius, regionIndex.ts); the memory's thread and a helper thread take them from the two
// ends of one shared list, each searching the segments of a tree (its open one too) in its own
// scratch of the segments' shared memories (projectionTree.ts). The memory's thread alone filters
// candidates and decides: the helper only returns ids.
//
// Soundness does not depend on the helper: a tree's radius only falls during a search, so ids
// found with the radius of any earlier moment are a superset of those due; a task the helper has
// not finished after STEAL_AFTER_MS (its thread descheduled, say) is taken back and searched here,
// and the helper's late answer is dropped (its status word no longer matches); every status
// word carries the generation of its search, so nothing of an earlier search is ever read.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/moduleWorker.js';
import type { SegmentQuery, SegmentShape } from './projectionTree.js';
import {
  DONE, GENERATION, GENERATION_MAX, PENDING, REGISTERED, SIGNAL, STOLEN, STOP, SharedSearchState, TAKE, TAKE_FRONT, TASKS_MAX, backOf,
  frontOf, radiusBits, spinWhile, statusWord, takeWord, type SegmentsMessage,
} from './searchHelperProtocol.js';

/** How long the memory's thread waits for a task the helper holds before searching it itself. */
const STEAL_AFTER_MS = 0.3;

export class SearchHelper {
  private readonly state: SharedSearchState;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private generation = 0;
  private registered = 0;
  private closed = false;
  /** False once closed, or once the thread failed or exited: searches then run on one thread. */
  alive = true;
  private readonly started: Promise<void>;
  /** Tasks the helper answered, and tasks this thread took back (or the helper could not answer). */
  answered = 0;
  takenBack = 0;

  /** For queries of `leadDims` float32 leading coordinates and W codes (see TreeQuery). */
  constructor(leadDims: number, W: number) {
    const buffers = SharedSearchState.allocate(leadDims, W);
    this.state = new SharedSearchState(buffers);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = spawnModuleWorker(import.meta.url, 'searchHelperWorker', { buffers, port: port2 }, [port2]);
    this.started = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => reject(new Error('the search helper thread exited')));
    });
    // A helper that fails leaves every task to this thread: the searches it held are taken back.
    this.started.catch(() => {});
    let failure = '';
    this.worker.on('error', (error) => (failure = `: ${error.message}`));
    this.worker.on('exit', () => {
      this.alive = false;
      if (!this.closed) process.emitWarning(`the memory's search helper thread stopped${failure}; searches go on in one thread`, 'SearchHelperWarning');
    });
    // It waits on shared memory, not on the event loop: it must not keep the process alive.
    this.worker.unref();
    this.port.unref();
  }

  /** Resolves once the helper thread takes tasks (until then this thread takes them all). */
  async ready(): Promise<void> {
    this.worker.ref();
    try {
      await this.started;
    } finally {
      this.worker.unref();
    }
  }

  /**
   * Tree `tree` now has these segments. Called between searches (a seal or a merge): the helper
   * is woken to take them in now, not at the start of the next search, which would wait for it.
   */
  register(tree: number, shapes: SegmentShape[]): void {
    if (this.closed) return;
    const message: SegmentsMessage = { tree, shapes };
    this.port.postMessage(message);
    this.registered++;
    const { control } = this.state;
    Atomics.store(control, REGISTERED, this.registered);
    Atomics.notify(control, SIGNAL);
  }

  /**
   * Starts a search: `trees[t]` searched with `radii[t]` (null: not searched) around `query`.
   * Returns how many of them are offered (at most TASKS_MAX); take() and collect() hand them out.
   */
  begin(query: SegmentQuery, trees: readonly number[], radii: readonly (number | null)[]): number {
    const { control, status } = this.state;
    const generation = (this.generation = (this.generation % GENERATION_MAX) + 1);
    const count = Math.min(trees.length, TASKS_MAX);
    // Status words first: a helper still busy with an older search can then no longer publish.
    for (let t = 0; t < count; t++) Atomics.store(status, t, statusWord(generation, PENDING));
    for (let t = 0; t < count; t++) {
      this.state.trees[t] = trees[t];
      Atomics.store(this.state.radii, t, radiusBits(radii[t]));
    }
    this.state.setQuery(query);
    Atomics.store(control, GENERATION, generation);
    Atomics.store(control, REGISTERED, this.registered);
    Atomics.store(control, TAKE, takeWord(generation, 0, count));
    Atomics.store(control, SIGNAL, generation);
    Atomics.notify(control, SIGNAL);
    return count;
  }

  /** The first task not yet taken (for this thread), or -1 when every offered one is taken. */
  take(): number {
    const { control } = this.state;
    for (;;) {
      const word = Atomics.load(control, TAKE);
      const front = frontOf(word);
      if (front >= backOf(word)) return -1;
      // Fails only when the helper took a task meanwhile: at most count tries.
      if (Atomics.compareExchange(control, TAKE, word, word + TAKE_FRONT) === word) return front;
    }
  }

  /** Lowers the radius of a task not yet taken (radii only fall; null: no longer searched). */
  lower(task: number, radius: number | null): void {
    Atomics.store(this.state.radii, task, radiusBits(radius));
  }

  /** The tasks not yet taken: [front, back). */
  untaken(): { front: number; back: number } {
    const word = Atomics.load(this.state.control, TAKE);
    return { front: frontOf(word), back: Math.max(frontOf(word), backOf(word)) };
  }

  /** Whether the helper has answered a task it took (without waiting). */
  hasAnswered(task: number): boolean {
    return Atomics.load(this.state.status, task) !== statusWord(this.generation, PENDING);
  }

  /**
   * The ids the helper found for a task it took, waiting up to STEAL_AFTER_MS; null if this
   * thread must search it itself (taken back, or more ids than the helper could return).
   */
  collect(task: number): Int32Array | null {
    const { status } = this.state;
    const pending = statusWord(this.generation, PENDING);
    // Spin, not Atomics.wait: a thread asleep here was at times woken milliseconds late on a
    // virtual machine whose core had halted.
    spinWhile(status, task, pending, STEAL_AFTER_MS);
    const word = Atomics.compareExchange(status, task, pending, statusWord(this.generation, STOLEN));
    if (word !== statusWord(this.generation, DONE)) {
      this.takenBack++; // stolen now, or OVERFLOW
      return null;
    }
    this.answered++;
    const at = this.state.resultAt[task];
    return this.state.results.subarray(at, at + this.state.resultCount[task]);
  }

  /** Stops the helper thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.alive = false;
    Atomics.store(this.state.control, SIGNAL, STOP);
    Atomics.notify(this.state.control, SIGNAL);
    this.port.close();
  }
}
