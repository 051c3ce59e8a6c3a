"""Tests of ntkcheck.stats: every interval against an independent computation (exact rational arithmetic of the
documented formulas, scipy's own routines, binomial roots), and Monte Carlo checks of coverage and power at fixed
seeds."""
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import optimize, special, stats as sps

from ntkcheck import checks, stats
from ntkcheck._validate import InvalidArgument

GRID = np.geomspace(64.0, 640.0, 6)  # the typical grid: 6 points over one decade
NOISE_SD = 0.1  # per-trial standard deviation of log y
SIMULATIONS = 2000  # coverage estimates: binomial sd of a 0.99 coverage is 0.0022 at this count
COVERAGE_SLACK = 4 * np.sqrt(0.99 * 0.01 / SIMULATIONS)  # 4 binomial sds: a false alarm is < 1e-4
SEED = 20210701


def _log_noise(rng, shape, sd=NOISE_SD):
    return sd * rng.standard_normal(shape)


def test_one_trial_fit_is_classical_ols():
    rng = np.random.default_rng(SEED)
    log_x = np.log(GRID)
    log_y = 0.8 * log_x + _log_noise(rng, GRID.size)
    fit = stats.fit_log_slopes(log_x[:, None], log_y[:, None])
    reference = sps.linregress(log_x, log_y)
    assert fit.method == "residuals"
    np.testing.assert_allclose(fit.slopes[0], reference.slope, rtol=1e-12)  # same normal equations
    np.testing.assert_allclose(fit.stderr[0], reference.stderr, rtol=1e-12)
    assert fit.df[0] == GRID.size - 2


def test_replicate_fit_slope_equals_ols_on_all_points():
    rng = np.random.default_rng(SEED + 1)
    log_x = np.log(GRID)
    log_y = 1.1 * log_x[:, None] + _log_noise(rng, (GRID.size, 5))
    fit = stats.fit_log_slopes(log_x[:, None], log_y)
    reference = sps.linregress(np.repeat(log_x, 5), log_y.ravel())
    np.testing.assert_allclose(fit.slopes[0], reference.slope, rtol=1e-12)  # balanced design
    assert fit.method == "replicates"


def test_multiple_regression_matches_lstsq():
    rng = np.random.default_rng(SEED + 2)
    log_x = rng.uniform(0, 3, size=(8, 2))
    log_y = log_x @ np.array([0.5, -1.0])[:, None] + 2.0 + _log_noise(rng, (8, 4))
    fit = stats.fit_log_slopes(log_x, log_y)
    design = np.column_stack([np.ones(8), log_x])
    coefficients = np.linalg.lstsq(design, log_y.mean(axis=1), rcond=None)[0]
    np.testing.assert_allclose(fit.slopes, coefficients[1:], rtol=1e-10)  # two solvers of one system


def test_collinear_parameters_are_rejected():
    log_x = np.log(np.column_stack([GRID, 2 * GRID]))
    with pytest.raises(InvalidArgument, match="not identifiable"):
        stats.fit_log_slopes(log_x, np.ones((GRID.size, 3)))


@pytest.mark.parametrize("bend", [0.0, 0.3], ids=["straight", "bent"])
def test_slope_interval_coverage(bend):
    """The 99% interval covers the least-squares exponent over the grid, also when the curve bends
    and the noise differs between points (the case where the pooled regression error undercovers)."""
    rng = np.random.default_rng(SEED + 3)
    log_x = np.log(GRID)
    centred = log_x - log_x.mean()
    mean_log_y = log_x + bend * centred ** 2
    target = np.polyfit(log_x, mean_log_y, 1)[0]
    noise_sd = NOISE_SD * np.linspace(2.0, 0.5, GRID.size)[:, None]  # noise shrinking along the grid
    covered = 0
    for _ in range(SIMULATIONS):
        log_y = mean_log_y[:, None] + noise_sd * rng.standard_normal((GRID.size, 5))
        fit = stats.fit_log_slopes(log_x[:, None], log_y)
        covered += fit.lower[0] <= target <= fit.upper[0]
    assert covered / SIMULATIONS >= 1 - stats.ALPHA - COVERAGE_SLACK


def test_planned_half_width_matches_fits():
    rng = np.random.default_rng(SEED + 4)
    log_x = np.log(GRID)
    widths = [stats.fit_log_slopes(log_x[:, None], log_x[:, None] + _log_noise(rng, (GRID.size, 20)))
              .half_width[0] for _ in range(200)]
    planned = stats.planned_slope_half_width(GRID, 20, NOISE_SD)
    assert abs(np.median(widths) / planned - 1) < 0.05  # the median sample sd is ~1% below sigma at df ~ 66


@pytest.mark.parametrize("trials", [5, 20])
def test_min_detectable_slope_error_has_the_stated_power(trials):
    """A true slope off by the stated resolution is declared FAIL with probability ~1 - alpha/2."""
    rng = np.random.default_rng(SEED + 5)
    tol = 0.15
    resolution = stats.min_detectable_slope_error(GRID, trials, NOISE_SD, tol)
    fails = 0
    runs = 400
    for _ in range(runs):
        y = GRID[:, None] ** (1.0 + resolution) * np.exp(_log_noise(rng, (GRID.size, trials)))
        rec = checks.scaling(GRID, y, expected=1.0, tol=tol, name="power", reason="test")
        fails += rec.verdict is checks.Verdict.FAIL
    # the half-width itself is random (sample sd), so the power is a little below 1 - alpha/2 = 0.995
    assert fails / runs >= 0.95


def test_trials_needed():
    assert stats.trials_needed(0.2, 5, 0.1) == 20  # the 1/sqrt(trials) law
    assert stats.trials_needed(0.2, 5, 0.0) is None
    assert stats.trials_needed(0.05, 5, 0.1) == 6  # always asks for more than it has


@pytest.mark.parametrize("successes, trials", [(0, 10), (3, 10), (10, 10), (47, 50), (200, 1000)])
def test_clopper_pearson_matches_scipy(successes, trials):
    interval = sps.binomtest(successes, trials).proportion_ci(1 - stats.ALPHA, method="exact")
    np.testing.assert_allclose(stats.clopper_pearson(successes, trials),
                               (interval.low, interval.high), rtol=1e-10, atol=1e-15)  # two beta inversions


@pytest.mark.parametrize("p, tol", [(0.9, 0.0), (0.9, 0.1), (0.99, 0.05)])
def test_probability_trials_needed_is_the_smallest(p, tol):
    n = stats.probability_trials_needed(p, tol, rate=1.0, goal="pass")
    assert stats.clopper_pearson(n, n)[0] >= p - tol > stats.clopper_pearson(n - 1, n - 1)[0]
    assert n == int(np.ceil(np.log(stats.ALPHA / 2) / np.log(p - tol)))  # closed form at zero failures


def test_probability_goals_out_of_reach():
    assert stats.probability_trials_needed(0.9, 0.1, rate=0.7, goal="pass") is None
    assert stats.probability_trials_needed(0.9, 0.1, rate=0.95, goal="fail") is None


def test_min_detectable_shortfall_has_the_stated_power():
    rng = np.random.default_rng(SEED + 6)
    trials, p = 50, 0.9
    shortfall = stats.min_detectable_shortfall(trials, p)
    counts = rng.binomial(trials, p - shortfall, size=2000)
    fails = np.mean([stats.clopper_pearson(k, trials)[1] < p for k in counts])
    assert fails >= 1 - stats.ALPHA / 2 - 0.01  # 0.01: ~4 binomial sds at 2000 draws


# ---- Exact reference values: every quantity on small fixed data, against a hand computation in exact rational
# arithmetic (fractions.Fraction) of the documented formulas, or an independent scipy routine. ----
# Four grid points with log x = 0, 1, 2, 3 (OLS weights c = (-3, -1, 1, 3) / 10) and three trials per point
# a_i + (-d_i, 0, d_i): point means a_i, sample variances d_i^2 exactly.
EXACT_LOG_X = (0, 1, 2, 3)
EXACT_MEANS = (Fraction(0), Fraction(12, 10), Fraction(18, 10), Fraction(33, 10))
EXACT_SPREADS = (Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(4, 10))
EXACT_TRIALS = 3
RTOL_EXACT = 1e-12  # float rounding of a few dozen operations against exact rationals


def _exact_log_y():
    return np.array([[float(a - d), float(a), float(a + d)] for a, d in zip(EXACT_MEANS, EXACT_SPREADS)])


def _hand_fit():
    """Slope, standard error, Welch df and the lack-of-fit F statistic of the fixed data, in rationals."""
    g, t = len(EXACT_LOG_X), EXACT_TRIALS
    mean_x = Fraction(sum(EXACT_LOG_X), g)
    sxx = sum((x - mean_x) ** 2 for x in EXACT_LOG_X)
    c = [(x - mean_x) / sxx for x in EXACT_LOG_X]
    slope = sum(ci * a for ci, a in zip(c, EXACT_MEANS))
    intercept = sum(EXACT_MEANS) / g - slope * mean_x
    parts = [ci ** 2 * d ** 2 / t for ci, d in zip(c, EXACT_SPREADS)]  # c_i^2 s_i^2 / T
    variance = sum(parts)
    df = variance ** 2 / sum(p ** 2 / (t - 1) for p in parts)
    lof_ss = t * sum((a - intercept - slope * x) ** 2 for a, x in zip(EXACT_MEANS, EXACT_LOG_X))
    pure_ss = sum(2 * d ** 2 for d in EXACT_SPREADS)  # (-d, 0, d) around the mean: 2 d^2 per point
    f_statistic = (lof_ss / (g - 2)) / (pure_ss / (g * (t - 1)))
    return slope, variance, df, f_statistic


def test_slope_fit_against_exact_values():
    slope, variance, df, f_statistic = _hand_fit()
    assert slope == Fraction(105, 100)  # -0.1 * 1.2 + 0.1 * 1.8 + 0.3 * 3.3
    fit = stats.fit_log_slopes(np.array(EXACT_LOG_X, dtype=float)[:, None], _exact_log_y())
    np.testing.assert_allclose(fit.slopes[0], float(slope), rtol=RTOL_EXACT)
    np.testing.assert_allclose(fit.stderr[0], math.sqrt(variance), rtol=RTOL_EXACT)
    np.testing.assert_allclose(fit.df[0], float(df), rtol=RTOL_EXACT)
    quantile = special.stdtrit(float(df), 1 - stats.ALPHA / 2)  # the Student-t inverse CDF at fractional df
    assert special.stdtr(float(df), quantile) == pytest.approx(1 - stats.ALPHA / 2, rel=1e-12)
    np.testing.assert_allclose(fit.half_width[0], quantile * math.sqrt(variance), rtol=1e-10)
    np.testing.assert_allclose([fit.lower[0], fit.upper[0]], float(slope) + np.array([-1, 1]) * fit.half_width[0],
                               rtol=RTOL_EXACT)
    np.testing.assert_allclose(fit.lack_of_fit_p, special.fdtrc(2, 8, float(f_statistic)), rtol=1e-10)
    assert fit.method == "replicates"


def test_lack_of_fit_statistic_is_the_nested_model_comparison():
    """Independently of the point means: residual SS of the line on all G*T points minus that of one mean per
    point (least squares on the full design) is the lack-of-fit SS; the latter is the pure-error SS."""
    log_y = _exact_log_y()
    x_all = np.repeat(np.array(EXACT_LOG_X, dtype=float), EXACT_TRIALS)
    line = np.column_stack([np.ones_like(x_all), x_all])
    cells = np.kron(np.eye(len(EXACT_LOG_X)), np.ones((EXACT_TRIALS, 1)))
    rss_line = np.linalg.lstsq(line, log_y.ravel(), rcond=None)[1][0]
    rss_cells = np.linalg.lstsq(cells, log_y.ravel(), rcond=None)[1][0]
    statistic = ((rss_line - rss_cells) / 2) / (rss_cells / 8)
    np.testing.assert_allclose(statistic, float(_hand_fit()[3]), rtol=1e-10)


def test_two_regressor_errors_against_the_normal_equations():
    """Per-regressor standard errors and Welch df of a two-parameter fit, with the weights from the normal
    equations (np.linalg.solve) instead of the pseudo-inverse the code uses."""
    log_x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    log_y = np.array([[0.1, 0.3], [1.0, 1.4], [-0.5, -0.3], [0.7, 0.6], [1.9, 2.5]])
    fit = stats.fit_log_slopes(log_x, log_y)
    design = np.column_stack([np.ones(5), log_x])
    weights = np.linalg.solve(design.T @ design, design.T)[1:]  # (2, 5)
    parts = weights ** 2 * log_y.var(axis=1, ddof=1) / 2
    np.testing.assert_allclose(fit.slopes, weights @ log_y.mean(axis=1), rtol=RTOL_EXACT)
    np.testing.assert_allclose(fit.stderr, np.sqrt(parts.sum(axis=1)), rtol=RTOL_EXACT)
    np.testing.assert_allclose(fit.df, parts.sum(axis=1) ** 2 / np.sum(parts ** 2, axis=1), rtol=RTOL_EXACT)


def test_zero_scatter_gives_an_exact_slope():
    log_x = np.array(EXACT_LOG_X, dtype=float)  # integers: the point means are exact, the variances exactly 0
    fit = stats.fit_log_slopes(log_x[:, None], np.repeat(2.0 * log_x[:, None], 3, axis=1))
    assert np.isinf(fit.df[0]) and fit.half_width[0] == 0.0 and fit.lack_of_fit_p is None
    np.testing.assert_allclose(fit.slopes[0], 2.0, rtol=RTOL_EXACT)


def test_t_quantile_against_scipy_special():
    for df in (1.0, 2.6352, 7.0, 66.0):
        np.testing.assert_allclose(stats.t_quantile(0.01, df), special.stdtrit(df, 0.995), rtol=1e-12)
    assert stats.t_quantile(0.01, np.inf) == pytest.approx(special.ndtri(0.995), rel=1e-12)  # 2.5758


def test_planned_half_width_against_exact_values_and_an_exact_fit():
    """sd * sqrt(sum c^2 / T) * t(df = (T - 1) (sum c^2)^2 / sum c^4); and a fit whose sample sd equals the
    planned noise at every point has exactly that half-width."""
    c = [Fraction(k, 10) for k in (-3, -1, 1, 3)]
    sum_c2, sum_c4 = sum(x ** 2 for x in c), sum(x ** 4 for x in c)
    noise, trials = 0.25, 3
    df = float((trials - 1) * sum_c2 ** 2 / sum_c4)
    expected = noise * math.sqrt(sum_c2 / trials) * special.stdtrit(df, 1 - stats.ALPHA / 2)
    x = np.exp(np.array(EXACT_LOG_X, dtype=float))
    np.testing.assert_allclose(stats.planned_slope_half_width(x, trials, noise), expected, rtol=1e-10)
    log_y = np.array(EXACT_LOG_X, dtype=float)[:, None] + noise * np.array([-1.0, 0.0, 1.0])
    fit = stats.fit_log_slopes(np.log(x)[:, None], log_y)
    np.testing.assert_allclose(fit.half_width[0], expected, rtol=1e-10)
    assert stats.min_detectable_slope_error(x, trials, noise, 0.1) == pytest.approx(0.1 + 2 * expected, rel=1e-10)
    # one trial: the classical error with G - 2 degrees of freedom
    np.testing.assert_allclose(stats.planned_slope_half_width(x, 1, noise),
                               noise * math.sqrt(sum_c2) * special.stdtrit(2.0, 1 - stats.ALPHA / 2), rtol=1e-10)


def test_min_detectable_drift_against_the_normal_equations():
    n = np.array([16.0, 32.0, 64.0, 16.0, 64.0])
    d = np.array([8.0, 8.0, 8.0, 32.0, 32.0])
    drift = stats.min_detectable_drift({"N": n, "d": d, "L": np.full(5, 3.0)}, trials=4, noise_sd=0.1, drift_tol=0.1)
    assert list(drift) == ["N", "d"]  # the fixed L is not fitted
    design = np.column_stack([np.ones(5), np.log(n), np.log(d)])
    weights = np.linalg.solve(design.T @ design, design.T)[1:]
    sum_c2, sum_c4 = np.sum(weights ** 2, axis=1), np.sum(weights ** 4, axis=1)
    half = 0.1 * np.sqrt(sum_c2 / 4) * special.stdtrit(3 * sum_c2 ** 2 / sum_c4, 1 - stats.ALPHA / 2)
    np.testing.assert_allclose([drift["N"], drift["d"]], 0.1 + 2 * half, rtol=1e-10)
    one = stats.min_detectable_drift({"N": GRID}, trials=5, noise_sd=0.1, drift_tol=0.1)
    assert one["N"] == pytest.approx(stats.min_detectable_slope_error(GRID, 5, 0.1, 0.1), rel=1e-12)
    with pytest.raises(InvalidArgument, match="vary at least one"):
        stats.min_detectable_drift({"L": np.full(5, 3.0)}, trials=4, noise_sd=0.1, drift_tol=0.1)


def test_trials_needed_at_its_boundaries():
    assert stats.trials_needed(0.2, 5, 0.1) == 20  # 5 * (0.2 / 0.1)^2 exactly
    assert stats.trials_needed(0.2, 5, 0.1 * (1 - 1e-9)) == 21  # just above 20: the next integer
    assert stats.trials_needed(0.3, 4, 0.2) == 9  # ceil(4 * 2.25)
    assert stats.trials_needed(0.2, 5, 0.2) == 6  # never fewer than one more trial
    assert stats.trials_needed(0.2, 5, -0.1) is None
    assert stats.trials_needed(0.2, 5, 1e-17) is None  # an estimate on a tolerance edge up to rounding
    assert stats.trials_needed(1.0, 1, 2.0 ** -11) == 2 ** 22  # below the limit of 10^7 trials
    assert stats.trials_needed(1.0, 1, 2.0 ** -12) is None  # 2^24 trials: beyond it


@pytest.mark.parametrize("successes, trials", [(0, 7), (1, 7), (6, 7), (7, 7), (8, 2550), (37, 84)])
def test_clopper_pearson_by_its_defining_tail_probabilities(successes, trials):
    """lo solves P(X >= k | lo) = alpha/2 and hi solves P(X <= k | hi) = alpha/2 (X ~ Binomial(n, p)); at k = 0
    and k = n the bounds are 1 - (alpha/2)^(1/n) and (alpha/2)^(1/n)."""
    lower, upper = stats.clopper_pearson(successes, trials)
    half = stats.ALPHA / 2
    if successes == 0:
        assert lower == 0.0 and upper == pytest.approx(1 - half ** (1 / trials), rel=1e-12)
    else:
        assert sps.binom.sf(successes - 1, trials, lower) == pytest.approx(half, rel=1e-8)
    if successes == trials:
        assert upper == 1.0 and lower == pytest.approx(half ** (1 / trials), rel=1e-12)
    else:
        assert sps.binom.cdf(successes, trials, upper) == pytest.approx(half, rel=1e-8)


# The thresholds quoted in the claim modules' comments: FAIL from this many violations of n at coverage c.
QUOTED_THRESHOLDS = [(2550, 0.999, 8), (720, 0.999, 5), (100, 0.995, 4), (12, 0.995, 2), (84, 0.99, 5),
                     (48, 0.99, 4)]


@pytest.mark.parametrize("instances, coverage, count", QUOTED_THRESHOLDS)
def test_rejecting_count_is_where_clopper_pearson_flips(instances, coverage, count):
    assert stats.rejecting_count(instances, coverage) == count
    assert sps.binomtest(instances - count, instances).proportion_ci(0.99, "exact").high < coverage
    assert sps.binomtest(instances - count + 1, instances).proportion_ci(0.99, "exact").high >= coverage
    assert stats.rejecting_count(instances, 1.0) == 1


def test_rejecting_count_out_of_reach():
    assert stats.rejecting_count(3, 0.5) is None  # even 0 of 3 holding leaves P(holds) = 0.5 possible


def _detectable_rate_by_root(instances, coverage):
    """The violation rate q with P(FAIL) = 1 - alpha/2, FAIL iff at least k violations: a root of the binomial
    tail (scipy brentq), independent of the bisection over Clopper-Pearson bounds in stats."""
    k = stats.rejecting_count(instances, coverage)
    return optimize.brentq(lambda q: sps.binom.sf(k - 1, instances, q) - (1 - stats.ALPHA / 2), 1e-12, 1 - 1e-12,
                           xtol=1e-15)


@pytest.mark.parametrize("instances, coverage", [(n, c) for n, c, _ in QUOTED_THRESHOLDS] + [(100, 1.0), (7, 1.0)])
def test_detectable_violation_rate_against_a_binomial_root(instances, coverage):
    rate = stats.detectable_violation_rate(instances, coverage)
    np.testing.assert_allclose(rate, _detectable_rate_by_root(instances, coverage), rtol=1e-6)
    if coverage == 1.0:  # the closed form and the general bisection agree
        assert rate == pytest.approx(1 - (stats.ALPHA / 2) ** (1 / instances), rel=1e-14)
        assert stats.min_detectable_shortfall(instances, 1.0) == pytest.approx(rate, rel=1e-9)


@pytest.mark.parametrize("trials, p", [(50, 0.9), (50, 0.99), (200, 0.95)])
def test_min_detectable_shortfall_against_a_binomial_root(trials, p):
    """FAIL iff successes <= s*, the largest count whose Clopper-Pearson upper bound is < p; the detectable q
    solves P(X <= s* | q) = 1 - alpha/2."""
    largest = max(s for s in range(trials + 1) if stats.clopper_pearson(s, trials)[1] < p)
    q = optimize.brentq(lambda q: sps.binom.cdf(largest, trials, q) - (1 - stats.ALPHA / 2), 1e-12, p, xtol=1e-15)
    np.testing.assert_allclose(stats.min_detectable_shortfall(trials, p), p - q, rtol=1e-6)


@pytest.mark.parametrize("p, tol, rate, goal", [(0.9, 0.1, 0.95, "pass"), (0.9, 0.0, 0.6, "fail"),
                                                (0.99, 0.05, 1.0, "pass"), (0.9, 0.1, 0.85, "fail")])
def test_probability_trials_needed_is_the_exact_flip(p, tol, rate, goal):
    """At the returned n the expected count decides; at n - 1 it does not (brute force over n)."""
    n = stats.probability_trials_needed(p, tol, rate, goal)

    def decides(m):
        lower, upper = stats.clopper_pearson(rate * m, m)
        return lower >= p - tol if goal == "pass" else upper < p
    assert decides(n) and not any(decides(m) for m in range(1, n))
