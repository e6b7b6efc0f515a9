// Cohen, Rosenfeld & Kolter (2019): CERTIFY and PREDICT for the smoothed classifier
// g(x) = argmax_c P(h(x + eps) = c), with h the ONNX model on q-rounded inputs (soundness.ts).
import { accumulateSoftmax, countArgmax, type OnnxModel } from './model.js';
import { applyDraws, fillNoisyBatch } from './noise.js';
import { deriveStream, type Xoshiro128 } from './random.js';
import { floatMargin, roundRadiusDown } from './soundness.js';
import { binomialTestTwoSided, clopperPearsonLower, normalInverseCdf } from './stats.js';
import type { Certificate, CertifyParams, Norm, Prediction } from './types.js';

/** Radius of a certificate from the lower bound of pA (DESIGN 1.2), before any margin. */
export function radiusFromPA(pALower: number, sigma: number, norm: Norm): number {
  if (pALower <= 0.5) return 0;
  return norm === 'l2' ? sigma * normalInverseCdf(pALower) : sigma * (2 * pALower - 1);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Thrown between model calls once a decision's deadline has passed (the caller gave up on it). */
export class DeadlineExceededError extends Error {
  constructor() {
    super('deadline exceeded during model evaluation');
    this.name = 'DeadlineExceededError';
  }
}

export class Smooth {
  /** Forward passes (single inputs) run so far; the gateway exports it as a metric. */
  evaluations = 0;
  /** Epoch ms after which no further model call starts (see `before`). */
  private deadlineAtMs = Infinity;

  constructor(readonly model: OnnxModel, readonly numClasses: number) {}

  /** Runs `work` with a deadline checked before every model call, so abandoned work stops early. */
  async before<T>(deadlineAtMs: number, work: () => Promise<T>): Promise<T> {
    this.deadlineAtMs = deadlineAtMs;
    try {
      return await work();
    } finally {
      this.deadlineAtMs = Infinity;
    }
  }

  /** One model call of `rows` rows of the batch buffer, counted. */
  private async forward(rows: number): Promise<Float32Array> {
    if (Date.now() > this.deadlineAtMs) throw new DeadlineExceededError();
    this.evaluations += rows;
    return this.model.logits(rows);
  }

  /** Class counts of h(x + eps) over `num` fresh draws of `rng` (DESIGN 1.1). */
  async sampleCounts(x: Float32Array, sigma: number, norm: Norm, num: number, rng: Xoshiro128): Promise<Float64Array> {
    const counts = new Float64Array(this.numClasses);
    const { batch, options } = this.model;
    for (let remaining = num; remaining > 0; ) {
      const rows = Math.min(options.batchSize, remaining);
      fillNoisyBatch(rng, norm, x, sigma, rows, batch);
      countArgmax(await this.forward(rows), rows, counts);
      remaining -= rows;
    }
    return counts;
  }

  /**
   * Mean softmax probabilities of h at each sigma of `sigmas`, all on the SAME fixed draws
   * (common random numbers): result[s * K + c]. Rows are packed into model calls of batchSize.
   */
  async meanSoftmax(x: Float32Array, sigmas: number[], draws: Float64Array): Promise<Float64Array> {
    const d = x.length;
    const samples = draws.length / d;
    const classes = this.numClasses;
    const sums = new Float64Array(sigmas.length * classes);
    const { batch, options } = this.model;
    // Enumerate (sigma, sample) rows in order and flush whenever the batch is full.
    const pending: number[] = []; // sigma index of each row in the batch
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const logits = await this.forward(pending.length);
      for (let row = 0; row < pending.length; row++) {
        accumulateSoftmax(logits, classes, row, 1, sums.subarray(pending[row] * classes, (pending[row] + 1) * classes));
      }
      pending.length = 0;
    };
    for (let s = 0; s < sigmas.length; s++) {
      for (let first = 0; first < samples; ) {
        const rows = Math.min(samples - first, options.batchSize - pending.length);
        applyDraws(x, sigmas[s], draws, first, rows, batch, pending.length * d);
        for (let r = 0; r < rows; r++) pending.push(s);
        first += rows;
        if (pending.length === options.batchSize) await flush();
      }
    }
    await flush();
    for (let i = 0; i < sums.length; i++) sums[i] /= samples;
    return sums;
  }

  /**
   * CERTIFY: selection with N0 draws of the "selection" stream, estimation with N draws of the
   * independent "estimation" stream, one-sided Clopper-Pearson bound, minus the float margin.
   */
  async certify(x: Float32Array, params: CertifyParams, seed: string): Promise<Certificate & { floatMargin: number }> {
    const { n0, n, alpha, sigma, norm } = params;
    const counts0 = await this.sampleCounts(x, sigma, norm, n0, deriveStream(seed, 'selection'));
    const selected = argmax(counts0);
    const counts = await this.sampleCounts(x, sigma, norm, n, deriveStream(seed, 'estimation'));
    const countA = counts[selected];
    const pALower = clopperPearsonLower(countA, n, alpha);
    const margin = floatMargin(x.length, sigma, maxAbs(x));
    const certified = pALower - margin > 0.5;
    return {
      answer: certified ? selected : null,
      radius: certified ? roundRadiusDown(radiusFromPA(pALower - margin, sigma, norm)) : 0,
      pALower,
      floatMargin: margin,
      selected,
      countA,
      n,
      n0,
      alpha,
      sigma,
      norm,
    };
  }

  /** PREDICT: top two counts of N draws, two-sided binomial test at p = 1/2, abstain if p-value > alpha. */
  async predict(x: Float32Array, params: { n: number; alpha: number; sigma: number; norm: Norm }, seed: string): Promise<Prediction> {
    const counts = await this.sampleCounts(x, params.sigma, params.norm, params.n, deriveStream(seed, 'predict'));
    const top = argmax(counts);
    let second = top === 0 ? 1 : 0;
    for (let c = 0; c < counts.length; c++) if (c !== top && counts[c] > counts[second]) second = c;
    const countA = counts[top];
    const countB = counts[second];
    const pValue = binomialTestTwoSided(countA, countA + countB, 0.5);
    return { answer: pValue <= params.alpha ? top : null, countA, countB, pValue, ...params };
  }
}
