"""Negative controls of ntkcheck.checks: synthetic data where the claim is wrong must give FAIL, data too
noisy to decide must give INCONCLUSIVE, and the matching true cases must PASS. Every generator draws
from a fixed seed, so each verdict below is deterministic."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ntkcheck import checks
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
