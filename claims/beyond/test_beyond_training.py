"""Beyond the paper: the NTK during training (Section 8: "to get optimization guarantees, one often has to track the
movement of the NTK-related quantities during the course of training, which is not done in this paper. Providing
rigorous convergence guarantees for deep ReLU networks with an arbitrary single wide layer of linear width is an
exciting open problem"; Section 1 below (5): if lambda_min(Kbar) stays bounded away from zero along training,
(5) drives the loss to zero).

Measured with ntkcheck.gradient_descent: full-batch GD on Phi = 1/2 ||F_L - Y||^2 (eq. (5)), float64, from He init,
lr = LR_FRACTION / lambda_max(Kbar_0), until Phi_t <= 1e-6 Phi_0 ("the loss falls by 1e-6"). Regime: N = 8 Gaussian
points in d = 32, standard normal labels, L = 4, one wide layer of width n (first, middle or last hidden; the
others 16 = 2N), and the control without a wide layer (32, 16, 16, 16, 1).

Conjectures and what is measured:
  * (5) along training: lambda_min(Kbar_t) / lambda_min(Kbar_0) stays bounded below (inequality: min over the
    recorded steps >= LAMBDA_FLOOR; the ratio is <= 1 by construction, t = 0 included, so only the floor can
    fail). Mostly so with the wide layer last (minima 0.096-1 over 80 smoke runs, tuning seeds 1000-1019, and -> 1
    as the layer widens: 0.74-1 at n = 2048), but the smoke calibration on seeds 2300-2319 found a collapse there
    too (2 of those 20 seeds had a run below the floor at n = 128), so the wide layer last is checked like the
    others. Not so with the wide layer first: at n = 2048
    (full profile, base seed 0) one run of 8 drove lambda_min(Kbar_t) to 0 (rounding, -2e-16) and GD stalled (not
    converged after 20,000 steps), two more dipped to 0.015 and 0.023, and at n = 128 minima of 0 occur too; the
    no-wide control also reaches 0, and the wide middle dipped to 0.003 once in 80. Every position is checked
    "with probability >= COVERAGE" (a collapse in a minority of runs is what was measured).
  * Linear convergence at the rate of the NTK: in the linearized dynamics r_{t+1} = (I - lr Kbar) r_t the slowest
    mode decays like (1 - lr lambda_min)^t, so log Phi_t falls at rate -2 log(1 - lr lambda_min(Kbar_T)) late in
    training; measured / predicted rate within a factor RATE_FACTOR either way (inequality |log ratio| <= log 3,
    with probability >= COVERAGE: a stalled run has no rate). Neither conjecture is a Theta claim in n, so no
    drift is fitted; at the full profile the widths 128..2048 all enter the same inequality.
  * Lazy training: the relative NTK change ||Kbar_T - Kbar_0||_op / ||Kbar_0||_op decays with the width n of the
    wide layer (the NTK-regime heuristic: the Jacobian moves by O(n^-1/2) while the output moves O(1)). Measured
    exponent over n = 128..2048 on tuning seeds 1000-1005 (6 runs per width): wide last hidden layer -0.66, checked
    at -0.66 +- 0.3 (the heuristic -1/2 inside, no decay outside); wide first and middle ~0 (no decay: the 16-wide
    layer after the wide one sees its pre-activations move by O(1) under lr ~ 1/lambda_max ~ 1/n in this
    standard parameterization), checked at 0 +- 0.35 for the wide layer first. The lazy band was re-chosen on the
    calibration seeds 2500-2523 (-0.6 +- 0.45, LAZY_EXPONENT); both exponents use LAZY_TRIALS = 32 runs per width.
    Full profile, base seed 0: wide last -0.625 [-0.763, -0.488], wide first +0.110 [0.001, 0.220].
    The exponent needs widths up to 2048 and ~2000 steps a net: full profile only (the smoke budget of the
    beyond modules is a few seconds).
"""
import functools

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks, seeding

pytestmark = pytest.mark.claim("Beyond: training (Sec. 8)")

N, D, NARROW = 8, 32, 16
POSITIONS = {"wide first": 0, "wide middle": 1, "wide last": 2}
CONTROL = "no wide layer"
WIDTHS = {"smoke": (128,), "full": (128, 512, 2048)}
# 4 at smoke: fewer could not reject "P(no collapse) >= 3/4" even with every run collapsing (0/3 has a 99% upper end
# 0.83); 16 per width at full (48 runs a position) for the power stated at COVERAGE.
TRIALS = {"smoke": 4, "full": 16}
LR_FRACTION = 0.5  # lr = 0.5 / lambda_max(Kbar_0): stable (< 2 / lambda_max) with room for the NTK to grow
STOP_RATIO = 1e-6
MAX_STEPS = 20_000
RECORD_EVERY = 25
# Measured min_t lambda_min(Kbar_t) / lambda_min(Kbar_0) (6 tuning seeds 1000-1005): wide first 0.073 (n = 128),
# 0.092 (512), 0.015 (2048); middle 0.43, 0.65, 0.25; last 0.26, 0.69, 0.75; control 0.19. The floor catches a
# collapse of lambda_min (a drop by more than 200x), not a moderate dip, which every position shows.
LAMBDA_FLOOR = 0.005
# Wide first and the control collapse in a minority of runs (module docstring), the wide middle rarely (one run of
# 80 at smoke over tuning seeds 1000-1019 dipped to 0.003), the wide last too (smoke calibration, seeds 2300-2319):
# checked as P(no collapse) >= 3/4 at every position. Power: at smoke (4 runs) the check FAILs only when every run
# collapses (0/4 has a 99% upper end 0.73 < 3/4); at full (16 runs per width, 48 a position) a violation rate
# above 0.61 (0.85 for the no-wide control, 16 runs at one width).
COVERAGE = 0.75
# Measured late-time rate / predicted rate: 0.44-1.6 over all positions and widths (the last half of the recorded
# steps, where the slowest mode dominates but not exclusively): a factor 3 either way.
RATE_FACTOR = 3.0
# The lazy exponent. First chosen on tuning seeds 1000-1005 (-0.66, tol 0.3); the full calibration on seeds 2500-2523
# (16 runs per width) found it INCONCLUSIVE under 14 of 24: the exponent is -0.59 +- 0.08 across those seeds (range
# -0.77..-0.48; the heuristic -1/2 inside), and one seed's 99% interval has half-width 0.22-0.27 at this budget. Those
# seeds chose the values below (fresh seeds still owed): centre -0.6, tol 0.45, i.e. the NTK change decays at a rate
# between n^-0.15 and n^-1.05, which excludes no decay (0) by 0.15; every seed's interval of 2500-2523 lies inside.
# Power: an exponent off by more than tol + 2 half-widths FAILs (0.72 at base seed 0 with LAZY_TRIALS = 32; 0.83 at
# 16): this check separates "decays" from "does not decay", not -1/2 from -0.6; a sharper one needs ~4x the runs.
LAZY_EXPONENT = -0.6
LAZY_TOL = 0.45
# Wide first: 0 +- 0.35 (tuning seeds 1000-1005). At 16 runs per width the 99% interval has half-width 0.12-0.2 and
# the slope sits at +0.07 +- 0.055 across seeds (2500-2523 and 2600-2610), so an upper end crossed 0.35 once in 21
# (2607: 0.209 [0.043, 0.374]). The tolerance is kept; the runs are raised instead (LAZY_TRIALS).
NO_DECAY_TOL = 0.35
# Runs per width for the two exponents (wide first and wide last; the first TRIALS of them are the runs the floor and
# rate checks use). 32 at full: half-widths ~0.12 (wide first) and ~0.17 (wide last), sqrt(2) below those at 16, so
# +0.07 + 2.33 x 0.04 (seed spread) + 0.12 stays inside 0.35 and the lazy slope's interval inside [-1.05, -0.15].
LAZY_TRIALS = {"smoke": TRIALS["smoke"], "full": 32}  # the test runs at full only


@functools.lru_cache(maxsize=None)
def _run(base_seed: int, position: str, width: int, trial: int) -> dict:
    """One GD run: the trajectory's numbers. Seeds derive from the base seed and (position, width, trial) only, so
    the tests of this module share their runs (a run is the same whichever test asks first)."""
    seed = seeding.derive_seed(base_seed, "claims/beyond/test_beyond_training.py", width, trial)
    widths = [D, NARROW, NARROW, NARROW, 1]
    if position != CONTROL:
        widths[1 + POSITIONS[position]] = width
    X = nc.sample_data("gaussian", n=N, d=D, seed=seeding.derive_seed(seed, "data"))
    y = np.random.default_rng(seeding.derive_seed(seed, "labels")).standard_normal(N)
    net = nc.ReLUNet(tuple(widths), init="he", seed=seeding.derive_seed(seed, "net", position))
    lr = LR_FRACTION / np.linalg.eigvalsh(nc.empirical_ntk(net, X))[-1]
    traj = nc.gradient_descent(net, X, y, steps=MAX_STEPS, lr=lr, record_every=RECORD_EVERY, stop_ratio=STOP_RATIO)
    final = nc.empirical_ntk(traj.net, X)
    late = slice(len(traj.step) // 2, None)
    rate = -np.polyfit(traj.step[late], np.log(traj.loss[late]), 1)[0]
    eigenvalues = np.linalg.eigvalsh(final)
    predicted = -2.0 * np.log1p(-lr * eigenvalues[0]) if eigenvalues[0] > 0 else 0.0  # a singular Kbar_T: rate 0
    return {"lambda_ratio": float(traj.lambda_min.min() / traj.lambda_min[0]),
            "ntk_change": float(np.linalg.norm(final - traj.ntk0, 2) / np.linalg.norm(traj.ntk0, 2)),
            "rate_ratio": float(rate / predicted) if predicted > 0 else float("inf"),
            "wrong_rate_ratio": float(rate / (2.0 * lr * eigenvalues[-1])),  # the rate of the fastest mode
            "steps": int(traj.step[-1]), "converged": bool(traj.loss[-1] <= STOP_RATIO * traj.loss[0])}


def _grid(claim, position, key, trials=TRIALS):
    widths = claim.pick(WIDTHS) if position != CONTROL else claim.pick(WIDTHS)[:1]
    values = np.array([[_run(claim.base_seed, position, n, t)[key] for t in range(claim.pick(trials))]
                       for n in widths])
    return widths, values


@pytest.mark.parametrize("position", list(POSITIONS) + [CONTROL])
def test_lambda_min_stays_bounded_below_along_gd(claim, position):
    """min_t lambda_min(Kbar_t) / lambda_min(Kbar_0) >= LAMBDA_FLOOR with probability >= COVERAGE (inequality); the
    same check FAILs on the ratios divided by 1000 (negative control)."""
    widths, ratios = _grid(claim, position, "lambda_ratio")
    steps = max(_run(claim.base_seed, position, n, t)["steps"] for n in widths for t in range(claim.pick(TRIALS)))
    stalled = sum(not _run(claim.base_seed, position, n, t)["converged"] for n in widths
                  for t in range(claim.pick(TRIALS)))
    reason = "a floor against a collapse (a drop beyond 200x); measured minima 0.015-0.75 on tuning seeds"
    flat = ratios.ravel()
    claim.record(checks.inequality(flat, LAMBDA_FLOOR, coverage=COVERAGE,
                                   name=f"GD, {position} (n in {widths}): min_t lambda_min(Kbar_t) / lambda_min(Kbar_0) "
                                        f">= {LAMBDA_FLOOR:g} (up to {steps} steps to loss / 1e6; {stalled} of "
                                        f"{flat.size} runs stalled)",
                                   reason=reason))
    negative = checks.inequality(flat / 1000, LAMBDA_FLOOR, coverage=COVERAGE, name="control", reason=reason)
    assert negative.verdict.value == "FAIL", negative.message


def _within_factor(ratios, factor):
    """log(factor) - |log ratio| (>= 0 iff ratio in [1/factor, factor]); -inf for a run with no rate (inf)."""
    with np.errstate(divide="ignore"):
        return np.log(factor) - np.abs(np.log(np.asarray(ratios, dtype=float).ravel()))


@pytest.mark.parametrize("position", list(POSITIONS) + [CONTROL])
def test_loss_decays_at_the_rate_of_lambda_min(claim, position):
    """late-time rate of log Phi_t / (-2 log(1 - lr lambda_min(Kbar_T))) within a factor RATE_FACTOR either way, with
    probability >= COVERAGE (inequality); the rate predicted from lambda_max(Kbar_T) instead (2 lr lambda_max, the
    fastest mode) is rejected (negative control)."""
    widths, ratios = _grid(claim, position, "rate_ratio")
    _, wrong = _grid(claim, position, "wrong_rate_ratio")
    reason = "linearized GD; the last half of the records still mixes in faster modes (measured 0.44-1.6)"
    claim.record(checks.inequality(_within_factor(ratios, RATE_FACTOR), 0.0, coverage=COVERAGE,
                                   name=f"GD, {position} (n in {widths}): loss rate / (-2 log(1 - lr "
                                        f"lambda_min(Kbar_T))) within a factor {RATE_FACTOR:g} "
                                        f"(measured {np.min(ratios):.3g}..{np.max(ratios):.3g})",
                                   reason=reason))
    negative = checks.inequality(_within_factor(wrong, RATE_FACTOR), 0.0, coverage=COVERAGE, name="control",
                                 reason=reason)
    assert negative.verdict.value == "FAIL", negative.message


def test_lazy_training_exponent(claim):
    """||Kbar_T - Kbar_0||_op / ||Kbar_0||_op ~ n^LAZY_EXPONENT with the wide layer last (scaling, consistent) and
    ~ n^0 with it first (scaling at 0: the lazy conjecture fails there); the wide-first data against LAZY_EXPONENT
    do not pass (negative control). Full profile only (module docstring)."""
    if len(claim.pick(WIDTHS)) < 2:
        pytest.skip("the lazy-training exponent needs the full profile's widths 128..2048 (module docstring)")
    widths, last = _grid(claim, "wide last", "ntk_change", trials=LAZY_TRIALS)
    _, first = _grid(claim, "wide first", "ntk_change", trials=LAZY_TRIALS)
    reason = (f"chosen on seeds 2500-2523 (LAZY_EXPONENT); LAZY_TOL holds -1/2 and separates from 0 (no decay); "
              f"{claim.pick(LAZY_TRIALS)} runs per width")
    claim.record(checks.scaling(widths, last, expected=LAZY_EXPONENT, tol=LAZY_TOL,
                                name=f"GD, wide last hidden layer: relative NTK change ~ n^{LAZY_EXPONENT}",
                                reason=reason))
    claim.record(checks.scaling(widths, first, expected=0.0, tol=NO_DECAY_TOL,
                                name="GD, wide first layer: relative NTK change does not decay (n^0)", reason=reason))
    negative = checks.scaling(widths, first, expected=LAZY_EXPONENT, tol=LAZY_TOL, name="control", reason=reason)
    # not PASS (FAIL or INCONCLUSIVE): the wide-first interval (~0.1 +- 0.15) can touch the lazy band's edge -0.15
    assert not negative.passed, negative.message
