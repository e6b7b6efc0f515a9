// What the memory's thread and its search helper (searchHelper.ts, searchHelperWorker.ts) share:
// one set of shared buffers holding the task list of the current search, the query, and the
// helper's results. Only status words, control words and radii are read with Atomics; the rest
// is written before a generation is published and read after it is seen (see SearchHelper).
import { float32AtLeast, type SegmentQuery, type SegmentShape } from './projectionTree.js';

/** Trees one search offers the helper (12 bits); a search of more trees does the rest itself. */
export const TASKS_MAX = 4095;
/** Ids the helper may return in one search; a task whose ids do not fit is searched again by the memory's thread. */
export const RESULTS_MAX = 1 << 18;

// Control words.
/** The generation the helper is woken for, or STOP. */
export const SIGNAL = 0;
/**
 * The tasks not yet taken, [front, back), in one word (see takeWord): the memory's thread takes
 * from the front (the trees of the smallest regions: their conflicts narrow the radius for the
 * rest), the helper from the back (the largest regions' trees, the costliest), by compare-and-swap.
 */
export const TAKE = 1;
/** Segment lists posted to the helper before this generation (it reads them all before taking a task). */
export const REGISTERED = 3;
/** The current generation. */
export const GENERATION = 4;
const CONTROL_WORDS = 8;
export const STOP = -1;

// A task's status word: its generation << 2 | its state.
export const PENDING = 0;
export const DONE = 1;
/** The helper found more ids than RESULTS_MAX leaves room for: the memory's thread searches it. */
export const OVERFLOW = 2;
/** The memory's thread stopped waiting and searched it itself; the helper's answer is dropped. */
export const STOLEN = 3;

/** TAKE's word: the generation's low 8 bits, back and front (12 bits each). */
export function takeWord(generation: number, front: number, back: number): number {
  return (((generation & 0xff) << 24) | (back << 12) | front) | 0;
}

export function frontOf(word: number): number {
  return word & 0xfff;
}

export function backOf(word: number): number {
  return (word >>> 12) & 0xfff;
}

/** The word after taking the front task, and after taking the back task. */
export const TAKE_FRONT = 1;
export const TAKE_BACK = -(1 << 12);

export function statusWord(generation: number, state: number): number {
  return (((generation & 0x1fffffff) << 2) | state) | 0;
}

/** Largest generation before it wraps to 1 (SIGNAL never holds STOP or 0 for a search). */
export const GENERATION_MAX = 0x3fffffff;

export interface SearchHelperBuffers {
  control: SharedArrayBuffer;
  tasks: SharedArrayBuffer;
  results: SharedArrayBuffer;
  query: SharedArrayBuffer;
  /** The query's float32 leading coordinates (leadDimsOf) and codes (a multiple of 16). */
  leadDims: number;
  W: number;
}

/** A message to the helper: the current segments of tree `tree`. */
export interface SegmentsMessage {
  tree: number;
  shapes: SegmentShape[];
}

const TASK_ARRAYS = 5;
/** Query numbers before the leading coordinates: codeError32, inverseStep32, norm, rounding, largestLead. */
const QUERY_NUMBERS = 5;

/** Views of the shared buffers. */
export class SharedSearchState implements SegmentQuery {
  readonly control: Int32Array;
  /** Per task: the tree, its radius (float32 bits, rounded up; NaN: not searched), status word, where its ids start and how many. */
  readonly trees: Int32Array;
  readonly radii: Int32Array;
  readonly status: Int32Array;
  readonly resultAt: Int32Array;
  readonly resultCount: Int32Array;
  readonly results: Int32Array;
  readonly lead32: Float32Array;
  readonly codes: Int16Array;
  private readonly numbers: Float64Array;

  constructor(readonly buffers: SearchHelperBuffers) {
    this.control = new Int32Array(buffers.control);
    const task = (k: number) => new Int32Array(buffers.tasks, 4 * TASKS_MAX * k, TASKS_MAX);
    this.trees = task(0);
    this.radii = task(1);
    this.status = task(2);
    this.resultAt = task(3);
    this.resultCount = task(4);
    this.results = new Int32Array(buffers.results);
    this.numbers = new Float64Array(buffers.query, 0, QUERY_NUMBERS);
    const { leadDims, W } = buffers;
    this.lead32 = new Float32Array(buffers.query, 8 * QUERY_NUMBERS, leadDims);
    this.codes = new Int16Array(buffers.query, 8 * QUERY_NUMBERS + 4 * leadDims, W);
  }

  static allocate(leadDims: number, W: number): SearchHelperBuffers {
    return {
      control: new SharedArrayBuffer(4 * CONTROL_WORDS),
      tasks: new SharedArrayBuffer(4 * TASKS_MAX * TASK_ARRAYS),
      results: new SharedArrayBuffer(4 * RESULTS_MAX),
      query: new SharedArrayBuffer(8 * QUERY_NUMBERS + 4 * leadDims + 2 * W),
      leadDims,
      W,
    };
  }

  get codeError32(): number {
    return this.numbers[0];
  }

  get inverseStep32(): number {
    return this.numbers[1];
  }

  get norm(): number {
    return this.numbers[2];
  }

  get rounding(): number {
    return this.numbers[3];
  }

  get largestLead(): number {
    return this.numbers[4];
  }

  setQuery(query: SegmentQuery): void {
    this.lead32.set(query.lead32);
    this.codes.set(query.codes);
    this.numbers[0] = query.codeError32;
    this.numbers[1] = query.inverseStep32;
    this.numbers[2] = query.norm;
    this.numbers[3] = query.rounding;
    this.numbers[4] = query.largestLead;
  }
}

/** Loads of a shared word between two reads of the clock while spinning. */
const SPIN_CLOCK_EVERY = 256;

/**
 * Spins while `words[index]` holds `value`, for at most `ms`. The clock is read once per
 * SPIN_CLOCK_EVERY loads: every read of performance.now() allocates a number, and a thread
 * spinning on it collects garbage every few milliseconds.
 */
export function spinWhile(words: Int32Array, index: number, value: number, ms: number): void {
  if (Atomics.load(words, index) !== value) return;
  const until = performance.now() + ms;
  for (let loads = 1; Atomics.load(words, index) === value; loads++) {
    if (loads % SPIN_CLOCK_EVERY === 0 && performance.now() >= until) return;
  }
}

const bits = new Int32Array(1);
const bitsAsFloat = new Float32Array(bits.buffer);

/** A radius as the float32 bits of the smallest float32 at least as large (NaN for null). */
export function radiusBits(radius: number | null): number {
  bitsAsFloat[0] = radius === null ? NaN : float32AtLeast(radius);
  return bits[0];
}

export function radiusFromBits(word: number): number {
  bits[0] = word;
  return bitsAsFloat[0];
}
