// The per-record quantizers of wasm/quantize.wat: an input's 8-bit sketch (inputSketches.ts) and
// the codes of a fine embedding on a grid (codeGrid.ts). A replay runs both for every record on
// the projector thread, where they were its costliest steps in JS. One kernel per thread, made
// on first use; its memory grows to the largest input seen.
import { MemoryLayout, WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';
import { QUANTIZE_WASM_BASE64 } from './quantizeWasm.js';

interface QuantizeExports {
  sketch(input: number, n: number, codes: number, out: number): void;
  encode(values: number, order: number, offsets: number, n: number, step: number, limit: number, wide: number, codes: number, out: number): void;
}

/** Results (float64) at 0, the arguments after them. */
const OUT = 0;
const ARGUMENTS = 64;

/** What sketch() measured: the range's low end and step, the error's sums, the codes' sum and sum of squares. */
export interface SketchSums {
  low: number;
  step: number;
  squares: number;
  absolute: number;
  codeSum: number;
  codeSquares: number;
}

/** Where encode() keeps a grid's order and offsets (copied in once per grid) and its arguments. */
interface EncodeLayout {
  order: Int32Array;
  offsets: Float64Array;
  orderAt: number;
  offsetsAt: number;
  valuesAt: number;
  codesAt: number;
  /** Where the grid's part of the memory ends (sketch() puts its input after it). */
  end: number;
}

/** Views of the kernel's memory (values and codes: the grid's length), made again once it grows or the grid changes. */
interface Views {
  buffer: ArrayBuffer;
  out: Float64Array;
  values: Float64Array;
  codes8: Int8Array;
  codes16: Int16Array;
}

class QuantizeKernel {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly exports: QuantizeExports;
  private readonly sums: SketchSums = { low: 0, step: 0, squares: 0, absolute: 0, codeSum: 0, codeSquares: 0 };
  /** The grid last copied in: a memory codes many points on one grid. */
  private grid: EncodeLayout | null = null;
  private views: Views | null = null;

  constructor() {
    this.exports = new WebAssembly.Instance(compileKernel(QUANTIZE_WASM_BASE64), { env: { memory: this.memory } }).exports as unknown as QuantizeExports;
  }

  sketch(input: Float32Array, codes: Uint8Array): SketchSums {
    const n = input.length;
    const inputAt = this.grid?.end ?? ARGUMENTS;
    const codesAt = inputAt + 4 * n;
    this.room(codesAt + n);
    const buffer = this.memory.buffer;
    new Float32Array(buffer, inputAt, n).set(input);
    this.exports.sketch(inputAt, n, codesAt, OUT);
    codes.set(new Uint8Array(buffer, codesAt, n));
    const out = this.currentViews().out;
    const sums = this.sums;
    sums.low = out[0];
    sums.step = out[1];
    sums.squares = out[2];
    sums.absolute = out[3];
    sums.codeSum = out[4];
    sums.codeSquares = out[5];
    return sums;
  }

  /** Codes values[at + order[k]] less offsets[k] (k < n) in steps of `step`, clamped to +-limit, into `codes` from `codesAt`; returns the sum of squared gaps. */
  encode(values: Float64Array, at: number, order: Int32Array, offsets: Float64Array, step: number, limit: number, codes: Int8Array | Int16Array, codesAt: number): number {
    const n = offsets.length;
    const padded = n + (n & 1); // pairs: a zero value less a zero offset adds nothing
    const grid = this.grid?.order === order && this.grid.offsets === offsets ? this.grid : this.load(order, offsets);
    const views = this.currentViews();
    views.values.set(values.subarray(at, at + n));
    const wide = codes instanceof Int16Array;
    this.exports.encode(grid.valuesAt, grid.orderAt, grid.offsetsAt, padded, step, limit, wide ? 1 : 0, grid.codesAt, OUT);
    if (wide) codes.set(views.codes16, codesAt);
    else codes.set(views.codes8, codesAt);
    return views.out[0];
  }

  /** Copies a grid's order and offsets in (padded to pairs: the pad reads the zero after the values). */
  private load(order: Int32Array, offsets: Float64Array): EncodeLayout {
    const n = offsets.length;
    const padded = n + (n & 1);
    const layout = new MemoryLayout();
    layout.take(ARGUMENTS);
    const grid: EncodeLayout = {
      order, offsets,
      orderAt: layout.take(4 * padded), offsetsAt: layout.take(8 * padded), valuesAt: layout.take(8 * (n + 1)), codesAt: layout.take(2 * padded),
      end: layout.bytes,
    };
    this.room(grid.end);
    const buffer = this.memory.buffer;
    const kernelOrder = new Int32Array(buffer, grid.orderAt, padded);
    kernelOrder.set(order);
    kernelOrder.fill(n, n);
    const kernelOffsets = new Float64Array(buffer, grid.offsetsAt, padded);
    kernelOffsets.set(offsets);
    kernelOffsets.fill(0, n);
    new Float64Array(buffer, grid.valuesAt, n + 1)[n] = 0;
    this.grid = grid;
    this.views = null;
    return grid;
  }

  private currentViews(): Views {
    const buffer = this.memory.buffer;
    if (this.views?.buffer === buffer) return this.views;
    const grid = this.grid;
    const n = grid ? grid.offsets.length : 0;
    this.views = {
      buffer,
      out: new Float64Array(buffer, OUT, 6),
      values: new Float64Array(buffer, grid?.valuesAt ?? ARGUMENTS, n),
      codes8: new Int8Array(buffer, grid?.codesAt ?? ARGUMENTS, n),
      codes16: new Int16Array(buffer, grid?.codesAt ?? ARGUMENTS, n),
    };
    return this.views;
  }

  private room(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
  }
}

let kernel: QuantizeKernel | null = null;

/** This thread's quantize kernel. */
export function quantizeKernel(): QuantizeKernel {
  kernel ??= new QuantizeKernel();
  return kernel;
}
