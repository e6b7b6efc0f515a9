// The per-record quantizers of wasm/quantize.wat: an input's 8-bit sketch (inputSketches.ts) and
// the codes of a fine embedding on a grid (codeGrid.ts). A replay runs both for every record on
// the projector thread, where they were its costliest steps in JS. One kernel per thread, made
// on first use; its memory grows to the largest input seen.
import { WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';
import { QUANTIZE_WASM_BASE64 } from './quantizeWasm.js';

interface QuantizeExports {
  sketch(input: number, n: number, codes: number, out: number): void;
  encode(values: number, offsets: number, n: number, step: number, limit: number, wide: number, codes: number, out: number): void;
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

class QuantizeKernel {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly exports: QuantizeExports;
  private readonly sums: SketchSums = { low: 0, step: 0, squares: 0, absolute: 0, codeSum: 0, codeSquares: 0 };
  /** The offsets last copied in (a memory codes many points on one grid). */
  private offsets: Float64Array | null = null;

  constructor() {
    this.exports = new WebAssembly.Instance(compileKernel(QUANTIZE_WASM_BASE64), { env: { memory: this.memory } }).exports as unknown as QuantizeExports;
  }

  sketch(input: Float32Array, codes: Uint8Array): SketchSums {
    const n = input.length;
    const codesAt = ARGUMENTS + 4 * n;
    this.room(codesAt + n);
    this.offsets = null; // the input goes where encode() keeps them
    const buffer = this.memory.buffer;
    new Float32Array(buffer, ARGUMENTS, n).set(input);
    this.exports.sketch(ARGUMENTS, n, codesAt, OUT);
    codes.set(new Uint8Array(buffer, codesAt, n));
    const out = new Float64Array(buffer, OUT, 6);
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
    const offsetsAt = ARGUMENTS;
    const valuesAt = offsetsAt + 8 * padded;
    const codesAtKernel = valuesAt + 8 * padded;
    this.room(codesAtKernel + 2 * padded);
    const buffer = this.memory.buffer;
    if (this.offsets !== offsets) {
      const kernelOffsets = new Float64Array(buffer, offsetsAt, padded);
      kernelOffsets.set(offsets);
      kernelOffsets.fill(0, n);
      this.offsets = offsets;
    }
    const kernelValues = new Float64Array(buffer, valuesAt, padded);
    for (let k = 0; k < n; k++) kernelValues[k] = values[at + order[k]];
    kernelValues.fill(0, n);
    const wide = codes instanceof Int16Array;
    this.exports.encode(valuesAt, offsetsAt, padded, step, limit, wide ? 1 : 0, codesAtKernel, OUT);
    codes.set(wide ? new Int16Array(buffer, codesAtKernel, n) : new Int8Array(buffer, codesAtKernel, n), codesAt);
    return new Float64Array(buffer, OUT, 1)[0];
  }

  private room(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      this.memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
      this.offsets = null;
    }
  }
}

let kernel: QuantizeKernel | null = null;

/** This thread's quantize kernel. */
export function quantizeKernel(): QuantizeKernel {
  kernel ??= new QuantizeKernel();
  return kernel;
}
