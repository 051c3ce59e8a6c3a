"""Lemma 3.1: the matrices (9)-(10) are the Gaussian expectations G^(2) = 2 E_w[sigma(Xw) sigma(Xw)^T]
(w ~ N(0, I_d)), G^(l) = 2 E_w[sigma(sqrt(G^(l-1)) w) sigma(sqrt(G^(l-1)) w)^T] (l >= 3) and
Gdot^(l) = 2 E_w[sigma'(sqrt(G^(l-1)) w) sigma'(sqrt(G^(l-1)) w)^T] (w ~ N(0, I_N)), eq. (11)-(12),
K^(l) = K^(l-1) o Gdot^(l) + G^(l); "moreover" K^(L) = G^(L) + sum_{l<L} G^(l) o Gdot^(l+1) o ... o Gdot^(L), (13).

Checked, for L = 5 (every level l = 1..5) on data with N > d (G^(1) singular) and N < d:
  * the Monte Carlo estimates of (11)-(12) against the closed forms (arc-cosine kernels of degree 1 and 0),
    entrywise within a Bonferroni bound on the Monte Carlo error (identity), and a negative control: the same
    estimates are rejected against the closed forms one level up (an off-by-one in l);
  * the Monte Carlo error falls like samples^(-1/2) (scaling check on the exponent): an estimator of a
    wrong closed form (a bias) would level off instead, as the negative control shows. This is the sharper
    test: the identity check only resolves errors of a few percent at affordable sample sizes;
  * the unrolled form (13) against the recursion (12), for the engine's "unrolled" method and for (13)
    evaluated here on the closed-form and on the Monte Carlo matrices (an algebraic identity: it holds for
    any matrices, so also for the estimates).
Tolerances are derived (Bonferroni bounds from Cauchy-Schwarz variance bounds, the CLT rate, rounding); BIAS is a
control size. Confirmed on tuning seeds 1000-1019 (smoke), never tuned on seed 0 or the calibration seeds 2000+.
Entries are compared in units of S_ij = sqrt(G_ii G_jj) (= sqrt(||x_i||^2 ||x_j||^2), the same at every level
since G^(l)_ii = ||x_i||^2), the scale of the Monte Carlo noise of entry (i, j).
"""
import numpy as np
import pytest
from scipy import stats

import ntkcheck as nc
from ntkcheck import checks

pytestmark = pytest.mark.claim("Lemma 3.1")

DEPTH = 5  # the issue asks for L up to 5; every level l = 1..5 is checked
DATA = (("gaussian", 20, 8), ("sphere", 20, 64))  # (distribution, N, d): N > d (singular G^(1)), and N < d
# The identity check resolves ~7% (smoke) / ~2.4% (full) / ~1.2% (paper: 4x the samples, half the bound) of S_ij
SAMPLES = {"smoke": 20_000, "full": 200_000, "paper": 800_000}
ALPHA = checks.ALPHA  # the suite's two-sided level, split over the entries by Bonferroni
# Per-sample standard deviations in units of S_ij, bounded by Cauchy-Schwarz: 2 sigma(u) sigma(v) has
# E[sigma(u)^2 sigma(v)^2] <= sqrt(E sigma(u)^4 E sigma(v)^4) = 1.5 G_ii G_jj, so sd <= 2 sqrt(1.5);
# 2 sigma'(u) sigma'(v) lies in {0, 2} with mean Gdot <= 1, so its variance 2 Gdot - Gdot^2 is <= 1.
SD_G = 2.0 * np.sqrt(1.5)
SD_GDOT = 1.0
# Rate check: the CLT gives exactly -1/2 at these sample sizes; the tolerance separates it from a level-off
# (a biased estimator, slope -> 0) and from the -1 of an exact quadrature rule.
RATE_SAMPLES = {"smoke": (100, 400, 1_600, 6_400, 25_600),
                "paper": (100, 400, 1_600, 6_400, 25_600, 102_400)}
# Per-trial sd of the log error ~0.16: half-width 0.03 (smoke), 0.015 (full), 0.007 (paper: 4x trials, wider grid)
RATE_TRIALS = {"smoke": 12, "full": 40, "paper": 160}
RATE_DATA = ("gaussian", 8, 16)  # small N: the cost is the sampling; the log error's spread does not shrink with N
RATE_EXPONENT = -0.5
RATE_TOL = 0.1
BIAS = 0.02  # negative control of the rate check: a closed form off by 2% of S_ij (the off-by-one in l is ~8%)
UNROLLED_DEPTHS = range(1, 8)
UNROLLED_DATA = (("gaussian", 30, 10), ("hypercube", 30, 50), ("gan", 30, 20))
UNROLLED_RTOL = 1e-12  # sums of L products of L factors: rounding ~ L^2 eps relative to the largest term


def _scale(kernels):
    diagonal = np.diag(kernels.G[0])
    return np.sqrt(np.outer(diagonal, diagonal))


def _unrolled_13(G, Gdot):
    """(13) evaluated here: G^(L) + sum_{l<L} G^(l) o Gdot^(l+1) o ... o Gdot^(L) (Gdot[0] unused)."""
    depth = len(G)
    return G[-1] + sum(G[l] * np.prod(Gdot[l + 1:], axis=0) for l in range(depth - 1))


def _datasets(claim, specs):
    for distribution, n, d in specs:
        yield nc.sample_data(distribution, n, d, seed=claim.seed_for("data", distribution, n, d))


def test_monte_carlo_matches_closed_form(claim):
    """(11)-(12) by sampling vs (9)-(10) in closed form: G^(l), Gdot^(l) (l = 2..5) and K^(l) (l = 1..5)."""
    samples = claim.pick(SAMPLES)
    pairs = []
    for k, X in enumerate(_datasets(claim, DATA)):
        exact = nc.limiting_kernels(X, DEPTH)
        mc = nc.limiting_kernels(X, DEPTH, "monte_carlo", samples=samples, seed=claim.seed_for("mc", k))
        pairs.append((exact, mc, _scale(exact)))
    entries = sum(n * (n + 1) // 2 for _, n, _ in DATA) * (DEPTH - 1)  # distinct entries per family
    z = stats.norm.isf(ALPHA / (2 * entries))  # Bonferroni over the entries of one family
    err_g, err_gdot = z * SD_G / np.sqrt(samples), z * SD_GDOT / np.sqrt(samples)
    err_k = 0.0  # K^(1) = X X^T is exact; (12) propagates: |K^(l-1)| <= (l-1) S and |Gdot^(l)| <= 1
    for level in range(2, DEPTH + 1):
        err_k = err_k * (1 + err_gdot) + (level - 1) * err_gdot + err_g

    def stacked(name, levels, shift=0):
        """The estimates and closed forms of one family at the given list indices, G and K in units of S."""
        unit = (lambda s: s) if name != "Gdot" else (lambda s: 1.0)  # Gdot is a probability: no scale
        computed = [getattr(mc, name)[l] / unit(s) for exact, mc, s in pairs for l in levels]
        reference = [getattr(exact, name)[l + shift] / unit(s) for exact, mc, s in pairs for l in levels]
        return np.array(computed), np.array(reference)

    upper = range(1, DEPTH)  # list indices of levels 2..L
    for name, label, atol in (("G", "G^(l)/S", err_g), ("Gdot", "Gdot^(l)", err_gdot)):
        claim.record(checks.identity(*stacked(name, upper), rtol=0.0, atol=atol,
                                     name=f"(11)-(12) Monte Carlo vs (9)-(10): {label}, l = 2..{DEPTH}",
                                     reason=f"{100 * (1 - ALPHA):g}% Bonferroni bound on the Monte Carlo error"))
        shifted = checks.identity(*stacked(name, range(1, DEPTH - 1), shift=1), rtol=0.0, atol=atol,
                                  name=f"negative control: {label} vs level l+1", reason="as above")
        assert not shifted.passed, shifted.message
    claim.record(checks.identity(*stacked("K", range(DEPTH)), rtol=0.0, atol=err_k,
                                 name=f"(12) on Monte Carlo G, Gdot vs closed form: K^(l)/S, l = 1..{DEPTH}",
                                 reason="the bounds on G, Gdot propagated through (12) to level L"))


def _rate_statistic(mc, exact, scale):
    """RMS over levels 2..L of the Frobenius errors of G^(l)/S and Gdot^(l). K^(l) is (12) applied to these;
    the levels are sampled independently, so pooling them steadies the log error (sd ~0.16 instead of ~0.3)."""
    errors = [np.linalg.norm((mc.G[l] - exact.G[l]) / scale) for l in range(1, DEPTH)]
    errors += [np.linalg.norm(mc.Gdot[l] - exact.Gdot[l]) for l in range(1, DEPTH)]
    return np.sqrt(np.mean(np.square(errors)))


def test_monte_carlo_error_rate(claim):
    """The Monte Carlo error of Lemma 3.1 falls like samples^(-1/2); against a biased reference it levels off."""
    sample_grid, trials = np.array(claim.pick(RATE_SAMPLES)), claim.pick(RATE_TRIALS)
    X = next(_datasets(claim, [RATE_DATA]))
    exact = nc.limiting_kernels(X, DEPTH)
    scale = _scale(exact)
    biased = nc.LimitingKernels([g + BIAS * scale for g in exact.G],
                                [None] + [g + BIAS for g in exact.Gdot[1:]], exact.K)
    errors, biased_errors = np.empty((sample_grid.size, trials)), np.empty((sample_grid.size, trials))
    for i, samples in enumerate(sample_grid):
        for t in range(trials):
            mc = nc.limiting_kernels(X, DEPTH, "monte_carlo", samples=int(samples),
                                     seed=claim.seed_for("rate", int(samples), t))
            errors[i, t] = _rate_statistic(mc, exact, scale)
            biased_errors[i, t] = _rate_statistic(mc, biased, scale)
    reason = "CLT rate; RATE_TOL separates it from a level-off (0) and from -1"
    claim.record(checks.scaling(sample_grid, errors, expected=RATE_EXPONENT, tol=RATE_TOL,
                                name="Monte Carlo error of G^(l), Gdot^(l) vs samples", reason=reason))
    control = checks.scaling(sample_grid, biased_errors, expected=RATE_EXPONENT, tol=RATE_TOL,
                             name=f"negative control: error against a reference off by {BIAS} S", reason=reason)
    assert not control.passed, control.message


def test_unrolled_form_13_equals_recursion_12(claim):
    """(13) = (12): the engine's unrolled method, and (13) evaluated here on closed-form and Monte Carlo matrices."""
    computed, reference = [], []
    for k, X in enumerate(_datasets(claim, UNROLLED_DATA)):
        for depth in UNROLLED_DEPTHS:
            kernels = nc.limiting_kernels(X, depth)
            mc = nc.limiting_kernels(X, depth, "monte_carlo", samples=256, seed=claim.seed_for("mc13", k, depth))
            recursion = nc.limiting_ntk(X, depth)
            computed += [nc.limiting_ntk(X, depth, "unrolled"), _unrolled_13(kernels.G, kernels.Gdot),
                         _unrolled_13(mc.G, mc.Gdot)]
            reference += [recursion, recursion, mc.K[-1]]
    claim.record(checks.identity(np.array(computed), np.array(reference), rtol=UNROLLED_RTOL,
                                 atol=0.0, name=f"(13) vs (12), L = 1..{UNROLLED_DEPTHS[-1]}, "
                                                f"closed form and Monte Carlo",
                                 reason="rounding, see UNROLLED_RTOL"))
