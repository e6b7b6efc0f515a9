// The search helper (worker thread; see searchHelper.ts): woken for each search of the index, it
// takes trees from the back of the shared task list, searches their segments (the open one too)
// in its own scratch and returns the ids it found. It never blocks the memory's thread: a task it
// holds too long is searched again there, and what it answers for a task it no longer owns is
// dropped.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { SegmentSearcher } from './projectionTree.js';
import {
  DONE, GENERATION, OVERFLOW, PENDING, REGISTERED, RESULTS_MAX, SIGNAL, STOP, SharedSearchState, TAKE, TAKE_BACK, TASKS_MAX, backOf, frontOf,
  radiusFromBits, spinWhile, statusWord,
  type SearchHelperBuffers, type SegmentsMessage,
} from './searchHelperProtocol.js';
import { ReleasedMemories, lowerPriority } from '../util/workerThread.js';

/**
 * How long the helper keeps watching for the next search after one ends: long enough to bridge
 * the searches of one decision, short enough not to spin through the log's commit between
 * decisions, when the memory's thread needs the cores (a longer watch raised the p99).
 */
const WATCH_MS = 0.05;

/**
 * The helper's nice value: the lowest priority, so that it runs on CPU time nobody else wants.
 * Woken by the memory's thread after a pause (an idle core of a virtual machine counts as
 * unavailable), the helper was queued on that thread's core and ran first: each wake held the
 * decision 0.2 ms on average and over 1 ms in 1 % of them (docs/benchmarks.md, "The helper's
 * priority").
 */
const HELPER_NICE = 19;

const { buffers, port } = workerData as { buffers: SearchHelperBuffers; port: MessagePort };
const state = new SharedSearchState(buffers);
const { control } = state;
const segmentsOf = new Map<number, SegmentSearcher[]>();
let registered = 0;

// Segments replaced by a merge stay in memory while this thread holds them, and it allocates too
// little for its collector to run by itself.
const released = new ReleasedMemories(64 * 2 ** 20);
/** Results written in the current generation. */
let used = 0;

/** Applies the segment lists posted before this search; false if one has not arrived (the helper sits this search out). */
function catchUp(): boolean {
  const posted = Atomics.load(control, REGISTERED);
  for (let misses = 0; registered < posted && misses < 1000;) {
    const message = receiveMessageOnPort(port);
    if (!message) {
      misses++;
      continue;
    }
    const { tree, shapes } = message.message as SegmentsMessage;
    // Segments the tree had before keep their instances (a new one costs tens of microseconds).
    const before = new Map((segmentsOf.get(tree) ?? []).map((searcher) => [searcher.shape.serial, searcher]));
    segmentsOf.set(tree, shapes.map((shape) => {
      const kept = before.get(shape.serial);
      before.delete(shape.serial);
      return kept ?? new SegmentSearcher(shape, 1);
    }));
    for (const gone of before.values()) released.release(gone.shape.memory.buffer.byteLength);
    registered++;
  }
  return registered >= posted;
}

/** Between searches: takes in the segment lists posted meanwhile (and collects if enough was let go). */
function tidy(): void {
  catchUp();
  released.collectIfDue();
}

/** Takes the last task not yet taken, or returns -1. */
function take(): number {
  // Bounded: the only other taker is the memory's thread, and each failed swap means it took one.
  for (let tries = 0; tries <= TASKS_MAX; tries++) {
    const word = Atomics.load(control, TAKE);
    const back = backOf(word);
    if (frontOf(word) >= back) return -1;
    if (Atomics.compareExchange(control, TAKE, word, word + TAKE_BACK) === word) return back - 1;
  }
  return -1;
}

/** Searches task `task` of generation `generation` and publishes its ids, unless it is no longer the helper's. */
function run(task: number, generation: number): void {
  const pending = statusWord(generation, PENDING);
  if (Atomics.load(state.status, task) !== pending) return; // stolen, or a task of an older search
  const radius = radiusFromBits(Atomics.load(state.radii, task));
  const searchers = segmentsOf.get(Atomics.load(state.trees, task)) ?? [];
  const start = used;
  let outcome = DONE;
  if (!Number.isNaN(radius)) {
    for (const searcher of searchers) {
      const found = searcher.search(state, radius);
      if (used + found > RESULTS_MAX) {
        outcome = OVERFLOW;
        break;
      }
      const { out, ids } = searcher;
      for (let i = 0; i < found; i++) state.results[used++] = ids[out[i]];
    }
  }
  state.resultAt[task] = start;
  state.resultCount[task] = used - start;
  if (Atomics.compareExchange(state.status, task, pending, statusWord(generation, outcome)) === pending) Atomics.notify(state.status, task);
}

let seen = 0;
lowerPriority(HELPER_NICE);
parentPort!.postMessage('ready');
for (;;) {
  // A decision makes two or three searches in a row: waking from Atomics.wait takes tens of
  // microseconds, so the helper watches for the next one a little while before it sleeps.
  spinWhile(control, SIGNAL, seen, WATCH_MS);
  // New segments (a seal or a merge, between decisions) are taken in, and replaced ones let go,
  // before the next search rather than at its start; register() wakes a sleeping helper for it.
  if (Atomics.load(control, SIGNAL) === seen && Atomics.load(control, REGISTERED) > registered) tidy();
  Atomics.wait(control, SIGNAL, seen);
  const signal = Atomics.load(control, SIGNAL);
  if (signal === STOP) break;
  if (signal === seen) continue; // woken by register(): the next turn tidies
  seen = signal;
  used = 0;
  if (!catchUp()) continue;
  for (let task = take(); task >= 0; task = take()) run(task, Atomics.load(control, GENERATION));
}
port.close();
