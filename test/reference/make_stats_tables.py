#!/usr/bin/python3
"""Reference tables for src/engine/stats.ts (test/stats.test.ts).

Run with Debian's python3 (scipy, mpmath):  /usr/bin/python3 test/reference/make_stats_tables.py
Deterministic: fixed grids plus a seeded numpy Generator; rerunning rewrites identical files.

The reference is scipy itself (scipy.stats.norm.cdf/ppf, scipy.stats.beta.ppf/isf -- what
statsmodels' proportion_confint(method="beta") calls -- and scipy.stats.binomtest): scipy's own
accuracy is the reference accuracy. Next to every scipy value the tables carry an independent
high-precision value computed with mpmath at 40 significant digits, so that a place where scipy
itself is off by more than the test tolerance can be recognised and documented instead of being
hidden by a looser tolerance:
  * normal cdf: mpmath.ncdf;
  * normal ppf: two Newton steps on mpmath.ncdf from scipy's value;
  * beta quantiles: two Newton steps on a 40-digit evaluation of I_x(a, b) (continued fraction
    DLMF 8.17.22 with the prefactor from mpmath.loggamma), from scipy's value;
  * binomial test: the same 40-digit I_x for the tails, the pmf from mpmath.loggamma.
Wherever scipy and the 40-digit value differ by more than 1e-13 relative, the 40-digit value is
confirmed a second, independent way -- a direct 40-digit sum of binomial terms (the shapes are
integers) -- and the row is marked "confirmed": true. The test accepts a scipy deviation only on
such confirmed rows and only inside regions it documents.
Floats are written with repr (shortest round-trip), so they are stored exactly.
"""
import json
import math
import os
import sys

import mpmath as mp
import numpy as np
import scipy
from scipy import stats

mp.mp.dps = 40
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261126)


def mp_float(value):
    return float(value)


# ---------------------------------------------------------------- normal
def normal_cdf_table():
    xs = set(float(x) for x in np.linspace(-38.0, 9.0, 189))
    xs |= {-38.0, -37.9, -37.6, -37.5, -37.0, -30.0, -8.3, -1.0, -0.9999999999, -1e-10, -1e-300,
           0.0, 1e-300, 1e-10, 0.5, 1.0, 1.4142135623730951, 2.0, 8.0, 8.3, 9.0}
    xs |= set(float(x) for x in RNG.uniform(-38.0, 9.0, 80))
    xs |= set(float(x) for x in RNG.uniform(-2.0, 2.0, 40))
    rows = []
    for x in sorted(xs):
        scipy_value = float(stats.norm.cdf(x))
        exact = mp.ncdf(x)
        confirmed = False
        if needs_confirmation(scipy_value, float(exact)):
            independent = mp.erfc(-mp.mpf(x) / mp.sqrt(2)) / 2  # a second formula for Phi
            assert abs(independent / exact - 1) < mp.mpf(10) ** -30, x
            confirmed = True
        rows.append({"x": x, "scipy": scipy_value, "mpmath": mp_float(exact), "confirmed": confirmed})
    return rows


def normal_ppf_exact(p, start):
    if p <= 0.0 or p >= 1.0:
        return start
    x = mp.mpf(start)
    target = mp.mpf(p)
    for _ in range(3):
        x -= (mp.ncdf(x) - target) / mp.npdf(x)
    return mp_float(x)


def normal_ppf_table():
    ps = set(float(p) for p in np.logspace(-300, math.log10(0.5), 151))
    ps |= set(float(1.0 - q) for q in np.logspace(-16, math.log10(0.5), 61))
    ps |= {5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-100, 1e-16, 1e-10, 1e-6, 0.001, 0.01, 0.025,
           0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5 - 1e-10, 0.5, 0.5 + 1e-10, 0.6, 0.75, 0.8, 0.9, 0.975, 0.99,
           0.999, 1.0 - 1e-10, 1.0 - 1e-16}
    ps |= set(float(p) for p in RNG.uniform(0.0, 1.0, 60))
    ps |= set(float(p) for p in 10.0 ** RNG.uniform(-300.0, 0.0, 60))
    rows = []
    for p in sorted(ps):
        value = float(stats.norm.ppf(p))
        rows.append({"p": p, "scipy": value, "mpmath": normal_ppf_exact(p, value)})
    return rows


# ---------------------------------------------------------------- incomplete beta at 40 digits
def mp_log_power_term(x, a, b):
    """ln(x^a (1-x)^b / B(a, b))."""
    return a * mp.log(x) + b * mp.log1p(-x) - (mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b))


def mp_continued_fraction(x, a, b):
    tiny = mp.mpf(10) ** -300
    eps = mp.mpf(10) ** -(mp.mp.dps - 3)
    c = mp.mpf(1)
    d = 1 - (a + b) * x / (a + 1)
    d = 1 / d
    h = d
    m = 1
    while True:
        two_m = 2 * m
        for coefficient in (m * (b - m) * x / ((a + two_m - 1) * (a + two_m)),
                            -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1))):
            d = 1 + coefficient * d
            if abs(d) < tiny:
                d = tiny
            c = 1 + coefficient / c
            if abs(c) < tiny:
                c = tiny
            d = 1 / d
            delta = d * c
            h *= delta
        if abs(delta - 1) < eps:
            return h
        m += 1
        if m > 10 ** 6:
            raise RuntimeError("continued fraction did not converge")


def mp_beta_tails(x, a, b):
    """(I_x(a,b), 1 - I_x(a,b)) at 40 digits, each tail summed directly on its own side."""
    x = mp.mpf(x)
    a = mp.mpf(a)
    b = mp.mpf(b)
    if x <= 0:
        return mp.mpf(0), mp.mpf(1)
    if x >= 1:
        return mp.mpf(1), mp.mpf(0)
    log_power = mp_log_power_term(x, a, b)
    if x * (a + b + 2) < a + 1:
        lower = mp.exp(log_power) * mp_continued_fraction(x, a, b) / a
        return lower, 1 - lower
    upper = mp.exp(log_power) * mp_continued_fraction(1 - x, b, a) / b
    return 1 - upper, upper


def mp_binomial_sum_tails(x, a, b):
    """(I_x(a,b), 1 - I_x(a,b)) for integer a, b as P(B >= a), B ~ Bin(a+b-1, x), summed term by
    term at 40 digits away from the mode (independent of the continued fraction)."""
    x = mp.mpf(x)
    trials = a + b - 1
    def pmf(j):
        return mp.exp(mp.loggamma(trials + 1) - mp.loggamma(j + 1) - mp.loggamma(trials - j + 1)
                      + j * mp.log(x) + (trials - j) * mp.log1p(-x))
    eps = mp.mpf(10) ** -(mp.mp.dps + 2)
    if a > trials * x:
        j, term, total = a, pmf(a), mp.mpf(0)
        while j <= trials:
            total += term
            if term < eps * total:
                break
            term *= mp.mpf(trials - j) / (j + 1) * x / (1 - x)
            j += 1
        return total, 1 - total
    j, term, total = a - 1, pmf(a - 1), mp.mpf(0)
    while j >= 0:
        total += term
        if term < eps * total:
            break
        term *= mp.mpf(j) / (trials - j + 1) * (1 - x) / x
        j -= 1
    return 1 - total, total


def confirm_quantile(x, target, a, b, upper_tail):
    lower, upper = mp_binomial_sum_tails(x, a, b)
    value = upper if upper_tail else lower
    assert abs(value / target - 1) < mp.mpf(10) ** -25, (x, target, a, b, upper_tail)
    return True


def needs_confirmation(scipy_value, exact):
    return abs(scipy_value - exact) > 1e-13 * max(abs(exact), 2.2250738585072014e-308)


def mp_beta_quantile(p, a, b, start, upper_tail):
    """Two Newton steps on the 40-digit tail from scipy's quantile (quadratic convergence).
    Returns (value, confirmed)."""
    if start <= 0.0 or start >= 1.0 or not math.isfinite(start):
        return start, False
    x = mp.mpf(start)
    target = mp.mpf(p)
    a_mp = mp.mpf(a)
    b_mp = mp.mpf(b)
    for _ in range(2):
        lower, upper = mp_beta_tails(x, a_mp, b_mp)
        density = mp.exp(mp_log_power_term(x, a_mp, b_mp)) / (x * (1 - x))
        residual = (upper - target) if upper_tail else (lower - target)
        x += residual / density if upper_tail else -residual / density
    confirmed = needs_confirmation(start, float(x)) and confirm_quantile(x, target, a, b, upper_tail)
    return mp_float(x), confirmed


# ---------------------------------------------------------------- Clopper-Pearson
SAMPLE_SIZES = [1, 2, 10, 100, 1000, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7]
ALPHAS = [1e-10, 1e-6, 1e-3, 0.01, 0.05, 0.5]


def counts_for(n):
    counts = {0, 1, 2, 5, 17, n // 2, n - 2, n - 1, n}
    for fraction in (1e-6, 1e-4, 0.01, 0.1, 0.3, 0.7, 0.9, 0.99, 0.999, 0.9999):
        counts.add(int(round(n * fraction)))
    counts |= set(int(k) for k in RNG.integers(0, n + 1, 3))
    return sorted(k for k in counts if 0 <= k <= n)


def clopper_pearson_tables():
    lower_rows = []
    interval_rows = []
    for n in SAMPLE_SIZES:
        for k in counts_for(n):
            for alpha in ALPHAS:
                if k == 0:
                    lower, lower_exact, confirmed = 0.0, 0.0, False
                else:
                    lower = float(stats.beta.ppf(alpha, k, n - k + 1))
                    lower_exact, confirmed = mp_beta_quantile(alpha, k, n - k + 1, lower, False)
                lower_rows.append({"k": k, "n": n, "alpha": alpha, "scipy": lower, "mpmath": lower_exact,
                                   "confirmed": confirmed})
                half = 0.5 * alpha
                if k == 0:
                    low, low_exact, low_confirmed = 0.0, 0.0, False
                else:
                    low = float(stats.beta.ppf(half, k, n - k + 1))
                    low_exact, low_confirmed = mp_beta_quantile(half, k, n - k + 1, low, False)
                if k == n:
                    high, high_exact, high_confirmed = 1.0, 1.0, False
                else:
                    # statsmodels: stats.beta.isf(alpha_2, count + 1, nobs - count)
                    high = float(stats.beta.isf(half, k + 1, n - k))
                    high_exact, high_confirmed = mp_beta_quantile(half, k + 1, n - k, high, True)
                interval_rows.append({"k": k, "n": n, "alpha": alpha, "scipy": [low, high],
                                      "mpmath": [low_exact, high_exact],
                                      "confirmed": [low_confirmed, high_confirmed]})
    return lower_rows, interval_rows


# ---------------------------------------------------------------- binomial test
def mp_binomial_cdf(k, n, p, tails):
    """P(X <= k) = 1 - I_p(k+1, n-k)."""
    if k < 0:
        return mp.mpf(0)
    if k >= n:
        return mp.mpf(1)
    return tails(p, k + 1, n - k)[1]


def mp_binomial_sf(k, n, p, tails):
    """P(X > k) = I_p(k+1, n-k)."""
    if k < 0:
        return mp.mpf(1)
    if k >= n:
        return mp.mpf(0)
    return tails(p, k + 1, n - k)[0]


def mp_binomial_pmf(k, n, p):
    p = mp.mpf(p)
    if p == 0:
        return mp.mpf(1 if k == 0 else 0)
    if p == 1:
        return mp.mpf(1 if k == n else 0)
    return mp.exp(mp.loggamma(n + 1) - mp.loggamma(k + 1) - mp.loggamma(n - k + 1)
                  + k * mp.log(p) + (n - k) * mp.log1p(-p))


def mp_binomtest(k, n, p, tails=None):
    """scipy's definition (outcomes with pmf <= pmf(k) (1 + 1e-7)), at 40 digits."""
    tails = tails or mp_beta_tails
    if k == p * n:
        return 1.0
    threshold = mp_binomial_pmf(k, n, p) * (1 + mp.mpf(1e-7))
    if k < p * n:
        lo, hi = int(math.ceil(p * n)), n  # pmf decreasing: first index at or below the threshold
        while lo < hi:
            mid = (lo + hi) // 2
            if mp_binomial_pmf(mid, n, p) <= threshold:
                hi = mid
            else:
                lo = mid + 1
        if mp_binomial_pmf(lo, n, p) > threshold:
            lo = n + 1
        total = mp_binomial_cdf(k, n, p, tails) + mp_binomial_sf(lo - 1, n, p, tails)
    else:
        lo, hi = 0, int(math.floor(p * n))  # pmf increasing: last index at or below the threshold
        last = -1
        while lo <= hi:
            mid = (lo + hi) // 2
            if mp_binomial_pmf(mid, n, p) <= threshold:
                last = mid
                lo = mid + 1
            else:
                hi = mid - 1
        total = mp_binomial_cdf(last, n, p, tails) + mp_binomial_sf(k - 1, n, p, tails)
    return mp_float(min(mp.mpf(1), total))


def binomtest_row(k, n, p):
    scipy_value = float(stats.binomtest(k, n, p).pvalue)
    exact = mp_binomtest(k, n, p)
    confirmed = False
    if needs_confirmation(scipy_value, exact):
        independent = mp_binomtest(k, n, p, mp_binomial_sum_tails)
        assert abs(independent - exact) <= 1e-15 * abs(exact), (k, n, p, independent, exact)
        confirmed = True
    return {"k": k, "n": n, "p": p, "scipy": scipy_value, "mpmath": exact, "confirmed": confirmed}


def k_for_half_pvalue(n, target):
    """Largest k <= n/2 with scipy's p-value <= target (p = 1/2), by bisection on the cdf."""
    lo, hi = 0, n // 2
    if min(1.0, 2 * stats.binom.cdf(0, n, 0.5)) > target:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if 2 * stats.binom.cdf(mid, n, 0.5) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


def binomtest_half_table():
    sizes = [1, 2, 3, 10, 11, 100, 101, 1000, 10 ** 4, 99999, 10 ** 5, 10 ** 6, 10 ** 6 + 1, 10 ** 7 - 1, 10 ** 7]
    rows = []
    for n in sizes:
        ks = {0, 1, 2, n // 2 - 1, n // 2, (n + 1) // 2, n // 2 + 1, n - 2, n - 1, n}
        for target in (0.9, 0.5, 0.1, 1e-2, 1e-3, 1e-6, 1e-10, 1e-20, 1e-50, 1e-100, 1e-200, 1e-300):
            k = k_for_half_pvalue(n, target)
            if k is not None:
                ks |= {k, n - k}
        ks |= set(int(k) for k in RNG.integers(0, n + 1, 4))
        for k in sorted(k for k in ks if 0 <= k <= n):
            rows.append(binomtest_row(k, n, 0.5))
    # Just above n = 1074, 2^-n underflows: small counts whose p-values are still normal doubles.
    for n in (1075, 1104, 1200):
        for k in (17, 25, 30, 38, 39, n - 38, n - 17):
            rows.append(binomtest_row(k, n, 0.5))
    return rows


def binomtest_general_table():
    rows = []
    for p in (0.1, 0.3, 1.0 / 3.0, 0.7, 0.99):
        for n in (1, 7, 100, 1000, 10 ** 5, 10 ** 6):
            mean = p * n
            sd = math.sqrt(n * p * (1 - p))
            ks = {0, n, int(mean), int(mean) + 1}
            for z in (-40, -10, -3, -1, 1, 3, 10, 40):
                ks.add(int(round(mean + z * sd)))
            for k in sorted(k for k in ks if 0 <= k <= n):
                rows.append(binomtest_row(k, n, p))
    return rows


# ---------------------------------------------------------------- real (non-integer) shapes
REAL_SHAPES = [(0.5, 0.5), (0.5, 3.7), (2.5, 10000.5), (1000.3, 2000.7), (100000.5, 100000.5),
               (1e6 + 0.5, 3e6 + 0.25), (0.2, 1e6 + 0.5), (1.5, 1e7 + 0.5), (5e6 + 0.5, 5e6 + 0.25)]


def mp_series_tails(x, a, b):
    """(I_x(a,b), 1 - I_x(a,b)) at 40 digits from the positive series DLMF 8.17.8 (independent
    of the continued fraction), for confirming rows with real shapes."""
    x, a, b = mp.mpf(x), mp.mpf(a), mp.mpf(b)
    direct = x * (a + b + 2) < a + 1
    z, c, d = (x, a + b, a + 1) if direct else (1 - x, a + b, b + 1)
    term, total, j = mp.mpf(1), mp.mpf(0), 0
    while True:
        total += term
        term *= (c + j) * z / (d + j)
        j += 1
        if term < total * mp.mpf(10) ** -(mp.mp.dps + 2):
            break
        if j > 10 ** 6:
            raise RuntimeError("series did not converge")
    tail = mp.exp(mp_log_power_term(x, a, b)) * total / (a if direct else b)
    return (tail, 1 - tail) if direct else (1 - tail, tail)


def real_row(kind, a, b, point, scipy_value, exact, check):
    confirmed = False
    if needs_confirmation(scipy_value, float(exact)):
        assert check(), (kind, a, b, point)
        confirmed = True
    key = "x" if kind in ("cdf", "sf") else "p"
    return {"kind": kind, "a": a, "b": b, key: point, "scipy": scipy_value, "mpmath": mp_float(exact), "confirmed": confirmed}


def close(u, v, digits=25):
    return abs(u - v) <= mp.mpf(10) ** -digits * abs(v)


def beta_real_table():
    """beta.cdf / beta.sf at points around the mean, beta.ppf / beta.isf, for real shapes."""
    rows = []
    for a, b in REAL_SHAPES:
        mean = a / (a + b)
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        xs = {mean + z * sd for z in (-30, -10, -3, -1, -0.1, 0, 0.1, 1, 3, 10, 30)} | {1e-10, 1e-3, 0.5, 0.999}
        for x in sorted(float(x) for x in xs if 0 < x < 1):
            lower, upper = mp_beta_tails(x, a, b)
            rows.append(real_row("cdf", a, b, x, float(stats.beta.cdf(x, a, b)), lower,
                                 lambda: close(mp_series_tails(x, a, b)[0], lower)))
            rows.append(real_row("sf", a, b, x, float(stats.beta.sf(x, a, b)), upper,
                                 lambda: close(mp_series_tails(x, a, b)[1], upper)))
        for p in (1e-10, 1e-3, 0.3, 0.5, 0.9):
            for kind, upper_tail, fn in (("ppf", False, stats.beta.ppf), ("isf", True, stats.beta.isf)):
                value = float(fn(p, a, b))
                exact = mp.mpf(mp_beta_quantile(p, a, b, value, upper_tail)[0])
                rows.append(real_row(kind, a, b, p, value, exact,
                                     lambda: close(mp_series_tails(exact, a, b)[1 if upper_tail else 0], mp.mpf(p), 12)))
    return rows


def write(name, rows):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as handle:
        handle.write("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
    print(f"{name}: {len(rows)} rows", file=sys.stderr)


def main():
    print(f"scipy {scipy.__version__}, mpmath {mp.__version__}", file=sys.stderr)
    write("normal_cdf.json", normal_cdf_table())
    write("normal_ppf.json", normal_ppf_table())
    lower_rows, interval_rows = clopper_pearson_tables()
    write("clopper_pearson_lower.json", lower_rows)
    write("clopper_pearson_interval.json", interval_rows)
    write("binomtest_half.json", binomtest_half_table())
    write("binomtest_general.json", binomtest_general_table())
    write("beta_real.json", beta_real_table())


if __name__ == "__main__":
    main()
