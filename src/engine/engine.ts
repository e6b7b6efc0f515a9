// The decision pipeline for one model: choose sigma (data-dependent or fixed), then certify
// with fresh, independent noise. Inputs and outputs are plain data so that it runs in workers.
import type { ModelEntry } from './manifest.js';
import { OnnxModel, type RunnerOptions } from './model.js';
import { deriveStream } from './random.js';
import { DEFAULT_SEARCH, optimizeSigma } from './sigma.js';
import { Smooth } from './smooth.js';
import type { Norm, Prediction, SigmaSearchOptions, SigmaSearchResult, SigmaSolver } from './types.js';

export interface DecisionRequest {
  n0: number;
  n: number;
  alpha: number;
  /** 'auto' = data-dependent sigma (paper Algorithm 1); a number = fixed sigma. */
  sigma: number | 'auto';
  norm: Norm;
  solver: SigmaSolver;
  search?: Partial<SigmaSearchOptions>;
}

export interface PredictRequest {
  n: number;
  alpha: number;
  sigma: number;
  norm: Norm;
}

export interface EngineDecision {
  base: {
    answer: number | null;
    radius: number;
    pALower: number;
    /** Subtracted from pALower before the radius (floating-point soundness, docs/soundness.md). */
    floatMargin: number;
    countA: number;
    selected: number;
    n: number;
    n0: number;
    alpha: number;
    sigma: number;
    sigma0: number;
    solver: SigmaSolver;
  };
  search: SigmaSearchResult | null;
  /** The fully resolved search options (null for a fixed sigma): with `seed` they replay `search`. */
  searchOptions: SigmaSearchOptions | null;
  seed: string;
  /** Forward passes spent on this decision (search + certification). */
  evaluations: number;
  timingsMs: { sigma: number; certify: number };
}

export class Engine {
  private constructor(readonly entry: ModelEntry, private readonly smooth: Smooth) {}

  static async load(entry: ModelEntry, modelFile: string, options: Partial<RunnerOptions> = {}): Promise<Engine> {
    const model = await OnnxModel.load(modelFile, entry, options);
    return new Engine(entry, new Smooth(model, entry.labels.length));
  }

  get evaluations(): number {
    return this.smooth.evaluations;
  }

  /** The search options for this model: server defaults, then the request's choices. */
  searchOptions(request: DecisionRequest): SigmaSearchOptions {
    return {
      ...DEFAULT_SEARCH,
      sigmaMin: this.entry.sigma0 / 2,
      sigmaMax: this.entry.sigma0 * 2,
      ...request.search,
      solver: request.solver,
      sigma0: this.entry.sigma0,
    };
  }

  /**
   * Sigma search on stream "sigma", then CERTIFY on streams "selection" and "estimation" of `seed`.
   * Past `deadlineAtMs` (epoch ms) it stops before the next model call with DeadlineExceededError.
   */
  async certify(x: Float32Array, request: DecisionRequest, seed: string, deadlineAtMs = Infinity): Promise<EngineDecision> {
    this.checkInput(x);
    return this.smooth.before(deadlineAtMs, () => this.decide(x, request, seed));
  }

  private async decide(x: Float32Array, request: DecisionRequest, seed: string): Promise<EngineDecision> {
    const start = this.smooth.evaluations;
    const t0 = performance.now();
    let search: SigmaSearchResult | null = null;
    let searchOptions: SigmaSearchOptions | null = null;
    let sigma: number;
    if (request.sigma === 'auto' && request.solver !== 'fixed') {
      searchOptions = this.searchOptions(request);
      search = await optimizeSigma(this.smooth, x, searchOptions, request.norm, deriveStream(seed, 'sigma'));
      sigma = search.sigma;
    } else {
      sigma = request.sigma === 'auto' ? this.entry.sigma0 : request.sigma;
    }
    const t1 = performance.now();
    const certificate = await this.smooth.certify(x, { n0: request.n0, n: request.n, alpha: request.alpha, sigma, norm: request.norm }, seed);
    const t2 = performance.now();
    return {
      base: {
        answer: certificate.answer,
        radius: certificate.radius,
        pALower: certificate.pALower,
        floatMargin: certificate.floatMargin,
        countA: certificate.countA,
        selected: certificate.selected,
        n: certificate.n,
        n0: certificate.n0,
        alpha: certificate.alpha,
        sigma,
        sigma0: this.entry.sigma0,
        solver: search ? search.solver : 'fixed',
      },
      search,
      searchOptions,
      seed,
      evaluations: this.smooth.evaluations - start,
      timingsMs: { sigma: t1 - t0, certify: t2 - t1 },
    };
  }

  async predict(x: Float32Array, request: PredictRequest, seed: string, deadlineAtMs = Infinity): Promise<Prediction> {
    this.checkInput(x);
    return this.smooth.before(deadlineAtMs, () => this.smooth.predict(x, request, seed));
  }

  /** Raw forward pass of `rows` inputs (Open Inference Protocol infer). */
  async logits(batch: Float32Array, rows: number): Promise<Float32Array> {
    return Float32Array.from(await this.smooth.model.logits(rows, batch));
  }

  async close(): Promise<void> {
    await this.smooth.model.close();
  }

  private checkInput(x: Float32Array): void {
    if (x.length !== this.smooth.model.inputSize) {
      throw new RangeError(`input has ${x.length} values, model ${this.entry.name} expects ${this.smooth.model.inputSize}`);
    }
  }
}
