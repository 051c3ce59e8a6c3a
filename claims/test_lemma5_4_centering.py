"""Lemma 5.4 (Centering features): (F_k^{*r})(F_k^{*r})^T >= (F~_k^{*r})(F~_k^{*r})^T (Loewner order, (30)) w.h.p. (31),
with F~_k = F_k - E_X[F_k] (Section 2: the mean over the data distribution, for fixed weights).

Measured: the printed order fails. For r = 1 the difference is D = a 1^T + 1 a^T + ||m||^2 1 1^T, m = E_X[f_k(x)],
a = F~_k m, which is indefinite unless a is parallel to 1: lambda_min(D) < 0 in every trial (down to -0.57 of the
scale S_k = d prod n_l beta_l^2, while lambda_min(F~ F~^T) is ~0.005-0.05 S_k). For r = 2, 3, 4 it fails in 48%, 11%,
7% of the trials (full profile, base seed 0, 100 nets per r). The eigenvalue comparison lambda_min((F^{*r})(F^{*r})^T)
>= lambda_min((F~^{*r})(F~^{*r})^T) fails as well (ratios 0.58-0.86 at base seed 0, down to 0.017 over 200 seeds). What the numbers support, and what the proof of
Theorem 5.1 needs, is the comparison up to a constant, with the probability (31) of the lemma:
lambda_min((F^{*r})(F^{*r})^T) >= C_OMEGA lambda_min((F~^{*r})(F~^{*r})^T) w.p. >= COVERAGE over the nets (the
constant is not derived; see C_OMEGA and COVERAGE for what was measured). For r = 1 the printed order does hold on
the complement of 1 (with equality there).

E_X[F_k]: exact for k = 1 with Gaussian data (E sigma(<x, w_j>) = ||w_j|| / sqrt(2 pi)); for k = 2 the mean of f_2 over
MEAN_SAMPLES fresh points. Its error perturbs the measured lambda_min(D) by ~ sqrt(n_k / (N * samples)) relative
(a rank-two term), i.e. ~2% at these sizes, far below the measured violations.
Regime: Gaussian data d = 32, N in {32, 64}; k = 1 (He, n_1 = 256) and k = 2 (He, n_1 = 64, n_2 = 256).
"""
import numpy as np
import pytest
from ._sec5_features import feature_mean, feature_scale

import ntkcheck as nc
from ntkcheck import checks

pytestmark = pytest.mark.claim("Lemma 5.4")

D = 32
CASES = ((1, (256,)), (2, (64, 256)))  # (k, hidden widths up to n_k)
NS = {"smoke": (32,), "full": (32, 64)}
# Nets per (k, N): 12 per r at smoke, 100 at full, so that the COVERAGE rule can resolve a violation rate (below).
TRIALS = {"smoke": 6, "full": 25}
RS = (1, 2, 3, 4)
MEAN_SAMPLES = {"smoke": 10_000, "full": 40_000}  # sampled E_X[f_2]: see the module docstring
# The Omega-constant of the corrected form, set from the first 44 seeds' minimum (~0.3) with a factor 2 of margin and
# kept when the tail below was found (a constant re-fitted to the tail would be tuned to the data, not checked).
C_OMEGA = 0.125
# Lemma 5.4 holds w.p. (31), 1 - N exp(-Omega(min_{l<=k} n_l / prod log n_l)) - ...: with N = 64, d = 32 and
# n_1 = 64 that is not negligible, and the ratio has a lower tail. Measured with 10 nets per (k, N), base seeds 0-135:
# checked per net, the comparison failed at 6 of 136 seeds (ratios 0.070-0.12, all at k = 2; the same nets with
# E_X[f_2] from 2,000,000 samples give the same ratios to 2%, so the tail is not the sampled mean). With this grid,
# base seeds 0-199 (20,000 nets per r): ratio below C_OMEGA in 0, 2, 10, 29 nets for r = 1..4 (minima 0.47, 0.10,
# 0.046, 0.017), every one at k = 2. We declare the failure probability at most 0.5% and FAIL when the data reject
# that (Clopper-Pearson): from 4 nets of 100 (full) or 2 of 12 (smoke) under C_OMEGA; the measured rate (r = 4:
# 1.45e-3, 99% upper bound 2.3e-3) gets there with probability < 1e-3 per check, and a constant missed by 10.5%
# (full) or 48% (smoke) of nets is caught. Calibration: 200/200 seeds pass at full.
COVERAGE = 0.995
ROUNDING = 1e-10  # relative to S_k^r: eigenvalues of differences of matrices of size ~S_k^r


def _measurements(claim):
    """For every (k, N, trial, r): lambda_min of the difference and of both Gram matrices, divided by S_k^r, and the
    norm of the difference on the complement of 1 relative to its norm."""
    rows = []
    for k, hidden in CASES:
        for n in claim.pick(NS):
            for trial in range(claim.pick(TRIALS)):
                X = nc.sample_data("gaussian", n, D, seed=claim.seed_for("data", k, n, trial))
                net = nc.ReLUNet((D, *hidden, 1), init="he", seed=claim.seed_for("net", k, n, trial))
                F = net.features(X)[k]
                mean = feature_mean(net, k, distribution="gaussian", samples=claim.pick(MEAN_SAMPLES),
                                    seed=claim.seed_for("mean", k, n, trial))
                scale = feature_scale(net, k)
                basis = np.linalg.qr(np.column_stack([np.ones(n), np.eye(n)[:, :n - 1]]))[0][:, 1:]  # 1-perp
                for r in RS:
                    gram, centred = nc.khatri_rao_gram(F, r), nc.khatri_rao_gram(F - mean, r)
                    difference = gram - centred
                    rows.append((r, nc.lambda_min(difference) / scale ** r, nc.lambda_min(gram) / scale ** r,
                                 nc.lambda_min(centred) / scale ** r,
                                 np.linalg.norm(basis.T @ difference @ basis) / np.linalg.norm(difference)))
    return np.array(rows)


@pytest.mark.erratum("(30) prints (F^{*r})(F^{*r})^T >= (F~^{*r})(F~^{*r})^T; measured (full profile, base seed 0, 100 "
                     "nets per r) lambda_min of the difference < 0 in 100% of trials for r = 1 (down to -0.57 S_k), "
                     "48% for r = 2, 11% for r = 3, 7% for r = 4")
def test_printed_loewner_order(claim):
    """(30) as printed: lambda_min((F^{*r})(F^{*r})^T - (F~^{*r})(F~^{*r})^T) >= 0 for r = 1..4."""
    rows = _measurements(claim)
    summary = "; ".join(f"r={r}: min {rows[rows[:, 0] == r, 1].min():.3g}, "
                        f"{np.mean(rows[rows[:, 0] == r, 1] < -ROUNDING):.0%} negative" for r in RS)
    claim.record(checks.inequality(rows[:, 1], np.zeros(len(rows)), atol=ROUNDING,
                                   name=f"(30): lambda_min(difference) / S_k^r >= 0 ({summary})",
                                   reason="rounding of an eigenvalue of a difference"))


def test_corrected_centering_comparison(claim):
    """What holds: the Omega-comparison of the smallest eigenvalues for r = 1..4 (w.h.p., as (31) states), and (30)
    on 1-perp for r = 1."""
    rows = _measurements(claim)
    for r in RS:
        mine = rows[rows[:, 0] == r]
        claim.record(checks.inequality(mine[:, 2], C_OMEGA * mine[:, 3], rtol=ROUNDING, coverage=COVERAGE,
                                       name=f"r={r}: lambda_min(F^(*r) Gram) >= {C_OMEGA} lambda_min(F~^(*r) Gram) "
                                            f"w.p. >= {COVERAGE:g} (min ratio {np.min(mine[:, 2] / mine[:, 3]):.3g})",
                                       reason="rounding; C_OMEGA: the Omega-constant; COVERAGE: Lemma 5.4 holds "
                                              "w.p. (31), not on every net"))
    ones = rows[rows[:, 0] == 1]
    claim.record(checks.identity(ones[:, 4], np.zeros(len(ones)), rtol=0.0, atol=ROUNDING,
                                 name="r=1: on the complement of 1 the difference vanishes (||P D P|| / ||D||)",
                                 reason="P D P = 0 exactly for D = a 1^T + 1 a^T + ||m||^2 1 1^T; rounding"))
