// Data-dependent sigma (Alfarra et al. 2022, Eq. 2-3 and Algorithm 1): for the base prediction
// cA at sigma0, maximise  R(sigma) = sigma/2 (PhiInv(E_A) - PhiInv(E_B))  (l2) or
// sigma (E_A - E_B) (l1), where E are Monte Carlo means of softmax probabilities under noise.
import { standardDraws } from './noise.js';
import type { Xoshiro128 } from './random.js';
import { argmax, type Smooth } from './smooth.js';
import { normalInverseCdf } from './stats.js';
import type { Norm, SigmaSearchOptions, SigmaSearchResult } from './types.js';

/** The paper's clamp of the two probabilities, which keeps PhiInv finite. */
const CLAMP_LOW = 0.02;
const CLAMP_HIGH = 0.98;

export const DEFAULT_SEARCH: Omit<SigmaSearchOptions, 'sigma0' | 'sigmaMin' | 'sigmaMax'> = {
  solver: 'batched',
  samples: 32,
  steps: 2,
  stepSize: 1e-4,
  gridSize: 16,
};

/** The paper's defaults for its own solver (CIFAR-10 settings: n = 1, K = 100, alpha = 1e-4). */
export const PAPER_SGA = { samples: 1, steps: 100, stepSize: 1e-4 };

/** Forward passes a search with these options spends (known in advance: no early stopping). */
export function searchEvaluations(o: Pick<SigmaSearchOptions, 'solver' | 'samples' | 'steps' | 'gridSize'>): number {
  const atSigma0 = o.samples; // the class cA at sigma0
  switch (o.solver) {
    case 'fixed': return 0;
    case 'grid': return atSigma0 + o.samples * o.gridSize;
    case 'batched': return atSigma0 + o.samples * o.gridSize * (1 + o.steps);
    case 'sga': return atSigma0 + 2 * o.samples * o.steps;
  }
}

const clamp = (p: number): number => Math.min(CLAMP_HIGH, Math.max(CLAMP_LOW, p));

/** R(sigma) from the mean softmax vector `means` (length K) for the fixed class cA. */
export function radiusProxy(means: ArrayLike<number>, classA: number, sigma: number, norm: Norm): number {
  let pB = 0;
  for (let c = 0; c < means.length; c++) if (c !== classA) pB = Math.max(pB, means[c]);
  const pA = means[classA];
  if (norm === 'l1') return sigma * (pA - pB);
  return (sigma / 2) * (normalInverseCdf(clamp(pA)) - normalInverseCdf(clamp(pB)));
}

/** `count` geometrically spaced values from low to high (inclusive). */
export function geometricGrid(low: number, high: number, count: number): number[] {
  if (count === 1 || low === high) return [low];
  const ratio = Math.log(high / low) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? high : low * Math.exp(i * ratio)));
}

const clampSigma = (sigma: number, o: SigmaSearchOptions): number => Math.min(o.sigmaMax, Math.max(o.sigmaMin, sigma));

/** R at each sigma on the same fixed draws (common random numbers). */
async function objectives(smooth: Smooth, x: Float32Array, sigmas: number[], draws: Float64Array, classA: number, norm: Norm): Promise<number[]> {
  const means = await smooth.meanSoftmax(x, sigmas, draws);
  const K = smooth.numClasses;
  return sigmas.map((sigma, s) => radiusProxy(means.subarray(s * K, (s + 1) * K), classA, sigma, norm));
}

/**
 * Chooses sigma for input x. All randomness comes from `rng`, a stream independent of the
 * selection and estimation streams of the certification that follows.
 */
export async function optimizeSigma(smooth: Smooth, x: Float32Array, options: SigmaSearchOptions, norm: Norm, rng: Xoshiro128): Promise<SigmaSearchResult> {
  validateSearch(options);
  const startEvaluations = smooth.evaluations;
  const sigma0 = clampSigma(options.sigma0, options);
  const draws = standardDraws(rng, norm, options.samples, x.length);
  const means0 = await smooth.meanSoftmax(x, [sigma0], draws);
  const classA = argmax(means0);
  const objectiveAtSigma0 = radiusProxy(means0, classA, sigma0, norm);

  let best = { sigma: sigma0, objective: objectiveAtSigma0 };
  if (options.solver === 'grid' || options.solver === 'batched') {
    best = await bracketSearch(smooth, x, options, norm, draws, classA, best);
  } else if (options.solver === 'sga') {
    best = await gradientAscent(smooth, x, options, norm, rng, classA, sigma0, draws);
  }
  return {
    solver: options.solver,
    sigma: best.sigma,
    sigma0,
    classA,
    objective: best.objective,
    objectiveAtSigma0,
    evaluations: smooth.evaluations - startEvaluations,
  };
}

/**
 * Grid over [sigmaMin, sigmaMax] in one batched model call; `batched` then narrows to the
 * neighbours of the best point `steps` times. sigma0 stays a candidate, so the result's
 * objective is never below R(sigma0) on the same draws.
 */
async function bracketSearch(
  smooth: Smooth, x: Float32Array, options: SigmaSearchOptions, norm: Norm, draws: Float64Array, classA: number,
  start: { sigma: number; objective: number },
): Promise<{ sigma: number; objective: number }> {
  let best = start;
  let grid = geometricGrid(options.sigmaMin, options.sigmaMax, options.gridSize);
  const rounds = options.solver === 'grid' ? 1 : 1 + options.steps;
  for (let round = 0; round < rounds; round++) {
    const values = await objectives(smooth, x, grid, draws, classA, norm);
    const i = argmax(values);
    if (values[i] > best.objective) best = { sigma: grid[i], objective: values[i] };
    const low = grid[Math.max(0, i - 1)];
    const high = grid[Math.min(grid.length - 1, i + 1)];
    // Interior points of the bracket around the grid's best (the ends were just evaluated).
    grid = geometricGrid(low, high, options.gridSize + 2).slice(1, -1);
  }
  return best;
}

/**
 * The paper's Algorithm 1: K steps of stochastic gradient ascent with fresh draws each step.
 * No autograd in onnxruntime, so the derivative of the scalar sigma is a central difference
 * with the same draws on both sides (common random numbers).
 */
async function gradientAscent(
  smooth: Smooth, x: Float32Array, options: SigmaSearchOptions, norm: Norm, rng: Xoshiro128, classA: number, sigma0: number,
  fixedDraws: Float64Array,
): Promise<{ sigma: number; objective: number }> {
  let sigma = sigma0;
  let objective = NaN;
  let draws = fixedDraws;
  for (let step = 0; step < options.steps; step++) {
    if (options.freshDraws ?? true) draws = standardDraws(rng, norm, options.samples, x.length);
    const h = 1e-3 * sigma;
    const [below, above] = await objectives(smooth, x, [sigma - h, sigma + h], draws, classA, norm);
    objective = 0.5 * (below + above);
    sigma = clampSigma(sigma + options.stepSize * ((above - below) / (2 * h)), options);
  }
  return { sigma, objective };
}

function validateSearch(o: SigmaSearchOptions): void {
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v >= 1;
  if (!(o.sigmaMin > 0 && o.sigmaMin <= o.sigmaMax)) throw new RangeError(`need 0 < sigmaMin <= sigmaMax, got [${o.sigmaMin}, ${o.sigmaMax}]`);
  if (!positiveInt(o.samples) || !positiveInt(o.gridSize) || !(Number.isInteger(o.steps) && o.steps >= 0)) {
    throw new RangeError('samples and gridSize must be positive integers and steps a non-negative integer');
  }
  if (!(o.stepSize > 0)) throw new RangeError(`stepSize must be positive, got ${o.stepSize}`);
}
