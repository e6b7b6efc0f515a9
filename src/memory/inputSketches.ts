// 8-bit sketches of the stored inputs, kept in RAM so that most index candidates are ruled out
// without reading their input back from the log. Each input y is quantized between its own
// minimum and maximum (255 steps): codes q, y'_k = low + step * q_k, and the exact error
// ey = ||y - y'|| (in the memory's norm, float64) are known, so by the triangle inequality
//     ||x - y|| >= ||x - y'|| - ey,
// a lower bound within about ey (a few hundredths for images in [0, 1]) of the true distance.
//
// l2 (the hot path, in WebAssembly): once per query, x is quantized too, on a finer grid
// (32767 steps: codes p, x'_k = xlo + xstep * p_k, exact error ex = ||x - x'||), and then
//     ||x - y|| >= ||x' - y'|| - ex - ey,
//     ||x' - y'||^2 = n c^2 + xstep^2 P2 + step^2 Q2 + 2 c xstep P1 - 2 c step Q1 - 2 xstep step D
// with c = xlo - low, P1 = sum p, P2 = sum p^2, Q1 = sum q, Q2 = sum q^2 (kept per record) and
// D = sum p_k q_k, an exact integer dot product computed by wasm/sketchBound.wat. The terms
// cancel (they can be ~100x the result), so the sum is lowered by a margin proportional to the
// sum of their absolute values, and the limit is raised for the rounding of ex and ey (which
// scales with the values' magnitude). ex is about 1e-4 for images, so this bound is within ~1e-3
// of the one above; near a candidate's reach it costs ~5x less than the loop.
// l1 keeps the direct loop over the dequantized sketch, which exits early once it suffices.
//
// Sketch bytes live in the memories of WebAssembly instances ("banks", at most ~1 GiB each, so
// that wasm32 limits never bite), each also holding a copy of the current query's codes.
// A candidate is dropped only when its bound, less the rounding margins, reaches its reach.
import { quantizeKernel } from './quantize.js';
import { SKETCH_BOUND_WASM_BASE64 } from './sketchBoundWasm.js';
import { WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';
import type { Norm } from './types.js';

/** Sketches are allocated this many records at a time (3 MB at d = 784); a replay batch of this size becomes a chunk. */
export const RECORDS_PER_CHUNK = 4096;
/** Relative margin for float64 rounding in the sums (each term is exact to ~1e-16). */
const ROUNDING = 1e-9;
/** Relative margin on ||x' - y'||^2 for the cancellation of its terms (their rounding is ~1e-15 of their absolute sum). */
const CANCELLATION = 1e-12;
/**
 * Absolute margin, per unit of sqrt(n) * (largest |value| of x and y), for the rounding of ex and
 * ey: each error term x_k - x'_k is computed to within a few ulps of the values (~1e-16 each).
 */
const MAGNITUDE_ROUNDING = 1e-14;
/** Query codes are 16-bit: 0..QUERY_LEVELS. */
const QUERY_LEVELS = 32767;
/** Bank memories stay at or below this many bytes (wasm32 allows 4 GiB; one allocation of 1 GiB is easy to get). */
const MAX_BANK_BYTES = 2 ** 30;
/** Per-record table, this many float64 each: low, step, error, Q1, Q2 (together: one or two cache lines per candidate). */
const META = 5;

const sketchModule = compileKernel(SKETCH_BOUND_WASM_BASE64);

interface SketchKernel {
  /** sum_k q[k] * r[k] over 16 * blocks codes: i16 query codes at byte q, u8 record codes at byte r. */
  dot(q: number, r: number, blocks: number): number;
}

export interface Sketch {
  low: number;
  step: number;
  error: number;
  /** Sum of the codes and of their squares (Q1, Q2 of the l2 bound). */
  codeSum: number;
  codeSquares: number;
}

/** The Sketch fields of a batch of records (a replay batch), one array per field. */
export interface SketchColumns {
  low: Float64Array;
  step: Float64Array;
  error: Float64Array;
  codeSum: Float64Array;
  codeSquares: Float64Array;
}

export interface InputSketchesOptions {
  /** Records per bank (default: as many whole chunks as fit in 1 GiB); small values let tests span banks. */
  recordsPerBank?: number;
}

/** Quantizes `input` into `out` (same length); returns the dequantization and its error (float64 sums, covered by the bound's rounding margins). */
export function quantizeInput(input: Float32Array, out: Uint8Array, norm: Norm): Sketch {
  // Codes over the input's own range (wasm/quantize.wat). Any code is sound: the error is
  // measured against what the stored code decodes to.
  const sums = quantizeKernel().sketch(input, out);
  // The sums run in two lanes: rounded up, so that the stored error is never below the one a
  // loop over the sketch computes (the bound less its margins then never exceeds the distance).
  const error = (norm === 'l2' ? Math.sqrt(sums.squares) : sums.absolute) * (1 + 1e-12);
  return { low: sums.low, step: sums.step, error, codeSum: sums.codeSum, codeSquares: sums.codeSquares };
}

/**
 * One WebAssembly memory and instance: the query's codes, then records at a stride of `stride`
 * bytes. The memory is shared although one thread uses it: a memory that is not shared detaches
 * its buffer on every grow, and V8 answered each grow with a full garbage collection (one per
 * 4096 records: 238 in a replay of 10^6 records, which paused the memory's thread 2.4 s in all).
 */
class SketchBank {
  readonly memory: WebAssembly.Memory;
  readonly kernel: SketchKernel;
  /** View of the whole memory; re-created after each grow (a view keeps the length it was made with). */
  bytes: Uint8Array;
  /** Records the memory has room for. */
  allocated = 0;
  /** Which query's codes the memory holds (SketchQuery.stamp). */
  queryStamp = -1;

  constructor(
    readonly recordsBase: number,
    readonly stride: number,
    readonly capacity: number,
  ) {
    const maximum = Math.ceil((recordsBase + capacity * stride) / WASM_PAGE_BYTES);
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(recordsBase / WASM_PAGE_BYTES), maximum, shared: true });
    this.kernel = new WebAssembly.Instance(sketchModule, { env: { memory: this.memory } }).exports as unknown as SketchKernel;
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** Makes room for the next chunk of records. */
  growChunk(): void {
    this.allocated = Math.min(this.capacity, this.allocated + RECORDS_PER_CHUNK);
    const pages = Math.ceil((this.recordsBase + this.allocated * this.stride) / WASM_PAGE_BYTES);
    this.memory.grow(pages - this.memory.buffer.byteLength / WASM_PAGE_BYTES);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  loadQuery(codes: Int16Array, stamp: number): void {
    new Int16Array(this.bytes.buffer, 0, codes.length).set(codes);
    this.queryStamp = stamp;
  }
}

export class InputSketches {
  private readonly banks: SketchBank[] = [];
  private meta = new Float64Array(1024 * META);
  private count = 0;
  private readonly l2: boolean;
  /** Codes per record rounded up to the kernel's blocks of 16 (zero padding on both sides). */
  private readonly stride: number;
  private readonly recordsPerBank: number;
  private readonly currentQuery: SketchQuery;

  constructor(
    readonly inputLength: number,
    readonly norm: Norm,
    options: InputSketchesOptions = {},
  ) {
    if (!(Number.isInteger(inputLength) && inputLength >= 1)) throw new Error(`bad input length ${inputLength}`);
    this.l2 = norm === 'l2';
    this.stride = Math.ceil(inputLength / 16) * 16;
    const recordsBase = 2 * this.stride;
    const fitting = Math.floor((MAX_BANK_BYTES - recordsBase) / this.stride);
    if (fitting < 1) throw new Error(`inputs of length ${inputLength} are too long to sketch`);
    const wholeChunks = Math.floor(fitting / RECORDS_PER_CHUNK) * RECORDS_PER_CHUNK;
    this.recordsPerBank = options.recordsPerBank ?? (wholeChunks > 0 ? wholeChunks : fitting);
    if (!(Number.isInteger(this.recordsPerBank) && this.recordsPerBank >= 1 && this.recordsPerBank <= fitting)) {
      throw new Error(`bad recordsPerBank ${options.recordsPerBank}`);
    }
    this.currentQuery = new SketchQuery(this, inputLength, this.stride);
  }

  get size(): number {
    return this.count;
  }

  /** Sketches and appends the input of the next record. */
  add(input: Float32Array): void {
    const at = this.slot();
    this.set(at, quantizeInput(input, this.bytesOf(at), this.norm));
  }

  /**
   * Appends `count` sketches made elsewhere (the replay worker) with quantizeInput, `bytes`
   * holding their codes back to back and `columns` their numbers. The codes are copied into the
   * banks (the kernel reads only its own memory), a run of records at a time.
   */
  addSketches(count: number, bytes: Uint8Array, columns: SketchColumns): void {
    const n = this.inputLength;
    if (bytes.length !== count * n) throw new Error(`${bytes.length} sketch bytes for ${count} records of ${n}`);
    for (let i = 0; i < count; ) {
      const first = this.slot();
      const bank = this.bankOf(first);
      const inBank = first - Math.floor(first / this.recordsPerBank) * this.recordsPerBank;
      // Records that fit in the bank's room without growing it: slot() only counts them.
      let run = 1;
      while (i + run < count && inBank + run < bank.allocated) {
        this.slot();
        run++;
      }
      const offset = this.offsetOf(first);
      if (this.stride === n) bank.bytes.set(bytes.subarray(i * n, (i + run) * n), offset);
      else for (let k = 0; k < run; k++) bank.bytes.set(bytes.subarray((i + k) * n, (i + k + 1) * n), offset + k * this.stride);
      const m = this.meta;
      for (let k = 0; k < run; k++) {
        const at = (first + k) * META;
        m[at] = columns.low[i + k];
        m[at + 1] = columns.step[i + k];
        m[at + 2] = columns.error[i + k];
        m[at + 3] = columns.codeSum[i + k];
        m[at + 4] = columns.codeSquares[i + k];
      }
      i += run;
    }
  }

  /** Appends a sketch made elsewhere with quantizeInput. */
  addSketch(bytes: Uint8Array, sketch: Sketch): void {
    if (bytes.length !== this.inputLength) throw new Error(`sketch of ${bytes.length} bytes, expected ${this.inputLength}`);
    const at = this.slot();
    this.bytesOf(at).set(bytes);
    this.set(at, sketch);
  }

  /** Prepares the bounds of every record to `x` (once per decision); the result is valid until the next call. */
  query(x: Float32Array): SketchQuery {
    if (x.length !== this.inputLength) throw new Error(`query of length ${x.length}, expected ${this.inputLength}`);
    this.currentQuery.prepare(x);
    return this.currentQuery;
  }

  bytesUsed(): number {
    return this.banks.reduce((sum, bank) => sum + bank.memory.buffer.byteLength, 0) + this.meta.byteLength;
  }

  /** @internal The bank holding record `index`, loaded with the query's codes. */
  bankOf(index: number): SketchBank {
    return this.banks[Math.floor(index / this.recordsPerBank)];
  }

  /** @internal Byte offset of record `index` in its bank. */
  offsetOf(index: number): number {
    const bank = Math.floor(index / this.recordsPerBank);
    return 2 * this.stride + (index - bank * this.recordsPerBank) * this.stride;
  }

  /** @internal Per-record table: META float64 per record. */
  get table(): Float64Array {
    return this.meta;
  }

  private slot(): number {
    const at = this.count;
    if ((at + 1) * META > this.meta.length) {
      const bigger = new Float64Array(this.meta.length * 2);
      bigger.set(this.meta);
      this.meta = bigger;
    }
    const inBank = at % this.recordsPerBank;
    if (inBank === 0) this.banks.push(new SketchBank(2 * this.stride, this.stride, this.recordsPerBank));
    const bank = this.banks[this.banks.length - 1];
    if (inBank === bank.allocated) bank.growChunk();
    this.count++;
    return at;
  }

  private set(at: number, sketch: Sketch): void {
    const m = this.meta;
    m[at * META] = sketch.low;
    m[at * META + 1] = sketch.step;
    m[at * META + 2] = sketch.error;
    m[at * META + 3] = sketch.codeSum;
    m[at * META + 4] = sketch.codeSquares;
  }

  private bytesOf(index: number): Uint8Array {
    const offset = this.offsetOf(index);
    return this.bankOf(index).bytes.subarray(offset, offset + this.inputLength);
  }
}

/** The bounds of every record to one query x (InputSketches.query). */
export class SketchQuery {
  private x: Float32Array = new Float32Array(0);
  /** Distinguishes queries, so that a bank reloads the codes only when they changed. */
  private stamp = 0;
  private readonly l2: boolean;
  private readonly codes: Int16Array;
  private readonly blocks: number;
  private readonly sqrtN: number;
  /** False when x has a non-finite value: then the direct loop decides (NaN never rules out). */
  private quantized = false;
  private low = 0;
  private step = 0;
  private error = 0;
  private p1 = 0;
  private p2 = 0;
  private magnitude = 0;

  constructor(
    private readonly sketches: InputSketches,
    private readonly n: number,
    stride: number,
  ) {
    this.l2 = sketches.norm === 'l2';
    this.codes = new Int16Array(stride);
    this.blocks = stride / 16;
    this.sqrtN = Math.sqrt(n);
  }

  /** @internal */
  prepare(x: Float32Array): void {
    this.x = x;
    this.stamp++;
    if (!this.l2) return;
    const n = this.n;
    let low = Infinity;
    let high = -Infinity;
    for (let k = 0; k < n; k++) {
      const v = x[k];
      if (v < low) low = v;
      if (v > high) high = v;
    }
    this.quantized = Number.isFinite(low) && Number.isFinite(high);
    if (!this.quantized) return;
    const step = high > low ? (high - low) / QUERY_LEVELS : 0;
    const inverse = step > 0 ? 1 / step : 0;
    let p1 = 0;
    let p2 = 0;
    let error = 0;
    for (let k = 0; k < n; k++) {
      // As in quantizeInput: any code is sound, the error is measured against what it decodes to.
      const p = Math.min(QUERY_LEVELS, ((x[k] - low) * inverse + 0.5) | 0);
      this.codes[k] = p;
      p1 += p;
      p2 += p * p;
      const e = x[k] - (low + p * step);
      error += e * e;
    }
    this.low = low;
    this.step = step;
    this.error = Math.sqrt(error);
    this.p1 = p1;
    this.p2 = p2;
    this.magnitude = Math.max(Math.abs(low), Math.abs(high));
  }

  /**
   * True if record `index` cannot lie within `bound` of x (||x - y|| >= bound is guaranteed):
   * its sketch's lower bound, less rounding margins, reaches `bound`. False when unsure.
   */
  beyond(index: number, bound: number): boolean {
    if (!this.l2 || !this.quantized) return this.scanBeyond(index, bound);
    const m = this.sketches.table;
    const at = index * META;
    const ey = m[at + 2];
    const limit = (bound + this.error + ey) * (1 + ROUNDING) + this.roundingOf(m[at], m[at + 1]);
    // NaN (never expected) compares false: not ruled out.
    return this.kernelDistance(index) >= limit;
  }

  /** The l2 lower bound on ||x - y|| beyond() uses, before its final rounding margin (tests compare it with scanLowerBound). */
  lowerBound(index: number): number {
    if (!this.l2 || !this.quantized) return this.scanLowerBound(index);
    return this.kernelDistance(index) - this.error - this.sketches.table[index * META + 2];
  }

  /** The direct loop (l1, and the reference): ||x - y'|| against the record's reach, exiting once it is reached. */
  scanBeyond(index: number, bound: number): boolean {
    const bytes = this.sketches.bankOf(index).bytes;
    const at = this.sketches.offsetOf(index);
    const m = this.sketches.table;
    const low = m[index * META];
    const step = m[index * META + 1];
    const limit = bound * (1 + ROUNDING) + m[index * META + 2] * (1 + ROUNDING) + ROUNDING;
    const x = this.x;
    const n = this.n;
    let sum = 0;
    if (this.l2) {
      const limit2 = limit * limit;
      for (let k = 0; k < n && sum < limit2; k++) {
        const d = x[k] - (low + bytes[at + k] * step);
        sum += d * d;
      }
      return sum >= limit2;
    }
    for (let k = 0; k < n && sum < limit; k++) sum += Math.abs(x[k] - (low + bytes[at + k] * step));
    return sum >= limit;
  }

  /** ||x - y'|| - ey by the direct loop, in full (the reference for tests). */
  scanLowerBound(index: number): number {
    const bytes = this.sketches.bankOf(index).bytes;
    const at = this.sketches.offsetOf(index);
    const m = this.sketches.table;
    const low = m[index * META];
    const step = m[index * META + 1];
    let sum = 0;
    for (let k = 0; k < this.n; k++) {
      const d = this.x[k] - (low + bytes[at + k] * step);
      sum += this.l2 ? d * d : Math.abs(d);
    }
    return (this.l2 ? Math.sqrt(sum) : sum) - m[index * META + 2];
  }

  /** A lower bound on ||x' - y'|| (the sum less its cancellation margin). */
  private kernelDistance(index: number): number {
    const sketches = this.sketches;
    const bank = sketches.bankOf(index);
    if (bank.queryStamp !== this.stamp) bank.loadQuery(this.codes, this.stamp);
    const d = bank.kernel.dot(0, sketches.offsetOf(index), this.blocks);
    const m = sketches.table;
    const at = index * META;
    const low = m[at];
    const step = m[at + 1];
    const c = this.low - low;
    const xs = this.step;
    const t1 = this.n * c * c;
    const t2 = xs * xs * this.p2;
    const t3 = step * step * m[at + 4];
    const t4 = 2 * c * xs * this.p1;
    const t5 = -2 * c * step * m[at + 3];
    const t6 = -2 * xs * step * d;
    const square = t1 + t2 + t3 + t4 + t5 + t6;
    const scale = t1 + t2 + t3 + Math.abs(t4) + Math.abs(t5) + Math.abs(t6);
    // Math.max(0, NaN) is NaN: a NaN stays NaN and rules nothing out.
    return Math.sqrt(Math.max(0, square - CANCELLATION * scale));
  }

  /** Absolute margin for the rounding of ex and ey, which is relative to the values' magnitude, not to the errors. */
  private roundingOf(low: number, step: number): number {
    return MAGNITUDE_ROUNDING * this.sqrtN * (this.magnitude + Math.abs(low) + 255 * step);
  }
}
