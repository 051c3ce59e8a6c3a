"""Eq. (4) with (15)-(17): with (W_l)_ij ~ N(0, 1) and min_l n_l -> infinity, the normalized NTK
(prod_{l=1}^{L-1} 2/n_l) Kbar^(L) converges in probability to the limiting NTK K^(L) of (9)-(10); (15) bounds the
entrywise error by (L + 1) eps once min_l n_l = Omega(eps^-4 poly(L)); (16) concludes that
lambda_min((prod_{l=1}^{L} 2/n_l) Kbar^(L)) lies in [1/2, 3/2] lambda_min(K^(L)); (17) that
lambda_min(Kbar^(L)) = Theta(d prod_{l=1}^{L-1} n_l).

Regime: Gaussian data (Assumptions 2.1-2.2, zero mean), N = 16 points, every hidden width equal to n, L = 2, 3, 4.
Every trial draws fresh data and fresh weights from derived seeds.

* Rate. Entry (i, j) of (2/n) F_l F_l^T is an average over the n neurons of layer l, i.i.d. given the layer below,
  so by the CLT the normalized matrix fluctuates around its limit by O(n^-1/2); the bias of the nested averages
  (L >= 3) is O(1/n), of lower order, and for L = 2 the normalized matrix is even unbiased. Hence the relative
  Frobenius error, and the largest entrywise error of (15), decay like n^-1/2: expected exponent -1/2. (15) alone
  only implies eps = O(n^-1/4), which the measured rate beats.
* (16) is derived from ||normalized - K^(L)||_F <= lambda_min(K^(L))/2 by Weyl's inequality; the band [1/2, 3/2] is
  checked at EQ16_WIDTH, far below the printed sufficient width Omega(N^4) (which this check
  shows is pessimistic), and Weyl's inequality itself on every trial.
* Erratum: (16) and the sentence before it print prod_{l=1}^{L} 2/n_l, while (4) and (15) have prod_{l=1}^{L-1};
  with n_L = 1 the printed matrix is twice the normalized one, so its lambda_min sits near 2 lambda_min(K^(L)).
* (17) as a band of lambda_min(Kbar^(L)) / (d prod n_l) with no drift in n, at L = 2 (and L = 3 at full) and
  d = 16N (its d-dependence is that of Theorem 3.2, checked with the Figure 2 (left) curves); why not L = 4: see
  EQ17_DEPTHS; at the width (17) asks for, n = N^4 (constant 1), L = 3 is checked too (full profile).
* Unequal hidden widths (full profile, L = 3): (n_1, n_2) = (2n, n) and (n, 2n) with the normalization 4/(n_1 n_2)
  converge at the same rate; the normalization (2/min n_l)^(L-1) must not (negative control: equal widths cannot
  tell it from prod 2/n_l).
* (15) as printed is an absolute bound whose constant cannot depend on d (Section 2's convention), but the error
  is proportional to the data scale ||x_i|| ||x_j||: erratum (the cited result assumes ||x|| = 1). Corrected:
  the error in units of ||x_i|| ||x_j|| does not depend on d.
* The derivation of (16)-(17) at the width it asks for: n = N^4 (Omega read with constant 1), d = 16 N: the
  hypothesis ||normalized - K||_F <= lambda_min(K)/2 holds w.p. >= 0.9 (probability).

Tolerances: EXPONENT_TOL and EQ17_DRIFT_TOL are derived from the O(1/n) bias (docstring of each), EQ16_BAND is
printed, EQ15_TOL is derived below; the measured numbers behind them come from seed 0 and tuning seeds 1000-1019
(smoke), never from the calibration seeds 2000+ (the full budgets of TRIALS and UNEQUAL_TRIALS were raised after the
calibration on 2500-2523: see the note at EXPONENT_TOL). Paper profile: TRIALS 360 and UNEQUAL_TRIALS 288 (the rate
intervals shrink by sqrt(360/90) = 2 over full) and EQ16/EQ17 50 trials (2x over 24, as sqrt(50/24) = 1.44 plus the
wider width grid).
"""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Eq. (4), (15)-(17)")

N_SAMPLES = 16
DIM = 8  # d: the rate does not depend on d; small d keeps W_1 cheap
DEPTHS = {"smoke": (2,), "full": (2, 3, 4)}  # L = 2 costs least per trial, and smoke needs many trials
WIDTHS = {"smoke": (64, 128, 256, 512, 1024), "full": (32, 64, 128, 256, 512, 1024, 2048)}
# The log Frobenius error scatters by 0.25 per trial: 64 trials over 1.2 decades give a slope interval of +-0.04,
# narrow enough that a true exponent of -1/2 passes at +-EXPONENT_TOL in >= 95% of seeds
TRIALS = {"smoke": 64, "full": 90, "paper": 360}  # full: see the calibration note at EXPONENT_TOL
# The max entry of (15) scatters more (0.4 per trial): deciding its exponent within EXPONENT_TOL needs the full budget
ENTRYWISE = {"smoke": False, "full": True}
ERROR_EXPONENT = -0.5  # CLT over the n neurons of each layer (module docstring)
# Separates -1/2 from -1/4 (the rate (15) implies) and from 0 (no convergence); the O(1/n) bias bends the log-log
# curve by far less at n >= 64 (measured local exponents -0.43 to -0.58 over octaves).
EXPONENT_TOL = 0.1
# Calibration note: at full, 40 trials (32 for unequal widths) gave half-widths ~0.06 against the tolerance 0.1, and
# on fresh seeds 2500-2523 the slope sat at -0.45 twice (2509: (2n, n) -0.450 [-0.511, -0.388]; 2515: L = 4 entrywise
# -0.452 [-0.508, -0.396]): INCONCLUSIVE, 22/24 < 99%. The budget went up (90 and 72 trials: half-width ~0.04), the
# tolerance kept; fresh-seed calibration of the new budget still owed.
EQ16_BAND = (0.5, 1.5)  # printed in (16)
EQ16_TRIALS = {"smoke": 8, "full": 24, "paper": 50}
EQ16_WIDTH = {"smoke": 512, "full": 1024, "paper": 2048}  # the widest affordable width: (16) is a large-width statement
# (17) at L = 2 (every profile) and L = 3 (full and paper). For L >= 3, lambda_min of the normalized matrix still
# rises towards lambda_min(K^(L)) at the affordable widths (measured drift in n of lambda_min(Kbar)/(d n^(L-1)):
# L = 3 +0.06 [0.02, 0.11], L = 4 +0.11 [0.01, 0.22], n in [256, 2048]), far below the width Omega(N^4) that (17)
# asks for: L = 3 is checked with the suite's drift tolerance for a Theta claim, 0.15 (a missing n^(1/2) drifts by
# 0.5), on widths from 512 where the rise is smaller. L = 4 (+0.11 with an interval reaching 0.22) is left out.
EQ17_DEPTHS = {"smoke": (2,), "full": (2, 3), "paper": (2, 3)}
EQ17_DIM = 256  # d = 16N; the d-dependence of (17) is that of Theorem 3.2 (see the Figure 2 (left) module)
EQ17_WIDTHS = {"smoke": (512, 2048), "full": (512, 1024, 2048, 4096), "paper": (512, 1024, 2048, 4096, 8192, 16384)}
EQ17_TRIALS = {"smoke": 16, "full": 24, "paper": 50}
EQ17_BAND = (0.1, 10.0)  # Theta hides its constants: the band only catches a stray factor of n (>= 4 here)
# A stray factor n^(+-1/2) would drift by 0.5; the measured approach to the limit is +0.02 at L = 2, +0.06 at L = 3
EQ17_DRIFT_TOL = {2: 0.1, 3: 0.15}
# Unequal hidden widths (inventory row 1.8): L = 3, (n_1, n_2) = (2n, n) and (n, 2n), n = 64..1024, 32 trials (slope
# half-width ~0.06). Chosen on tuning seeds: (4n, n) on n = 64..512 with 16 trials was too wide to decide (seed 0
# -0.446 [-0.549, -0.343]); (2n, n) on n = 32..1024 with 16 trials bent at n = 32 (local exponents -0.39, -0.19 at
# 32 -> 64; seed 0 -0.431 [-0.489, -0.372]); this grid on tuning seeds 1032-1063: -0.516 [-0.576, -0.455] and
# -0.549 [-0.603, -0.494]. Full profile only (~20 s CPU).
UNEQUAL_SHAPES = ((2, 1), (1, 2))
UNEQUAL_WIDTHS = {"smoke": (), "full": (64, 128, 256, 512, 1024)}
UNEQUAL_TRIALS = {"smoke": 0, "full": 72, "paper": 288}  # 32 -> 72: calibration note at EXPONENT_TOL
# (15) as printed: max_ij |normalized - K|_ij against d at fixed width. The printed bound (L+1) eps cannot depend
# on d (its constant may not, Section 2); the CLT error of entry (i, j) is ||x_i|| ||x_j|| / sqrt(n) times a
# d-free factor, so the absolute error grows like d (smoke, tuning seeds 1000-1019: 0.954 +- 0.022) and the relative
# one is flat (0.019 +- 0.018, upper interval end <= 0.053). EQ15_TOL = 0.15 is the suite's drift tolerance for a Theta
# claim; it separates 0 from the exponent 1 of the printed form by > 5 half-widths.
EQ15_DIMS = (4, 16, 64, 256, 1024)  # 2.4 decades; d = 2048 (the first layer's cost) left out
EQ15_WIDTH = {"smoke": 128, "full": 512, "paper": 1024}  # smoke: the cheapest width that keeps the CLT regime
# smoke: 4 trials left the corrected form INCONCLUSIVE under 3 of 20 tuning seeds (1000-1019; interval up to 0.216)
EQ15_TRIALS = {"smoke": 10, "full": 24, "paper": 72}
EQ15_TOL = 0.15
# The derivation at the width (17) asks for: n = N^4 (constant 1), d = 16 N, W ~ N(0, 1). Its hypothesis
# ||normalized - K||_F <= lambda_min(K)/2 is read as "w.p. >= 0.9" (the cited result holds w.p. 1 - delta); with
# tol 0.1 a PASS needs 24 successes in 24 trials. Measured: 24/24 at N = 6, 8 (L = 2; max ratio 0.29, 0.25) and 6/6
# at N = 6 (L = 3; max 0.38), tuning seeds 1000-1023.
N4_NS = {"smoke": (6,), "full": (6, 8)}
N4_TRIALS = {"smoke": 24, "full": 48, "paper": 100}
N4_P, N4_P_TOL = 0.9, 0.1
N4_DEPTH3_TRIALS = {"smoke": 0, "full": 8, "paper": 24}  # L = 3 at N = 6 (n = 1296): ~0.4 s per trial


def _normalization(depth, width, last_layer):
    """prod_{l=1}^{last_layer} 2/n_l with hidden widths n_1 = ... = n_{L-1} = width and n_L = 1: last_layer = L - 1
    is the normalization of (4) and (15), last_layer = L the one printed in (16)."""
    widths = (width,) * (depth - 1) + (1,)
    return math.prod(2.0 / n for n in widths[:last_layer])


def _trials(claim, depth, width, dim=DIM, trials=TRIALS):
    """Per trial (Kbar^(L), K^(L)): fresh Gaussian data and a fresh net (hidden widths = width, W ~ N(0, 1))."""
    for t in range(claim.pick(trials)):
        X = nc.sample_data("gaussian", n=N_SAMPLES, d=dim, seed=claim.seed_for("data", depth, width, dim, t))
        net = nc.ReLUNet((dim,) + (width,) * (depth - 1) + (1,), init="standard",
                         seed=claim.seed_for("weights", depth, width, dim, t))
        yield nc.empirical_ntk(net, X), nc.limiting_ntk(X, depth=depth)


def _relative_errors(normalized, limit):
    """(||normalized - K||_F / ||K||_F, max_ij |normalized - K|_ij / max_ij |K_ij|)."""
    error = normalized - limit
    return np.linalg.norm(error) / np.linalg.norm(limit), np.abs(error).max() / np.abs(limit).max()


def test_normalized_ntk_converges_like_width_to_minus_half(claim):
    """(4), (15): relative Frobenius and max entrywise errors of the normalized Kbar decay like n^-1/2; at full also
    with unequal hidden widths (L = 3), where (2/min n_l)^(L-1) in place of prod 2/n_l must fail."""
    for depth in claim.pick(DEPTHS):
        _check_convergence_rate(claim, depth)
    if claim.pick(UNEQUAL_WIDTHS):
        _check_unequal_widths(claim)


def _check_unequal_widths(claim, depth=3):
    widths = claim.pick(UNEQUAL_WIDTHS)
    for shape in UNEQUAL_SHAPES:
        errors, wrong = [], []
        for n in widths:
            hidden = tuple(factor * n for factor in shape)
            row, row_wrong = [], []
            for t in range(claim.pick(UNEQUAL_TRIALS)):
                X = nc.sample_data("gaussian", n=N_SAMPLES, d=DIM, seed=claim.seed_for("data", shape, n, t))
                net = nc.ReLUNet((DIM,) + hidden + (1,), init="standard", seed=claim.seed_for("weights", shape, n, t))
                kbar, limit = nc.empirical_ntk(net, X), nc.limiting_ntk(X, depth=depth)
                row.append(_relative_errors(kbar * math.prod(2.0 / w for w in hidden), limit)[0])
                row_wrong.append(_relative_errors(kbar * (2.0 / min(hidden)) ** (depth - 1), limit)[0])
            errors.append(row), wrong.append(row_wrong)
        label = f"(n_1, n_2) = ({shape[0]}n, {shape[1]}n)"
        claim.record(checks.scaling(widths, errors, expected=ERROR_EXPONENT, tol=EXPONENT_TOL,
                                    name=f"(4), L={depth}, {label}: relative Frobenius error ~ n^-1/2",
                                    reason="CLT rate; O(1/n) bias bends little at n >= 64, see EXPONENT_TOL"))
        control = checks.scaling(widths, wrong, expected=ERROR_EXPONENT, tol=EXPONENT_TOL, name="control",
                                 reason="control")
        assert control.verdict is Verdict.FAIL, (
            f"negative control: (2/min n_l)^(L-1) on {label} is off by a constant factor, yet the check did not "
            f"fail: {control.message}")


def _check_convergence_rate(claim, depth):
    widths = claim.pick(WIDTHS)
    errors, printed16 = [], []  # (G, T, 2) and (G, T)
    for n in widths:
        pairs = [(kbar * _normalization(depth, n, depth - 1), kbar * _normalization(depth, n, depth), limit)
                 for kbar, limit in _trials(claim, depth, n)]
        errors.append([_relative_errors(normalized, limit) for normalized, _, limit in pairs])
        printed16.append([_relative_errors(printed, limit)[0] for _, printed, limit in pairs])
    errors = np.array(errors)
    names = ("relative Frobenius error", "max entrywise error of (15) / max |K|")
    for k, name in enumerate(names[:1 + claim.pick(ENTRYWISE)]):
        claim.record(checks.scaling(widths, errors[:, :, k], expected=ERROR_EXPONENT, tol=EXPONENT_TOL,
                                    name=f"(4), (15), L={depth}: {name} ~ n^-1/2",
                                    reason="CLT rate; O(1/n) bias bends little at n >= 64, see EXPONENT_TOL"))
    control = checks.scaling(widths, printed16, expected=ERROR_EXPONENT, tol=EXPONENT_TOL, name="control",
                             reason="control")
    assert control.verdict is Verdict.FAIL, (
        "negative control: with the normalization printed in (16) (prod to L, twice too large) the error cannot "
        f"decay, yet the check did not fail: {control.message}")


def _eq16_ratios(claim, depth, last_layer):
    """lambda_min(normalization * Kbar) / lambda_min(K^(L)) at the widest width, and for the corrected form also
    the Weyl margins ||normalized - K||_2 - |lambda_min(normalized) - lambda_min(K)| and the count of trials that
    meet the derivation's hypothesis ||normalized - K||_F <= lambda_min(K)/2."""
    width = claim.pick(EQ16_WIDTH)
    ratios, weyl_gap, weyl_shift, hypothesis = [], [], [], 0
    for kbar, limit in _trials(claim, depth, width, trials=EQ16_TRIALS):
        normalized = kbar * _normalization(depth, width, last_layer)
        lam, lam_limit = nc.lambda_min(normalized), nc.lambda_min(limit)
        ratios.append(lam / lam_limit)
        weyl_gap.append(np.linalg.norm(normalized - limit, 2)), weyl_shift.append(abs(lam - lam_limit))
        hypothesis += int(np.linalg.norm(normalized - limit) <= lam_limit / 2)
    return width, np.array(ratios), np.array(weyl_gap), np.array(weyl_shift), hypothesis


def test_eq16_lambda_min_in_half_three_halves_with_normalization_of_eq4(claim):
    """(16) with the normalization prod_{l=1}^{L-1} 2/n_l of (4): the corrected form."""
    for depth in claim.pick(DEPTHS):
        _check_eq16(claim, depth)


def _check_eq16(claim, depth):
    width, ratios, gap, shift, hypothesis = _eq16_ratios(claim, depth, depth - 1)
    claim.record(checks.inequality(gap, shift, rtol=1e-9,
                                   name=f"Weyl step of (16), L={depth}: |lambda_min shift| <= ||normalized - K||_2",
                                   reason="an exact inequality; 1e-9 covers eigensolver rounding"))
    claim.record(checks.band({"n": [width]}, ratios[None, :], band=EQ16_BAND, drift_tol=0.0,
                             name=f"(16) with prod_(l<L) 2/n_l, L={depth}, n={width}, N={N_SAMPLES}: "
                                  f"lambda_min ratio in [1/2, 3/2] (hypothesis ||.||_F <= lambda_min/2 held in "
                                  f"{hypothesis}/{ratios.size} trials)",
                             reason="the band printed in (16); one width, so no drift is fitted"))


@pytest.mark.erratum("(16) and the sentence before it print prod_{l=1}^{L} 2/n_l, twice the normalization of (4) "
                     "since n_L = 1: the lambda_min ratio to lambda_min(K^(L)) is then near 2 (N = 16, n = "
                     "EQ16_WIDTH), outside [1/2, 3/2] (the record gives the measured range); with prod_{l=1}^{L-1} "
                     "it is inside (test_eq16_lambda_min_in_half_three_halves_with_normalization_of_eq4)")
@pytest.mark.parametrize("depth", (2, 3))
def test_eq16_as_printed(claim, depth):
    """(16) as printed, with prod_{l=1}^{L} 2/n_l."""
    width, ratios, *_ = _eq16_ratios(claim, depth, depth)
    claim.record(checks.band({"n": [width]}, ratios[None, :], band=EQ16_BAND, drift_tol=0.0,
                             name=f"(16) as printed (prod_(l<=L) 2/n_l), L={depth}, n={width}: lambda_min ratio "
                                  "in [1/2, 3/2]",
                             reason="the band printed in (16); one width, so no drift is fitted"))


def test_eq17_lambda_min_theta_d_times_widths(claim):
    """(17): lambda_min(Kbar^(L)) / (d prod_{l=1}^{L-1} n_l) stays in a band and does not drift in n; and its
    constant at the derived value lambda_min(K^(L)) / (2^(L-1) d) (by (4): (2/n)^(L-1) Kbar -> K^(L)), within the
    band [1/2, 3/2] of (16), without drift. L in EQ17_DEPTHS."""
    for depth in claim.pick(EQ17_DEPTHS):
        _check_eq17(claim, depth)


def _check_eq17(claim, depth):
    widths, drift_tol = claim.pick(EQ17_WIDTHS), EQ17_DRIFT_TOL[depth]
    pairs = [[(nc.lambda_min(kbar), nc.lambda_min(limit))
              for kbar, limit in _trials(claim, depth, n, dim=EQ17_DIM, trials=EQ17_TRIALS)] for n in widths]
    ratios = [[lam / (EQ17_DIM * n ** (depth - 1)) for lam, _ in row] for n, row in zip(widths, pairs)]
    claim.record(checks.band({"n": widths}, ratios, band=EQ17_BAND, drift_tol=drift_tol,
                             name=f"(17), L={depth}, d={EQ17_DIM}, N={N_SAMPLES}: lambda_min(Kbar) / (d n^(L-1))",
                             reason="approach to the limit below the Omega(N^4) width of (17), see EQ17_DRIFT_TOL"))
    at_value = [[lam * 2 ** (depth - 1) / (n ** (depth - 1) * lam_limit) for lam, lam_limit in row]
                for n, row in zip(widths, pairs)]
    claim.record(checks.band({"n": widths}, at_value, band=EQ16_BAND, drift_tol=drift_tol,
                             name=f"(17) at its constant, L={depth}: lambda_min(Kbar) / ((n/2)^(L-1) "
                                  "lambda_min(K^(L)))",
                             reason="the derived constant lambda_min(K)/(2^(L-1) d) with the band of (16); drift as "
                                    "EQ17_DRIFT_TOL"))


def _eq15_errors(claim):
    """max_ij |normalized - K^(2)|_ij and max_ij |normalized - K^(2)|_ij / (||x_i|| ||x_j||) per d and trial."""
    width, absolute, relative = claim.pick(EQ15_WIDTH), [], []
    for d in EQ15_DIMS:
        row_abs, row_rel = [], []
        for kbar, limit in _trials(claim, 2, width, dim=d, trials=EQ15_TRIALS):
            error = np.abs(kbar * _normalization(2, width, 1) - limit)
            norms = np.sqrt(np.diag(limit) / 2)  # K^(2)_ii = 2 ||x_i||^2
            row_abs.append(error.max()), row_rel.append((error / np.outer(norms, norms)).max())
        absolute.append(row_abs), relative.append(row_rel)
    return width, np.array(absolute), np.array(relative)


@pytest.mark.erratum("(15) prints an absolute bound (L+1) eps at width Omega(eps^-4 poly L), a constant free of d "
                     "(Section 2: constants do not depend on d); the error grows with the data scale: max_ij "
                     "|normalized - K|_ij ~ d^0.95 (L = 2, N = 16, n = 128, d = 4..1024: 0.954 +- 0.022 over tuning "
                     "seeds 1000-1019, every one FAIL; 2.2 -> 428 over d = 8..2048 at n = 1024). The cited result (Arora et al. 2019b) assumes ||x|| = 1 "
                     "and holds w.p. 1 - delta: corrected, the error is (L+1) eps ||x_i|| ||x_j||")
def test_eq15_absolute_error_as_printed(claim):
    """(15) as printed: at fixed width the entrywise error does not depend on the data (scale d)."""
    width, absolute, _ = _eq15_errors(claim)
    claim.record(checks.scaling(EQ15_DIMS, absolute, expected=0.0, tol=EQ15_TOL,
                                name=f"(15) as printed, L=2, n={width}: max_ij |normalized - K|_ij vs d",
                                reason="a d-free constant, see EQ15_TOL"))


def test_eq15_error_in_units_of_the_norms(claim):
    """(15) corrected: max_ij |normalized - K|_ij / (||x_i|| ||x_j||) does not depend on d at fixed width."""
    width, _, relative = _eq15_errors(claim)
    claim.record(checks.scaling(EQ15_DIMS, relative, expected=0.0, tol=EQ15_TOL,
                                name=f"(15) corrected, L=2, n={width}: max_ij |normalized - K|_ij / (||x_i|| ||x_j||) "
                                     "vs d",
                                reason="the CLT error of entry (i, j) is ||x_i|| ||x_j|| n^-1/2 times a d-free "
                                       "factor, see EQ15_TOL"))


def test_frobenius_step_at_the_width_of_17(claim):
    """The derivation of (16)-(17) at n = N^4, d = 16 N: ||normalized - K||_F <= lambda_min(K)/2 w.p. >= 0.9 (L = 2;
    L = 3 at full), and (17) at L = 3 at that width: lambda_min(Kbar) / (d n^2) in EQ17_BAND."""
    successes, trials, worst = 0, 0, 0.0
    for n_points in claim.pick(N4_NS):
        width, dim = n_points ** 4, 16 * n_points
        for t in range(claim.pick(N4_TRIALS)):
            X = nc.sample_data("gaussian", n=n_points, d=dim, seed=claim.seed_for("n4 data", n_points, t))
            net = nc.ReLUNet((dim, width, 1), init="standard", seed=claim.seed_for("n4 weights", n_points, t))
            limit = nc.limiting_ntk(X, depth=2)
            ratio = np.linalg.norm(nc.empirical_ntk(net, X) * 2.0 / width - limit) / nc.lambda_min(limit)
            successes, trials, worst = successes + int(ratio <= 0.5), trials + 1, max(worst, ratio)
    claim.record(checks.probability(successes, trials, p=N4_P, tol=N4_P_TOL,
                                    name=f"L=2, n = N^4, d = 16N, N in {claim.pick(N4_NS)}: ||normalized - K||_F <= "
                                         f"lambda_min(K)/2 (largest ratio {worst:.2f})",
                                    reason="w.p. >= 0.9 read for the cited w.p. 1 - delta; tol 0.1: 24 trials decide"))
    depth3 = claim.pick(N4_DEPTH3_TRIALS)
    if depth3:
        n_points = 6
        width, dim = n_points ** 4, 16 * n_points
        held, ratios = 0, []
        for t in range(depth3):
            X = nc.sample_data("gaussian", n=n_points, d=dim, seed=claim.seed_for("n4 L3 data", t))
            net = nc.ReLUNet((dim, width, width, 1), init="standard", seed=claim.seed_for("n4 L3 weights", t))
            kbar, limit = nc.empirical_ntk(net, X), nc.limiting_ntk(X, depth=3)
            held += int(np.linalg.norm(kbar * (2.0 / width) ** 2 - limit) <= nc.lambda_min(limit) / 2)
            ratios.append(nc.lambda_min(kbar) / (dim * width ** 2))
        claim.record(checks.band({"n": [width]}, np.array(ratios)[None, :], band=EQ17_BAND, drift_tol=0.0,
                                 name=f"(17), L=3 at n = N^4 = {width}, N = {n_points}, d = {dim}: lambda_min(Kbar) / "
                                      f"(d n^2) (hypothesis ||.||_F <= lambda_min/2 held in {held}/{depth3})",
                                 reason="the band of EQ17_BAND; one width (n = N^4), so no drift is fitted here: "
                                        "(17)'s drift in n at L = 3 is fitted by test_eq17_lambda_min_theta_d_times_"
                                        "widths (full)"))
