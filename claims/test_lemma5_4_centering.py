"""Lemma 5.4 (Centering features): (F_k^{*r})(F_k^{*r})^T >= (F~_k^{*r})(F~_k^{*r})^T (Loewner order, (30)) w.h.p. (31),
with F~_k = F_k - E_X[F_k] (Section 2: the mean over the data distribution, for fixed weights).

Measured: the printed order fails. For r = 1 the difference is D = a 1^T + 1 a^T + ||m||^2 1 1^T, m = E_X[f_k(x)],
a = F~_k m, which is indefinite unless a is parallel to 1: lambda_min(D) < 0 in every trial (down to -0.509 of the
scale S_k = d prod n_l beta_l^2, while lambda_min(F~ F~^T) is ~0.005-0.05 S_k). For r = 2, 3, 4 it fails in 51%, 9%,
4% of the trials (full profile, base seed 0, 100 nets per r). The eigenvalue comparison lambda_min((F^{*r})(F^{*r})^T)
>= lambda_min((F~^{*r})(F~^{*r})^T) fails as well (ratios 0.34-0.83 at base seed 0, down to 0.017 over 200 seeds). What the numbers support, and what the proof of
Theorem 5.1 needs, is the comparison up to a constant, with the probability (31) of the lemma:
lambda_min((F^{*r})(F^{*r})^T) >= C_OMEGA lambda_min((F~^{*r})(F~^{*r})^T) w.p. >= COVERAGE over the nets (the
constant is not derived; see C_OMEGA and COVERAGE for what was measured). (For r = 1 the printed order does hold on
the complement of 1, with equality: an algebraic identity, not a claim check, kept as a sanity identity in
tests/test_centering_identities.py.) Negative control: the same coverage rule rejects a constant the data refute
(CONTROL_C, above the r = 1 ratios of every tuning seed), so the corrected check can fail at this budget.
Index 0 (inventory row 5.15, candidate erratum CE4): Theorem 5.1 at k = 1 uses Lemma 5.4 at k - 1 = 0, F~_0 = X - E x,
and Section 5 allows non-zero-mean data. With m = E x, ||m||^2 in INDEX0_MEANS x d: (30) fails at index 0 too (r = 1:
the difference is the same a 1^T + 1 a^T + ||m||^2 1 1^T), strict xfail; the corrected comparison holds there.

E_X[F_k]: exact for k = 1 with Gaussian data (E sigma(<x, w_j>) = ||w_j|| / sqrt(2 pi)); for k = 2 the mean of f_2 over
MEAN_SAMPLES fresh points. Its error perturbs the measured lambda_min(D) by ~ sqrt(n_k / (N * samples)) relative
(a rank-two term), i.e. ~2% at these sizes, far below the measured violations.
Regime: Gaussian data d = 32, N in {32, 64}; k = 1 (He, n_1 = 256) and k = 2 (He, n_1 = 64, n_2 = 256); index 0:
Gaussian data with mean sqrt(||m||^2 / d) 1, d = INDEX0_D, N in NS.
"""
import numpy as np
import pytest
from ._sec5_features import C_OMEGA, COVERAGE, feature_mean, feature_scale

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Lemma 5.4")

D = 32
CASES = ((1, (256,)), (2, (64, 256)))  # (k, hidden widths up to n_k)
NS = {"smoke": (32,), "full": (32, 64), "paper": (32, 64, 128)}
# Nets per (k, N): 12 per r at smoke, 100 at full, so that the COVERAGE rule can resolve a violation rate (below).
TRIALS = {"smoke": 6, "full": 25, "paper": 100}
RS = (1, 2, 3, 4)
MEAN_SAMPLES = {"smoke": 10_000, "full": 40_000, "paper": 200_000}  # sampled E_X[f_2]: see the module docstring
# C_OMEGA = 1/8 (in _sec5_features, shared with Theorem 5.1's chain): the Omega-constant of the corrected form, first
# set from the minimum of base seeds 0-43 (~0.3) with a factor 2 of margin, i.e. after looking at seeds that the
# guide now reserves; re-justified on the tuning seeds 1000-1099 below (TUNING), and not re-fitted to the tail.
# Lemma 5.4 holds w.p. (31), 1 - N exp(-Omega(min_{l<=k} n_l / prod log n_l)) - ...: with N = 64, d = 32 and
# n_1 = 64 that is not negligible, and the ratio has a lower tail. Measured with 10 nets per (k, N), base seeds 0-135:
# checked per net, the comparison failed at 6 of 136 seeds (ratios 0.070-0.12, all at k = 2; the same nets with
# E_X[f_2] from 2,000,000 samples give the same ratios to 2%, so the tail is not the sampled mean). With this grid,
# base seeds 0-199 (20,000 nets per r): ratio below C_OMEGA in 0, 2, 10, 29 nets for r = 1..4 (minima 0.47, 0.10,
# 0.046, 0.017), every one at k = 2. We declare the failure probability at most 0.5% and FAIL when the data reject
# that (Clopper-Pearson): from 4 nets of 100 (full) or 2 of 12 (smoke) under C_OMEGA; the measured rate (r = 4:
# 1.45e-3, 99% upper bound 2.3e-3) gets there with probability < 1e-3 per check, and a constant missed by 10.5%
# (full) or 48% (smoke) of nets is caught. Calibration: 200/200 seeds pass at full.
# COVERAGE = 0.995 (in _sec5_features) was also chosen after those failures; TUNING: re-measured on the tuning seeds.
# Re-justified on the tuning seeds 1000-1099 (smoke grid, `ntkcheck calibrate --first-seed 1000 --seeds 100`: 1200 nets
# per r, 600 of them at k = 2): 0 nets below C_OMEGA for every r (minima 0.656, 0.37, 0.241, 0.156 for r = 1..4),
# so 1/8 is below the tuning minimum (a factor 1.25 at r = 4), and the declared failure probability 0.5% lies above
# the 99% Clopper-Pearson upper bound 0.44% of the violation rate measured there (0 of 1200). The check passed
# under all 100 tuning seeds (with its negative control FAILing under all 100).
# Negative control: the coverage rule must reject a constant above the r = 1 ratios (min 0.86 over every net of
# seeds 0-199 and of the tuning seeds; median ~1.5): at C = 4 most r = 1 nets are below.
CONTROL_C = 4.0
INDEX0_D = 128  # d >= 2N: X~ X~^T non-singular
INDEX0_MEANS = {"smoke": (1.0,), "full": (1.0, 4.0), "paper": (1.0, 4.0)}  # ||m||^2 / d, of the order of the noise
ROUNDING = 1e-10  # relative to S_k^r: eigenvalues of differences of matrices of size ~S_k^r


def _measurements(claim):
    """For every (k, N, trial, r): lambda_min of the difference and of both Gram matrices, divided by S_k^r."""
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
                rows.extend(_compare(F, mean, scale))
    return np.array(rows)


def _compare(F, mean, scale):
    """(r, lambda_min(difference), lambda_min(gram), lambda_min(centred gram)) / scale^r for r in RS."""
    rows = []
    for r in RS:
        gram, centred = nc.khatri_rao_gram(F, r), nc.khatri_rao_gram(F - mean, r)
        rows.append((r, nc.lambda_min(gram - centred) / scale ** r, nc.lambda_min(gram) / scale ** r,
                     nc.lambda_min(centred) / scale ** r))
    return rows


def _index0_measurements(claim):
    """The same rows at index 0: F_0 = X with mean m = sqrt(mean_sq) 1, F~_0 = X - m, S_0 = d."""
    rows = []
    for mean_sq in claim.pick(INDEX0_MEANS):
        for n in claim.pick(NS):
            for trial in range(claim.pick(TRIALS)):
                shift = np.sqrt(mean_sq)
                X = nc.sample_data("gaussian", n, INDEX0_D, seed=claim.seed_for("index 0", mean_sq, n, trial),
                                   mean=shift)
                rows.extend(_compare(X, np.full(INDEX0_D, shift), float(INDEX0_D)))
    return np.array(rows)


def _printed_order(claim, rows, where):
    summary = "; ".join(f"r={r}: min {rows[rows[:, 0] == r, 1].min():.3g}, "
                        f"{np.mean(rows[rows[:, 0] == r, 1] < -ROUNDING):.0%} negative" for r in RS)
    claim.record(checks.inequality(rows[:, 1], np.zeros(len(rows)), atol=ROUNDING,
                                   name=f"(30){where}: lambda_min(difference) / S_k^r >= 0 ({summary})",
                                   reason="rounding of an eigenvalue of a difference"))


def _corrected(claim, rows, where):
    for r in RS:
        mine = rows[rows[:, 0] == r]
        claim.record(checks.inequality(mine[:, 2], C_OMEGA * mine[:, 3], rtol=ROUNDING, coverage=COVERAGE,
                                       name=f"r={r}{where}: lambda_min(F^(*r) Gram) >= {C_OMEGA} lambda_min(F~^(*r) "
                                            f"Gram) w.p. >= {COVERAGE:g} (min ratio {np.min(mine[:, 2] / mine[:, 3]):.3g})",
                                       reason="rounding; C_OMEGA: the Omega-constant; COVERAGE: Lemma 5.4 holds "
                                              "w.p. (31), not on every net"))


@pytest.mark.erratum("(30) prints (F^{*r})(F^{*r})^T >= (F~^{*r})(F~^{*r})^T; lambda_min of the difference < 0 in "
                     "every trial for r = 1 (the difference a 1^T + 1 a^T + ||m||^2 1 1^T is indefinite) and in a "
                     "share of the trials for r = 2, 3, 4 (the record's name gives the minimum and share per r)")
def test_printed_loewner_order(claim):
    """(30) as printed: lambda_min((F^{*r})(F^{*r})^T - (F~^{*r})(F~^{*r})^T) >= 0 for r = 1..4."""
    _printed_order(claim, _measurements(claim), "")


def test_corrected_centering_comparison(claim):
    """What holds: the Omega-comparison of the smallest eigenvalues for r = 1..4 (w.h.p., as (31) states); negative
    control: the same rule at CONTROL_C, a constant the r = 1 ratios refute, FAILs."""
    rows = _measurements(claim)
    _corrected(claim, rows, "")
    ones = rows[rows[:, 0] == 1]
    control = checks.inequality(ones[:, 2], CONTROL_C * ones[:, 3], rtol=ROUNDING, coverage=COVERAGE,
                                name="negative control", reason="a constant above the measured ratios")
    assert control.verdict is Verdict.FAIL, control.message  # the coverage rule rejects at this budget


@pytest.mark.erratum("(30) at index 0 (F~_0 = X - E x, used by Theorem 5.1 at k = 1) with non-zero-mean data "
                     "(||m||^2 = d, 4d; N = 32, 64; d = 128): lambda_min of the difference < 0 in 100% of draws for "
                     "r = 1 (candidate erratum CE4, a recurrence of erratum 3)")
def test_printed_loewner_order_at_index_0(claim):
    """(30) at index 0 for non-zero-mean data (inventory row 5.15): the printed order fails as at k = 1, 2."""
    _printed_order(claim, _index0_measurements(claim), " at index 0, mean data")


def test_corrected_centering_comparison_at_index_0(claim):
    """The corrected comparison at index 0 for non-zero-mean data, with the module's C_OMEGA and COVERAGE."""
    _corrected(claim, _index0_measurements(claim), ", index 0, mean data")
