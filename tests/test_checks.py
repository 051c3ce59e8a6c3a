"""Negative controls of ntkcheck.checks: synthetic data where the claim is wrong must give FAIL, data too
noisy to decide must give INCONCLUSIVE, and the matching true cases must PASS; every verdict rule at its
exact boundary; the power each record states, by hand and on simulated runs. Every generator draws from a
fixed seed, so each verdict below is deterministic."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats as sps

from ntkcheck import checks, stats
from ntkcheck.checks import ALPHA
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import Record, Verdict

GRID = np.geomspace(64.0, 640.0, 6)  # 6 points over one decade, the typical claim grid
N_GRID = np.geomspace(64.0, 4096.0, 7)  # sample sizes for the band checks
TRIALS = 5  # the smoke budget
NOISE_SD = 0.1  # per-trial sd of log y
SLOPE_TOL = 0.15  # claim tolerance on an exponent
DRIFT_TOL = 0.1  # claim tolerance on the drift of a Theta ratio
BAND = (0.5, 3.0)
SEED = 7


def power_law(slope, *, trials=TRIALS, noise_sd=NOISE_SD, seed=SEED):
    """(G, T) values x^slope with log-normal noise."""
    rng = np.random.default_rng(seed)
    return GRID[:, None] ** slope * np.exp(noise_sd * rng.standard_normal((GRID.size, trials)))


def ratios(trend, *, trials=TRIALS, noise_sd=NOISE_SD / 2, seed=SEED):
    """(G, T) ratios trend(N) * noise over N_GRID."""
    rng = np.random.default_rng(seed)
    return trend(N_GRID)[:, None] * np.exp(noise_sd * rng.standard_normal((N_GRID.size, trials)))


def _scaling(y, expected=1.0):
    return checks.scaling(GRID, y, expected=expected, tol=SLOPE_TOL, name="y vs x", reason="synthetic")


def _band(values, params=None):
    return checks.band(params or {"N": N_GRID}, values, band=BAND, drift_tol=DRIFT_TOL, name="ratio",
                       reason="synthetic")


def test_scaling_true_exponent_passes():
    rec = _scaling(power_law(1.0))
    assert rec.verdict is Verdict.PASS, rec.message


def test_scaling_wrong_exponent_fails():
    rec = _scaling(power_law(1.3))
    assert rec.verdict is Verdict.FAIL, rec.message
    assert rec.numbers["lower"] > 1.0 + SLOPE_TOL


def test_scaling_too_noisy_is_inconclusive_and_names_the_trials_needed():
    rec = _scaling(power_law(1.0, trials=3, noise_sd=1.0))
    assert rec.verdict is Verdict.INCONCLUSIVE, rec.message
    needed = rec.numbers["trials_needed"]
    assert needed > 3 and f"About {needed} trials per point" in rec.message


def test_scaling_deterministic_values_use_the_scatter_around_the_line():
    rec = _scaling(GRID ** 1.0 * (1 + 0.01 * np.cos(GRID)))
    assert rec.verdict is Verdict.PASS and rec.numbers["method"] == "residuals", rec.message


def test_scaling_reports_a_bend():
    bent = power_law(1.0) * np.exp(0.5 * (np.log(GRID) - np.log(GRID).mean()) ** 2)[:, None]
    assert "bends" in _scaling(bent).message


def test_band_stationary_ratio_passes():
    rec = _band(ratios(lambda n: np.ones_like(n)))
    assert rec.verdict is Verdict.PASS, rec.message


def test_band_ratio_drifting_like_log_n_fails():
    # log N / log 64 stays inside [0.5, 3] over the grid: only the drift test can catch it
    rec = _band(ratios(lambda n: np.log(n) / np.log(64.0)))
    assert rec.numbers["outside_band"] == 0
    assert rec.verdict is Verdict.FAIL, rec.message


def test_band_ratio_leaving_the_band_fails():
    rec = _band(ratios(lambda n: np.full_like(n, 3.5)))
    assert rec.verdict is Verdict.FAIL and rec.numbers["outside_band"] > 0, rec.message


def test_band_with_two_varied_parameters_and_a_fixed_one():
    d = np.array([10.0, 20.0, 40.0, 10.0, 20.0, 40.0, 80.0])
    params = {"N": N_GRID, "d": d, "L": np.full(7, 3.0)}
    honest = _band(ratios(lambda n: np.ones_like(n)), params)
    drifting = _band(ratios(lambda n: (d / 10.0) ** 0.3), params)
    assert honest.verdict is Verdict.PASS and honest.numbers["varied"] == ["N", "d"], honest.message
    assert drifting.verdict is Verdict.FAIL and drifting.numbers["drift"]["d"]["verdict"] == "FAIL"


def test_inequality_holds_and_rounding_slack():
    rng = np.random.default_rng(SEED)
    rhs = rng.uniform(1.0, 2.0, size=100)
    assert checks.inequality(rhs + 0.1, rhs, name="bound", reason="synthetic").passed
    within_rounding = checks.inequality(rhs * (1 - 1e-15), rhs, rtol=1e-12, name="bound", reason="rounding")
    assert within_rounding.passed, within_rounding.message


def test_inequality_planted_violation_fails():
    rng = np.random.default_rng(SEED)
    rhs = rng.uniform(1.0, 2.0, size=100)
    lhs = rhs + 0.1
    lhs[37] = rhs[37] * (1 - 1e-6)
    rec = checks.inequality(lhs, rhs, rtol=1e-12, name="bound", reason="synthetic")
    assert rec.verdict is Verdict.FAIL
    assert rec.numbers["violations"] == 1 and rec.numbers["worst_instance"] == 37
    assert rec.numbers["min_rel_margin"] == pytest.approx(-1e-6, rel=1e-6)  # the planted relative gap


def test_inequality_nan_is_a_violation():
    assert checks.inequality([1.0, np.nan], [0.5, 0.5], name="bound", reason="synthetic").numbers[
        "violations"] == 1


COVERAGE = 0.999  # a "w.h.p." claim as Lemma 4.3 checks it: at most 1 in 1000 instances may miss


def _planted(rate, size=2500, seed=SEED):
    """lhs >= rhs except at round(rate * size) random instances, each missing by 10%."""
    rng = np.random.default_rng(seed)
    rhs = rng.uniform(1.0, 2.0, size=size)
    lhs = rhs + 0.1
    missed = rng.choice(size, size=round(rate * size), replace=False)
    lhs[missed] = 0.9 * rhs[missed]
    return lhs, rhs


def test_coverage_tolerates_rare_violations_of_a_whp_bound():
    rec = checks.inequality(*_planted(0.0004), coverage=COVERAGE, name="whp bound", reason="synthetic")
    assert rec.verdict is Verdict.PASS and rec.numbers["violations"] == 1, rec.message
    assert rec.numbers["holds_upper"] >= COVERAGE and "not rejected" in rec.message
    assert "violation rate above" in rec.resolution


def test_coverage_planted_violation_rate_fails():
    """Negative control: 1% of instances violating is 10x the allowed rate, and the check says so."""
    rec = checks.inequality(*_planted(0.01), coverage=COVERAGE, name="whp bound", reason="synthetic")
    assert rec.verdict is Verdict.FAIL and rec.numbers["violations"] == 25, rec.message
    assert rec.numbers["holds_upper"] < COVERAGE and "rejected" in rec.message
    # the stated resolution is honest: a rate above it is detected
    assert rec.numbers["detectable_violation_rate"] < 0.01


def test_coverage_one_is_the_per_instance_rule():
    lhs, rhs = _planted(0.0004)
    assert checks.inequality(lhs, rhs, name="bound", reason="synthetic").verdict is Verdict.FAIL
    assert checks.inequality(lhs, rhs, coverage=1.0, name="bound", reason="synthetic").verdict is Verdict.FAIL


def test_band_with_coverage_tolerates_a_rare_outlier_but_not_a_shifted_ratio():
    rare = ratios(lambda n: np.ones_like(n), trials=400)
    rare[3, 17] = 0.1  # one draw of 2800 below the band, as a w.h.p. Theta claim allows
    rec = checks.band({"N": N_GRID}, rare, band=BAND, drift_tol=DRIFT_TOL, coverage=COVERAGE, name="ratio",
                      reason="synthetic")
    assert rec.verdict is Verdict.PASS and rec.numbers["outside_band"] == 1, rec.message
    assert _band(rare).verdict is Verdict.FAIL  # the per-instance rule
    # Negative control: a ratio sitting at the band's edge puts about half the draws outside
    edge = ratios(lambda n: np.full_like(n, BAND[1]), trials=400)
    rec = checks.band({"N": N_GRID}, edge, band=BAND, drift_tol=DRIFT_TOL, coverage=COVERAGE, name="ratio",
                      reason="synthetic")
    assert rec.verdict is Verdict.FAIL and rec.numbers["holds_upper"] < COVERAGE, rec.message


def test_target_margin_steers_hypothesis_to_a_violation():
    """The documented pattern finds a bound that fails only near the end of the range."""
    @settings(max_examples=200, derandomize=True, database=None)
    @given(x=st.floats(0.0, 1.05))
    def bound_holds(x):
        lhs, rhs = np.array([1.0]), np.array([x ** 4])
        checks.target_margin(lhs, rhs)
        rec = checks.inequality(lhs, rhs, name="x^4 <= 1", reason="synthetic")
        assert rec.passed, rec.message

    with pytest.raises(AssertionError, match="x\\^4 <= 1"):
        bound_holds()


def test_probability_high_rate_passes():
    rec = checks.probability(60, 60, p=0.9, name="event", reason="synthetic")
    assert rec.verdict is Verdict.PASS, rec.message


def test_probability_rate_below_claim_fails():
    successes = int(np.random.default_rng(SEED).binomial(50, 0.6))
    rec = checks.probability(successes, 50, p=0.9, name="event", reason="synthetic")
    assert rec.verdict is Verdict.FAIL, rec.message


def test_probability_small_budget_is_inconclusive_with_trials_needed():
    rec = checks.probability(20, 20, p=0.9, tol=0.1, name="event", reason="synthetic")
    assert rec.verdict is Verdict.INCONCLUSIVE
    assert "24 trials would give PASS" in rec.message  # log(0.005) / log(0.8) = 23.7


def test_identity_exact_up_to_rounding_passes():
    reference = np.random.default_rng(SEED).standard_normal((4, 4))
    assert checks.identity(reference * (1 + 1e-15), reference, rtol=1e-12, name="K", reason="synthetic").passed


def test_identity_off_by_1e6_fails():
    reference = np.random.default_rng(SEED).standard_normal((4, 4))
    rec = checks.identity(reference * (1 + 1e-6), reference, rtol=1e-10, name="K", reason="synthetic")
    assert rec.verdict is Verdict.FAIL
    assert rec.numbers["max_rel_error"] == pytest.approx(1e-6, rel=1e-6)
    assert rec.numbers["rel_frobenius_error"] == pytest.approx(1e-6, rel=1e-6)


def test_identity_nan_fails():
    rec = checks.identity([1.0, np.nan], [1.0, 1.0], rtol=1e-10, name="K", reason="synthetic")
    assert rec.verdict is Verdict.FAIL and rec.numbers["nonfinite"] == 1


@pytest.mark.parametrize("call, match", [
    (lambda: _scaling(np.where(power_law(1.0) > 100, -1.0, power_law(1.0))), "y must be finite and > 0"),
    (lambda: checks.scaling(GRID, np.ones((5, 3)), expected=1, tol=0.1, name="a", reason="b"), "shape"),
    (lambda: checks.scaling(GRID, power_law(1.0), expected=1, tol=0.1, name="", reason="b"), "name"),
    (lambda: checks.scaling(GRID, power_law(1.0), expected=1, tol=-1, name="a", reason="b"), "tol"),
    (lambda: checks.scaling(GRID, power_law(1.0), expected=1, tol=0.1, name="a", reason="b", alpha=0.7),
     "alpha"),
    (lambda: checks.identity(np.ones(3), np.ones(4), rtol=0, name="a", reason="b"), "same shape"),
    (lambda: checks.band({"N": N_GRID}, np.ones(7), band=(2, 1), drift_tol=0.1, name="a", reason="b"), "band"),
    (lambda: checks.probability(5, 4, p=0.9, name="a", reason="b"), "successes"),
    (lambda: checks.inequality([1.0], [0.5], coverage=1.5, name="a", reason="b"), "coverage"),
    (lambda: checks.band({"N": N_GRID}, np.ones(7), band=(1, 2), drift_tol=0.1, coverage=0, name="a",
                         reason="b"), "coverage"),
    (lambda: checks.probability(4, 4, p=0.9, tol=0.95, name="a", reason="b"), "tol"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()


def test_record_round_trips_through_strict_json():
    rec = checks.identity([1e-3, 1.0], [0.0, 1.0], rtol=1e-10, name="K", reason="synthetic")
    text = rec.to_json()
    json.loads(text, parse_constant=pytest.fail)  # strict JSON: no NaN / Infinity literals
    assert rec.numbers["max_rel_error"] == "inf"  # an error relative to a zero entry
    assert Record.from_json(text) == rec and Record.from_json(text).verdict is Verdict.FAIL


# ---- Every verdict rule at its exact boundary (just inside, just outside), the INCONCLUSIVE path of every kind
# that has one, and the power each record states. The slope intervals come from stats.fit_log_slopes, pinned
# against exact values in tests/test_stats.py. ----
JUST = 1e-9  # relative step to either side of a boundary: far above rounding, far below any real difference


def _fit(x, y):
    fit = stats.fit_log_slopes(np.log(x)[:, None], np.log(y))
    return float(fit.lower[0]), float(fit.upper[0]), float(fit.half_width[0])


def test_scaling_pass_boundary_is_the_interval_touching_expected_plus_minus_tol():
    y = power_law(1.0)
    lower, upper, _ = _fit(GRID, y)
    touching = max(upper - 1.0, 1.0 - lower)
    verdict = lambda tol: _scaling_at(y, 1.0, tol).verdict  # noqa: E731
    assert verdict(touching * (1 + JUST)) is Verdict.PASS
    assert verdict(touching * (1 - JUST)) is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("side", (+1, -1), ids=("interval above", "interval below"))
def test_scaling_fail_boundary_is_the_interval_leaving_expected_plus_minus_tol(side):
    y = power_law(1.0)
    lower, upper, _ = _fit(GRID, y)
    tol = 0.1
    edge = lower - tol if side > 0 else upper + tol  # the expected exponent at which the interval touches the band
    assert _scaling_at(y, edge - side * JUST, tol).verdict is Verdict.FAIL
    assert _scaling_at(y, edge + side * JUST, tol).verdict is Verdict.INCONCLUSIVE


def _scaling_at(y, expected, tol):
    return checks.scaling(GRID, y, expected=expected, tol=tol, name="y vs x", reason="boundary")


def test_scaling_interval_exactly_on_the_tolerance_edge_passes():
    """The PASS rule is inclusive: two identical trials per point (sample variance exactly 0, so the interval is
    the point estimate) checked at tol = 0 against the fitted slope itself."""
    y = np.repeat(GRID[:, None] ** 1.5, 2, axis=1)
    slope = _scaling_at(y, 1.5, 0.1).numbers["slope"]
    rec = _scaling_at(y, slope, 0.0)
    assert rec.numbers["half_width"] == 0.0 and rec.verdict is Verdict.PASS, rec.message


def test_scaling_inconclusive_states_the_trials_that_decide():
    y = power_law(1.0, trials=3, noise_sd=1.0)
    rec = _scaling_at(y, 1.0, SLOPE_TOL)
    slope, half = rec.numbers["slope"], rec.numbers["half_width"]
    target = SLOPE_TOL - abs(slope - 1.0)
    assert rec.numbers["trials_needed"] == math.ceil(3 * (half / target) ** 2)
    assert rec.numbers["to_decide"] == f"about {rec.numbers['trials_needed']} trials per point (now 3)"
    on_edge = _scaling_at(y, slope - SLOPE_TOL, SLOPE_TOL)  # the estimate sits on the edge: no budget decides
    assert on_edge.verdict is Verdict.INCONCLUSIVE and on_edge.numbers["trials_needed"] is None
    assert "no trial count" in on_edge.numbers["to_decide"]
    one_trial = checks.scaling(GRID, GRID ** 1.0 * np.exp(0.3 * np.cos(7 * GRID)), expected=1.0, tol=0.05,
                               name="y", reason="boundary")
    assert one_trial.verdict is Verdict.INCONCLUSIVE and "grid points" in one_trial.numbers["to_decide"]
    assert "to_decide" not in _scaling_at(power_law(1.0), 1.0, SLOPE_TOL).numbers  # only when undecided


def test_scaling_power_is_tol_plus_twice_the_half_width():
    rec = _scaling_at(power_law(1.0), 1.0, SLOPE_TOL)
    _, _, half = _fit(GRID, power_law(1.0))
    assert rec.numbers["power"]["exponent_error"] == pytest.approx(SLOPE_TOL + 2 * half, rel=1e-12)
    assert rec.numbers["min_detectable_error"] == rec.numbers["power"]["exponent_error"]
    assert rec.numbers["power"]["summary"] == f"slope err > {SLOPE_TOL + 2 * half:.2g}"


FIXED = {"N": np.full(7, 100.0)}  # one value: no drift fitted, the band part alone decides


@pytest.mark.parametrize("edge", (0, 1), ids=("lo", "hi"))
def test_band_edges_are_inside(edge):
    values = np.ones((7, 3))
    values[2, 1] = BAND[edge]
    assert checks.band(FIXED, values, band=BAND, drift_tol=0.1, name="r", reason="edge").verdict is Verdict.PASS
    values[2, 1] = np.nextafter(BAND[edge], (0.0, np.inf)[edge])
    rec = checks.band(FIXED, values, band=BAND, drift_tol=0.1, name="r", reason="edge")
    assert rec.verdict is Verdict.FAIL and rec.numbers["outside_band"] == 1


def test_band_drift_boundaries():
    values = ratios(lambda n: (n / 64.0) ** 0.05)
    lower, upper, _ = _fit(N_GRID, values)
    touching = max(abs(lower), abs(upper))
    band = lambda tol: checks.band({"N": N_GRID}, values, band=(0.1, 10.0), drift_tol=tol, name="r",  # noqa: E731
                                   reason="boundary")
    assert band(touching * (1 + JUST)).verdict is Verdict.PASS
    undecided = band(touching * (1 - JUST))
    assert undecided.verdict is Verdict.INCONCLUSIVE  # a band whose drift is undecided is never PASS
    assert undecided.numbers["to_decide"].endswith("for the drift in N")
    assert band(lower * (1 - JUST)).verdict is Verdict.FAIL  # the interval wholly above +- drift_tol
    assert band(lower * (1 + JUST)).verdict is Verdict.INCONCLUSIVE


def test_band_power_drift_and_passing_factors():
    values = ratios(lambda n: np.ones_like(n))
    rec = _band(values)
    _, _, half = _fit(N_GRID, values)
    assert rec.numbers["power"]["drift"] == {"N": pytest.approx(DRIFT_TOL + 2 * half, rel=1e-12)}
    low, high = rec.numbers["power"]["passing_factor"]
    assert (low, high) == (pytest.approx(BAND[0] / values.min()), pytest.approx(BAND[1] / values.max()))
    # what the factors mean: the ratios times a factor just inside pass the band, just outside they leave it
    wide_drift = dict(band=BAND, drift_tol=10.0, name="r", reason="factor")
    for factor, verdict in ((low * (1 + JUST), Verdict.PASS), (low * (1 - JUST), Verdict.FAIL),
                            (high * (1 - JUST), Verdict.PASS), (high * (1 + JUST), Verdict.FAIL)):
        assert checks.band({"N": N_GRID}, factor * values, **wide_drift).verdict is verdict, factor


def test_band_wider_spread_than_the_band_has_no_passing_factor():
    """Ratios spread by more than hi / lo: c_lo = lo / min > c_hi = hi / max, so no constant factor passes; the
    record says so instead of printing an inverted range (the Sec. 1 erratum record showed x[0.33, 0.3])."""
    values = ratios(lambda n: np.ones_like(n))
    values[0, 0], values[-1, -1] = BAND[0] / 2, BAND[1] * 2  # spread 4 hi / lo
    rec = _band(values)
    low, high = rec.numbers["power"]["passing_factor"]
    assert low == pytest.approx(2.0) and high == pytest.approx(0.5)
    assert rec.numbers["power"]["summary"].endswith("no factor passes")
    assert "no constant factor on every ratio passes the band" in rec.resolution


@pytest.mark.parametrize("instances, coverage, count", [(2550, 0.999, 8), (84, 0.99, 5), (100, 0.995, 4)])
def test_band_with_coverage_flips_at_the_rejecting_count(instances, coverage, count):
    values = np.ones(instances)
    values[:count - 1] = 10.0 * BAND[1]
    params = {"N": np.full(instances, 100.0)}
    rec = checks.band(params, values, band=BAND, drift_tol=0.1, coverage=coverage, name="r", reason="count")
    assert rec.verdict is Verdict.PASS
    low, high = rec.numbers["power"]["passing_factor"]  # the count - 1 outliers may stay out: the k-th ratio decides
    assert (low, high) == (pytest.approx(BAND[0]), pytest.approx(BAND[1]))
    values[count - 1] = 10.0 * BAND[1]
    assert checks.band(params, values, band=BAND, drift_tol=0.1, coverage=coverage, name="r",
                       reason="count").verdict is Verdict.FAIL


SLACK_RTOL, SLACK_ATOL = 2.0 ** -10, 2.0 ** -12  # dyadic: atol + rtol |rhs| is exact for |rhs| = 4


@pytest.mark.parametrize("rtol, atol", [(SLACK_RTOL, SLACK_ATOL), (SLACK_RTOL, 0.0), (0.0, SLACK_ATOL)])
@pytest.mark.parametrize("rhs", (4.0, -4.0))
def test_inequality_boundary_is_a_margin_of_minus_atol_plus_rtol_abs_rhs(rhs, rtol, atol):
    slack = atol + rtol * abs(rhs)
    at_edge = checks.inequality(rhs - slack, rhs, rtol=rtol, atol=atol, name="b", reason="edge")
    beyond = checks.inequality(np.nextafter(rhs - slack, -np.inf), rhs, rtol=rtol, atol=atol, name="b", reason="edge")
    assert at_edge.verdict is Verdict.PASS and at_edge.numbers["min_margin"] == -slack
    assert beyond.verdict is Verdict.FAIL and beyond.numbers["violations"] == 1


@pytest.mark.parametrize("instances, coverage, count", [(2550, 0.999, 8), (84, 0.99, 5), (100, 0.995, 4),
                                                        (720, 0.999, 5), (48, 0.99, 4), (12, 0.995, 2)])
def test_inequality_coverage_flips_at_the_quoted_counts(instances, coverage, count):
    """The thresholds quoted in the claim modules ("FAIL from 8 draws outside of 2550", "5 nets of 84", ...)."""
    rhs = np.ones(instances)
    lhs = np.full(instances, 2.0)
    lhs[:count - 1] = 0.5
    check = lambda: checks.inequality(lhs, rhs, coverage=coverage, name="b", reason="count")  # noqa: E731
    assert check().verdict is Verdict.PASS
    lhs[count - 1] = 0.5
    assert check().verdict is Verdict.FAIL


def test_inequality_power_is_the_detectable_violation_rate():
    rhs = np.ones(100)
    rec = checks.inequality(rhs + 1, rhs, name="b", reason="power")
    assert rec.numbers["power"]["violation_rate"] == pytest.approx(1 - (ALPHA / 2) ** (1 / 100), rel=1e-14)  # 0.0516
    assert "violation rate above 0.0516 in 100 instances" in rec.resolution
    whp = checks.inequality(rhs + 1, rhs, coverage=0.99, name="b", reason="power")
    assert whp.numbers["power"]["violation_rate"] == stats.detectable_violation_rate(100, 0.99)


@pytest.mark.parametrize("rtol, atol", [(SLACK_RTOL, SLACK_ATOL), (SLACK_RTOL, 0.0), (0.0, SLACK_ATOL)])
def test_identity_boundary_is_atol_plus_rtol_abs_reference(rtol, atol):
    reference = np.array([-4.0, 4.0, 2.0])
    allowed = atol + rtol * np.abs(reference)
    at_edge = reference + np.array([-1.0, 1.0, 1.0]) * allowed
    assert checks.identity(at_edge, reference, rtol=rtol, atol=atol, name="K", reason="edge").passed
    beyond = at_edge.copy()
    beyond[0] = np.nextafter(beyond[0], -np.inf)
    rec = checks.identity(beyond, reference, rtol=rtol, atol=atol, name="K", reason="edge")
    assert rec.verdict is Verdict.FAIL and rec.numbers["violations"] == 1 and rec.numbers["worst_index"] == [0]


def test_identity_errors_and_power_by_hand():
    reference = np.array([[3.0, -4.0], [0.0, 1.0]])
    computed = reference + np.array([[0.3, 0.0], [0.0, -0.5]])
    rec = checks.identity(computed, reference, rtol=1e-3, atol=1e-6, name="K", reason="hand")
    assert rec.numbers["max_abs_error"] == 0.5 and rec.numbers["max_rel_error"] == 0.5  # 0.5 / |1|
    assert rec.numbers["rel_frobenius_error"] == pytest.approx(math.sqrt(0.09 + 0.25) / math.sqrt(26.0), rel=1e-14)
    power = rec.numbers["power"]
    assert power["max_abs_reference"] == 4.0
    assert power["relative_error"] == pytest.approx(1e-3 + 1e-6 / 4.0, rel=1e-14)
    # what it means: a relative error just above it is caught at the largest entry, just below it is not
    caught = power["relative_error"]
    for factor, passed in ((1 + 1e-6, False), (1 - 1e-6, True)):
        assert checks.identity(reference * (1 + caught * factor), reference, rtol=1e-3, atol=1e-6, name="K",
                               reason="power").passed is passed


def test_probability_boundaries():
    trials, successes, p = 50, 40, 0.9
    interval = sps.binomtest(successes, trials).proportion_ci(1 - ALPHA, method="exact")
    check = lambda p, tol=0.0: checks.probability(successes, trials, p=p, tol=tol, name="e", reason="edge")  # noqa
    assert check(interval.high * (1 + JUST)).verdict is Verdict.FAIL  # hi < p
    assert check(interval.high * (1 - JUST)).verdict is Verdict.INCONCLUSIVE
    assert check(p, tol=p - interval.low * (1 - JUST)).verdict is Verdict.PASS  # lo >= p - tol
    undecided = check(p, tol=p - interval.low * (1 + JUST))
    assert undecided.verdict is Verdict.INCONCLUSIVE and "trials" in undecided.numbers["to_decide"]
    assert check(p).numbers["power"]["shortfall"] == stats.min_detectable_shortfall(trials, p)


def test_probability_bounds_exactly_on_the_edges():
    """FAIL needs hi < p (hi = p is not FAIL); PASS needs lo >= p - tol (equality passes). With p = 1 and
    lo >= 1/2, 1 - (1 - lo) = lo exactly (Sterbenz), so the PASS edge is hit without rounding."""
    upper = checks.probability(40, 50, p=0.9, name="e", reason="edge").numbers["upper"]
    assert checks.probability(40, 50, p=upper, name="e", reason="edge").verdict is not Verdict.FAIL
    lower = checks.probability(50, 50, p=1.0, tol=0.5, name="e", reason="edge").numbers["lower"]
    assert lower >= 0.5 and 1.0 - (1.0 - lower) == lower
    assert checks.probability(50, 50, p=1.0, tol=1.0 - lower, name="e", reason="edge").verdict is Verdict.PASS


def test_identity_and_inequality_have_no_inconclusive_path():
    """Both are exact rules on the instances given: the power field says what they resolve instead."""
    assert checks.identity([1.0], [1.0 + 1e-3], rtol=1e-4, name="K", reason="x").verdict is Verdict.FAIL
    assert checks.inequality([0.0], [1.0], name="b", reason="x").verdict is Verdict.FAIL


# ---- The stated power on synthetic data: a discrepancy of exactly the stated detectable size is detected in
# >= 90% of simulated runs (the statement is ~1 - alpha/2 = 99.5%; the margin covers the randomness of the
# sample sd that sets a run's own half-width). Seeded; each test well under 5 s. ----
POWER_RUNS = 300
DETECTED = 0.9


@pytest.mark.parametrize("params", [{"N": N_GRID},
                                    {"N": N_GRID, "d": np.array([10.0, 20.0, 40.0, 10.0, 20.0, 40.0, 80.0])}],
                         ids=("one parameter", "two parameters"))
def test_band_drift_of_the_stated_size_is_detected(params):
    noise = NOISE_SD / 2
    stated = stats.min_detectable_drift(params, TRIALS, noise, DRIFT_TOL)
    rng = np.random.default_rng(SEED)
    for param, drift in stated.items():
        trend = (params[param] / params[param][0]) ** drift
        fails = sum(checks.band(params, trend[:, None] * np.exp(noise * rng.standard_normal((7, TRIALS))),
                                band=(1e-3, 1e3), drift_tol=DRIFT_TOL, name="r", reason="power").verdict
                    is Verdict.FAIL for _ in range(POWER_RUNS))
        assert fails / POWER_RUNS >= DETECTED, (param, drift, fails)
    # the drift a record states from its own run is the planned one up to the scatter of the sample sd
    runs = [checks.band(params, np.exp(noise * rng.standard_normal((7, TRIALS))), band=(1e-3, 1e3),
                        drift_tol=DRIFT_TOL, name="r", reason="power").numbers["power"]["drift"] for _ in range(50)]
    for param, drift in stated.items():
        assert np.median([r[param] for r in runs]) == pytest.approx(drift, rel=0.1)


def _verdicts_by_count(check, counts):
    """{count: verdict} of a check whose verdict depends on one count only, each evaluated once."""
    return {int(k): check(int(k)).verdict for k in np.unique(counts)}


@pytest.mark.parametrize("instances, coverage", [(100, 1.0), (2550, 0.999), (84, 0.99)])
def test_inequality_violation_rate_of_the_stated_size_is_detected(instances, coverage):
    rhs = np.ones(instances)

    def with_violations(k):
        lhs = np.full(instances, 2.0)
        lhs[:k] = 0.5
        return checks.inequality(lhs, rhs, coverage=coverage, name="b", reason="power")
    rate = with_violations(0).numbers["power"]["violation_rate"]
    counts = np.random.default_rng(SEED).binomial(instances, rate, size=POWER_RUNS * 10)
    verdicts = _verdicts_by_count(with_violations, counts)
    assert np.mean([verdicts[k] is Verdict.FAIL for k in counts]) >= DETECTED


@pytest.mark.parametrize("trials, p", [(50, 0.9), (200, 0.99)])
def test_probability_shortfall_of_the_stated_size_is_detected(trials, p):
    check = lambda k: checks.probability(k, trials, p=p, name="e", reason="power")  # noqa: E731
    shortfall = check(trials).numbers["power"]["shortfall"]
    counts = np.random.default_rng(SEED).binomial(trials, p - shortfall, size=POWER_RUNS * 10)
    verdicts = _verdicts_by_count(check, counts)
    assert np.mean([verdicts[k] is Verdict.FAIL for k in counts]) >= DETECTED


def test_band_paired_interval_is_the_paired_t_interval():
    """paired=True: the drift interval of two paired rows at x = 1, e is scipy's paired t-interval of the mean log
    difference (T - 1 degrees of freedom), and it is far narrower than the unpaired one when the rows share noise."""
    rng = np.random.default_rng(7)
    shared = rng.normal(0.0, 0.5, 12)
    first = np.exp(-2.0 + shared)
    second = np.exp(-2.0 + 0.03 + shared + rng.normal(0.0, 0.02, 12))
    rec = checks.band({"s": [1.0, math.e]}, np.vstack([first, second]), band=(1e-3, 1.0), drift_tol=0.15,
                      paired=True, name="paired", reason="test")
    diff = np.log(second) - np.log(first)
    half = sps.t.ppf(1 - ALPHA / 2, 11) * diff.std(ddof=1) / math.sqrt(12)
    drift = rec.numbers["drift"]["s"]
    assert drift["slope"] == pytest.approx(diff.mean(), abs=1e-14)
    assert drift["lower"] == pytest.approx(diff.mean() - half, abs=1e-13)
    assert drift["upper"] == pytest.approx(diff.mean() + half, abs=1e-13)
    assert drift["df"] == pytest.approx(11.0)
    assert rec.numbers["method"] == "paired" and rec.verdict is Verdict.PASS
    assert rec.numbers["min_ratio"] == pytest.approx(min(first.min(), second.min()))  # the band reads raw ratios
    unpaired = checks.band({"s": [1.0, math.e]}, np.vstack([first, second]), band=(1e-3, 1.0), drift_tol=0.15,
                           name="unpaired", reason="test")
    assert unpaired.verdict is Verdict.INCONCLUSIVE  # the shared sd 0.5 swamps the +-0.15 margin


@pytest.mark.parametrize("ratios, params", [(np.ones((3, 4)), {"s": [1.0, 2.0, 3.0]}),
                                            (np.ones((2, 1)), {"s": [1.0, 2.0]}),
                                            (np.ones((2, 4)), {"s": [1.0, 1.0]})])
def test_band_paired_needs_two_points_one_parameter(ratios, params):
    with pytest.raises(InvalidArgument, match="paired=True needs two grid points"):
        checks.band(params, ratios, band=(0.5, 2.0), drift_tol=0.1, paired=True, name="n", reason="r")


def test_band_paired_drift_of_the_stated_size_is_detected():
    """paired=True: a paired log difference of the stated detectable size (drift_tol + 2 h, h the paired t
    half-width at the difference's sd) FAILs in >= 90% of runs, though the shared noise is 10x the difference's."""
    trials, shared_sd, diff_sd, tol = 12, 0.5, 0.05, 0.15
    stated = tol + 2 * sps.t.ppf(1 - ALPHA / 2, trials - 1) * diff_sd / math.sqrt(trials)
    rng = np.random.default_rng(SEED)
    fails = 0
    for _ in range(POWER_RUNS):
        shared = rng.normal(0.0, shared_sd, trials)
        pair = np.exp(np.vstack([shared, shared + stated + rng.normal(0.0, diff_sd, trials)]))
        fails += checks.band({"s": [1.0, math.e]}, pair, band=(1e-3, 1e3), drift_tol=tol, paired=True,
                             name="r", reason="power").verdict is Verdict.FAIL
    assert fails / POWER_RUNS >= DETECTED, fails
