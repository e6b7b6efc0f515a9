// The noise streams: the WebAssembly SIMD kernel against the pure-JS reference of the same
// stream (bit for bit), the stream's definition, and the statistics of what the kernel draws.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fillNoisyBatch, fillNoisyBatchReference, standardDraw, ZIGGURAT } from '../src/engine/noise.js';
import { deriveStream, LANES, XoshiroLane, type Xoshiro128 } from '../src/engine/random.js';
import { QUANTUM, quantize } from '../src/engine/soundness.js';
import { normalCdf } from '../src/engine/stats.js';
import type { Norm } from '../src/engine/types.js';

const SEED = process.env.TEST_SEED ?? '5eed0000000000000000000000000001';
const NORMS: Norm[] = ['l2', 'l1'];

function image(d: number): Float32Array {
  return Float32Array.from({ length: d }, (_, j) => ((j * 37) % 256) / 255);
}

/** Index of the first value whose float32 bits differ (so -0 and +0 differ), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return ua.length === ub.length ? -1 : Math.min(ua.length, ub.length);
}

/** Kolmogorov-Smirnov statistic of `values` (sorted in place) against `cdf`. */
function ksStatistic(values: Float64Array, cdf: (v: number) => number): number {
  values.sort();
  const n = values.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(values[i]);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/** KS critical value at level 1e-6 (asymptotic): sqrt(-ln(1e-6 / 2) / (2n)). */
const ksCritical = (n: number): number => Math.sqrt(-Math.log(5e-7) / (2 * n));

/** Standard draws as the kernel makes them: x = 0, sigma = 1, so out = q(eps). */
function kernelDraws(rng: Xoshiro128, norm: Norm, rows: number, d = 784): Float64Array {
  const out = new Float32Array(rows * d);
  fillNoisyBatch(rng, norm, new Float32Array(d), 1, rows, out);
  return Float64Array.from(out);
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; aa += a[i] ** 2; bb += b[i] ** 2; }
  return dot / Math.sqrt(aa * bb);
}

describe(`noise kernel = JS reference, bit for bit (seed ${SEED})`, () => {
  for (const norm of NORMS) {
    it(`${norm}: consecutive batches, chunk boundaries, two input sizes, continuing state`, () => {
      for (const [d, batches] of [[784, [1, 3, 90, 7]], [3072, [25, 2]]] as const) {
        const x = image(d);
        const fast = deriveStream(SEED, `bits-${norm}-${d}`);
        const reference = deriveStream(SEED, `bits-${norm}-${d}`);
        for (const rows of batches) {
          const a = new Float32Array(rows * d);
          const b = new Float32Array(rows * d);
          fillNoisyBatch(fast, norm, x, 0.37, rows, a);
          fillNoisyBatchReference(reference, norm, x, 0.37, rows, b);
          expect(firstBitDifference(a, b)).toBe(-1);
        }
        // Both leave the lanes in the same state.
        expect(fast.lanes.map((l) => [l.s0, l.s1, l.s2, l.s3])).toEqual(reference.lanes.map((l) => [l.s0, l.s1, l.s2, l.s3]));
        expect(fast.next).toBe(reference.next);
      }
    });
  }

  it('agrees on the slow paths: wedges, restarts and the tail beyond r (x = 0, sigma = 1)', () => {
    const rows = 200;
    const a = new Float32Array(rows * 784);
    const b = new Float32Array(rows * 784);
    fillNoisyBatch(deriveStream(SEED, 'slow-paths'), 'l2', new Float32Array(784), 1, rows, a);
    fillNoisyBatchReference(deriveStream(SEED, 'slow-paths'), 'l2', new Float32Array(784), 1, rows, b);
    expect(firstBitDifference(a, b)).toBe(-1);
    // P(|eps| > r) = 2.6e-4: about 40 tail draws among these 156 800.
    expect(a.filter((v) => Math.abs(v) > ZIGGURAT.r).length).toBeGreaterThan(10);
  });

  it('agrees where rounding is delicate: large sigma, inputs off the grid, negative values', () => {
    const d = 784;
    const x = Float32Array.from({ length: d }, (_, j) => (j % 2 ? -1 : 1) * (0.5 + j * 1e-7));
    for (const sigma of [1e-7, 2 ** -21, 0.5, 3]) {
      const a = new Float32Array(20 * d);
      const b = new Float32Array(20 * d);
      fillNoisyBatch(deriveStream(SEED, `delicate-${sigma}`), 'l2', x, sigma, 20, a);
      fillNoisyBatchReference(deriveStream(SEED, `delicate-${sigma}`), 'l2', x, sigma, 20, b);
      expect(firstBitDifference(a, b)).toBe(-1);
    }
  });

  it('falls back to the reference when the lanes do not line up (odd d, stream not at lane 0)', () => {
    const x = image(783);
    const a = new Float32Array(5 * 783);
    const b = new Float32Array(5 * 783);
    fillNoisyBatch(deriveStream(SEED, 'odd'), 'l2', x, 0.25, 5, a);
    fillNoisyBatchReference(deriveStream(SEED, 'odd'), 'l2', x, 0.25, 5, b);
    expect(firstBitDifference(a, b)).toBe(-1);
    // After 5 * 783 draws the stream is at lane 3; the next batch (d = 784) continues from there.
    const fast = deriveStream(SEED, 'odd');
    const reference = deriveStream(SEED, 'odd');
    fillNoisyBatch(fast, 'l2', x, 0.25, 5, a);
    fillNoisyBatchReference(reference, 'l2', x, 0.25, 5, b);
    expect(fast.next).toBe((5 * 783) % LANES);
    const c = new Float32Array(4 * 784);
    const e = new Float32Array(4 * 784);
    fillNoisyBatch(fast, 'l2', image(784), 0.25, 4, c);
    fillNoisyBatchReference(reference, 'l2', image(784), 0.25, 4, e);
    expect(firstBitDifference(c, e)).toBe(-1);
  });
});

describe(`noise stream definition (seed ${SEED})`, () => {
  it('xoshiro128** matches the published outputs for state (1, 2, 3, 4)', () => {
    const lane = new XoshiroLane([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => lane.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('lanes are seeded from SHA-512(seed:label) and draw k comes from lane k mod 4', () => {
    // Expected words computed independently (Python hashlib + a plain xoshiro128**).
    const rng = deriveStream('5eed0000000000000000000000000001', 'kat');
    expect(Array.from({ length: 8 }, () => rng.nextUint32())).toEqual([
      4205946427, 1322907615, 2121837092, 2409839944, 684139458, 1149843472, 3175357906, 1494283322,
    ]);
  });

  it('the reference batch is q(x + sigma * eps) with eps the stream\'s standard draws, in order', () => {
    for (const norm of NORMS) {
      const x = image(8);
      const out = new Float32Array(3 * 8);
      fillNoisyBatchReference(deriveStream(SEED, 'order'), norm, x, 0.5, 3, out);
      const rng = deriveStream(SEED, 'order');
      const expected = Float32Array.from({ length: 24 }, (_, k) => quantize(x[k % 8] + 0.5 * standardDraw(rng, norm)));
      expect(firstBitDifference(out, expected)).toBe(-1);
      for (const v of out) expect(Number.isInteger(v / QUANTUM)).toBe(true);
    }
  });
});

describe(`noise statistics, kernel output (seed ${SEED})`, () => {
  const rows = 1300; // 1 019 200 draws
  const gaussian = kernelDraws(deriveStream(SEED, 'stats-l2'), 'l2', rows);
  const uniform = kernelDraws(deriveStream(SEED, 'stats-l1'), 'l1', rows);
  const n = gaussian.length;

  it('Gaussian: moments of N(0, 1), and the tail beyond the ziggurat base as often as it should be', () => {
    let m1 = 0, m2 = 0, m4 = 0, tail = 0;
    for (const v of gaussian) { m1 += v; m2 += v * v; m4 += v ** 4; if (Math.abs(v) > ZIGGURAT.r) tail++; }
    m1 /= n; m2 /= n; m4 /= n;
    // Standard errors: mean 1/sqrt(n), variance sqrt(2/n), fourth moment sqrt(96/n); allow 6.
    expect(Math.abs(m1)).toBeLessThan(6 / Math.sqrt(n));
    expect(Math.abs(m2 - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
    expect(Math.abs(m4 - 3)).toBeLessThan(6 * Math.sqrt(96 / n));
    const pTail = 2 * (1 - normalCdf(ZIGGURAT.r));
    expect(Math.abs(tail - n * pTail)).toBeLessThan(6 * Math.sqrt(n * pTail));
  });

  it('Gaussian: Kolmogorov-Smirnov against N(0, 1)', () => {
    const sorted = Float64Array.from(gaussian);
    expect(ksStatistic(sorted, normalCdf)).toBeLessThan(ksCritical(n) + QUANTUM); // q moves values by <= 2^-21
  });

  it('uniform: Kolmogorov-Smirnov against U[-1, 1], and its moments', () => {
    const sorted = Float64Array.from(uniform);
    expect(ksStatistic(sorted, (v) => Math.min(1, Math.max(0, (v + 1) / 2)))).toBeLessThan(ksCritical(n) + QUANTUM);
    let m1 = 0, m2 = 0;
    for (const v of uniform) { m1 += v; m2 += v * v; }
    expect(Math.abs(m1 / n)).toBeLessThan(6 * Math.sqrt(1 / 3 / n));
    expect(Math.abs(m2 / n - 1 / 3)).toBeLessThan(6 * Math.sqrt(4 / 45 / n));
  });

  it('neighbouring draws (other lanes), draws of one lane, and streams of other labels are uncorrelated', () => {
    const bound = 6 / Math.sqrt(n); // |r| of independent samples: standard error 1/sqrt(n)
    for (const values of [gaussian, uniform]) {
      for (const lag of [1, 2, 3, 4, 8, 784]) {
        expect(Math.abs(correlation(values.subarray(0, n - lag), values.subarray(lag)))).toBeLessThan(bound);
      }
      // Squares too: a dependence in scale would not show in the plain correlation.
      const squares = values.map((v) => v * v - (values === gaussian ? 1 : 1 / 3));
      expect(Math.abs(correlation(squares.subarray(0, n - 1), squares.subarray(1)))).toBeLessThan(bound);
    }
    const other = kernelDraws(deriveStream(SEED, 'stats-other'), 'l2', rows);
    expect(Math.abs(correlation(gaussian, other))).toBeLessThan(bound);
  });

  it('each lane on its own passes Kolmogorov-Smirnov against N(0, 1)', () => {
    for (let lane = 0; lane < LANES; lane++) {
      const own = Float64Array.from({ length: n / LANES }, (_, i) => gaussian[LANES * i + lane]);
      expect(ksStatistic(own, normalCdf)).toBeLessThan(ksCritical(own.length) + QUANTUM);
    }
  });
});

describe('noise kernel build', () => {
  const require = createRequire(import.meta.url);
  let hasWabt = true;
  try { require.resolve('wabt'); } catch { hasWabt = false; }
  it.skipIf(!hasWabt)('the committed kernel is what wasm/noise.wat builds to', () => {
    expect(() => execFileSync(process.execPath, ['wasm/build.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
