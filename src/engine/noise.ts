// Noise for randomized smoothing: Gaussian (l2) by a 256-layer ziggurat, uniform (l1).
// Sums x + sigma * eps are formed in float64 and rounded to the fixed grid q of soundness.ts (exact
// in float32): see docs/soundness.md for why this, plus a margin on pA, keeps the certificate honest.
import type { Xoshiro128 } from './random.js';
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

/** One standard normal draw. Fast path: one table lookup, one multiply, one compare (~99%). */
export function standardGaussian(rng: Xoshiro128): number {
  const widths = TABLES.x;
  const bits = rng.nextUint32();
  const layer = bits & 0xff;
  const negative = (bits & 0x100) !== 0;
  const z = ((bits >>> 9) * 4294967296 + rng.nextUint32()) * TWO_POW_NEG_55 * widths[layer]; // 55-bit uniform
  if (z < widths[layer + 1]) return negative ? -z : z;
  return finishGaussian(rng, layer, z, negative);
}

/** The ziggurat's slow path for a candidate z outside the inner rectangle of `layer`. */
function finishGaussian(rng: Xoshiro128, layer: number, z: number, negative: boolean): number {
  const { f, r } = TABLES;
  if (layer === 0) {
    const tail = sampleTail(rng, r);
    return negative ? -tail : tail;
  }
  const y = f[layer] + rng.nextDouble() * (f[layer + 1] - f[layer]);
  if (y < density(z)) return negative ? -z : z;
  return standardGaussian(rng); // rejected: start afresh (terminates with probability 1)
}

function sampleTail(rng: Xoshiro128, r: number): number {
  for (;;) {
    const a = -Math.log(rng.nextDoubleNonZero()) / r;
    const b = -Math.log(rng.nextDoubleNonZero());
    if (2 * b >= a * a) return r + a;
  }
}

/** Standard draw of the noise family of `norm`: N(0, 1) for l2, U[-1, 1] for l1. */
export function standardDraw(rng: Xoshiro128, norm: Norm): number {
  return norm === 'l2' ? standardGaussian(rng) : 2 * rng.nextDouble() - 1;
}

/**
 * out[k*d + j] = q(x[j] + sigma * eps_kj) for rows k = 0..rows-1, fresh eps from rng.
 * This is the hot loop of certification (N * d draws), so the Gaussian case keeps the
 * xoshiro128** state in locals and inlines the ziggurat's fast path; the rare slow path
 * (about 1% of draws) hands the state back to `finishGaussian`.
 */
export function fillNoisyBatch(rng: Xoshiro128, norm: Norm, x: Float32Array, sigma: number, rows: number, out: Float32Array): void {
  const d = x.length;
  const total = rows * d;
  if (out.length < total) throw new Error(`noise buffer holds ${out.length} values, needs ${total}`);
  if (norm === 'l1') {
    let k = 0;
    for (let row = 0; row < rows; row++) for (let j = 0; j < d; j++) out[k++] = quantize(x[j] + sigma * (2 * rng.nextDouble() - 1));
    return;
  }
  const widths = TABLES.x;
  let s0 = rng.s0, s1 = rng.s1, s2 = rng.s2, s3 = rng.s3;
  let j = 0;
  for (let k = 0; k < total; k++) {
    // Two xoshiro128** steps, inlined.
    let m = Math.imul(s1, 5);
    const bits = Math.imul((m << 7) | (m >>> 25), 9);
    let t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    m = Math.imul(s1, 5);
    const low = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    const layer = bits & 0xff;
    const negative = (bits & 0x100) !== 0;
    const z = ((bits >>> 9) * 4294967296 + low) * TWO_POW_NEG_55 * widths[layer];
    let eps: number;
    if (z < widths[layer + 1]) {
      eps = negative ? -z : z;
    } else {
      rng.s0 = s0; rng.s1 = s1; rng.s2 = s2; rng.s3 = s3;
      eps = finishGaussian(rng, layer, z, negative);
      s0 = rng.s0; s1 = rng.s1; s2 = rng.s2; s3 = rng.s3;
    }
    out[k] = quantize(x[j] + sigma * eps);
    if (++j === d) j = 0;
  }
  rng.s0 = s0; rng.s1 = s1; rng.s2 = s2; rng.s3 = s3;
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
