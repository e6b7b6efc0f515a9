// Exact statistics of the engine: Phi, PhiInv, the regularized incomplete beta function and its
// inverse (Clopper-Pearson bounds), and the binomial test. Pure functions, double precision.
//
// Accuracy goal (DESIGN 1.5): 1e-12 relative against scipy over everything that counts up to
// N = 1e7 can produce (measured: ~1e-14 for quantiles, ~2e-13 for p-values near 1e-300, against
// 40-digit references; see test/stats.test.ts). What carries it:
//  * the beta "power term" x^a (1-x)^b / B(a, b) is never formed from lgamma differences (which
//    cancel ~8 digits at a, b ~ 1e7); it is written as a Stirling prefactor times
//    exp(-(a g(u) + b g(v))), g(t) = t - ln(1+t) >= 0, where u, v are the relative distances of
//    x, 1-x from the mean a/(a+b). All terms are positive, so nothing cancels
//    (the same idea as DiDonato & Morris, ACM TOMS 708, routine BRCOMP).
//  * for integer shapes (every count-based use) the tail on the far side of the mode is a sum of
//    positive binomial terms started from that power term; no continued fraction, whose
//    coefficient rounding is amplified when one shape is small and the other huge.
//  * every quantile is solved by Newton's method in the logit t = ln(x/(1-x)) on the log of the
//    tail probability. The beta distribution is log-concave in t, so Newton converges
//    monotonically from any start, and the steps act multiplicatively on the smaller of x, 1-x,
//    which keeps full relative precision near 0 and near 1.
//  * Phi uses the Mills-ratio continued fraction times exp(-x^2/2) with x^2 split exactly;
//    PhiInv is Halley's iteration on it, centred on p - 1/2 (exact) near the median.

const SQRT_2PI = 2.5066282746310002; // sqrt(2 pi)
const LN_SQRT_2PI = 0.9189385332046728; // ln(sqrt(2 pi))
const DOUBLE_EPSILON = 2.220446049250313e-16;

function assertFiniteNumber(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`${name} must be a number, got ${value}`);
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

function assertProbability(name: string, value: number): void {
  assertFiniteNumber(name, value);
  if (value < 0 || value > 1) throw new RangeError(`${name} must lie in [0, 1], got ${value}`);
}

// ---------------------------------------------------------------------------------------------
// Exact products (Dekker / Veltkamp): a * b = hi + lo exactly, without a fused multiply-add.

function splitHigh(a: number): number {
  const c = 134217729 * a; // 2^27 + 1
  return c - (c - a);
}

/** Low part of the exact product a*b, i.e. a*b - fl(a*b). */
function productError(a: number, b: number, product: number): number {
  const aHigh = splitHigh(a);
  const aLow = a - aHigh;
  const bHigh = splitHigh(b);
  const bLow = b - bHigh;
  return aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
}

/** a*b - c with one rounding (what an FMA would give, up to the last bit). */
function productMinus(a: number, b: number, c: number): number {
  const product = a * b;
  return product - c + productError(a, b, product);
}

// ---------------------------------------------------------------------------------------------
// Normal distribution.

/** exp(-x^2/2) with x^2 split exactly into hi + lo, so the deep tail keeps full relative accuracy. */
function expMinusHalfSquare(x: number): number {
  const squareHigh = x * x;
  const squareLow = productError(x, x, squareHigh);
  return Math.exp(-0.5 * squareHigh) * (1 - 0.5 * squareLow);
}

/** Standard normal density phi(x). */
export function normalDensity(x: number): number {
  return expMinusHalfSquare(x) / SQRT_2PI;
}

/**
 * Phi(x) - 1/2 for |x| < 1 from the all-positive series
 * Phi(x) - 1/2 = phi(x) * sum_n x^(2n+1) / (2n+1)!!  (A&S 26.2.11); no cancellation.
 */
function normalCdfCentredSeries(x: number): number {
  const xSquare = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 60; n++) {
    term *= xSquare / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return normalDensity(x) * sum;
}

/**
 * Mills ratio R(z) = (1 - Phi(z)) / phi(z) for z >= 1, by the continued fraction
 * R(z) = 1/(z + 1/(z + 2/(z + 3/(z + ...))))  (A&S 26.2.14), evaluated with modified Lentz.
 * Converges in < 400 terms at z = 1 and in a handful at z > 10.
 */
function millsRatio(z: number): number {
  const tiny = 1e-300;
  let value = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    d = z + n * d;
    if (d === 0) d = tiny;
    c = z + n / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    value *= delta;
    if (Math.abs(delta - 1) < 3e-16) break; // within one ulp of 1
  }
  return 1 / value;
}

/** Lower tail Phi(-z) for z >= 1, full relative accuracy down to the smallest subnormal. */
function normalLowerTail(z: number): number {
  if (z > 40) return 0; // Phi(-40) < 4e-350 underflows
  return normalDensity(z) * millsRatio(z);
}

/** Standard normal CDF Phi(x), with full relative accuracy in the lower tail. */
export function normalCdf(x: number): number {
  assertFiniteNumber('x', x);
  if (Math.abs(x) < 1) return 0.5 + normalCdfCentredSeries(x);
  return x < 0 ? normalLowerTail(-x) : 1 - normalLowerTail(x);
}

/** Initial quantile for p in (0, 0.5], A&S 26.2.23 (absolute error < 4.5e-4). */
function normalQuantileGuess(p: number): number {
  const t = Math.sqrt(-2 * Math.log(p));
  const numerator = 2.515517 + t * (0.802853 + t * 0.010328);
  const denominator = 1 + t * (1.432788 + t * (0.189269 + t * 0.001308));
  return -(t - numerator / denominator);
}

/**
 * Newton residual u = (Phi(x) - target) / phi(x) for the lower-tail equation Phi(x) = p.
 * For x <= -1 it is R(-x) - p/phi(x), with p/phi(x) taken in logs so subnormal p stays finite.
 */
function lowerTailResidual(x: number, p: number): number {
  if (x > -1) return (0.5 + normalCdfCentredSeries(x) - p) / normalDensity(x);
  const squareHigh = x * x;
  const squareLow = productError(x, x, squareHigh);
  const pOverDensity = Math.exp(Math.log(p) + 0.5 * squareHigh + LN_SQRT_2PI) * (1 + 0.5 * squareLow);
  return millsRatio(-x) - pOverDensity;
}

/**
 * Halley's iteration for phi-scaled residuals: with u = (F(x) - target)/phi(x) and F'' = -x phi,
 * x <- x - u / (1 + x u / 2). Cubic convergence; stops when the step is below rounding.
 */
function halleySolve(start: number, residual: (x: number) => number): number {
  let x = start;
  for (let iteration = 0; iteration < 12; iteration++) {
    const u = residual(x);
    const step = u / (1 + 0.5 * x * u);
    x -= step;
    if (Math.abs(step) <= 2 * DOUBLE_EPSILON * Math.abs(x)) break;
  }
  return x;
}

function normalLowerQuantile(p: number): number {
  return halleySolve(normalQuantileGuess(p), (x) => lowerTailResidual(x, p));
}

/**
 * Inverse standard normal CDF. p in [0.25, 0.75] is solved against Phi(x) - 1/2 = p - 1/2 (exact
 * by Sterbenz), so quantiles near 0 keep full relative accuracy; p > 0.75 uses the exact 1 - p.
 */
export function normalInverseCdf(p: number): number {
  assertProbability('p', p);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p > 0.75) return -normalLowerQuantile(1 - p);
  if (p < 0.25) return normalLowerQuantile(p);
  const centred = p - 0.5;
  if (centred === 0) return 0;
  const start = centred * SQRT_2PI;
  return halleySolve(start, (x) => (normalCdfCentredSeries(x) - centred) / normalDensity(x));
}

// ---------------------------------------------------------------------------------------------
// Building blocks of the incomplete beta function.

/**
 * g(t) = t - ln(1 + t) >= 0 for t > -1, with full relative accuracy.
 * |r| <= 1/2 with r = t/(2+t): ln(1+t) = 2 atanh(r) and t - 2r = t r give
 * g = r (t - 2 r^2 sum_k r^(2k)/(2k+3)), a series with no cancellation.
 * `logOnePlusT` supplies ln(1+t) from the caller's exact data when 1+t is small.
 */
function excessOverLog(t: number, logOnePlusT: () => number): number {
  const r = t / (2 + t);
  if (Math.abs(r) <= 0.5) {
    const rSquare = r * r;
    let power = 1;
    let sum = 0;
    for (let k = 0; k < 80; k++) {
      const term = power / (2 * k + 3);
      sum += term;
      if (term < 1e-17 * sum) break;
      power *= rSquare;
    }
    return r * (t - 2 * rSquare * sum);
  }
  return t > 0 ? t - Math.log1p(t) : t - logOnePlusT();
}

const STIRLING_COEFFICIENTS = [
  // B_{2k} / (2k (2k-1)), k = 1..8: the Stirling series of ln Gamma.
  1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400,
];

/** Stirling series remainder at z >= 10, where 8 terms reach < 1e-17 absolute. */
function stirlingSeries(z: number): number {
  const inverseSquare = 1 / (z * z);
  let sum = 0;
  for (let k = STIRLING_COEFFICIENTS.length - 1; k >= 0; k--) sum = sum * inverseSquare + STIRLING_COEFFICIENTS[k]!;
  return sum / z;
}

/** (z - 1/2) ln z - z: the non-constant Stirling main part. */
function stirlingMain(z: number): number {
  return (z - 0.5) * Math.log(z) - z;
}

/**
 * delta(z) = ln Gamma(z) - ((z - 1/2) ln z - z + ln sqrt(2 pi)), the Stirling correction.
 * Below 10 it is carried up by Gamma(z) = Gamma(z+m) / (z (z+1) ... (z+m-1)).
 */
export function stirlingCorrection(z: number): number {
  if (z >= 10) return stirlingSeries(z);
  const shift = Math.ceil(10 - z);
  let product = 1;
  for (let i = 0; i < shift; i++) product *= z + i;
  return stirlingSeries(z + shift) + stirlingMain(z + shift) - stirlingMain(z) - Math.log(product);
}

/** ln B(a, b) from the same decomposition (used for starting points only). */
function logBeta(a: number, b: number): number {
  const n = a + b;
  return (
    LN_SQRT_2PI + stirlingMain(a) + stirlingMain(b) - stirlingMain(n) +
    stirlingCorrection(a) + stirlingCorrection(b) - stirlingCorrection(n)
  );
}

/**
 * ln( x^a y^b / B(a, b) ), y = 1 - x, for a, b > 0 and 0 < x < 1.
 * With n = a + b, x0 = a/n, y0 = b/n and Gamma(z) = sqrt(2 pi) z^(z-1/2) e^(-z) e^delta(z):
 *   x^a y^b / B(a,b) = sqrt(a b / (2 pi n)) (x/x0)^a (y/y0)^b e^(delta(n) - delta(a) - delta(b)),
 * and with u = x/x0 - 1 = d/a, v = y/y0 - 1 = -d/b, d = n x - a = b - n y, the linear parts of
 * a ln(1+u) + b ln(1+v) cancel exactly, leaving -(a g(u) + b g(v)). d is formed from the
 * smaller of x, y with an exact product, so it carries full relative accuracy.
 */
function logBetaPowerTerm(a: number, b: number, x: number, y: number): number {
  const n = a + b;
  const d = x <= y ? productMinus(x, n, a) : -productMinus(y, n, b);
  const u = d / a;
  const v = -d / b;
  const exponent =
    a * excessOverLog(u, () => Math.log((x * n) / a)) + b * excessOverLog(v, () => Math.log((y * n) / b));
  const logScale = 0.5 * Math.log((a / (2 * Math.PI)) * (b / n));
  return logScale - exponent + (stirlingCorrection(n) - stirlingCorrection(a) - stirlingCorrection(b));
}

/**
 * Continued fraction of I_x(a, b) / (x^a y^b / (a B(a,b))), DLMF 8.17.22:
 * 1/(1+ d1/(1+ d2/(1+ ...))), d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),
 * d_{2m} = m (b-m) x / ((a+2m-1)(a+2m)). Modified Lentz; converges fast for x < (a+1)/(a+b+2)
 * (O(sqrt(max(a,b))) terms in the worst case).
 */
function incompleteBetaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const n = a + b;
  let c = 1;
  let d = 1 - (n * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let value = d;
  for (let m = 1; m < 200000; m++) {
    const twoM = 2 * m;
    const even = (m * (b - m) * x) / ((a + twoM - 1) * (a + twoM));
    d = 1 + even * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + even / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    value *= d * c;
    const odd = (-(a + m) * (n + m) * x) / ((a + twoM) * (a + twoM + 1));
    d = 1 + odd * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + odd / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    value *= delta;
    if (Math.abs(delta - 1) < 3e-16) return value; // within one ulp of 1
  }
  throw new Error(`incomplete beta continued fraction did not converge (a=${a}, b=${b}, x=${x})`);
}

/** Both tails of the beta distribution at one point, and the log power term (the t-derivative). */
export interface BetaTails {
  /** I_x(a, b) */
  lower: number;
  /** 1 - I_x(a, b) */
  upper: number;
  lnLower: number;
  lnUpper: number;
  /** ln(x^a y^b / B(a,b)) = ln dI/dt with t = ln(x/y). */
  lnPowerTerm: number;
}

function tailsFromLower(lnLower: number, lnPowerTerm: number): BetaTails {
  const lower = Math.exp(lnLower);
  return { lower, upper: 1 - lower, lnLower, lnUpper: Math.log1p(-lower), lnPowerTerm };
}

function tailsFromUpper(lnUpper: number, lnPowerTerm: number): BetaTails {
  const upper = Math.exp(lnUpper);
  return { lower: 1 - upper, upper, lnLower: Math.log1p(-upper), lnUpper, lnPowerTerm };
}

/**
 * Sum of terms t_0 = 1, t_(i+1) = t_i * step(i), each term corrected by (1 + i * drift) for the
 * rounding of the non-exact one of x, y (whose power grows by one per term). Terms decrease
 * (the sum runs away from the mode), so it stops once the geometric bound on the rest is
 * negligible; `converged` is false if maxTerms ran out first.
 */
function decreasingSeries(step: (i: number) => number, drift: number, maxTerms: number): { sum: number; converged: boolean } {
  let term = 1;
  let sum = 1;
  for (let i = 0; i < maxTerms; i++) {
    const ratio = step(i);
    term *= ratio;
    const corrected = term * (1 + (i + 1) * drift);
    sum += corrected;
    if (ratio < 1 && corrected * ratio <= 1e-17 * sum * (1 - ratio)) return { sum, converged: true };
  }
  return { sum, converged: false };
}

/**
 * Integer shapes: I_x(a, b) = P(B >= a), B ~ Bin(n - 1, x), n = a + b. The tail on the far side
 * of the mode is a sum of decreasing binomial terms started from the power term:
 * P(B = a) = x^a y^b / (B(a,b) a y) and P(B = a - 1) = x^a y^b / (B(a,b) b x).
 * All terms are positive, so the sum keeps full relative accuracy where the continued fraction
 * would amplify the rounding of its coefficients (one shape small, x near 0 or 1).
 */
function integerShapeTails(a: number, b: number, x: number, y: number, lnPowerTerm: number): BetaTails {
  const n = a + b;
  const exactIsX = x <= y;
  // Relative rounding error of the non-exact one of x, y: (1 - other) - exact is exact (Sterbenz).
  const xError = exactIsX ? 0 : (1 - x - y) / x;
  const yError = exactIsX ? (1 - y - x) / y : 0;
  // Upward from j = a: ratio (n-1-j) x / ((j+1) y), decreasing once a + 1 > n x.
  const upward = (): BetaTails => {
    // b - 1 terms exhaust the finite sum, so running out of terms means it is complete.
    const { sum } = decreasingSeries((i) => ((n - 1 - a - i) * x) / ((a + 1 + i) * y), xError - yError, b - 1);
    const lnFirst = lnPowerTerm - Math.log(a * y) + Math.log1p(-yError);
    return tailsFromLower(lnFirst + Math.log(sum), lnPowerTerm);
  };
  // Downward from j = a - 1: ratio j y / ((n - j) x), decreasing once a - 1 < n x.
  const downward = (): BetaTails => {
    const { sum } = decreasingSeries((i) => ((a - 1 - i) * y) / ((b + 1 + i) * x), yError - xError, a - 1);
    const lnFirst = lnPowerTerm - Math.log(b * x) + Math.log1p(-xError);
    return tailsFromUpper(lnFirst + Math.log(sum), lnPowerTerm);
  };
  // Sum the smaller tail; near the mode both directions decrease, so try the other one there.
  const nx = n * x;
  if (a > nx - x) {
    const tails = upward();
    return tails.lower > 0.5 && a - 1 < nx ? downward() : tails;
  }
  const tails = downward();
  return tails.upper > 0.5 && a + 1 > nx ? upward() : tails;
}

/**
 * I_x(a, b) and its complement, each with full relative accuracy: the tail on the far side of
 * the mode is summed directly, the other is its complement. Integer shapes (all the engine
 * uses) take the binomial sum; others the continued fraction.
 * x + y = 1; the smaller of the two is taken as exact (pass both when y is known exactly).
 */
export function betaTails(a: number, b: number, x: number, y = 1 - x): BetaTails {
  if (x <= 0) return { lower: 0, upper: 1, lnLower: -Infinity, lnUpper: 0, lnPowerTerm: -Infinity };
  if (y <= 0) return { lower: 1, upper: 0, lnLower: 0, lnUpper: -Infinity, lnPowerTerm: -Infinity };
  const lnPowerTerm = logBetaPowerTerm(a, b, x, y);
  if (Number.isInteger(a) && Number.isInteger(b)) return integerShapeTails(a, b, x, y, lnPowerTerm);
  return realShapeTails(a, b, x, y, lnPowerTerm);
}

/** Terms of the positive series worth summing before the continued fraction takes over. */
const SERIES_TERM_LIMIT = 100_000;

/**
 * Real shapes: the all-positive series DLMF 8.17.8,
 * I_x(a,b) = x^a y^b / (a B(a,b)) sum_j (a+b)_j / (a+1)_j x^j, summed from the exact one of
 * x, y (ratios fall towards x, so it converges on the near side of the mean), and its mirror
 * for 1 - I. Where it would need too many terms (argument near 1), the continued fraction.
 * That happens only for 1 - I < 0.01 with min(a, b) small and max(a, b) huge, beyond the mean,
 * where the continued fraction amplifies the rounding of 1 - x by about 1/x (measured worst
 * 2.5e-11 relative at a = 1.5, b = 1e7 + 0.5; integer shapes never take this path).
 */
function realShapeTails(a: number, b: number, x: number, y: number, lnPowerTerm: number): BetaTails {
  const n = a + b;
  if (x * (n + 2) < a + 1) {
    const series = positiveSeries(n, a + 1, x, x <= y ? 0 : (1 - x - y) / x);
    const factor = series.converged ? series.sum : incompleteBetaFraction(a, b, x);
    return tailsFromLower(lnPowerTerm + Math.log(factor / a), lnPowerTerm);
  }
  const series = positiveSeries(n, b + 1, y, y <= x ? 0 : (1 - y - x) / y);
  if (series.converged) return tailsFromUpper(lnPowerTerm + Math.log(series.sum / b), lnPowerTerm);
  // y near 1: the series in x past the mean still converges when b x is moderate; its
  // complement loses at most two digits while 1 - I >= 0.01.
  const lowerSeries = positiveSeries(n, a + 1, x, x <= y ? 0 : (1 - x - y) / x);
  if (lowerSeries.converged) {
    const tails = tailsFromLower(lnPowerTerm + Math.log(lowerSeries.sum / a), lnPowerTerm);
    if (tails.upper >= 0.01) return tails;
  }
  return tailsFromUpper(lnPowerTerm + Math.log(incompleteBetaFraction(b, a, y) / b), lnPowerTerm);
}

/** sum_j (c)_j / (d)_j z^j with term j corrected by (1 + j zError) for the rounding of z. */
function positiveSeries(c: number, d: number, z: number, zError: number): { sum: number; converged: boolean } {
  return decreasingSeries((i) => ((c + i) * z) / (d + i), zError, SERIES_TERM_LIMIT);
}

function assertBetaShape(a: number, b: number): void {
  assertFiniteNumber('a', a);
  assertFiniteNumber('b', b);
  if (!(a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b))) {
    throw new RangeError(`beta shape parameters must be finite and positive, got a=${a}, b=${b}`);
  }
}

/** Regularized incomplete beta function I_x(a, b). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  assertProbability('x', x);
  assertBetaShape(a, b);
  return betaTails(a, b, x).lower;
}

/** Complement 1 - I_x(a, b), computed directly (no cancellation). */
export function regularizedIncompleteBetaComplement(x: number, a: number, b: number): number {
  assertProbability('x', x);
  assertBetaShape(a, b);
  return betaTails(a, b, x).upper;
}

// ---------------------------------------------------------------------------------------------
// Beta quantiles.

/** A point of the search, held as both x and y = 1 - x; the smaller one is the exact one. */
interface UnitPoint {
  x: number;
  y: number;
}

function pointFromSmaller(x: number, y: number): UnitPoint {
  return x <= y ? { x, y: 1 - x } : { x: 1 - y, y };
}

/** x = 1/(1 + e^-t), y = 1/(1 + e^t), each accurate relative to itself. */
function pointFromLogit(t: number): UnitPoint {
  return pointFromSmaller(1 / (1 + Math.exp(-t)), 1 / (1 + Math.exp(t)));
}

function logitOf(point: UnitPoint): number {
  return Math.log(point.x) - Math.log(point.y);
}

/** Doubles in (0, 1) have logits within about +-745, so a longer step is never useful. */
const MAX_LOGIT_STEP = 1500;

/**
 * Move by dt in the logit: x' = x e^dt / (y + x e^dt), y' = y / (y + x e^dt), written with
 * e^-|dt| only so nothing overflows. A step that would underflow x' or y' to 0 is halved.
 */
function shiftLogit(point: UnitPoint, dt: number): UnitPoint {
  dt = Math.max(-MAX_LOGIT_STEP, Math.min(MAX_LOGIT_STEP, dt));
  for (let halvings = 0; halvings < 64; halvings++, dt /= 2) {
    const shrink = Math.exp(-Math.abs(dt));
    const next =
      dt >= 0
        ? pointFromSmaller(point.x / (point.x + point.y * shrink), (point.y * shrink) / (point.x + point.y * shrink))
        : pointFromSmaller((point.x * shrink) / (point.y + point.x * shrink), point.y / (point.y + point.x * shrink));
    if (next.x > 0 && next.y > 0) return next;
  }
  return point;
}

/**
 * Starting point: A&S 26.5.22 (normal approximation in the logit) when both shapes exceed 1,
 * else the leading power of whichever tail is being inverted.
 */
function betaQuantileGuess(tailProbability: number, a: number, b: number, lowerTail: boolean): UnitPoint {
  if (a > 1 && b > 1) {
    const z = -normalInverseCdf(tailProbability) * (lowerTail ? 1 : -1); // upper-tail normal quantile of the lower-tail probability
    const lambda = (z * z - 3) / 6;
    const s = 1 / (2 * a - 1);
    const r = 1 / (2 * b - 1);
    const h = 2 / (s + r);
    const w = (z * Math.sqrt(h + lambda)) / h - (r - s) * (lambda + 5 / 6 - 2 / (3 * h));
    return pointFromLogit(Math.log(a / b) - 2 * w);
  }
  // Leading powers I ~ x^a / (a B), 1 - I ~ y^b / (b B), used only up to the mean.
  const lnB = logBeta(a, b);
  const lnMeanX = Math.log(a / (a + b));
  const lnMeanY = Math.log(b / (a + b));
  if (lowerTail) {
    const lnX = Math.min(lnMeanX, (Math.log(tailProbability * a) + lnB) / a);
    return lnX === lnMeanX ? pointFromSmaller(a / (a + b), b / (a + b)) : pointFromSmaller(Math.exp(lnX), -Math.expm1(lnX));
  }
  const lnY = Math.min(lnMeanY, (Math.log(tailProbability * b) + lnB) / b);
  return lnY === lnMeanY ? pointFromSmaller(a / (a + b), b / (a + b)) : pointFromSmaller(-Math.expm1(lnY), Math.exp(lnY));
}

/**
 * Solves I_x(a,b) = p (lowerTail) or 1 - I_x(a,b) = p (upper tail) for x.
 * h(t) = +-(ln tail(t) - ln p) is concave in the logit t (the logistic-beta density is
 * log-concave), so Newton on h converges monotonically; dh/dt = x^a y^b / (B tail).
 * A bracket [tBelow, tAbove] guards against any non-finite step.
 */
function solveBetaTail(p: number, a: number, b: number, lowerTail: boolean): number {
  const lnTarget = Math.log(p);
  let point = betaQuantileGuess(p, a, b, lowerTail);
  let tBelow = -Infinity; // h < 0 there
  let tAbove = Infinity; // h > 0 there
  for (let iteration = 0; iteration < 200; iteration++) {
    const tails = betaTails(a, b, point.x, point.y);
    const lnTail = lowerTail ? tails.lnLower : tails.lnUpper;
    const h = lowerTail ? lnTail - lnTarget : lnTarget - lnTail;
    if (h === 0) break;
    const t = logitOf(point);
    if (h < 0) tBelow = Math.max(tBelow, t);
    else tAbove = Math.min(tAbove, t);
    const slope = Math.exp(tails.lnPowerTerm - lnTail);
    let step = -h / slope;
    // |step| bounds the relative change of the smaller of x and y. Newton converges
    // quadratically, so after a step below 1e-12 what is left is far below rounding.
    if (Math.abs(step) <= 1e-12) {
      point = shiftLogit(point, step);
      break;
    }
    if (!Number.isFinite(step) || t + step < tBelow || t + step > tAbove) {
      if (Number.isFinite(tBelow) && Number.isFinite(tAbove)) {
        point = pointFromLogit(0.5 * (tBelow + tAbove));
        if (tAbove - tBelow <= 4 * DOUBLE_EPSILON * Math.max(1, Math.abs(t))) break;
        continue;
      }
      step = h < 0 ? Math.max(1, Math.abs(t)) : -Math.max(1, Math.abs(t));
    }
    point = shiftLogit(point, step);
  }
  return point.x;
}

function assertQuantileArguments(p: number, a: number, b: number): void {
  assertProbability('p', p);
  assertBetaShape(a, b);
}

/** Beta quantile: the x with I_x(a, b) = p. */
export function betaQuantile(p: number, a: number, b: number): number {
  assertQuantileArguments(p, a, b);
  if (p === 0) return 0;
  if (p === 1) return 1;
  // p > 1/2: solve the upper tail for 1 - p, which is exact (Sterbenz).
  return p <= 0.5 ? solveBetaTail(p, a, b, true) : solveBetaTail(1 - p, a, b, false);
}

/** Inverse survival function: the x with 1 - I_x(a, b) = q (scipy beta.isf). */
export function betaQuantileUpper(q: number, a: number, b: number): number {
  assertQuantileArguments(q, a, b);
  if (q === 0) return 1;
  if (q === 1) return 0;
  return q <= 0.5 ? solveBetaTail(q, a, b, false) : solveBetaTail(1 - q, a, b, true);
}

// ---------------------------------------------------------------------------------------------
// Clopper-Pearson.

function assertTrials(k: number, n: number): void {
  assertCount('k', k);
  assertCount('n', n);
  if (n < 1 || k > n) throw new RangeError(`need 0 <= k <= n and n >= 1, got k=${k}, n=${n}`);
}

function assertAlpha(alpha: number): void {
  assertFiniteNumber('alpha', alpha);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1), got ${alpha}`);
}

/** One-sided (1 - alpha) Clopper-Pearson lower bound: BetaInv(alpha; k, n-k+1), 0 at k = 0. */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  assertTrials(k, n);
  assertAlpha(alpha);
  return k === 0 ? 0 : betaQuantile(alpha, k, n - k + 1);
}

/**
 * Two-sided (1 - alpha) Clopper-Pearson interval exactly as statsmodels
 * proportion_confint(method="beta"): [beta.ppf(alpha/2, k, n-k+1), beta.isf(alpha/2, k+1, n-k)],
 * with 0 at k = 0 and 1 at k = n. The upper end inverts the survival function at alpha/2, which
 * is BetaInv(1 - alpha/2; k+1, n-k) without rounding 1 - alpha/2.
 */
export function clopperPearsonInterval(k: number, n: number, alpha: number): [number, number] {
  assertTrials(k, n);
  assertAlpha(alpha);
  const half = alpha / 2;
  const lower = k === 0 ? 0 : betaQuantile(half, k, n - k + 1);
  const upper = k === n ? 1 : betaQuantileUpper(half, k + 1, n - k);
  return [lower, upper];
}

// ---------------------------------------------------------------------------------------------
// Binomial distribution.

/** P(X <= k), X ~ Bin(n, p) = 1 - I_p(k+1, n-k). */
export function binomialCdf(k: number, n: number, p: number): number {
  assertCount('n', n);
  assertProbability('p', p);
  if (k < 0) return 0;
  if (k >= n) return 1;
  return betaTails(Math.floor(k) + 1, n - Math.floor(k), p, 1 - p).upper;
}

/** P(X > k), X ~ Bin(n, p) = I_p(k+1, n-k). */
export function binomialSurvival(k: number, n: number, p: number): number {
  assertCount('n', n);
  assertProbability('p', p);
  if (k < 0) return 1;
  if (k >= n) return 0;
  return betaTails(Math.floor(k) + 1, n - Math.floor(k), p, 1 - p).lower;
}

/** P(X = k) = x^a y^b / ((n+1) B(a,b) p (1-p)) with a = k+1, b = n-k+1 (same power term). */
export function binomialPmf(k: number, n: number, p: number): number {
  assertCount('k', k);
  assertCount('n', n);
  assertProbability('p', p);
  if (k > n) return 0;
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  const y = 1 - p;
  return Math.exp(logBetaPowerTerm(k + 1, n - k + 1, p, y)) / ((n + 1) * p * y);
}

/** scipy's binary search over a monotone ascending f on [lo, hi]: the i with f(i) <= d < f(i+1). */
function searchAscending(f: (i: number) => number, d: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const value = f(mid);
    if (value < d) lo = mid + 1;
    else if (value > d) hi = mid - 1;
    else return mid;
  }
  return f(lo) <= d ? lo : lo - 1;
}

/**
 * Two-sided binomial test p-value, scipy.stats.binomtest(k, n, p).pvalue: the probability of all
 * outcomes whose pmf is <= pmf(k) (1 + 1e-7). At p = 1/2 the pmf is symmetric and this is
 * min(1, 2 P(X <= min(k, n-k))) for n up to 1e7 (neighbouring pmf values near the mirror point
 * differ by > 2/n > 1e-7 there). Other p follow scipy's search for the mirror point.
 */
export function binomialTestTwoSided(k: number, n: number, p = 0.5): number {
  assertTrials(k, n);
  assertProbability('p', p);
  if (p === 0.5 && n <= 1e7) {
    if (2 * k === n) return 1;
    return Math.min(1, 2 * binomialCdf(Math.min(k, n - k), n, 0.5));
  }
  return binomialTestGeneral(k, n, p);
}

function binomialTestGeneral(k: number, n: number, p: number): number {
  const mean = p * n;
  if (k === mean) return 1;
  const threshold = binomialPmf(k, n, p) * (1 + 1e-7);
  let pValue: number;
  if (k < mean) {
    const ix = searchAscending((i) => -binomialPmf(i, n, p), -threshold, Math.ceil(mean), n);
    const y = n - ix + (threshold === binomialPmf(ix, n, p) ? 1 : 0);
    pValue = binomialCdf(k, n, p) + binomialSurvival(n - y, n, p);
  } else {
    const ix = searchAscending((i) => binomialPmf(i, n, p), threshold, 0, Math.floor(mean));
    const y = ix + 1;
    pValue = binomialCdf(y - 1, n, p) + binomialSurvival(k - 1, n, p);
  }
  return Math.min(1, pValue);
}
