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
* (17) as a band of lambda_min(Kbar^(L)) / (d prod n_l) with no drift in n, at L = 2 and d = 16N (its
  d-dependence is that of Theorem 3.2, checked with the Figure 2 (left) curves); why not L >= 3: see EQ17_DEPTH.
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
TRIALS = {"smoke": 64, "full": 40, "paper": 60}
# The max entry of (15) scatters more (0.4 per trial): deciding its exponent within EXPONENT_TOL needs the full budget
ENTRYWISE = {"smoke": False, "full": True}
ERROR_EXPONENT = -0.5  # CLT over the n neurons of each layer (module docstring)
# Separates -1/2 from -1/4 (the rate (15) implies) and from 0 (no convergence); the O(1/n) bias bends the log-log
# curve by far less at n >= 64 (measured local exponents -0.43 to -0.58 over octaves).
EXPONENT_TOL = 0.1
EQ16_BAND = (0.5, 1.5)  # printed in (16)
EQ16_TRIALS = {"smoke": 8, "full": 24, "paper": 50}
EQ16_WIDTH = {"smoke": 512, "full": 1024, "paper": 2048}  # the widest affordable width: (16) is a large-width statement
# (17) at L = 2 only: for L >= 3, lambda_min of the normalized matrix still rises towards lambda_min(K^(L)) at the
# affordable widths (measured drift in n of lambda_min(Kbar)/(d n^(L-1)): L = 3 +0.06 [0.02, 0.11], L = 4 +0.11
# [0.01, 0.22], n in [256, 2048]), far below the width Omega(N^4) that (17) asks for.
EQ17_DEPTH = 2
EQ17_DIM = 256  # d = 16N; the d-dependence of (17) is that of Theorem 3.2 (see the Figure 2 (left) module)
EQ17_WIDTHS = {"smoke": (512, 2048), "full": (512, 1024, 2048, 4096)}
EQ17_TRIALS = {"smoke": 16, "full": 24, "paper": 50}
EQ17_BAND = (0.1, 10.0)  # Theta hides its constants: the band only catches a stray factor of n (>= 4 here)
# A stray factor n^(+-1/2) would drift by 0.5; the measured approach to the limit is +0.02 at L = 2
EQ17_DRIFT_TOL = 0.1


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
    """(4), (15): relative Frobenius and max entrywise errors of the normalized Kbar decay like n^-1/2."""
    for depth in claim.pick(DEPTHS):
        _check_convergence_rate(claim, depth)


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
                     "since n_L = 1: measured lambda_min ratio to lambda_min(K^(L)) in [1.82, 2.12] (L = 2) and "
                     "[1.70, 2.13] (L = 3), N = 16, n = 1024, 24 trials (full profile), outside [1/2, 3/2]; with "
                     "prod_{l=1}^{L-1} it is in [0.88, 1.25] for L = 2, 3, 4")
@pytest.mark.parametrize("depth", (2, 3))
def test_eq16_as_printed(claim, depth):
    """(16) as printed, with prod_{l=1}^{L} 2/n_l."""
    width, ratios, *_ = _eq16_ratios(claim, depth, depth)
    claim.record(checks.band({"n": [width]}, ratios[None, :], band=EQ16_BAND, drift_tol=0.0,
                             name=f"(16) as printed (prod_(l<=L) 2/n_l), L={depth}, n={width}: lambda_min ratio "
                                  "in [1/2, 3/2]",
                             reason="the band printed in (16); one width, so no drift is fitted"))


def test_eq17_lambda_min_theta_d_times_widths(claim, depth=EQ17_DEPTH):
    """(17): lambda_min(Kbar^(L)) / (d prod_{l=1}^{L-1} n_l) stays in a band and does not drift in n."""
    widths = claim.pick(EQ17_WIDTHS)
    ratios = [[nc.lambda_min(kbar) / (EQ17_DIM * n ** (depth - 1))
               for kbar, _ in _trials(claim, depth, n, dim=EQ17_DIM, trials=EQ17_TRIALS)] for n in widths]
    claim.record(checks.band({"n": widths}, ratios, band=EQ17_BAND, drift_tol=EQ17_DRIFT_TOL,
                             name=f"(17), L={depth}, d={EQ17_DIM}, N={N_SAMPLES}: lambda_min(Kbar) / (d n^(L-1))",
                             reason="approach to the limit below the Omega(N^4) width of (17), see EQ17_DRIFT_TOL"))
