// Glue for the WebAssembly SIMD noise kernel (wasm/noise.wat, built into noiseKernelWasm.ts by
// wasm/build.mjs). The kernel runs the LANES lanes of a stream side by side; JS only moves the
// lane states, the input and the output in and out of its memory.
import { LANES, type Xoshiro128 } from './random.js';
import type { Norm } from './types.js';
import { NOISE_WASM_BASE64 } from './noiseKernelWasm.js';
import { WASM_PAGE_BYTES, compileKernel } from '../util/wasmKernel.js';

// Byte offsets of the kernel's memory layout (see wasm/noise.wat).
const DENSITIES_OFFSET = 2560;
const STATE_OFFSET = 5120;
const TAIL_START_OFFSET = 5184;
const DATA_OFFSET = 8192;
/** Values per kernel call: the chunk stays in L2 between the kernel's write and the copy out. */
const CHUNK_VALUES = 1 << 16;

interface KernelExports {
  memory: WebAssembly.Memory;
  gaussian(x: number, d: number, sigma: number, out: number, count: number): void;
  uniform(x: number, d: number, sigma: number, out: number, count: number): void;
}

const wasmModule = compileKernel(NOISE_WASM_BASE64);

export class NoiseKernel {
  private readonly exports: KernelExports;
  /** View of the lane states, made again only when memory grows (views of the old buffer detach). */
  private states: Int32Array;

  /** The ziggurat's tables: widths x[0..256], densities f[0..256], tail start r. */
  constructor(widths: Float64Array, densities: Float64Array, tailStart: number) {
    // Math.exp and Math.log themselves, so that the slow path rounds exactly as noise.ts does.
    const instance = new WebAssembly.Instance(wasmModule, { Math: { exp: Math.exp, log: Math.log } });
    this.exports = instance.exports as unknown as KernelExports;
    const buffer = this.exports.memory.buffer;
    new Float64Array(buffer, 0, widths.length).set(widths);
    new Float64Array(buffer, DENSITIES_OFFSET, densities.length).set(densities);
    new Float64Array(buffer, TAIL_START_OFFSET, 1)[0] = tailStart;
    this.states = new Int32Array(buffer, STATE_OFFSET, 4 * LANES);
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
}
