"""Beyond the paper: non-Gaussian initializations (Section 8: "other interesting extensions include the study of
networks with ... non-Gaussian initializations"; every result of the paper assumes (W_l)_ij ~ N(0, beta_l^2),
Section 2). Are the Theta constants universal when the weights are Rademacher (+-beta_l) or uniform
(U(-sqrt 3 beta_l, sqrt 3 beta_l)), both of variance beta_l^2 (``ReLUNet(..., weight_distribution=...)``), so that
every printed scale ((23), (26), Lemma 4.3, Theorem 5.1) is unchanged?

What is known / derived: for weights symmetric about 0 and data with continuous entries, E[sigma(u)^2] = E[u^2] / 2
and P(u > 0) = 1/2 for u = w^T f, whatever the law of w, so the *means* of ||f_k(x)||^2 ((26): 2^-k of the scale)
and of the squared rows of B_{k+1} (Lemma 4.3) are exactly universal. The smallest eigenvalue and singular value
(Theorems 4.1 and 5.1) depend on more than second moments: universality is the conjecture checked here.

Each question is a two-sample comparison (claims/beyond/_two_sample.py): the interval of the log difference
between the constant under the other law and under the Gaussian, against +-tol, not two separate PASSes.
Regimes: Theorem 4.1: widths (N, 8N, N/2, 1), He, d = N = 512, full and paper profiles (at N <= 256 the laws'
constants still differ by 0.07-0.37 in log, a gap halving per doubling of N: T41_TOL); Theorem 5.1: k = 1, widths
(2N, N log N log(N/0.1), 1), He, N = 32 (the paper module's regime, smaller); (26) at k = 2 and Lemma 4.3 at
k = 1: widths (64, 128, 128, 128, 1), He, 64 Gaussian points, per-net means over the points. Negative control: uniform weights of the wrong variance (half-width beta_l, variance beta_l^2 / 3)
move every constant by a power of 3 and are caught.
"""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.scales import feature_scale

from ._two_sample import two_sample

pytestmark = pytest.mark.claim("Beyond: non-Gaussian init (Sec. 8)")

OTHERS = ("rademacher", "uniform")
T41_N = 512
T41_TRIALS = {"smoke": 0, "full": 48, "paper": 96}  # ~0.5 s a net at N = 512: full and paper profiles only
# Measured log lambda_min / (23) (16 trials, tuning seeds 1300-1315): N = 128: Gaussian -2.59 (sd 0.20), Rademacher
# -2.36 (sd 0.05), uniform -2.44 (sd 0.13); N = 64: -2.89 (0.31), -2.52 (0.08), -2.78 (0.35). The Rademacher constant
# is larger by 0.37 (N = 64) and 0.23 (N = 128), the gap shrinking with N, with a far lighter lower tail.
# A second sweep (tuning seeds 1400, 16/16/12 trials at N = 64/128/256) gave Rademacher - Gaussian 0.32 / 0.14 / 0.07
# and uniform - Gaussian 0.12 / 0.11 / 0.01: the gap halves per doubling of N (universality in the limit, not at
# small N). 100 trials at N = 256 (tuning seeds 1401): 0.103 +- 0.013 (Rademacher), 0.065 +- 0.016 (uniform), too
# close to 0.15 to decide. At N = 512 (16 trials, tuning seeds 1402): Gaussian -2.292 (sd 0.095), Rademacher -2.229
# (0.016), uniform -2.234 (0.044): gaps 0.063 and 0.058. So the constant is compared at N = 512 with the suite's
# tolerance 0.15 (MOMENT_TOL): with 48 trials the Welch half-width is ~2.7 x sqrt(0.095^2 + 0.016^2) / sqrt(48) =
# 0.038, and a gap of 0.063 (+ 2.3 standard errors 0.032 across seeds) stays inside. (Until issue 14's last session
# this compared N = 128 at tolerance 0.6, a factor 1.8, which could not fail on the gap it measured.)
T41_TOL = 0.15
T41_BAND = (1e-3, 1.0)
T51_N = 32
T51_TRIALS = {"smoke": 40, "full": 150}  # ~3 ms a trial
# Measured log sigma_min(F_1)^2 / S_1 (16 trials): Gaussian -2.344 (sd 0.064), Rademacher -2.336 (0.071), uniform
# -2.331 (0.077); (26) k = 2: -1.393 (0.060), -1.428 (0.076), -1.363 (0.109); Lemma 4.3 k = 1: -1.344 (0.158),
# -1.414 (0.090), -1.414 (0.150). Tolerance MOMENT_TOL = 0.15 in log (a factor 1.16 on the constant), the drift
# tolerance of every Theta claim of the suite. The trials are what decides it: with a log sd s per sample the Welch
# half-width is ~2.65 s sqrt(2 / T); at s = 0.16 (the noisiest, Lemma 4.3) T = 64 gives 0.075 (a measured gap under
# 0.075 PASSes: 2.6 standard errors at a true gap 0) and T = 300 gives 0.035. Thm 5.1 (s <= 0.08): 40 trials, 0.047.
# The wrong-variance control (a factor 3 or 9, log 1.1 or 2.2) exceeds it many times.
MOMENT_TOL = 0.15
MOMENT_TRIALS = {"smoke": 64, "full": 300}  # ~5 ms a trial (4 laws)
# The means at their derived values (module docstring): (26) k = 2: E||f_2||^2 / S_2 = 1/4 exactly for any symmetric
# law; Lemma 4.3 k = 1: 2^-(L-1-k) = 1/4 up to the +O(1/n) correction of the paper module (claims/
# test_lemma4_3_backprop_norms.py, MEAN_RTOL_26 / MEAN_RTOL_43, chosen there on tuning seeds 1000-1003), reused.
MOMENT_MEANS = {"(26)": (0.25, 0.08), "Lemma 4.3": (0.25, 0.1)}
MOMENT_WIDTHS = (64, 128, 128, 128, 1)
MOMENT_N = 64
BAND = (1e-3, 1.0)  # every ratio here is a fraction 2^-k .. of its scale; a stray factor of a width leaves the band


def scale_23(widths, betas):
    betas2 = np.asarray(betas, dtype=float) ** 2
    return widths[0] * np.prod(widths[1:-1], dtype=float) * np.prod(betas2) / betas2.min()


def _net(claim, widths, distribution, *keys):
    """A He-initialized net; "uniform-wrong" is uniform on [-beta, beta] (variance beta^2 / 3): the control."""
    if distribution != "uniform-wrong":
        return nc.ReLUNet(widths, init="he", weight_distribution=distribution, seed=claim.seed_for("net", *keys))
    net = nc.ReLUNet(widths, init="he", weight_distribution="uniform", seed=claim.seed_for("net", *keys))
    wrong = nc.ReLUNet.from_weights([w.numpy() / math.sqrt(3.0) for w in net.weights])
    wrong.betas = net.betas  # the nominal betas, for the printed scales
    return wrong


_T41_CACHE = {}  # (test seed, distribution, trial) -> ratio: the control reuses the uniform nets


def _thm41_ratio(claim, distribution, t):
    key = (claim.seed, "uniform" if distribution == "uniform-wrong" else distribution, t)
    if key not in _T41_CACHE:
        _T41_CACHE[key] = _thm41_fresh(claim, key[1], t)
    ratio = _T41_CACHE[key]
    return ratio / 3.0 ** 2 if distribution == "uniform-wrong" else ratio  # L - 1 = 2 for (N, 8N, N/2, 1)


def _thm41_fresh(claim, distribution, t):
    """lambda_min(Kbar) / (23). For the control, positive homogeneity gives it without a new net: every weight
    divided by sqrt 3 divides Kbar by exactly 3^(L-1) (each column of J is a product of L - 1 weights)."""
    widths = (T41_N, 8 * T41_N, T41_N // 2, 1)
    X = nc.sample_data("gaussian", n=T41_N, d=T41_N, seed=claim.seed_for("data", "t41", t))
    net = _net(claim, widths, distribution, "t41", t)
    return nc.lambda_min(nc.empirical_ntk(net, X)) / scale_23(widths, net.betas)


def _thm51_ratio(claim, distribution, t):
    widths = (2 * T51_N, int(T51_N * math.log(T51_N) * math.log(T51_N / 0.1)), 1)
    X = nc.sample_data("gaussian", n=T51_N, d=widths[0], seed=claim.seed_for("data", "t51", t))
    net = _net(claim, widths, distribution, "t51", t)
    return nc.sigma_min(net.features(X)[1]) ** 2 / feature_scale(widths, net.betas, 1)


def _moment_ratios(claim, distribution, t):
    """((26) at k = 2: mean_i ||f_2(x_i)||^2 / S_2, Lemma 4.3 at k = 1: mean_i ||B_2 row i||^2 / its scale)."""
    X = nc.sample_data("gaussian", n=MOMENT_N, d=MOMENT_WIDTHS[0], seed=claim.seed_for("data", "moments", t))
    net = _net(claim, MOMENT_WIDTHS, distribution, "moments", t)
    features, vectors = net.features(X), net.backprop_vectors(X)
    w, b = MOMENT_WIDTHS, net.betas
    lemma43_scale = b[-1] ** 2 * w[2] * w[3] * b[2] ** 2  # beta_L^2 n_{k+1} prod_{l=k+2}^{L-1} n_l beta_l^2, k = 1
    return (np.mean(np.sum(features[2] ** 2, axis=1)) / feature_scale(w, b, 2),
            np.mean(np.sum(vectors[1] ** 2, axis=1)) / lemma43_scale)


def _compare(claim, label, sample, trials, tol, band, reason):
    """Each other law against the Gaussian (two-sample records) and the wrong-variance control; returns the samples,
    {law: (trials,) array}, for checks on the same draws."""
    samples = {law: np.array([sample(claim, law, t) for t in range(trials)])
               for law in ("gaussian",) + OTHERS + ("uniform-wrong",)}
    for other in OTHERS:
        claim.record(two_sample(samples["gaussian"], samples[other], labels=("gaussian", other), band=band, tol=tol,
                                name=label, reason=reason))
    negative = two_sample(samples["gaussian"], samples["uniform-wrong"], labels=("gaussian", "uniform of variance "
                          "beta^2/3"), band=(1e-9, 1e9), tol=tol, name="control", reason=reason)
    assert negative.verdict.value == "FAIL", f"negative control (wrong variance) did not fail: {negative.message}"
    return samples


def test_theorem4_1_constant_is_universal(claim):
    """lambda_min(Kbar) / (23) at N = T41_N: Rademacher and uniform against Gaussian, within a factor e^T41_TOL.
    Full and paper profiles (48 nets a law at N = 512 decide it; at the N smoke affords, <= 256, the laws' constants
    still differ by 0.07-0.37 in log: T41_TOL's comment)."""
    if not claim.pick(T41_TRIALS):
        pytest.skip("Theorem 4.1's universality is decided at N = 512 (T41_TOL): full and paper profiles")
    _compare(claim, f"Thm 4.1 (N, 8N, N/2, 1) He, N={T41_N}: lambda_min / (23)", _thm41_ratio,
             claim.pick(T41_TRIALS), T41_TOL, T41_BAND,
             "the suite's tolerance 0.15; gap 0.06 at N = 512 on tuning seeds 1402 (it halves per doubling of N)")


def test_theorem5_1_constant_is_universal(claim):
    """sigma_min(F_1)^2 / (d n_1 beta_1^2): Rademacher and uniform against Gaussian."""
    _compare(claim, f"Thm 5.1 k=1, N={T51_N}: sigma_min(F_1)^2 / S_1", _thm51_ratio, claim.pick(T51_TRIALS),
             MOMENT_TOL, BAND, "a factor e^0.15 = 1.16 (MOMENT_TOL; T51_TRIALS decide it)")


@pytest.mark.parametrize("which", ["(26) k=2: mean ||f_2||^2 / S_2", "Lemma 4.3 k=1: mean ||B_2 row||^2 / scale"])
def test_feature_and_backprop_means_are_universal(claim, which):
    """(26) and Lemma 4.3 means: exactly universal for symmetric weights (module docstring). Checked twice: the
    two-sample comparison with the Gaussian as above, and each law's mean at its derived value (mean check, relative
    tolerance of MOMENT_MEANS); the wrong-variance uniform law (mean 1/9 of it) FAILs both (negative control)."""
    index = 0 if which.startswith("(26)") else 1
    samples = _compare(claim, which, lambda c, dist, t: _moment_ratios(c, dist, t)[index], claim.pick(MOMENT_TRIALS),
                       MOMENT_TOL, BAND, "a factor e^0.15 = 1.16 (MOMENT_TOL); the means are exactly universal for "
                       "symmetric weights")
    expected, rtol = MOMENT_MEANS["(26)" if index == 0 else "Lemma 4.3"]
    reason = ("derived mean: each ReLU layer keeps half the second moment for any symmetric weight law; tolerance of "
              "the paper module, see MOMENT_MEANS")
    for law in ("gaussian",) + OTHERS:  # the same draws as the comparison
        claim.record(checks.mean_value(samples[law] / expected, expected=1.0, rtol=rtol,
                                       name=f"{which}, {law} weights: mean of quantity / scale = {expected:g} (derived)",
                                       reason=reason))
    negative = checks.mean_value(samples["uniform-wrong"] / expected, expected=1.0, rtol=rtol, name="control",
                                 reason=reason)
    assert negative.verdict.value == "FAIL", f"negative control (wrong variance) did not fail: {negative.message}"
