// Types of the certification engine. The engine imports neither memory nor gateway.

/** l2: Gaussian noise N(0, sigma^2 I) (Cohen et al. 2019). l1: uniform noise U[-sigma, sigma]^d (Yang et al. 2020). */
export type Norm = 'l2' | 'l1';

/** How sigma is chosen for an input: the paper's SGA, the batched bracketing search, a fixed grid, or fixed sigma0. */
export type SigmaSolver = 'sga' | 'batched' | 'grid' | 'fixed';

export interface CertifyParams {
  n0: number; // selection samples
  n: number; // estimation samples
  alpha: number; // failure probability of the certificate
  sigma: number; // smoothing level used for certification
  norm: Norm;
}

export interface Certificate {
  /** Predicted class, or null = ABSTAIN. */
  answer: number | null;
  /** Certified radius in `norm`, 0 when abstaining. */
  radius: number;
  /** One-sided (1 - alpha) Clopper-Pearson lower bound of pA (before any safety margin). */
  pALower: number;
  /** Class chosen by the selection samples (even when abstaining). */
  selected: number;
  /** Estimation count of the selected class. */
  countA: number;
  n: number;
  n0: number;
  alpha: number;
  sigma: number;
  norm: Norm;
}

export interface Prediction {
  answer: number | null;
  countA: number;
  countB: number;
  pValue: number;
  n: number;
  alpha: number;
  sigma: number;
  norm: Norm;
}

export interface SigmaSearchOptions {
  solver: SigmaSolver;
  sigma0: number;
  sigmaMin: number;
  sigmaMax: number;
  /** Monte Carlo samples per objective evaluation (the paper's n). */
  samples: number;
  /** Iterations (SGA steps, or refinement rounds of the batched search). */
  steps: number;
  /** SGA step size (the paper's alpha_sgd = 1e-4). */
  stepSize: number;
  /** Number of sigma values of the grid / of each batched bracket. */
  gridSize: number;
  /** SGA only: fresh draws every step (the paper's stochastic ascent) or one fixed set (deterministic ascent). */
  freshDraws?: boolean;
}

export interface SigmaSearchResult {
  solver: SigmaSolver;
  sigma: number;
  sigma0: number;
  /** Base prediction cA at sigma0 that the objective is built around. */
  classA: number;
  objective: number;
  objectiveAtSigma0: number;
  /** Number of forward passes (single inputs) spent by the search. */
  evaluations: number;
}
