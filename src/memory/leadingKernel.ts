// The leading coordinates of wasm/leading.wat (projection.ts): a replay computes them for every
// record on the memory's thread, where the JS loop took about 1.4 us a record. One kernel per
// thread, made on first use; it keeps the rows of the last rotation it was given.
import { WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';
import { LEADING_WASM_BASE64 } from './leadingWasm.js';

interface LeadingExports {
  leading(rows: number, count: number, width: number, point: number, out: number): void;
}

const leadingModule = compileKernel(LEADING_WASM_BASE64);

class LeadingKernel {
  private memory: WebAssembly.Memory | null = null;
  private exports: LeadingExports | null = null;
  /** The rotation whose rows are in the memory, at 0, and views of the point and the result after them. */
  private rows: Float64Array | null = null;
  private point = new Float64Array(0);
  private out = new Float64Array(0);

  /** out[offset + r] = rows[r] . point[0..width) for r < count (rows row-major, width even). */
  leading(rows: Float64Array, count: number, width: number, point: Float64Array | Float32Array, out: Float64Array | Float32Array, offset: number): void {
    if (this.rows !== rows || this.point.length !== width || this.out.length !== count) this.load(rows, count, width);
    const into = this.point;
    for (let k = 0; k < width; k++) into[k] = point[k];
    this.exports!.leading(0, count, width, this.point.byteOffset, this.out.byteOffset);
    out.set(this.out, offset);
  }

  /** Copies the rotation in, into a new memory (and an instance on it) if it does not fit: not shared and never grown, as the embedding kernel's. */
  private load(rows: Float64Array, count: number, width: number): void {
    if (width % 2 !== 0 || rows.length < count * width) throw new Error(`bad rotation: ${count} rows of ${width} in ${rows.length}`);
    const pointAt = 8 * count * width;
    const outAt = pointAt + 8 * width;
    const bytes = outAt + 8 * count;
    if (!this.memory || this.memory.buffer.byteLength < bytes) {
      this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE_BYTES) });
      this.exports = new WebAssembly.Instance(leadingModule, { env: { memory: this.memory } }).exports as unknown as LeadingExports;
    }
    const buffer = this.memory.buffer;
    new Float64Array(buffer, 0, count * width).set(rows.subarray(0, count * width));
    this.rows = rows;
    this.point = new Float64Array(buffer, pointAt, width);
    this.out = new Float64Array(buffer, outAt, count);
  }
}

let kernel: LeadingKernel | null = null;

/** This thread's leading-coordinates kernel. */
export function leadingKernel(): LeadingKernel {
  kernel ??= new LeadingKernel();
  return kernel;
}
