"""Beyond the paper: networks with biases (Section 8: "other interesting extensions include the study of networks
with biases"; Corollary 4.2's remarks contrast prior memorization results "with biases" with the paper's bias-free
nets). The paper proves nothing with biases; these checks measure what survives.

Normalization (ntkcheck.network.ReLUNet): g_l = W_l^T f_{l-1} + b_l, b_l = c_{l-1} v_l, v_l drawn like a row of W_l,
c_{l-1} = bias_std_l sqrt(prod_{m<l} n_m beta_m^2 / 2): the bias is the weight of a constant feature whose size grows
with the widths like f_{l-1}, so that (4) still holds, with the limit of (9)-(12) in which every G^(l) becomes
Gamma^(l) = G^(l) + bias_std_l^2 1 1^T (``limiting_ntk(..., bias_std=...)``; matches neural-tangents' kernel_fn with
biases, tests/test_bias.py).

Questions and conjectures (regimes in the constants below):
  * (4) with biases: the normalized empirical NTK converges to the bias limit at the CLT rate n^-1/2, the rate the
    paper's own (4) has (claims/test_eq4_ntk_convergence.py). Conjectured; scaling check, exponent -1/2.
  * Lemma 3.1 with biases: the expectations (11)-(12) with the biased Gamma^(l-1) are the closed forms (an identity
    by the same proof: (u, v) is still Gaussian). Monte Carlo within its 99% Bonferroni bound.
  * Theorem 3.2: biases do not lower lambda_min(K^(L)) (conjecture: K^(L) with biases dominates the bias-free one in
    its smallest eigenvalue; measured lambda_min ratio 1.003-1.25 for bias_std 0.5-3); inequality check.
  * Theorem 4.1: the Theta((23)) constant of lambda_min(Kbar) for one wide layer survives with biases: a two-sample
    comparison of lambda_min / (23) with and without biases (same architecture), an interval on the log difference.
  * What biases change qualitatively: a bias-free ReLU net is positively homogeneous, so x and c x (c > 0) give
    proportional Jacobian rows and a singular Kbar and K^(L); with biases both are positive definite there.
Each check has a negative control that FAILs.
"""
import numpy as np
import pytest
from scipy import stats

import ntkcheck as nc
from ntkcheck import checks

from ._two_sample import two_sample

pytestmark = pytest.mark.claim("Beyond: biases (Sec. 8)")

# (4) with biases: L = 2, N = 8, d = 8, bias_std = 1 at both layers; the paper's rate module uses the same grid.
RATE_N, RATE_D, RATE_BIAS = 8, 8, (1.0, 1.0)
# Budget: with 24 trials from n = 64 the default run (base seed 0, after the seed-identity change of schema 2) measured
# -0.586 [-0.663, -0.51], INCONCLUSIVE, against a spread -0.50 [-0.536, -0.454] over tuning seeds 1000-1019; the
# budget was raised (n from 128, where the O(1/n) term of the error weighs half as much, and 40 trials), the
# tolerance kept.
RATE_WIDTHS = {"smoke": (128, 256, 512, 1024, 2048), "full": (64, 128, 256, 512, 1024, 2048, 4096)}
RATE_TRIALS = {"smoke": 40, "full": 64}
RATE_EXPONENT = -0.5  # CLT over the n neurons of the hidden layer (as for (4) without biases)
RATE_TOL = 0.15  # separates -1/2 from 0 (no convergence) and from -1/4; chosen on tuning seeds 1000-1019
# Lemma 3.1 with biases: L = 4, N = 10, d = 6, per-layer biases (0.5, 1, 0, 2) (a zero one included)
MC_N, MC_D, MC_DEPTH, MC_BIAS = 10, 6, 4, (0.5, 1.0, 0.0, 2.0)
MC_SAMPLES = {"smoke": 20_000, "full": 200_000}
SD_G = 2.0 * np.sqrt(1.5)  # Cauchy-Schwarz bound on the sd of 2 sigma(u) sigma(v) in units of sqrt(Gamma_ii Gamma_jj)
SD_GDOT = 1.0  # 2 sigma'(u) sigma'(v) in {0, 2} with mean <= 1
# Theorem 3.2: lambda_min(K^(3)) with and without biases, N = 16 Gaussian points
T32_DEPTH, T32_N = 3, 16
T32_DIMS = {"smoke": (16, 64, 256), "full": (16, 32, 64, 128, 256, 512)}
T32_BIASES = (0.5, 1.0, 3.0)
T32_TRIALS = {"smoke": 4, "full": 20}
T32_RTOL = 1e-10  # lambda_min by dsyevr: absolute error ~N eps ||K||; K ~ L d here, lambda_min >= d/10
# Theorem 4.1: widths (N, 8N, N/2, 1), He init, d = N = 128 (where the paper's module finds the constant settled)
T41_N = 128
T41_TRIALS = {"smoke": 10, "full": 40}
T41_BIAS = 1.0
# Measured log ratio lambda_min / (23) (12 trials, tuning seeds 1300-1311): N = 32: -3.08 without biases, -3.17 with;
# N = 64: -2.91, -3.00; N = 128: -2.54 (sd 0.18), -2.56 (sd 0.20). The two nets of trial t share W (biases are drawn
# after the weights), so the comparison is paired (checks.band(..., paired=True)): the sd 0.18 is the draw's, shared by
# both, and cancels in the difference. T41_TOL = 0.15, the drift tolerance of every Theta claim of the suite: a
# factor 1.16 on the constant.
T41_BAND = (1e-3, 1.0)
T41_TOL = 0.15
# Points on a ray: pairs (x, 2x) plus generic points
RAY_N, RAY_D, RAY_DEPTH, RAY_WIDTH = 6, 8, 3, 128
RAY_TRIALS = {"smoke": 8, "full": 40}
RAY_BIAS = 1.0
# lambda_min / max|K| above this is positive definite beyond rounding (rounding of a singular K: ~1e-16); measured
# with biases >= 2e-3 (limit) and >= 1e-3 (width 128) over tuning seeds 1000-1019
RAY_FLOOR = 1e-6


def _data(claim, n, d, *keys):
    return nc.sample_data("gaussian", n=n, d=d, seed=claim.seed_for("data", *keys))


def test_width_limit_with_biases(claim):
    """(4) with biases: ||(2/n) Kbar - K_bias|| / ||K_bias|| ~ n^-1/2 (scaling); against the bias-free limit the
    error does not decay (negative control)."""
    widths, trials = claim.pick(RATE_WIDTHS), claim.pick(RATE_TRIALS)
    errors, control = np.empty((len(widths), trials)), np.empty((len(widths), trials))
    for t in range(trials):
        X = _data(claim, RATE_N, RATE_D, "rate", t)
        limit, plain = nc.limiting_ntk(X, 2, bias_std=RATE_BIAS), nc.limiting_ntk(X, 2)
        for i, n in enumerate(widths):
            net = nc.ReLUNet((RATE_D, n, 1), init="standard", bias_std=RATE_BIAS, seed=claim.seed_for("net", n, t))
            normalized = nc.empirical_ntk(net, X) * (2.0 / n)
            errors[i, t] = np.linalg.norm(normalized - limit) / np.linalg.norm(limit)
            control[i, t] = np.linalg.norm(normalized - plain) / np.linalg.norm(plain)
    reason = "CLT rate over the n hidden neurons; RATE_TOL chosen on tuning seeds 1000-1019"
    claim.record(checks.scaling(widths, errors, expected=RATE_EXPONENT, tol=RATE_TOL,
                                name=f"(4) with biases {RATE_BIAS}, L=2: rel. error to the bias limit ~ n^-1/2",
                                reason=reason))
    negative = checks.scaling(widths, control, expected=RATE_EXPONENT, tol=RATE_TOL, name="control", reason=reason)
    assert negative.verdict.value == "FAIL", f"negative control (bias-free limit) did not fail: {negative.message}"


def test_lemma3_1_monte_carlo_with_biases(claim):
    """(11)-(12) with Gamma^(l-1): Monte Carlo against the closed forms within a 99% Bonferroni bound (identity); the
    bias-free closed forms are rejected (negative control)."""
    samples = claim.pick(MC_SAMPLES)
    X = _data(claim, MC_N, MC_D, "mc")
    exact = nc.limiting_kernels(X, MC_DEPTH, bias_std=MC_BIAS)
    plain = nc.limiting_kernels(X, MC_DEPTH)
    mc = nc.limiting_kernels(X, MC_DEPTH, "monte_carlo", samples=samples, seed=claim.seed_for("mc"), bias_std=MC_BIAS)
    entries = MC_N * (MC_N + 1) // 2 * (MC_DEPTH - 1) * 2  # G and Gdot of levels 2..L
    z = stats.norm.isf(checks.ALPHA / (2 * entries))
    computed, reference, wrong, atol = [], [], [], []
    for level in range(1, MC_DEPTH):  # list index of G^(level+1); its noise scale is that of Gamma^(level)
        diagonal = np.diag(exact.G[level - 1])
        scale = np.sqrt(np.outer(diagonal, diagonal))
        computed += [(mc.G[level] / scale).ravel(), mc.Gdot[level].ravel()]
        reference += [(exact.G[level] / scale).ravel(), exact.Gdot[level].ravel()]
        wrong += [(plain.G[level] / scale).ravel(), plain.Gdot[level].ravel()]
        atol += [np.full(MC_N ** 2, z * SD_G / np.sqrt(samples)), np.full(MC_N ** 2, z * SD_GDOT / np.sqrt(samples))]
    computed, reference, wrong = map(np.concatenate, (computed, reference, wrong))
    # identity's atol is one number: compare in units of each entry's bound instead
    bound = np.concatenate(atol)
    claim.record(checks.identity(computed / bound, reference / bound, rtol=0.0, atol=1.0,
                                 name=f"(11)-(12) with biases {MC_BIAS}, L={MC_DEPTH}: Monte Carlo vs closed form, "
                                      "in units of the 99% Bonferroni bound",
                                 reason="Cauchy-Schwarz sd bounds, Bonferroni over the entries"))
    negative = checks.identity(computed / bound, wrong / bound, rtol=0.0, atol=1.0, name="control", reason="control")
    assert not negative.passed, f"negative control (bias-free closed forms) passed: {negative.message}"


def test_theorem3_2_biases_do_not_lower_lambda_min(claim):
    """lambda_min(K^(L) with biases) >= lambda_min(K^(L)) without (inequality, conjectured); halving the biased
    lambda_min (a planted loss) violates it (negative control)."""
    biased, plain = [], []
    for d in claim.pick(T32_DIMS):
        for t in range(claim.pick(T32_TRIALS)):
            X = _data(claim, T32_N, d, "t32", t)
            reference = nc.lambda_min(nc.limiting_ntk(X, T32_DEPTH))
            for b in T32_BIASES:
                biased.append(nc.lambda_min(nc.limiting_ntk(X, T32_DEPTH, bias_std=b)))
                plain.append(reference)
    biased, plain = np.array(biased), np.array(plain)
    reason = "eigensolver rounding ~N eps ||K||, far below lambda_min here"
    claim.record(checks.inequality(biased, plain, rtol=T32_RTOL,
                                   name=f"Thm 3.2 with biases {T32_BIASES}, L={T32_DEPTH}: lambda_min(K_bias) >= "
                                        f"lambda_min(K) (ratio {np.min(biased / plain):.4g}..{np.max(biased / plain):.4g})",
                                   reason=reason))
    negative = checks.inequality(biased / 2, plain, rtol=T32_RTOL, name="control", reason=reason)
    assert not negative.passed, negative.message


def scale_23(widths, betas):
    """(23): d prod_{l<L} n_l prod_l beta_l^2 / min_l beta_l^2."""
    betas2 = np.asarray(betas, dtype=float) ** 2
    return widths[0] * np.prod(widths[1:-1], dtype=float) * np.prod(betas2) / betas2.min()


def test_theorem4_1_constant_with_biases(claim):
    """lambda_min(Kbar) / (23) for (N, 8N, N/2, 1), He, with and without biases: the log difference of the constants
    within +-T41_TOL (two-sample, paired by net); a planted factor 1.5 on the biased ratios is caught (negative
    control)."""
    widths, trials = (T41_N, 8 * T41_N, T41_N // 2, 1), claim.pick(T41_TRIALS)
    ratios = {0.0: [], T41_BIAS: []}
    for t in range(trials):
        X = _data(claim, T41_N, T41_N, "t41", t)
        for bias in ratios:  # the same W (biases are drawn after the weights): a paired design
            net = nc.ReLUNet(widths, init="he", bias_std=bias, seed=claim.seed_for("t41", t))
            ratios[bias].append(nc.lambda_min(nc.empirical_ntk(net, X)) / scale_23(widths, net.betas))
    reason = "Theta constants unknown (band); T41_TOL: agreement within a factor e^0.15 = 1.16, paired by net"
    labels = ("no bias", f"bias_std {T41_BIAS}")
    claim.record(two_sample(ratios[0.0], ratios[T41_BIAS], labels=labels, band=T41_BAND, tol=T41_TOL,
                            name=f"Thm 4.1 (N, 8N, N/2, 1) He, N={T41_N}: lambda_min / (23)", reason=reason,
                            paired=True))
    # a planted factor 1.5 (log 0.41): beyond T41_TOL by more than the paired half-width, so it FAILs
    negative = two_sample(ratios[0.0], 1.5 * np.array(ratios[T41_BIAS]), labels=labels, band=T41_BAND, tol=T41_TOL,
                          name="control", reason=reason, paired=True)
    assert negative.verdict.value == "FAIL", negative.message


def _ray_data(claim, t):
    X = _data(claim, RAY_N, RAY_D, "ray", t)
    X[1] = 2.0 * X[0]  # x and 2x on one ray
    X[3] = 0.5 * X[2]
    return X


def test_biases_make_points_on_a_ray_positive_definite(claim):
    """Data with pairs (x, 2x): lambda_min / max|K| > RAY_FLOOR with biases, for K^(L) and for Kbar at width 128
    (inequality); the bias-free K and Kbar are singular there, and the same check FAILs on them (negative control)."""
    limit_b, empirical_b, limit_0, empirical_0 = [], [], [], []
    widths = (RAY_D,) + (RAY_WIDTH,) * (RAY_DEPTH - 1) + (1,)
    for t in range(claim.pick(RAY_TRIALS)):
        X = _ray_data(claim, t)
        for bias, limits, empiricals in ((RAY_BIAS, limit_b, empirical_b), (0.0, limit_0, empirical_0)):
            K = nc.limiting_ntk(X, RAY_DEPTH, bias_std=bias)
            limits.append(nc.lambda_min(K) / np.abs(K).max())
            net = nc.ReLUNet(widths, init="he", bias_std=bias, seed=claim.seed_for("ray net", t))
            Kbar = nc.empirical_ntk(net, X)
            empiricals.append(nc.lambda_min(Kbar) / np.abs(Kbar).max())
    reason = "rounding of a singular Gram matrix is ~1e-16 of its size; RAY_FLOOR is 10 orders above"
    lhs = np.concatenate([limit_b, empirical_b])
    claim.record(checks.inequality(lhs, RAY_FLOOR,
                                   name=f"biases {RAY_BIAS} on points on a ray (x, 2x), L={RAY_DEPTH}: "
                                        f"lambda_min/max|K| > {RAY_FLOOR:g} (K^(L) and Kbar at n={RAY_WIDTH}; "
                                        f"bias-free max {max(np.max(limit_0), np.max(empirical_0)):.2g})",
                                   reason=reason))
    negative = checks.inequality(np.concatenate([limit_0, empirical_0]), RAY_FLOOR, name="control", reason=reason)
    assert not negative.passed, negative.message
