"""Statistics behind the checks: log-log slope fits with confidence intervals, Clopper-Pearson
intervals, and design helpers (resolution, trials needed) in the spirit of TensorFlow Probability's
``min_discrepancy`` / ``min_num_samples`` helpers.

Interval method of the slope fits (used by the ``scaling`` and ``band`` checks)
-------------------------------------------------------------------------------
Data: G grid points, T independent trials each, ``log_y`` of shape (G, T). The slope estimate is the
ordinary least-squares slope through the G per-point means (with equal T this equals OLS on all G*T
points). Its target is *the least-squares exponent over this grid*: the slope of the line that best fits
E[log y | x] at the G grid points. That target is well defined whether or not the log-log curve bends,
and the estimate is a fixed linear combination of the point means, sum_i c_i ybar_i, so

    Var(slope) = sum_i c_i^2 s_i^2 / T        (s_i^2: sample variance of the T trials at point i)

exactly, with no linear-model assumption and allowing the noise to differ between grid points (it
does: lambda_min concentrates as d or the widths grow). The interval is slope +- t_{1-alpha/2, df} * se
with Welch-Satterthwaite degrees of freedom. We do NOT use the textbook regression standard error on
all G*T points: it assumes the same noise at every point, and when the curve bends it counts the
bend as noise, which is wrong both ways: the bend is a fixed deviation shared by all T trials at one
x, so that error is too wide for the grid exponent (a Monte Carlo with a bend of 0.3 (log x)^2 over
one decade gave 99.9% coverage for a nominal 99%, i.e. needless INCONCLUSIVEs) and too narrow by up to
sqrt(T) if the bend is read as random scatter around a true power law. The Welch interval covered
98.7% in the same simulation (tests/test_stats.py). A bend is reported separately (the lack-of-fit
F test, ``lack_of_fit_p``), because it means the measured exponent depends on the grid. With one value per grid point (T = 1, e.g. a deterministic
closed form) the only scatter available is around the line, and the classical OLS error (df = G - 2)
is used; it then includes the bend.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from ntkcheck._validate import InvalidArgument

ALPHA = 0.01
"""Default two-sided level: 99% intervals. A suite holds tens of checks run on every commit; at 0.01 a
claim whose true value sits exactly on its tolerance edge is declared FAIL with probability <= 0.005 per
check (far less when it sits inside), so a red suite means a real discrepancy, not bad luck. The price is
an interval ~30% wider than at 95% (t quantile 2.58 vs 1.96), paid in trials, which the checks report."""


class SlopeFit(NamedTuple):
    """A fit of log y = a + sum_k b_k log x_k. Arrays have one entry per regressor k."""

    slopes: np.ndarray
    stderr: np.ndarray
    df: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    half_width: np.ndarray
    lack_of_fit_p: float | None  # F test of the linear model against the point means (None if untestable)
    method: str  # "replicates" (Welch error from the trials) or "residuals" (classical OLS, T = 1)


def t_quantile(alpha: float, df) -> np.ndarray:
    """The two-sided (1 - alpha) Student-t quantile; df = inf gives the normal quantile."""
    return sps.t.ppf(1.0 - alpha / 2.0, df)


def _design(log_x: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(log_x.shape[0]), log_x])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise InvalidArgument("the log grid must vary (and, with several parameters, the parameters "
                              "must not vary together): the slopes are not identifiable")
    return design


def fit_log_slopes(log_x, log_y, alpha: float = ALPHA) -> SlopeFit:
    """Slopes of ``log_y`` (G, T) against the columns of ``log_x`` (G, K), with (1 - alpha) intervals
    (method in the module docstring). Cost O(G K^2 + G T)."""
    log_x = np.asarray(log_x, dtype=np.float64).reshape(len(log_y), -1)
    log_y = np.asarray(log_y, dtype=np.float64)
    g, trials = log_y.shape
    design = _design(log_x)
    n_coef = design.shape[1]
    solve = np.linalg.pinv(design)  # (K + 1, G): coefficients = solve @ point means
    weights = solve[1:]
    means = log_y.mean(axis=1)
    coefficients = solve @ means
    slopes = coefficients[1:]
    lof_df = g - n_coef
    lof_ss = trials * float(np.sum((means - design @ coefficients) ** 2))
    if trials >= 2:
        variances = log_y.var(axis=1, ddof=1)
        parts = weights ** 2 * variances / trials  # (K, G)
        stderr = np.sqrt(parts.sum(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            df = parts.sum(axis=1) ** 2 / np.sum(parts ** 2 / (trials - 1), axis=1)
        df = np.where(np.isfinite(df), df, np.inf)  # zero scatter: the slope is exact
        pure_ss = float(np.sum((log_y - means[:, None]) ** 2))
        testable = lof_df >= 1 and pure_ss > 0.0
        lack_of_fit_p = (float(sps.f.sf((lof_ss / lof_df) / (pure_ss / (g * (trials - 1))),
                                        lof_df, g * (trials - 1))) if testable else None)
        method = "replicates"
    else:
        if lof_df < 1:
            raise InvalidArgument(f"with one value per grid point the fit needs more than {n_coef} "
                                  f"grid points to estimate its error, got {g}")
        cov = lof_ss / lof_df * np.linalg.inv(design.T @ design)[1:, 1:]
        stderr = np.sqrt(np.diag(cov))
        df = np.full(len(slopes), float(lof_df))
        lack_of_fit_p, method = None, "residuals"
    half = t_quantile(alpha, df) * stderr
    return SlopeFit(slopes, stderr, df, slopes - half, slopes + half, half, lack_of_fit_p, method)


def _welch_df_equal_noise(weights: np.ndarray, trials: int) -> np.ndarray:
    """Welch-Satterthwaite df of sum_i c_i ybar_i when every point has the same noise: one per row of
    ``weights`` (K, G)."""
    return (trials - 1) * np.sum(weights ** 2, axis=1) ** 2 / np.sum(weights ** 4, axis=1)


def planned_half_widths(log_x, trials: int, noise_sd: float, alpha: float = ALPHA) -> np.ndarray:
    """Half-widths (K,) of the slope intervals of :func:`fit_log_slopes` for a design ``log_x`` (G, K),
    ``trials`` per point and per-trial noise of standard deviation ``noise_sd`` in log y (the same at
    every point), at the sample sd equal to ``noise_sd``. Cost O(G K^2)."""
    log_x = np.asarray(log_x, dtype=np.float64)
    log_x = log_x.reshape(log_x.shape[0], -1)
    weights = np.linalg.pinv(_design(log_x))[1:]
    stderr = noise_sd * np.sqrt(np.sum(weights ** 2, axis=1) / trials)
    if trials >= 2:
        df = _welch_df_equal_noise(weights, trials)
    else:  # the classical OLS error of fit_log_slopes: G - K - 1 degrees of freedom
        df = np.full(len(weights), log_x.shape[0] - 1.0 - len(weights))
    return t_quantile(alpha, df) * stderr


def planned_slope_half_width(x, trials: int, noise_sd: float, alpha: float = ALPHA) -> float:
    """Half-width of the slope interval of :func:`fit_log_slopes` for a grid ``x`` (G,), ``trials``
    per point and per-trial noise of standard deviation ``noise_sd`` in log y (the same at every point).
    """
    return float(planned_half_widths(np.log(np.asarray(x, dtype=np.float64)), trials, noise_sd, alpha)[0])


def min_detectable_slope_error(x, trials: int, noise_sd: float, tol: float,
                               alpha: float = ALPHA) -> float:
    """Resolution of a scaling check: the smallest |true slope - expected| that it declares FAIL with
    probability about 1 - alpha/2. FAIL needs the interval wholly outside expected +- tol, i.e. the
    estimate beyond tol + h, and the estimate falls short of the truth by less than h with that
    probability, hence tol + 2h (h: the interval half-width)."""
    return tol + 2.0 * planned_slope_half_width(x, trials, noise_sd, alpha)


def min_detectable_drift(params: dict, trials: int, noise_sd: float, drift_tol: float,
                         alpha: float = ALPHA) -> dict:
    """Resolution of the drift test of a band check, for planning: {parameter: the smallest drift
    exponent (slope of log ratio on log parameter) declared FAIL with probability about 1 - alpha/2},
    drift_tol + 2 h_k, for the grid ``params`` (name -> (G,) values, as the band check takes them; a
    parameter with one value is not fitted), ``trials`` per point and per-trial noise ``noise_sd`` of
    log ratio. Same reasoning as :func:`min_detectable_slope_error`, with the half-widths of the
    multiple regression (a second varied parameter that moves with the first widens both)."""
    varied = [k for k, v in params.items() if np.ptp(np.asarray(v, dtype=np.float64)) > 0]
    if not varied:
        raise InvalidArgument("params must vary at least one parameter to fit a drift")
    log_x = np.column_stack([np.log(np.asarray(params[k], dtype=np.float64)) for k in varied])
    half = planned_half_widths(log_x, trials, noise_sd, alpha)
    return {k: drift_tol + 2.0 * float(h) for k, h in zip(varied, half)}


def trials_needed(half_width: float, trials: int, target_half_width: float, limit: int = 10 ** 7) -> int | None:
    """Trials per point that shrink an interval of ``half_width`` (at ``trials``) to
    ``target_half_width``, from the 1/sqrt(trials) law (ignores the smaller change of the t quantile).
    None when the target is not positive or needs more than ``limit`` trials (an estimate sitting on a
    tolerance edge, up to rounding: no budget decides)."""
    if not target_half_width > 0.0:
        return None
    needed = trials * (half_width / target_half_width) ** 2
    return max(trials + 1, math.ceil(needed)) if needed <= limit else None


def clopper_pearson(successes, trials, alpha: float = ALPHA) -> tuple[float, float]:
    """The exact two-sided (1 - alpha) Clopper-Pearson interval for a binomial proportion (each bound
    at level alpha/2). ``successes`` may be fractional (an expected count, for planning)."""
    lower = 0.0 if successes <= 0 else float(sps.beta.ppf(alpha / 2, successes, trials - successes + 1))
    upper = 1.0 if successes >= trials else float(sps.beta.ppf(1 - alpha / 2, successes + 1,
                                                               trials - successes))
    return lower, upper


def _smallest_n(decides, limit: int) -> int | None:
    """Smallest n in [1, limit] with decides(n), assuming decides is monotone in n."""
    high = 1
    while not decides(high):
        if high >= limit:
            return None
        high = min(2 * high, limit)
    low = high // 2  # decides(low) is False (or low == 0)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if decides(mid) else (mid, high)
    return high


def probability_trials_needed(p: float, tol: float, rate: float, goal: str, alpha: float = ALPHA,
                              limit: int = 10 ** 7) -> int | None:
    """Trials after which a success rate ``rate`` gives the ``goal`` verdict of the probability check
    at the expected count: "pass" (lower bound >= p - tol) or "fail" (upper bound < p). None when the
    goal is out of reach at this rate (pass needs rate > p - tol, fail needs rate < p)."""
    if goal == "pass":
        return _smallest_n(lambda n: clopper_pearson(rate * n, n, alpha)[0] >= p - tol, limit)
    return _smallest_n(lambda n: clopper_pearson(rate * n, n, alpha)[1] < p, limit)


def rejecting_count(instances: int, coverage: float, alpha: float = ALPHA) -> int | None:
    """The smallest number of violations among ``instances`` that rejects "holds with probability >=
    coverage" (Clopper-Pearson upper bound of P(holds) below coverage); 1 for coverage = 1 (the
    per-instance rule), None when even all instances violating would not reject."""
    if coverage >= 1:
        return 1
    return _smallest_n(lambda k: clopper_pearson(instances - k, instances, alpha)[1] < coverage, instances)


def detectable_violation_rate(instances: int, coverage: float = 1.0, alpha: float = ALPHA) -> float:
    """Resolution of an inequality check: the smallest true violation rate that it declares FAIL with
    probability >= 1 - alpha/2 after ``instances`` independent instances. For coverage = 1 (any
    violation fails) this is the rate q with 1 - (1 - q)^n = 1 - alpha/2, i.e. 1 - (alpha/2)^(1/n)
    (n = 2550, alpha = 0.01: 0.0021); for coverage c < 1 it is 1 - c plus the smallest detectable
    shortfall of P(holds) below c (:func:`min_detectable_shortfall`, whose bisection gives the same value at
    c = 1; the closed form spares the ~50 binomial quantiles on every per-instance check)."""
    if coverage >= 1:
        return 1.0 - (alpha / 2.0) ** (1.0 / instances)
    return 1.0 - coverage + min_detectable_shortfall(instances, coverage, alpha)


def min_detectable_shortfall(trials: int, p: float, alpha: float = ALPHA) -> float:
    """Resolution of a probability check: the smallest shortfall p - q of the true success probability
    q that gives FAIL (upper bound < p) with probability >= 1 - alpha/2 after ``trials`` trials.
    Bisection on q; cost ~50 binomial quantiles."""
    def detected(q):
        count = sps.binom.ppf(1 - alpha / 2, trials, q)
        return clopper_pearson(count, trials, alpha)[1] < p

    low, high = 0.0, p  # detected(0) holds when trials >= 1 and p > 1 - (alpha/2)**(1/trials)
    if not detected(low):
        return p
    for _ in range(50):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if detected(mid) else (low, mid)
    return p - low
