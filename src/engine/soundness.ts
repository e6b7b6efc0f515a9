// Floating-point soundness (DESIGN 1.6; Voracek & Hein 2022). Decision, argued in docs/soundness.md:
//
// 1. The certified base classifier is h(z) = f(q(z)), where q rounds every coordinate to a fixed
//    grid of spacing QUANTUM = 2^-20 (exact in float32 for |z| < 16). q is applied to every noisy
//    sample before the model sees it, so h is one fixed function of the real-valued input.
// 2. Noise and the sum x + sigma * eps are computed in float64 from 53/55-bit uniforms. A sample
//    therefore differs from an exact real Gaussian sample (under a coupling) by at most
//    a = 2^-52 (TAIL_BOUND * sigma + M) per coordinate, except with probability TAIL_PROBABILITY,
//    where M bounds |x|. h can only see the difference when the coordinate lies within `a` of one
//    of q's rounding boundaries, whose probability is at most 2a (1 / QUANTUM + 1 / sigma) for a
//    Gaussian of standard deviation sigma (uniform noise: 2a / QUANTUM + 2a / sigma as well).
// 3. By the union bound over d coordinates the sampled counts estimate a probability within
//    `floatMargin` of the exact one, so pA's lower bound is lowered by it before the radius.
// 4. The radius itself is rounded down by a relative 2^-48 (covers PhiInv's and the product's
//    rounding errors).

export const QUANTUM = 2 ** -20;
const INVERSE_QUANTUM = 2 ** 20;
const TAIL_BOUND = 8; // |eps| <= 8 for a standard draw, except with TAIL_PROBABILITY
const TAIL_PROBABILITY = 2e-15; // P(|N(0,1)| > 8) = 1.2e-15
const FLOAT64_ERROR = 2 ** -52;

/** Rounds to the grid of q (see above). Math.round ties go up, consistently. */
export function quantize(value: number): number {
  return Math.round(value * INVERSE_QUANTUM) * QUANTUM;
}

/** Upper bound on |P_sampled(h = c) - P_exact(h = c)| for an input of d coordinates with |x_j| <= maxAbsInput. */
export function floatMargin(d: number, sigma: number, maxAbsInput: number): number {
  const a = FLOAT64_ERROR * (TAIL_BOUND * sigma + maxAbsInput);
  const perCoordinate = 2 * a * (INVERSE_QUANTUM + 1 / sigma) + TAIL_PROBABILITY;
  return d * perCoordinate;
}

/** Rounds a radius down far enough to cover the rounding of PhiInv and of the product. */
export function roundRadiusDown(radius: number): number {
  return radius > 0 ? radius * (1 - 2 ** -48) : 0;
}
