// Noise for randomized smoothing: Gaussian (l2) by a 256-layer ziggurat, uniform (l1).
// Sums x + sigma * eps are formed in float64 and rounded to the fixed grid q of soundness.ts (exact
// in float32): see docs/soundness.md for why this, plus a margin on pA, keeps the certificate honest.
// Draw k of a stream comes from its lane k mod LANES (random.ts). The code here is the plain
// definition; the batches certification needs come from a WebAssembly SIMD kernel that computes
// the same bits several times faster (noiseKernel.ts, wasm/noise.wat).
import { LANES, type Xoshiro128, type XoshiroLane } from './random.js';
import { NoiseKernel } from './noiseKernel.js';
import type { Norm } from './types.js';
import { quantize } from './soundness.js';

const LAYERS = 256;
const TWO_POW_NEG_55 = 2 ** -55;

/** Unnormalised Gaussian density exp(-x^2 / 2). */
function density(x: number): number {
  return Math.exp(-0.5 * x * x);
}

/** Mills ratio  (integral_r^inf exp(-t^2/2) dt) / exp(-r^2/2), by its continued fraction (fast for r > 3). */
function millsRatio(r: number): number {
  let value = r;
  for (let k = 200; k >= 1; k--) value = r + k / value;
  return 1 / value;
}

interface ZigguratTables {
  r: number; // start of the tail
  x: Float64Array; // layer widths, x[0] = v / f(r) (pseudo-width of the base layer), x[LAYERS] = 0
  f: Float64Array; // density at x[i]
}

/**
 * Marsaglia & Tsang's ziggurat: all layers have the same area v. Rather than trusting printed
 * constants, r is found by bisection so that the top layer closes exactly (to double precision),
 * which is what makes the sampler exact.
 */
function buildTables(): ZigguratTables {
  const layout = (r: number): { x: Float64Array; residual: number } => {
    const v = density(r) * (r + millsRatio(r));
    const x = new Float64Array(LAYERS + 1);
    x[0] = v / density(r);
    x[1] = r;
    for (let i = 1; i < LAYERS - 1; i++) {
      const next = density(x[i]) + v / x[i];
      if (next >= 1) return { x, residual: -1 }; // layers too tall: r must grow
      x[i + 1] = Math.sqrt(-2 * Math.log(next));
    }
    x[LAYERS] = 0;
    return { x, residual: x[LAYERS - 1] * (1 - density(x[LAYERS - 1])) - v };
  };
  let low = 3;
  let high = 4.5;
  for (let iteration = 0; iteration < 200 && high - low > 0; iteration++) {
    const mid = 0.5 * (low + high);
    if (mid === low || mid === high) break;
    if (layout(mid).residual < 0) low = mid;
    else high = mid;
  }
  const { x } = layout(high);
  const f = new Float64Array(LAYERS + 1);
  for (let i = 0; i <= LAYERS; i++) f[i] = density(x[i]);
  return { r: high, x, f };
}

const TABLES = buildTables();

/** One standard normal draw from one generator. Fast path: one table lookup, one multiply, one compare (98.5%). */
function laneGaussian(lane: XoshiroLane): number {
  const widths = TABLES.x;
  const bits = lane.nextUint32();
  const layer = bits & 0xff;
  const negative = (bits & 0x100) !== 0;
  const z = ((bits >>> 9) * 4294967296 + lane.nextUint32()) * TWO_POW_NEG_55 * widths[layer]; // 55-bit uniform
  if (z < widths[layer + 1]) return negative ? -z : z;
  return finishGaussian(lane, layer, z, negative);
}

/** The ziggurat's slow path for a candidate z outside the inner rectangle of `layer`. */
function finishGaussian(lane: XoshiroLane, layer: number, z: number, negative: boolean): number {
  const { f, r } = TABLES;
  if (layer === 0) {
    const tail = sampleTail(lane, r);
    return negative ? -tail : tail;
  }
  const y = f[layer] + lane.nextDouble() * (f[layer + 1] - f[layer]);
  if (y < density(z)) return negative ? -z : z;
  return laneGaussian(lane); // rejected: start afresh (terminates with probability 1)
}

function sampleTail(lane: XoshiroLane, r: number): number {
  for (;;) {
    const a = -Math.log(lane.nextDoubleNonZero()) / r;
    const b = -Math.log(lane.nextDoubleNonZero());
    if (2 * b >= a * a) return r + a;
  }
}

/** One standard normal draw of the stream (from the lane of the next draw). */
export function standardGaussian(rng: Xoshiro128): number {
  return laneGaussian(rng.nextLane());
}

/** Standard draw of the noise family of `norm`: N(0, 1) for l2, U[-1, 1] for l1. */
export function standardDraw(rng: Xoshiro128, norm: Norm): number {
  return norm === 'l2' ? standardGaussian(rng) : 2 * rng.nextDouble() - 1;
}

/**
 * The definition of the noisy batch, in plain JS: out[k*d + j] = q(x[j] + sigma * eps_kj) for
 * rows k = 0..rows-1, eps the next rows * d standard draws of rng. fillNoisyBatch must agree
 * with it bit for bit (test/noise.test.ts).
 */
export function fillNoisyBatchReference(rng: Xoshiro128, norm: Norm, x: Float32Array, sigma: number, rows: number, out: Float32Array): void {
  const d = x.length;
  if (out.length < rows * d) throw new Error(`noise buffer holds ${out.length} values, needs ${rows * d}`);
  let k = 0;
  for (let row = 0; row < rows; row++) for (let j = 0; j < d; j++) out[k++] = quantize(x[j] + sigma * standardDraw(rng, norm));
}

// One kernel per thread, made on first use: it only holds scratch memory between synchronous
// calls, so sharing it between streams is safe.
let kernel: NoiseKernel | undefined;

/**
 * Same values as fillNoisyBatchReference, fast: this is the hot loop of certification (N * d
 * draws), so it runs in the WebAssembly SIMD kernel whenever the lanes line up with the
 * kernel's groups of LANES draws (d a multiple of LANES, stream at lane 0: always, in practice).
 */
export function fillNoisyBatch(rng: Xoshiro128, norm: Norm, x: Float32Array, sigma: number, rows: number, out: Float32Array): void {
  const d = x.length;
  if (out.length < rows * d) throw new Error(`noise buffer holds ${out.length} values, needs ${rows * d}`);
  if (d % LANES !== 0 || rng.next !== 0) {
    fillNoisyBatchReference(rng, norm, x, sigma, rows, out);
    return;
  }
  kernel ??= new NoiseKernel(TABLES.x, TABLES.f, TABLES.r);
  kernel.fill(rng, norm, x, sigma, rows, out);
}

/** Fixed standard draws (reparameterisation): `count` vectors of length d, float64. */
export function standardDraws(rng: Xoshiro128, norm: Norm, count: number, d: number): Float64Array {
  const out = new Float64Array(count * d);
  for (let i = 0; i < out.length; i++) out[i] = standardDraw(rng, norm);
  return out;
}

/** out[k*d + j] = q(x[j] + sigma * draws[k*d + j]) for the given rows of fixed draws. */
export function applyDraws(x: Float32Array, sigma: number, draws: Float64Array, firstRow: number, rows: number, out: Float32Array, outOffset = 0): void {
  const d = x.length;
  let k = outOffset;
  let source = firstRow * d;
  for (let row = 0; row < rows; row++) for (let j = 0; j < d; j++) out[k++] = quantize(x[j] + sigma * draws[source++]);
}

export const ZIGGURAT = { layers: LAYERS, r: TABLES.r };
