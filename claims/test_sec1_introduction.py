"""Section 1 (introduction): the summary statements with their conditions, and footnote 1.

* (6) without the zero-mean premise (inventory rows 1.11, 1.12, 3.15): the introduction prints
  "L O(d) >= lambda_min(K^(L)) >= Omega(d)" for i.i.d. data with Lipschitz concentration, without Theorem 3.2's
  zero-mean premise. Checked on Gaussian data plus a common mean m, ||m||^2 in {d, 4d}: lambda_min(K^(3)) / d in a
  band without drift in d at d >= 64 N, and, in both regimes (d >= 64 N; N = d^1.25), lambda_min of the shifted
  data at least half that of the same noise without the mean (the zero-mean case is the theorem's).
* Footnote 1, "only the scaling of the data matters for our bounds" (rows 1.13, 1.14): the homogeneity
  K^(L)(cX) = c^2 K^(L)(X) and Kbar(cX) = c^2 Kbar(X) (identity; negative control: c^1 is rejected); and the
  finding that the dimension matters too: at the same scale E||x||^2 = 4096, lambda_min(K^(3)) / 4096 is 0.03 at
  d = 4, N = 256 (Theorem 3.2's probability needs d >> N^(2/(r-0.5))) but 1.9 at d = 4096.
* "Let k = argmin_{l in [L-1]} beta_l. Then, as long as xi_{k-1} = 1, both the sums will scale as beta_k^-2"
  (rows 1.20-1.22): the index set [L-1] leaves out l = L, whose beta_L^-2 is in both sums. Instance (He init,
  widths (8N, 16, N^2/4, 1)): k = 1, xi_0 = 1 (d = 8N), yet sum_{l=1}^L beta_l^-2 / beta_1^-2 = 1 + 2/N + N/32 grows
  with N (erratum, strict xfail); with the argmin over [L] (as in (23)) k = 3 and xi_2 = 0, so nothing is claimed
  (identity), and on a net where the argmin over [L-1] is the argmin over [L] the ratio is the constant
  1 + 1/8 + 1/16 (identity).
  The suite's Theorem 4.1 net "L=3 wide last hidden" (N, N/2, 8N, 1) has argmin over [L-1] at l = 1 with
  xi_0 = 0 (d = N): the printed condition is not met there although the bound is tight (finding).

Tolerances: derived or printed (each constant says which); the measured numbers quoted come from tuning seeds
1000-1019 (and seed 0), never from the calibration seeds 2000+. Everything here is milliseconds, so the paper
profile is the full one (no interval to tighten: the argmin and homogeneity checks are exact, and the mean-shift
band's trials are already 2x those of smoke at full).
"""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Sec. 1 (introduction)")

# (6) without zero mean. Upper edge: lambda_min <= min_i K_ii = L min_i ||x_i||^2 ~ L (d + ||m||^2); lower edge
# 1: the zero-mean constant c_inf(3) = 2.31 less the finite-size term at d >= 64 N (>= 2.0 measured), and a mean
# only raises lambda_min (measured 2.8-3.1 at ||m||^2 = d, 4.1-4.5 at 4d, tuning seeds 1000-1003).
MEAN_SQUARED_NORMS = (1, 4)  # ||m||^2 / d
MEAN_DEPTH = 3
MEAN_N = 16
MEAN_DIMS = (1024, 4096, 16384)  # d >= 64 N, two decades of d/N: the drift interval is +-0.05 at 3 trials
MEAN_WIDE_DIMS = (16, 32, 64)  # N = d^1.25 > d
MEAN_TRIALS = {"smoke": 3, "full": 6}
MEAN_DRIFT_TOL = 0.15
# The mean does not lower lambda_min by more than a factor 2 against the same noise without it. Chosen on tuning
# seeds 1000-1019: the plain comparison (factor 1) failed under 3 of 20 (smallest ratio 0.85, at N = d^1.25); most
# draws have ratio > 1 (1.1-1.5 at d >= 64N).
MEAN_FACTOR = 0.5  # the O(sqrt(N/d)) approach: measured drift +0.055 [0.03, 0.08] (||m||^2 = d)
# Footnote 1: homogeneity, exact up to rounding (ReLU is positively homogeneous).
SCALES = (1 / 3, 3.0, 10.0)
HOMOGENEITY_RTOL = 1e-12  # the same products with one factor c: rounding of a few ulps (measured 3.5e-16)
# The dimension at fixed scale (finding, row 1.14).
SCALE = 4096
SMALL_DIM, SCALE_N, SCALE_DRAWS = 4, 256, 3
DIMENSION_FACTOR = 0.1  # measured ratio 0.032 / 1.9 = 0.017: a factor 6 inside
# The argmin remark (rows 1.20-1.22), He init: beta_l = sqrt(2 / n_{l-1}).
ARGMIN_NS = (64, 128, 256, 512, 1024)  # N > 32: beta_3 < beta_1 strictly (a tie at N = 32)
ARGMIN_BAND = (1.0, 10.0)  # R >= 1 (the k-th term is in the sum); an upper edge of L^2 covers any Theta(1) ratio
ARGMIN_DRIFT_TOL = 0.15  # the suite's drift tolerance; the instance's R = 1 + 2/N + N/32 drifts by ~0.75


def _he_betas(widths):
    return [math.sqrt(2.0 / n) for n in widths[:-1]]


def _sum_ratio(widths, k):
    """sum_{l=1}^{L} beta_l^-2 / beta_k^-2 under He init (the ratio of the upper sum of (7) to its k-th term)."""
    betas = _he_betas(widths)
    return sum(b ** -2 for b in betas) / betas[k - 1] ** -2


def _argmin(widths, last):
    """argmin_{l in [last]} beta_l (1-based) under He init."""
    betas = _he_betas(widths)[:last]
    return int(np.argmin(betas)) + 1


def _instance(n):
    return (8 * n, 16, n * n // 4, 1)


def _mean_shift_values(claim, mean_norm2, grid, label):
    """lambda_min(K^(3)) / d of Z + m and of Z (same noise), per grid point (N, d) and trial."""
    shifted, plain = [], []
    for n, d in grid:
        row, row_plain = [], []
        for t in range(claim.pick(MEAN_TRIALS)):
            Z = nc.sample_data("gaussian", n, d, seed=claim.seed_for(label, mean_norm2, n, d, t))
            mean = np.full(d, math.sqrt(mean_norm2))  # ||m||^2 = mean_norm2 * d
            row.append(nc.lambda_min(nc.limiting_ntk(Z + mean, MEAN_DEPTH)) / d)
            row_plain.append(nc.lambda_min(nc.limiting_ntk(Z, MEAN_DEPTH)) / d)
        shifted.append(row), plain.append(row_plain)
    return np.array(shifted), np.array(plain)


@pytest.mark.parametrize("mean_norm2", MEAN_SQUARED_NORMS)
def test_eq6_without_the_zero_mean_premise(claim, mean_norm2):
    """(6) as printed (no zero-mean premise): lambda_min(K^(3)) = Theta(d) for Gaussian data plus a common mean m,
    ||m||^2 = mean_norm2 * d, and at least the zero-mean value of the same noise (also at N = d^1.25)."""
    far = [(MEAN_N, d) for d in MEAN_DIMS]
    wide = [(int(round(d ** 1.25)), d) for d in MEAN_WIDE_DIMS]
    shifted, plain = _mean_shift_values(claim, mean_norm2, far, "far")
    claim.record(checks.band({"d": MEAN_DIMS}, shifted, band=(1.0, MEAN_DEPTH * (1 + mean_norm2)),
                             drift_tol=MEAN_DRIFT_TOL,
                             name=f"(6) with ||E x||^2 = {mean_norm2} d: lambda_min(K^(3)) / d, N = {MEAN_N}, "
                                  f"d >= 64 N",
                             reason="edges: the zero-mean constant and L (d + ||m||^2); drift: MEAN_DRIFT_TOL"))
    wide_shifted, wide_plain = _mean_shift_values(claim, mean_norm2, wide, "wide")
    claim.record(checks.inequality(np.concatenate([shifted.ravel(), wide_shifted.ravel()]),
                                   MEAN_FACTOR * np.concatenate([plain.ravel(), wide_plain.ravel()]),
                                   name=f"lambda_min(K^(3)(Z + m)) >= {MEAN_FACTOR} lambda_min(K^(3)(Z)), ||m||^2 = "
                                        f"{mean_norm2} d, d >= 64 N and N = d^1.25",
                                   reason="the zero-mean case is Omega(d) (Thm 3.2); MEAN_FACTOR chosen on tuning "
                                          "seeds 1000-1019"))


def test_footnote1_homogeneity(claim):
    """Footnote 1 (scaling): K^(L)(cX) = c^2 K^(L)(X) and Kbar^(L)(cX) = c^2 Kbar^(L)(X), c in {1/3, 3, 10}, L = 2..4;
    negative control: the same check rejects c^1."""
    computed, reference, linear = [], [], []
    X = nc.sample_data("gaussian", 12, 6, seed=claim.seed_for("data"))
    for depth in (2, 3, 4):
        net = nc.ReLUNet((6,) + (20,) * (depth - 1) + (1,), init="he", seed=claim.seed_for("net", depth))
        kernel, kbar = nc.limiting_ntk(X, depth), nc.empirical_ntk(net, X)
        for c in SCALES:
            computed += [nc.limiting_ntk(c * X, depth), nc.empirical_ntk(net, c * X)]
            reference += [c * c * kernel, c * c * kbar]
            linear += [c * kernel, c * kbar]
    claim.record(checks.identity(np.array(computed), np.array(reference), rtol=HOMOGENEITY_RTOL,
                                 name="footnote 1: K^(L)(cX) = c^2 K^(L)(X), Kbar(cX) = c^2 Kbar(X), c = 1/3, 3, 10",
                                 reason="positive homogeneity of ReLU; rounding only, see HOMOGENEITY_RTOL"))
    control = checks.identity(np.array(computed), np.array(linear), rtol=HOMOGENEITY_RTOL, name="control",
                              reason="control")
    assert control.verdict is Verdict.FAIL, f"negative control: c^1 in place of c^2 must fail: {control.message}"


def test_footnote1_the_dimension_matters_too(claim):
    """Finding (row 1.14): at the same scale E||x||^2 = 4096, lambda_min(K^(3)) / 4096 at d = 4, N = 256 is below
    DIMENSION_FACTOR times its value at d = 4096 (medians of SCALE_DRAWS draws, sphere of radius 64)."""
    medians = {}
    for d in (SMALL_DIM, SCALE):
        draws = [nc.lambda_min(nc.limiting_ntk(
            nc.sample_data("sphere", SCALE_N, d, seed=claim.seed_for("scale", d, t)) * math.sqrt(SCALE / d), 3))
            / SCALE for t in range(SCALE_DRAWS)]
        medians[d] = float(np.median(draws))
    claim.record(checks.inequality(DIMENSION_FACTOR * medians[SCALE], medians[SMALL_DIM],
                                   name=f"same scale 4096, N = {SCALE_N}: lambda_min(K^(3))/4096 at d = {SMALL_DIM} "
                                        f"({medians[SMALL_DIM]:.3g}) < {DIMENSION_FACTOR} x at d = 4096 "
                                        f"({medians[SCALE]:.3g})",
                                   reason="a finding: measured factor 0.017, see DIMENSION_FACTOR"))


@pytest.mark.erratum("introduction: 'Let k = argmin_{l in [L-1]} beta_l. Then, as long as xi_{k-1} = 1, both the sums "
                     "will scale as beta_k^-2': He init on (8N, 16, N^2/4, 1) has k = 1 and xi_0 = 1 (d = 8N), yet "
                     "sum_l beta_l^-2 / beta_1^-2 = 1 + 2/N + N/32 = 3.03, 5.02, 9.01 at N = 64, 128, 256 (drift "
                     "in N 0.87 over N = 64..1024): the index set must be [L], as in (23)")
def test_intro_argmin_over_L_minus_1_as_printed(claim):
    """The introduction's remark as printed, on the instance: R = sum_l beta_l^-2 / beta_k^-2 = Theta(1) in N."""
    assert all(_argmin(_instance(n), 2) == 1 for n in ARGMIN_NS)  # k = 1, and xi_0 = 1 since d = 8N
    ratios = [_sum_ratio(_instance(n), 1) for n in ARGMIN_NS]
    claim.record(checks.band({"N": ARGMIN_NS}, ratios, band=ARGMIN_BAND, drift_tol=ARGMIN_DRIFT_TOL,
                             name="intro, k = argmin over [L-1]: sum_l beta_l^-2 / beta_k^-2, He, (8N, 16, N^2/4, 1)",
                             reason="'both sums scale as beta_k^-2': Theta(1) in N, drift as ARGMIN_DRIFT_TOL"))


def test_intro_argmin_over_L(claim):
    """Corrected reading (argmin over [L], as (23)): on the instance k = 3 and xi_2 = 0 (n_2 = 16), so nothing is
    claimed; where the two argmins agree (He, (N, 8N, N/2, 1): k = 2, xi_1 = 1) the ratio is 1 + 1/8 + 1/16;
    the suite's "L=3 wide last hidden" (N, N/2, 8N, 1) has argmin over [L-1] at l = 1 with xi_0 = 0 (d = N)."""
    argmins = [_argmin(_instance(n), 3) for n in ARGMIN_NS]
    agreeing = [(n, 8 * n, n // 2, 1) for n in ARGMIN_NS]
    wide_last = [(n, n // 2, 8 * n, 1) for n in ARGMIN_NS]
    computed = argmins + [_argmin(w, 2) for w in agreeing] + [_argmin(w, 3) for w in agreeing]
    computed += [_argmin(w, 2) for w in wide_last]  # and xi_0 = 0 there: d = N, not Omega~(N) wider than N
    reference = [3] * len(ARGMIN_NS) + [2] * 2 * len(ARGMIN_NS) + [1] * len(ARGMIN_NS)
    claim.record(checks.identity(np.array(computed, float), np.array(reference, float), rtol=0.0,
                                 name="argmin_l beta_l (He): instance over [L] = 3 (xi_2 = 0); (N, 8N, N/2, 1) over "
                                      "[L-1] = over [L] = 2; (N, N/2, 8N, 1) over [L-1] = 1 (xi_0 = 0: d = N)",
                                 reason="integers: exact"))
    claim.record(checks.identity(np.array([_sum_ratio(w, 2) for w in agreeing]), np.full(len(agreeing), 1.1875),
                                 rtol=1e-12,
                                 name="sum_l beta_l^-2 / beta_k^-2 where the argmins agree, He, (N, 8N, N/2, 1): "
                                      "= 1 + 1/8 + 1/16 at every N",
                                 reason="beta_l^-2 = n_{l-1}/2: the ratio is exact; rounding only"))
