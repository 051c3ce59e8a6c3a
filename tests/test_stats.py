"""Tests of ntkcheck.stats: every interval against an independent computation (scipy's own routines, or
a Monte Carlo of its coverage / power at a fixed seed)."""
import numpy as np
import pytest
from scipy import stats as sps

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
