"""Lemma 5.5 (Khatri-Rao powers of centered features): if prod_{l=1}^{k-1} log(n_l) = o(min_{l in [0,k]} n_l), then
lambda_min((F~_k^{*r})(F~_k^{*r})^T) = Theta((d prod_{l=1}^k n_l beta_l^2)^r) (32), w.p. (33), which is non-trivial once
min_{l in [0,k]} n_l >> N^{2/(r-0.1)}.

What is checked. The ratio lambda_min((F~ F~^T)^{o r}) / S_k^r (S_k = d prod n_l beta_l^2; the Gram matrix of the
Khatri-Rao power is (F~ F~^T)^{o r}, checked once against the explicit power F~^{*r}) is the product of three factors,
each checked at its limit, so that (32) follows with the constant c_k^r (c_k = lim E||f~_k||^2 / S_k):
  * off-diagonal factor lambda_min((F~ F~^T)^{o r}) / min_i ||f~_i||^{2r} in (0, 1]: its limit is 1 (the off-diagonal
    entries, relative size n^{-r/2}, vanish against the diagonal once min n_l >> N^{2/r}); band [OFFDIAG_LO, 1] with
    OFFDIAG_LO = 1 - 3 x the largest deficit measured at the smallest N of the grid, and no drift in N;
  * mean norm mean_i ||f~_i||^2 at its derived value: E_X ||f~_1(x)||^2 = (1/2 - 1/(2 pi)) ||W_1||_F^2 for Gaussian
    data (Var sigma(g) = s^2 (1/2 - 1/(2 pi)) for g ~ N(0, s^2), s = ||w_j||; so c_1 = 1/2 - 1/(2 pi) = 0.341), and
    E ||x - E x||^2 = d at k = 0; at k = 2 (no closed form) a band below E||f_2||^2 / S_2 = 1/4 (He), with drift;
    negative control: the uncentred value (E||f_1||^2 = ||W_1||_F^2 / 2, E||x||^2 = d + ||m||^2) must FAIL;
  * concentration: the relative spread sd_i(||f~_i||^2) / mean_i shrinks like n_k^{-1/2} = Theta(N^{-1/2}) (a sum over
    n_k weakly dependent units: the cross-covariances are O(1/d) each, n_k^2 / d = O(N) in all, the order of the
    diagonal), so min_i ||f~_i||^2 / mean = 1 - O(sqrt(log N / N)) -> 1: scaling check, exponent -1/2 +- 0.15.
    (min_i ||f~_i||^2 / S_k itself drifts upward over affordable N, slope 0.12-0.17 at N = 96..384, because its
    approach 1 - O(sqrt(log N / N)) is slow; the old band on it could not resolve drift_tol 0.15, Issue 14.)
Indices: k = 0 (X~ = X - E x with a non-zero mean m = 1, ||m||^2 = d: Lemma 5.5 at index 0 is what Theorem 5.1 at
k = 1 uses, inventory rows 5.13, 5.19), k = 1 (He; E_X[F_1] exact) and, at full, k = 2 (He; E_X[F_2] from
MEAN_SAMPLES fresh points, error ~ sqrt(n_k / (N samples)) relative, a few percent at most). r = 2, 3, 4 on the main
grid, and r = 1 in its own regime (33), min n_l >> N^2.22: d = n_1 = R1_WIDTH_FACTOR N^2.22, N = 8, 12, 16, where the
ratio lambda_min(F~ F~^T) / (c_1 ||W_1||_F^2) approaches 1 like (1 - sqrt(N / n_1))^2 (two inequalities there).
Regime: Gaussian data; d = n_l = 2N for every layer up to k (so min n_l = 2N >= N^{2/(r-0.1)} for r >= 2, and the
log condition holds).
Outside (33), r = 2: with d = N / 4 << N^1.05 (n_1 = 2N) the factors are measured (the condition on d is sufficient,
not needed for a non-trivial bound here: a finding, though the factor is lower, 0.80-0.88 against 0.96-0.99 on the
main grid); with d = n_1 = 12, N = 128 (rank <= 78 < N) the off-diagonal factor is 0 and the band
check FAILs (negative control).
"""
import math

import numpy as np
import pytest
from ._sec5_features import feature_mean, feature_scale

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Lemma 5.5")

RS = (2, 3, 4)
GRIDS = {  # k -> N grid per profile
    0: {"smoke": (96, 192, 384), "full": (96, 192, 384, 768), "paper": (96, 192, 384, 768, 1536)},
    1: {"smoke": (96, 192, 384), "full": (96, 192, 384, 768), "paper": (96, 192, 384, 768, 1536)},
    2: {"smoke": (), "full": (64, 128, 256), "paper": (64, 128, 256, 512)},  # the sampled mean of f_2 costs samples * n^2
}
TRIALS = {"smoke": 3, "full": 5, "paper": 20}
# k = 2 (full only): its r = 2 factor rises from ~0.89 at N = 64 to ~0.98 at N = 256 (drift ~0.07, shrinking with N),
# and the log-ratio sd at N = 64 is ~0.06: with 5 nets per N the drift interval reached 0.159 (base seed 0, full),
# with 10 its half-width is ~0.065.
TRIALS_K2 = {"smoke": 0, "full": 10, "paper": 20}
WIDTH_OVER_N = 2  # d = n_1 = ... = n_k = 2N
DATA_MEAN = 1.0  # k = 0: the mean vector 1 (||m||^2 = d, of the order of the noise): X~ = X - 1
MEAN_SAMPLES = 10_000
C_1 = 0.5 - 1 / (2 * math.pi)  # E_X ||f~_1||^2 / ||W_1||_F^2 for Gaussian data (module docstring)
# Off-diagonal factor: lower edge 1 - 3 x the largest deficit 1 - factor measured on tuning seeds 1000-1009 (k = 0, 1,
# 4 nets per N) and 1000-1005 (k = 2, 3 nets per N), always at the smallest N: k = 0: 0.048, 0.0030, 1.9e-4;
# k = 1: 0.068, 0.0082, 5.0e-4; k = 2: 0.18, 0.041, 0.0065 for r = 2, 3, 4. The deficit shrinks with N (like
# N^-0.7, -1.6, -2.5), so the smallest N decides; a factor of 3 leaves room for the tail of the largest deficit
# (0.03-0.068 across seeds for k = 1, r = 2).
OFFDIAG_LO = {0: {2: 0.85, 3: 0.99, 4: 0.999}, 1: {2: 0.8, 3: 0.975, 4: 0.9985}, 2: {2: 0.45, 3: 0.88, 4: 0.98}}
# k = 2 has a heavy lower tail at N = 64 that the 6 seeds above missed. Re-measured on tuning seeds 1000-1099 (full
# profile, 10 nets per N, 1000 nets at N = 64 per r): smallest factor 0.708, 0.857, 0.956 for r = 2, 3, 4 against
# medians 0.847, 0.980, 0.998; below the edges 0/1000, 1/1000 and 5/1000 nets (1 and 5 of the 100 seeds failed
# the every-draw rule). Lemma 5.5 is a "with probability (33)" statement, so at k = 2 the band is checked as one:
# coverage 0.99 (FAIL when the data reject P(factor in band) >= 0.99; at 30 draws that takes >= 3 outside, a
# false-fail chance ~5e-4 per seed at the measured rate 0.5%), the edges unchanged.
OFFDIAG_COVERAGE = {0: 1.0, 1: 1.0, 2: 0.99}
# Theta: no drift in N, |slope| <= 0.15 (Issue 14: half of a missing sqrt(N)).
DRIFT_TOL = 0.15
# Mean norm at its value: the sample mean of N i.i.d. rows has relative sd spread / sqrt(N) <= 0.19 / sqrt(96) =
# 0.02 (k = 1; 0.15 / sqrt(96) at k = 0), so 1 +- 0.1 is >= 5 sd at every N (derived). Measured on tuning seeds
# 1000-1009: [0.968, 1.055] (k = 1), [0.976, 1.015] (k = 0).
MEAN_BAND = (0.9, 1.1)
# k = 2: E||f~_2||^2 / S_2 < E||f_2||^2 / S_2 = 1/4 (He; derived); the constant is not given: measured [0.107, 0.137]
# on tuning seeds 1000-1005, lower edge 0.05 (a factor ~2 below).
MEAN_BAND_K2 = (0.05, 0.25)
SPREAD_EXPONENT, SPREAD_TOL = -0.5, 0.15  # relative spread of the row norms ~ N^-1/2; measured -0.42..-0.54 (k = 1),
# -0.45..-0.56 (k = 0) with 4 nets per N, seeds 1000-1009
NORM_TRIALS = {"smoke": 12, "full": 16, "paper": 40}  # the norm factors are cheap; the spread interval needs them
KR_CHECK = (12, 6)  # (N, d) of the explicit Khatri-Rao power check, n_1 = 4d: 24^4 columns
NARROW_N = 128
OUTSIDE = (32, 256)  # (d, n_1): d = N / 4 << N^1.05, the wide layer kept at 2N
COLLAPSE = (12, 12)  # (d, n_1): 12 * 13 / 2 = 78 < N: (F~^{*2}) has rank < N
# r = 1 in its regime: d = n_1 = R1_WIDTH_FACTOR * N^{2/(1-0.1)}; the ratio to c_1 ||W_1||_F^2 tends to 1 like
# (1 - sqrt(N / n_1))^2 (0.64-0.87 at these sizes; measured 0.58-0.76 at smoke, base seed 0). R1_LO = 1/4: the
# first edge 1/2 was crossed at 1 of the 20 calibration seeds 2000-2019 (0.476 at N = 8); on tuning seeds 1000-1099
# (300 nets per N at the smoke sizes) the minimum is 0.429 at N = 8 (0.566, 0.650 at N = 12, 16), 1.7x above 1/4.
R1_NS = {"smoke": (8, 12, 16), "full": (8, 12, 16, 24), "paper": (8, 12, 16, 24, 32)}
R1_WIDTH_FACTOR = {"smoke": 2, "full": 4, "paper": 8}
R1_LO = 0.25
R1_TRIALS = {"smoke": 3, "full": 6, "paper": 20}
# Outside (33), d = N / 4: the off-diagonal factor is lower than on the main grid (measured 0.80-0.88 at base seed 0)
# but does not collapse; OUTSIDE_LO = 1/2 records that finding (a collapse, as at COLLAPSE, would be ~0).
OUTSIDE_LO = 0.5


def _centred(claim, k, n, trial, widths=None):
    """(F~_k, S_k, reference of E||f~_k||^2, uncentred reference) for the k-th index: k = 0 the data with mean 1,
    k >= 1 a He net on zero-mean Gaussian data with hidden widths ``widths[1:]`` (default 2N each)."""
    widths = widths or (WIDTH_OVER_N * n,) * (k + 1)
    if k == 0:
        d = widths[0]
        X = nc.sample_data("gaussian", n, d, seed=claim.seed_for("data", 0, n, trial), mean=DATA_MEAN)
        return X - DATA_MEAN, float(d), float(d), d * (1 + DATA_MEAN ** 2)
    X = nc.sample_data("gaussian", n, widths[0], seed=claim.seed_for("data", n, widths, trial))
    net = nc.ReLUNet((*widths, 1), init="he", seed=claim.seed_for("net", n, widths, trial))
    mean = feature_mean(net, k, distribution="gaussian", samples=MEAN_SAMPLES,
                        seed=claim.seed_for("mean", n, widths, trial))
    frob = float(np.sum(net.weights[0].cpu().numpy() ** 2))
    return net.features(X)[k] - mean, feature_scale(net, k), C_1 * frob, frob / 2


def test_khatri_rao_gram_equals_the_explicit_power(claim):
    """(F^{*r})(F^{*r})^T two ways: the explicit row-wise Khatri-Rao power and the entrywise power (F F^T)^{o r}."""
    n, d = KR_CHECK
    F, *_ = _centred(claim, 1, n, 0, widths=(d, 4 * d))
    for r in RS:
        power = nc.khatri_rao_power(F, r)
        claim.record(checks.identity(nc.khatri_rao_gram(F, r), power @ power.T, rtol=1e-11,
                                     atol=1e-13 * np.max(np.sum(F * F, axis=1)) ** r,
                                     name=f"r={r}: (F^(*r))(F^(*r))^T = (F F^T)^(o r)",
                                     reason="rounding of sums of n^r products"))


def _grid(claim, k):
    ns = claim.pick(GRIDS[k])
    if not ns:
        pytest.skip(f"k={k} runs in the full profile only (sampled E_X[F_k])")
    return ns


def _offdiagonal(F, r):
    return nc.lambda_min(nc.khatri_rao_gram(F, r)) / np.min(np.sum(F * F, axis=1)) ** r


@pytest.mark.parametrize("k", sorted(GRIDS))
@pytest.mark.parametrize("r", RS)
def test_offdiagonal_factor(claim, k, r):
    """(32), first factor: lambda_min((F~ F~^T)^{o r}) / min_i ||f~_i||^{2r} near its limit 1, without drift in N."""
    ns, trials = _grid(claim, k), claim.pick(TRIALS if k < 2 else TRIALS_K2)
    factor = np.array([[_offdiagonal(_centred(claim, k, n, t)[0], r) for t in range(trials)] for n in ns])
    lo = OFFDIAG_LO[k][r]
    coverage = OFFDIAG_COVERAGE[k]
    claim.record(checks.band({"N": ns}, factor, band=(lo, 1.0), drift_tol=DRIFT_TOL, coverage=coverage,
                             name=f"k={k}, r={r}: lambda_min((F~ F~^T)^(o r)) / min_i ||f~_i||^(2r) in [{lo:g}, 1] "
                                  f"(limit 1){' w.p. >= %g' % coverage if coverage < 1 else ''}, d = n_l = 2N",
                             reason="OFFDIAG_LO: 1 - 3 x the largest deficit on tuning seeds; OFFDIAG_COVERAGE: "
                                    "k = 2 tail on tuning seeds 1000-1099; DRIFT_TOL: Theta"))


@pytest.mark.parametrize("k", sorted(GRIDS))
def test_norm_factor(claim, k):
    """(32), second factor (the same for every r): the mean of ||f~_i||^2 at its value and the spread of the
    ||f~_i||^2 shrinking like N^{-1/2}; negative control: the uncentred value is rejected."""
    ns, trials = _grid(claim, k), claim.pick(NORM_TRIALS if k < 2 else TRIALS_K2)
    means, spreads, uncentred = (np.empty((len(ns), trials)) for _ in range(3))
    for i, n in enumerate(ns):
        for t in range(trials):
            F, scale, reference, wrong = _centred(claim, k, n, t)
            norms = np.sum(F * F, axis=1)
            means[i, t] = norms.mean() / (reference if k < 2 else scale)
            uncentred[i, t] = norms.mean() / wrong
            spreads[i, t] = norms.std(ddof=1) / norms.mean()
    if k < 2:
        value = "(1/2 - 1/(2 pi)) ||W_1||_F^2" if k == 1 else "d"
        claim.record(checks.band({"N": ns}, means, band=MEAN_BAND, drift_tol=DRIFT_TOL,
                                 name=f"k={k}: mean_i ||f~_i||^2 / E||f~_k||^2 = 1, E||f~_k||^2 = {value}",
                                 reason="derived value; MEAN_BAND >= 5 sd of a mean of N rows; DRIFT_TOL: Theta"))
        control = checks.band({"N": ns}, uncentred, band=MEAN_BAND, drift_tol=DRIFT_TOL, name="negative control",
                              reason="the uncentred E||f_k||^2 in place of E||f~_k||^2")
        assert control.verdict is Verdict.FAIL, control.message  # a wrong centering is detected
        claim.record(checks.scaling(ns, spreads, expected=SPREAD_EXPONENT, tol=SPREAD_TOL,
                                    name=f"k={k}: spread sd_i(||f~_i||^2) / mean ~ N^-1/2 (n_k = 2N units)",
                                    reason="concentration of a sum of n_k weakly dependent units; see SPREAD_TOL"))
    else:
        claim.record(checks.band({"N": ns}, means, band=MEAN_BAND_K2, drift_tol=DRIFT_TOL,
                                 name="k=2: mean_i ||f~_i||^2 / S_2 in [0.05, 1/4] (E||f_2||^2 = S_2 / 4)",
                                 reason="upper edge derived, lower edge a factor 2 below the tuning minimum; Theta"))


def test_r_equals_1_in_its_regime(claim):
    """(32) at r = 1 (inventory row 5.18) where (33) is non-trivial, min n_l >> N^2.22: c_1 ||W_1||_F^2 / 4 <=
    lambda_min(F~_1 F~_1^T) <= mean_i ||f~_i||^2 on every net (the upper side is exact: a Rayleigh quotient bound on
    the trace). Two inequalities, not a band: the ratio approaches its limit 1 like (1 - sqrt(N / n_1))^2, a
    finite-size drift of 0.1-0.25 in N at affordable n_1 / N (25-240), which a drift fit at 0.15 cannot separate
    from a wrong exponent; the lower edge R1_LO = 1/4 is below the tuning minimum 0.43 (see R1_LO)."""
    ns, trials, factor = claim.pick(R1_NS), claim.pick(R1_TRIALS), claim.pick(R1_WIDTH_FACTOR)
    widths = [int(round(factor * n ** (2 / 0.9))) for n in ns]
    smallest, lower, means = [], [], []
    for n, width in zip(ns, widths):
        for t in range(trials):
            F, _, reference, _ = _centred(claim, 1, n, t, widths=(width, width))
            smallest.append(nc.lambda_min(F @ F.T))
            lower.append(R1_LO * reference)
            means.append(np.mean(np.sum(F * F, axis=1)))
    ratios = np.array(smallest) / (np.array(lower) / R1_LO)
    claim.record(checks.inequality(np.array(smallest), np.array(lower),
                                   name=f"k=1, r=1, d = n_1 = {factor} N^2.22 ({', '.join(map(str, widths))}): "
                                        f"lambda_min(F~ F~^T) >= {R1_LO:g} (1/2 - 1/(2 pi)) ||W_1||_F^2 (ratios "
                                        f"{ratios.min():.3g}-{ratios.max():.3g})",
                                   reason="Omega side of (32) at r = 1; R1_LO below the finite-size factor"))
    claim.record(checks.inequality(np.array(means), np.array(smallest), rtol=1e-10,
                                   name="k=1, r=1: lambda_min(F~ F~^T) <= mean_i ||f~_i||^2 (O side of (32))",
                                   reason="exact (trace bound); rounding"))


@pytest.mark.parametrize("d, width", [OUTSIDE, COLLAPSE])
def test_outside_the_regime_of_33(claim, d, width):
    """r = 2 outside (33): d = N/4 << N^1.05 (measured: the off-diagonal factor still near 1), and d = n_1 with
    n_1(n_1+1)/2 < N (rank-deficient: the factor is 0, the band check FAILs: negative control)."""
    factor = np.array([_offdiagonal(_centred(claim, 1, NARROW_N, t, widths=(d, width))[0], 2)
                       for t in range(claim.pick(TRIALS))])
    band = checks.band({"N": [NARROW_N]}, factor[None, :], band=(OFFDIAG_LO[1][2], 1.0), drift_tol=DRIFT_TOL,
                       name=f"r=2, N={NARROW_N}, d={d}, n_1={width}: off-diagonal factor in [{OFFDIAG_LO[1][2]:g}, 1]",
                       reason="the k = 1 band of the main grid")
    if width * (width + 1) // 2 < NARROW_N:
        assert band.verdict is Verdict.FAIL, band.message  # the band fails without the width condition
        claim.record(checks.inequality(np.full(factor.size, OFFDIAG_LO[1][2]), factor,
                                       name=f"r=2, N={NARROW_N}, d=n_1={width}: rank n_1(n_1+1)/2 < N, off-diagonal "
                                            f"factor below the band (max {factor.max():.3g})",
                                       reason="negative control: the band's lower edge must fail without (33)"))
    else:
        claim.record(checks.inequality(factor, np.full(factor.size, OUTSIDE_LO),
                                       name=f"r=2, N={NARROW_N}, d={d} << N^1.05, n_1={width}: off-diagonal factor "
                                            f">= {OUTSIDE_LO:g} (measured {factor.min():.3g}-{factor.max():.3g}): the "
                                            "condition on d is not needed for a non-trivial bound here (finding)",
                                       reason="measured finding; a collapse would show as a violation"))
