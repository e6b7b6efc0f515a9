// Glue for the WebAssembly SIMD noise kernel (wasm/noise.wat, built into noiseKernelWasm.ts by
// wasm/build.mjs). The kernel runs the LANES lanes of a stream side by side and hands the rare
// slow ziggurat draws back to JS, so that both paths share one exact implementation.
import { LANES, XoshiroLane, type Xoshiro128 } from './random.js';
import type { Norm } from './types.js';
import { NOISE_WASM_BASE64 } from './noiseKernelWasm.js';

// Byte offsets of the kernel's memory layout (see wasm/noise.wat).
const STATE_OFFSET = 4096;
const DATA_OFFSET = 8192;
const WASM_PAGE_BYTES = 65536;
/** Values per kernel call: the chunk stays in L2 between the kernel's write and the copy out. */
const CHUNK_VALUES = 1 << 16;

type FinishGaussian = (lane: XoshiroLane, layer: number, z: number, negative: boolean) => number;

interface KernelExports {
  memory: WebAssembly.Memory;
  gaussian(x: number, d: number, sigma: number, out: number, count: number): void;
  uniform(x: number, d: number, sigma: number, out: number, count: number): void;
}

const wasmModule = new WebAssembly.Module(Buffer.from(NOISE_WASM_BASE64, 'base64'));

export class NoiseKernel {
  private readonly exports: KernelExports;
  private readonly scratch = new XoshiroLane([1, 0, 0, 0]);
  /** View of the lane states, made again only when memory grows (views of the old buffer detach). */
  private states: Int32Array;

  /** `widths` is the ziggurat's x[0..256]; `finish` its slow path, run on one lane's generator. */
  constructor(widths: Float64Array, finish: FinishGaussian) {
    const instance = new WebAssembly.Instance(wasmModule, {
      noise: { finishGaussian: (lane: number, layer: number, z: number, negative: number) => this.finish(finish, lane, layer, z, negative) },
    });
    this.exports = instance.exports as unknown as KernelExports;
    new Float64Array(this.exports.memory.buffer, 0, widths.length).set(widths);
    this.states = new Int32Array(this.exports.memory.buffer, STATE_OFFSET, 4 * LANES);
  }

  /** Preconditions: x.length a multiple of LANES, rng at lane 0 (it stays there). */
  fill(rng: Xoshiro128, norm: Norm, x: Float32Array, sigma: number, rows: number, out: Float32Array): void {
    const d = x.length;
    if (d % LANES !== 0 || rng.next !== 0) throw new Error('noise kernel needs d a multiple of 4 and the stream at lane 0');
    const chunkRows = Math.max(1, Math.floor(CHUNK_VALUES / d));
    const outOffset = DATA_OFFSET + 4 * d;
    this.reserve(outOffset + 4 * chunkRows * d);
    const buffer = this.exports.memory.buffer;
    new Float32Array(buffer, DATA_OFFSET, d).set(x);
    this.writeStates(rng);
    const run = norm === 'l2' ? this.exports.gaussian : this.exports.uniform;
    const chunk = new Float32Array(buffer, outOffset, chunkRows * d);
    for (let row = 0; row < rows; row += chunkRows) {
      const count = Math.min(chunkRows, rows - row) * d;
      run(DATA_OFFSET, d, sigma, outOffset, count);
      out.set(count === chunk.length ? chunk : chunk.subarray(0, count), row * d);
    }
    this.readStates(rng);
  }

  private reserve(bytes: number): void {
    const memory = this.exports.memory;
    if (memory.buffer.byteLength >= bytes) return;
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / WASM_PAGE_BYTES));
    this.states = new Int32Array(memory.buffer, STATE_OFFSET, 4 * LANES);
  }

  private writeStates(rng: Xoshiro128): void {
    const states = this.states;
    rng.lanes.forEach((lane, i) => {
      states[i] = lane.s0;
      states[LANES + i] = lane.s1;
      states[2 * LANES + i] = lane.s2;
      states[3 * LANES + i] = lane.s3;
    });
  }

  private readStates(rng: Xoshiro128): void {
    const states = this.states;
    rng.lanes.forEach((lane, i) => {
      lane.s0 = states[i];
      lane.s1 = states[LANES + i];
      lane.s2 = states[2 * LANES + i];
      lane.s3 = states[3 * LANES + i];
    });
  }

  /** The kernel's import: the slow path of one draw on lane `lane`, whose state is in memory. */
  private finish(finish: FinishGaussian, lane: number, layer: number, z: number, negative: number): number {
    const states = this.states;
    const g = this.scratch;
    g.s0 = states[lane];
    g.s1 = states[LANES + lane];
    g.s2 = states[2 * LANES + lane];
    g.s3 = states[3 * LANES + lane];
    const eps = finish(g, layer, z, negative !== 0);
    states[lane] = g.s0;
    states[LANES + lane] = g.s1;
    states[2 * LANES + lane] = g.s2;
    states[3 * LANES + lane] = g.s3;
    return eps;
  }
}
