// CERTIFY / PREDICT on the shipped model with real onnxruntime and real Fashion-MNIST test images.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { DeadlineExceededError, deriveStream, floatMargin, newSeed, QUANTUM, radiusFromPA, type Smooth } from '../src/engine/index.js';
import { fillNoisyBatch, standardGaussian, ZIGGURAT } from '../src/engine/noise.js';
import { binomialTestTwoSided, clopperPearsonLower, normalCdf, normalInverseCdf } from '../src/engine/stats.js';
import { loadDefaultEngine, loadDefaultSmooth } from './helpers/model.js';

const SEED = process.env.TEST_SEED ?? '5eed0000000000000000000000000001';
const images = loadFashionMnist('test', 40);

let smooth: Smooth;
beforeAll(async () => { smooth = await loadDefaultSmooth(); });
afterAll(async () => { await smooth.model.close(); });

describe(`certify (seed ${SEED})`, () => {
  it('returns the exact base radius implied by its counts', async () => {
    let certified = 0;
    for (let i = 0; i < 10; i++) {
      const x = images.images[i];
      const cert = await smooth.certify(x, { n0: 50, n: 1000, alpha: 0.001, sigma: 0.25, norm: 'l2' }, SEED);
      const pALower = clopperPearsonLower(cert.countA, cert.n, cert.alpha);
      expect(cert.pALower).toBe(pALower);
      const margin = floatMargin(784, 0.25, Math.max(...x));
      expect(cert.floatMargin).toBe(margin);
      if (pALower - margin > 0.5) {
        certified++;
        expect(cert.answer).toBe(cert.selected);
        const exact = 0.25 * normalInverseCdf(pALower - margin);
        expect(cert.radius).toBeLessThanOrEqual(exact);
        expect(cert.radius).toBeGreaterThan(exact * (1 - 1e-12));
        // The margin is the only difference from the textbook radius, and it is small.
        expect(cert.radius).toBeLessThan(radiusFromPA(pALower, 0.25, 'l2'));
        expect(radiusFromPA(pALower, 0.25, 'l2') - cert.radius).toBeLessThan(1e-3);
      } else {
        expect(cert.answer).toBeNull();
        expect(cert.radius).toBe(0);
      }
    }
    expect(certified).toBeGreaterThan(5); // a 87%-accurate model certifies most of these at sigma0
  });

  it('abstains when the lower bound of pA is below one half', async () => {
    let abstains = 0;
    for (let i = 0; i < images.images.length && abstains < 2; i++) {
      const cert = await smooth.certify(images.images[i], { n0: 20, n: 200, alpha: 0.001, sigma: 1.0, norm: 'l2' }, SEED);
      if (cert.pALower - cert.floatMargin <= 0.5) {
        abstains++;
        expect(cert.answer).toBeNull();
        expect(cert.radius).toBe(0);
      }
    }
    expect(abstains).toBe(2);
  });

  it('l1 certificate: uniform noise and radius sigma * (2 pA - 1)', async () => {
    const cert = await smooth.certify(images.images[0], { n0: 50, n: 1000, alpha: 0.001, sigma: 0.5, norm: 'l1' }, SEED);
    const p = cert.pALower - cert.floatMargin;
    if (p > 0.5) expect(cert.radius).toBeCloseTo(0.5 * (2 * p - 1), 12);
    else expect(cert.radius).toBe(0);
  });

  it('is reproducible from its seed and changes with the seed', async () => {
    const x = images.images[3];
    const params = { n0: 20, n: 300, alpha: 0.001, sigma: 0.5, norm: 'l2' as const };
    const a = await smooth.certify(x, params, SEED);
    const b = await smooth.certify(x, params, SEED);
    expect(b).toEqual(a);
    const c = await smooth.sampleCounts(x, 0.5, 'l2', 300, deriveStream(SEED, 'estimation'));
    expect(c[a.selected]).toBe(a.countA);
    const mine = new Float32Array(784);
    const theirs = new Float32Array(784);
    fillNoisyBatch(deriveStream(SEED, 'estimation'), 'l2', x, 0.5, 1, mine);
    fillNoisyBatch(deriveStream(newSeed(), 'estimation'), 'l2', x, 0.5, 1, theirs);
    expect(Array.from(theirs)).not.toEqual(Array.from(mine));
  });

  it('draws selection and estimation noise from independent streams', () => {
    const x = new Float32Array(784);
    const selection = new Float32Array(784 * 20);
    const estimation = new Float32Array(784 * 20);
    fillNoisyBatch(deriveStream(SEED, 'selection'), 'l2', x, 1, 20, selection);
    fillNoisyBatch(deriveStream(SEED, 'estimation'), 'l2', x, 1, 20, estimation);
    let dot = 0, aa = 0, bb = 0;
    for (let i = 0; i < selection.length; i++) { dot += selection[i] * estimation[i]; aa += selection[i] ** 2; bb += estimation[i] ** 2; }
    const correlation = dot / Math.sqrt(aa * bb);
    // 15680 pairs: |r| of independent streams is below 4.5 / sqrt(15680) = 0.036 with overwhelming probability.
    expect(Math.abs(correlation)).toBeLessThan(0.036);
    expect(selection.slice(0, 16)).not.toEqual(estimation.slice(0, 16));
  });
});

describe(`predict (seed ${SEED})`, () => {
  it('answers exactly when the two-sided binomial test rejects at alpha', async () => {
    let answered = 0;
    for (let i = 0; i < 8; i++) {
      const p = await smooth.predict(images.images[i], { n: 200, alpha: 0.001, sigma: i < 4 ? 0.25 : 1.0, norm: 'l2' }, SEED);
      expect(p.pValue).toBe(binomialTestTwoSided(p.countA, p.countA + p.countB, 0.5));
      expect(p.countA).toBeGreaterThanOrEqual(p.countB);
      if (p.pValue <= 0.001) { answered++; expect(p.answer).not.toBeNull(); } else expect(p.answer).toBeNull();
    }
    expect(answered).toBeGreaterThan(0);
  });
});

describe(`noise (seed ${SEED})`, () => {
  it('ziggurat closes exactly: r matches the 256-layer constant', () => {
    expect(ZIGGURAT.r).toBeCloseTo(3.6541528853610088, 13);
  });

  it('standard Gaussian passes a Kolmogorov-Smirnov test', () => {
    const rng = deriveStream(SEED, 'ks');
    const n = 200_000;
    const sample = Float64Array.from({ length: n }, () => standardGaussian(rng)).sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = normalCdf(sample[i]);
      d = Math.max(d, (i + 1) / n - f, f - i / n);
    }
    // Critical value at level 1e-6: sqrt(-ln(1e-6 / 2) / (2n)).
    expect(d).toBeLessThan(Math.sqrt(-Math.log(5e-7) / (2 * n)));
  });

  it('noisy samples lie on the fixed grid of the certified classifier', () => {
    const x = Float32Array.from({ length: 784 }, (_, i) => (i % 256) / 255);
    const out = new Float32Array(784 * 4);
    fillNoisyBatch(deriveStream(SEED, 'grid'), 'l2', x, 0.3, 4, out);
    for (const v of out) expect(Number.isInteger(v / QUANTUM)).toBe(true);
    fillNoisyBatch(deriveStream(SEED, 'grid'), 'l1', x, 0.3, 4, out);
    for (let i = 0; i < out.length; i++) {
      expect(Number.isInteger(out[i] / QUANTUM)).toBe(true);
      expect(Math.abs(out[i] - x[i % 784])).toBeLessThanOrEqual(0.3 + QUANTUM);
    }
  });
});

describe('deadline', () => {
  it('stops before the next model call once the deadline has passed', async () => {
    const engine = await loadDefaultEngine();
    const request = { n0: 10, n: 100, alpha: 0.001, sigma: 'auto' as const, norm: 'l2' as const, solver: 'batched' as const };
    const before = engine.evaluations;
    await expect(engine.certify(images.images[0], request, SEED, Date.now() - 1)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(engine.evaluations).toBe(before);
    // The deadline applies to that call only.
    const d = await engine.certify(images.images[0], request, SEED);
    expect(d.evaluations).toBeGreaterThan(110);
    await engine.close();
  });
});

describe('bad inputs', () => {
  it('rejects a seed that is not hex', () => {
    expect(() => deriveStream('not a seed', 'x')).toThrow(/hex/);
  });

  it('rejects an input of the wrong length', async () => {
    const engine = await loadDefaultEngine();
    await expect(engine.predict(new Float32Array(10), { n: 10, alpha: 0.001, sigma: 0.25, norm: 'l2' }, SEED)).rejects.toThrow(/784/);
    await engine.close();
  });
});
