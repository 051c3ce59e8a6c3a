"""Figure 2 (left): L = 3, (W_l)_ij ~ N(0, 1), fixed (N, n1, n2); lambda_min((4/(n1 n2)) Kbar^(3)) against d shows
"a linear dependence on d", "as predicted by our Theorem 3.2" (50 Monte Carlo trials per point in the paper).

The paper does not print its three (N, n1, n2); the curves here use Gaussian data (zero mean, Assumptions 2.1-2.2)
and hidden widths n1, n2 >= 16 N, so that 4/(n1 n2) Kbar^(3) is close to K^(3) (eq. (4)). Three checks per curve:

* linear in d: the log-log exponent of lambda_min against d is 1, on the window d/N in [16, 128]. Theta(d) is a
  large-d statement at fixed N: the exponent only approaches 1 as d/N grows, like 1 + O(sqrt(N/d)) (the smallest
  eigenvalue of a Gram matrix of N points in R^d is d (1 - sqrt(N/d))^2-like, Bai-Yin). Measured on the reference
  curve lambda_min(K^(3)) with N = 16 (test_reference_curve_exponent_approaches_one): 1.48 at d/N in [1, 4], 1.17
  at [4, 16], 1.09 at [16, 64], 1.04 at [64, 256], 1.02 at [256, 1024]. On linear axes, as in the paper, the
  curve looks straight; the exponent of the reference curve over the whole range d/N in [1, 64] is about 1.25.
* close to the limit: lambda_min((4/(n1 n2)) Kbar^(3)) / lambda_min(K^(3)) (same data) lies in the band [1/2, 3/2]
  of (16) and does not drift with d.
* the approach of the reference curve's exponent to 1 (above), as an inequality (decreasing exponents) and a
  scaling check on the widest window.

Negative control (every curve): the same band on the matrix normalized by 8/(n1 n2) = prod_{l=1}^{L} 2/n_l (the
normalization printed in (16), erratum 1) must FAIL: its ratios sit near 2.

Tolerances: derived from the measured approach of the exponent (SLOPE_TOL, REFERENCE_TOL: the 1 + O(sqrt(N/d))
law, whose size the Theorem 3.2 module derives) or printed ((16)'s band); RATIO_DRIFT_TOL from the finite-width
deficit measured at seed 0 and confirmed on tuning seeds 1000-1019 (smoke). The paper profile: 50 trials per point
as in the paper (TRIALS), the reference curve with 100: the intervals shrink by sqrt(50/20) = 1.6 (curves) and
sqrt(100/40) = 1.6, and the curves get a fifth point d/N = 256 in the exponent window (as smoke has), which narrows
the slope interval by another ~1.3.
"""
import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Figure 2 (left)")

DEPTH = 3
CURVES = {  # (N, n1, n2), n1, n2 >= 16 N; the paper profile keeps the full sizes with 50 trials per point
    "smoke": ((8, 256, 256), (8, 512, 256), (12, 512, 512)),
    "full": ((16, 512, 512), (32, 1024, 512), (48, 1024, 1024)),
}
# The exponent window d/N >= 16 runs to 256 at smoke: with 128 as its end, the smoke curve (8, 256, 256) failed the
# slope check under 4 of 20 tuning seeds (1000-1019; estimates up to 1.10, intervals to 1.16): the finite-d/N excess
# plus the noise of 12 trials. The wider window lowers the excess and narrows the interval.
D_OVER_N = {"smoke": (1, 4, 16, 32, 64, 128, 256), "full": (1, 4, 16, 32, 64, 128),
            "paper": (1, 4, 16, 32, 64, 128, 256)}
LINEAR_WINDOW = 16  # the exponent is fitted on d/N >= 16, where the reference curve's exponent is <= 1.09
TRIALS = {"smoke": 12, "full": 20, "paper": 50}
# 1 + O(sqrt(N/d)): the reference exponent is 1.09 at d/N in [16, 64], 1.04 at [64, 256]; 0.15 covers that
# finite-d/N excess and still tells 1 from 1.3 once the interval is +-0.07 (the full profile).
SLOPE_TOL = 0.15
RATIO_BAND = (0.5, 1.5)  # the band of (16)
# Measured drift of log(ratio) in log d: -0.02 to -0.05 (the finite-width deficit grows slightly with d/N);
# 0.1 leaves room for it and would catch a missed power of d in the normalization (drift 1).
RATIO_DRIFT_TOL = 0.1
REFERENCE_N = 16
REFERENCE_WINDOWS = (1, 4, 16, 64, 256, 1024)  # d/N; consecutive pairs are the windows
REFERENCE_TRIALS = {"smoke": 12, "full": 40, "paper": 100}
REFERENCE_TOL = 0.05  # the exponent on d/N in [256, 1024] is 1 + O(sqrt(1/256)): measured 1.02


@pytest.mark.parametrize("curve", range(3))
def test_lambda_min_linear_in_d_and_close_to_limit(claim, curve):
    """lambda_min((4/(n1 n2)) Kbar^(3)) against d, for the curve-th (N, n1, n2)."""
    n, n1, n2 = claim.pick(CURVES)[curve]
    d_over_n = np.array(claim.pick(D_OVER_N))
    dims = d_over_n * n
    empirical, ratios = [], []
    for d in dims:
        row, row_ratio = [], []
        for t in range(claim.pick(TRIALS)):
            X = nc.sample_data("gaussian", n=n, d=int(d), seed=claim.seed_for("data", int(d), t))
            net = nc.ReLUNet((int(d), n1, n2, 1), init="standard", seed=claim.seed_for("weights", int(d), t))
            row.append(nc.lambda_min(4.0 / (n1 * n2) * nc.empirical_ntk(net, X)))
            row_ratio.append(row[-1] / nc.lambda_min(nc.limiting_ntk(X, depth=DEPTH)))
        empirical.append(row), ratios.append(row_ratio)
    window = d_over_n >= LINEAR_WINDOW
    claim.record(checks.scaling(dims[window], np.array(empirical)[window], expected=1.0, tol=SLOPE_TOL,
                                name=f"Fig. 2 left, (N, n1, n2) = ({n}, {n1}, {n2}): lambda_min(4/(n1 n2) Kbar) ~ d "
                                     f"at d/N >= {LINEAR_WINDOW}",
                                reason="finite-d/N excess of the exponent (<= 0.09 measured), see SLOPE_TOL"))
    claim.record(checks.band({"d": dims}, ratios, band=RATIO_BAND, drift_tol=RATIO_DRIFT_TOL,
                             name=f"Fig. 2 left, ({n}, {n1}, {n2}): lambda_min(4/(n1 n2) Kbar) / lambda_min(K^(3))",
                             reason="band of (16); drift: finite-width deficit, see RATIO_DRIFT_TOL"))
    control = checks.band({"d": dims}, 2.0 * np.array(ratios), band=RATIO_BAND, drift_tol=RATIO_DRIFT_TOL,
                          name="control: normalized by 8/(n1 n2) (prod to L, as printed in (16))", reason="control")
    assert control.verdict is Verdict.FAIL, (
        f"negative control: the normalization 8/(n1 n2) doubles every ratio and must fail: {control.message}")


def test_reference_curve_exponent_approaches_one(claim):
    """The exponent of lambda_min(K^(3)) in d decreases towards 1 as d/N grows (Theorem 3.2 is a large-d statement)."""
    dims = np.array(REFERENCE_WINDOWS) * REFERENCE_N
    values = np.array([[nc.lambda_min(nc.limiting_ntk(
        nc.sample_data("gaussian", n=REFERENCE_N, d=int(d), seed=claim.seed_for("data", int(d), t)), depth=DEPTH))
        for t in range(claim.pick(REFERENCE_TRIALS))] for d in dims])
    fits = [checks.scaling(dims[k:k + 2], values[k:k + 2], expected=1.0, tol=REFERENCE_TOL, name=f"window {k}",
                           reason="the window exponents") for k in range(len(dims) - 1)]
    slopes = np.array([fit.numbers["slope"] for fit in fits])
    windows = ", ".join(f"[{a}, {b}]" for a, b in zip(REFERENCE_WINDOWS, REFERENCE_WINDOWS[1:]))
    claim.record(checks.inequality(slopes[:-1], slopes[1:],
                                   name=f"exponent of lambda_min(K^(3)) in d decreases over d/N windows {windows}",
                                   reason="strict decrease of the point estimates (gaps >= 0.02, 3+ standard errors)"))
    claim.record(checks.scaling(dims[-2:], values[-2:], expected=1.0, tol=REFERENCE_TOL,
                                name=f"exponent of lambda_min(K^(3)) in d at d/N in [{REFERENCE_WINDOWS[-2]}, "
                                     f"{REFERENCE_WINDOWS[-1]}], N = {REFERENCE_N}",
                                reason="1 + O(sqrt(N/d)): 0.03 at d/N = 256, see REFERENCE_TOL"))
