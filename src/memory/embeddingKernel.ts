// The block embedding of wasm/embedding.wat (projection.ts) for square images in 2x2 fine
// tiles: every decision projects its input and a replay every record, on the projector thread,
// where project() took 6.7-7.7 us a record with the JS loops and takes 3.5-3.9 us with this
// kernel (docs/benchmarks.md, "The embedding in WebAssembly"). It gives the same numbers as the
// JS loops (projection.ts, embed; a zero's sign aside: -0 inputs may give +0 there, -0 here).
// One kernel per thread, made on first use; it keeps the tables of the last projection it was
// given, in a memory made for the largest tables seen.
import { MemoryLayout, WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';
import { EMBEDDING_WASM_BASE64 } from './embeddingWasm.js';

interface EmbeddingExports {
  embed(
    x: number, side: number, dims: number, fineDims: number, fineOf: number, fineList: number,
    fineSize: number, rootSize: number, scale: number, mean: number, out: number, fine: number,
  ): void;
}

/** What the kernel reads of a projection (see BlockProjection). */
export interface EmbeddingTables {
  readonly inputLength: number;
  readonly dims: number;
  readonly fineDims: number;
  readonly fineOf: Int32Array;
  readonly fineList: Int32Array;
  readonly fineSize: Float64Array;
  readonly scale: Float64Array;
}

/** Byte offsets in the kernel's memory, 16-byte aligned. */
interface Layout {
  fineOf: number;
  fineList: number;
  fineSize: number;
  rootSize: number;
  scale: number;
  x: number;
  mean: number;
  out: number;
  fine: number;
  bytes: number;
}

function layoutOf(p: EmbeddingTables): Layout {
  const layout = new MemoryLayout();
  const take = (bytes: number) => layout.take(bytes);
  const offsets = {
    fineOf: take(4 * (p.dims + 1)), fineList: take(4 * p.fineDims), fineSize: take(8 * p.fineDims), rootSize: take(8 * p.fineDims), scale: take(8 * p.dims),
    x: take(4 * p.inputLength), mean: take(8 * p.fineDims), out: take(16 * p.dims), fine: take(16 * p.fineDims),
  };
  return { ...offsets, bytes: layout.bytes };
}

const embeddingModule = compileKernel(EMBEDDING_WASM_BASE64);

class EmbeddingKernel {
  private memory: WebAssembly.Memory | null = null;
  private exports: EmbeddingExports | null = null;
  private tables: EmbeddingTables | null = null;
  private layout: Layout | null = null;
  private x = new Float32Array(0);
  private out = new Float64Array(0);
  private fine = new Float64Array(0);

  /**
   * out[0 .. 2 dims): the coarse coordinates and deviation norms of `x`; out[fineAt .. fineAt +
   * 2 fineDims): the fine ones (projection.ts). `x` is a side x side image in 2x2 fine tiles,
   * row-major, and p's tables describe exactly those tiles (BlockProjection.tile === 2).
   */
  embed(p: EmbeddingTables, x: Float32Array, out: Float64Array, fineAt: number): void {
    const t = this.tables;
    // A rotated projection (withRotation) shares its tables with the one it came from.
    if (!t || t.fineOf !== p.fineOf || t.fineList !== p.fineList || t.fineSize !== p.fineSize || t.scale !== p.scale) this.load(p);
    const l = this.layout!;
    this.x.set(x);
    this.exports!.embed(l.x, Math.round(Math.sqrt(p.inputLength)), p.dims, p.fineDims, l.fineOf, l.fineList, l.fineSize, l.rootSize, l.scale, l.mean, l.out, l.fine);
    out.set(this.out, 0);
    out.set(this.fine, fineAt);
  }

  /**
   * Copies the tables in, into a new memory (and an instance on it) if they do not fit: not
   * shared, since copies into and out of a shared memory take about three times as long, and
   * never grown, since growing one that is not shared makes V8 collect garbage.
   */
  private load(p: EmbeddingTables): void {
    const side = Math.round(Math.sqrt(p.inputLength));
    if (side * side !== p.inputLength || side % 4 !== 0 || p.fineDims !== (side / 2) ** 2) throw new Error(`not an image in 2x2 tiles: ${p.inputLength} values, ${p.fineDims} tiles`);
    const l = layoutOf(p);
    if (!this.memory || this.memory.buffer.byteLength < l.bytes) {
      this.memory = new WebAssembly.Memory({ initial: Math.ceil(l.bytes / WASM_PAGE_BYTES) });
      this.exports = new WebAssembly.Instance(embeddingModule, { env: { memory: this.memory } }).exports as unknown as EmbeddingExports;
    }
    const buffer = this.memory.buffer;
    new Int32Array(buffer, l.fineOf, p.dims + 1).set(p.fineOf);
    new Int32Array(buffer, l.fineList, p.fineDims).set(p.fineList);
    new Float64Array(buffer, l.fineSize, p.fineDims).set(p.fineSize);
    new Float64Array(buffer, l.rootSize, p.fineDims).set(p.fineSize.map(Math.sqrt));
    new Float64Array(buffer, l.scale, p.dims).set(p.scale);
    this.x = new Float32Array(buffer, l.x, p.inputLength);
    this.out = new Float64Array(buffer, l.out, 2 * p.dims);
    this.fine = new Float64Array(buffer, l.fine, 2 * p.fineDims);
    this.tables = p;
    this.layout = l;
  }
}

let kernel: EmbeddingKernel | null = null;

/** This thread's embedding kernel. */
export function embeddingKernel(): EmbeddingKernel {
  kernel ??= new EmbeddingKernel();
  return kernel;
}
