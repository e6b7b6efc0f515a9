// 8-bit sketches of the stored inputs, kept in RAM so that most index candidates are ruled out
// without reading their input back from the log. Each input y is quantized between its own
// minimum and maximum (255 steps); its dequantized copy y' and the exact error e = ||y - y'||
// (in the memory's norm, float64) are known, so by the triangle inequality
//     ||x - y|| >= ||x - y'|| - e,
// a lower bound within about e (a few hundredths for images in [0, 1]) of the true distance.
// A candidate is dropped only when this bound, less a rounding margin, reaches its reach.
import type { Norm } from './types.js';

/** Sketches are allocated this many records at a time (3 MB at d = 784); a replay batch of this size becomes a chunk. */
export const RECORDS_PER_CHUNK = 4096;
/** Relative margin for float64 rounding in the sums (each term is exact to ~1e-16). */
const ROUNDING = 1e-9;

export interface Sketch {
  low: number;
  step: number;
  error: number;
}

/** Quantizes `input` into `out` (same length); returns the dequantization and its exact error. */
export function quantizeInput(input: Float32Array, out: Uint8Array, norm: Norm): Sketch {
  let low = Infinity;
  let high = -Infinity;
  for (let k = 0; k < input.length; k++) {
    const v = input[k];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const step = high > low ? (high - low) / 255 : 0;
  const inverse = step > 0 ? 1 / step : 0;
  // Round half up with `| 0` (the scaled values are >= 0; Math.round measured 4x slower here).
  // Any code is sound: the error is measured against what the stored code decodes to.
  const l2 = norm === 'l2';
  let error = 0;
  for (let k = 0; k < input.length; k++) {
    const q = Math.min(255, ((input[k] - low) * inverse + 0.5) | 0);
    out[k] = q;
    const e = input[k] - (low + q * step);
    error += l2 ? e * e : Math.abs(e);
  }
  return { low, step, error: l2 ? Math.sqrt(error) : error };
}

export class InputSketches {
  private readonly chunks: Uint8Array[] = [];
  private low = new Float64Array(1024);
  private step = new Float64Array(1024);
  private error = new Float64Array(1024);
  private count = 0;

  private readonly l2: boolean;

  constructor(
    readonly inputLength: number,
    readonly norm: Norm,
  ) {
    this.l2 = norm === 'l2';
  }

  get size(): number {
    return this.count;
  }

  /** Sketches and appends the input of the next record. */
  add(input: Float32Array): void {
    const at = this.slot();
    const sketch = quantizeInput(input, this.bytesOf(at), this.norm);
    this.set(at, sketch);
  }

  /**
   * Appends `count` sketches made elsewhere (the replay worker) with quantizeInput, `bytes`
   * holding them back to back. A whole aligned chunk is adopted without copying (the caller
   * gives up `bytes`).
   */
  addSketches(count: number, bytes: Uint8Array, low: Float64Array, step: Float64Array, error: Float64Array): void {
    const n = this.inputLength;
    if (count === RECORDS_PER_CHUNK && this.count % RECORDS_PER_CHUNK === 0 && bytes.length === count * n) {
      this.chunks.push(bytes);
      for (let i = 0; i < count; i++) {
        const at = this.count++;
        if (at === this.low.length) this.growTables();
        this.set(at, { low: low[i], step: step[i], error: error[i] });
      }
      return;
    }
    for (let i = 0; i < count; i++) this.addSketch(bytes.subarray(i * n, (i + 1) * n), { low: low[i], step: step[i], error: error[i] });
  }

  /** Appends a sketch made elsewhere with quantizeInput. */
  addSketch(bytes: Uint8Array, sketch: Sketch): void {
    const at = this.slot();
    this.bytesOf(at).set(bytes);
    this.set(at, sketch);
  }

  /**
   * True if record `index` cannot lie within `bound` of x: its sketch's lower bound, less a
   * rounding margin, reaches `bound`.
   */
  beyond(x: Float32Array, index: number, bound: number): boolean {
    const bytes = this.chunks[Math.floor(index / RECORDS_PER_CHUNK)];
    const at = (index % RECORDS_PER_CHUNK) * this.inputLength;
    const low = this.low[index];
    const step = this.step[index];
    const limit = bound * (1 + ROUNDING) + this.error[index] * (1 + ROUNDING) + ROUNDING;
    let sum = 0;
    const n = this.inputLength;
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

  bytesUsed(): number {
    return this.chunks.length * RECORDS_PER_CHUNK * this.inputLength + this.low.length * 24;
  }

  private slot(): number {
    const at = this.count++;
    if (at === this.low.length) this.growTables();
    if (at % RECORDS_PER_CHUNK === 0) this.chunks.push(new Uint8Array(RECORDS_PER_CHUNK * this.inputLength));
    return at;
  }

  private growTables(): void {
    this.low = grow(this.low);
    this.step = grow(this.step);
    this.error = grow(this.error);
  }

  private set(at: number, sketch: Sketch): void {
    this.low[at] = sketch.low;
    this.step[at] = sketch.step;
    this.error[at] = sketch.error;
  }

  private bytesOf(index: number): Uint8Array {
    const offset = (index % RECORDS_PER_CHUNK) * this.inputLength;
    return this.chunks[Math.floor(index / RECORDS_PER_CHUNK)].subarray(offset, offset + this.inputLength);
  }
}

function grow(array: Float64Array): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
