"""Theorem 5.1 (Smallest singular value of feature matrix): for k in [L-1], under (27) n_k = Omega(N log N log(N/delta))
and (28), O(d prod_{l<=k} n_l beta_l^2) >= sigma_min(F_k)^2 >= mu_r(sigma)^2 Omega(d prod_{l<=k} n_l beta_l^2) w.h.p.

What is checked. The ratio sigma_min(F_k)^2 / S_k, S_k = d prod_{l<=k} n_l beta_l^2 (computed from the widths and
betas: He gives 2^k n_k, LeCun n_k), must stay in a band as N, n_k and d vary:
  * lower edge mu_4(sigma)^2 = 1/(48 pi): the theorem's constant for r = 4 with the Omega-constant taken as 1 (the
    theorem holds for every r whose probability is non-trivial, min_{l<k} n_l >> N^{2/(r-0.1)}: r = 4 needs N^0.51,
    met by a wide margin here, and gives the weaker of the constants mu_2^2, mu_4^2);
  * upper edge 1/2: the proof's upper bound is min_i ||f_k(x_i)||^2, and E||f_k(x)||^2 = S_k / 2^k for ReLU.
  The upper bound sigma_min(F_k)^2 <= min_i ||f_k(x_i)||^2 itself is checked exactly on every net.
Regime: Gaussian data; k = 1 (He, widths (d, n_1, 1), d = 2N) and k = 2 (LeCun, widths (d, d, n_2, 1), d = n_1 =
4N, so that min_{l<k} n_l = 4N and (28) holds trivially); the wide layer n_k = c N log(N) log(N/delta), delta = 0.1,
c in {1, 4} (paper: {1, 2, 4}), i.e. (27) with constant c. The ratio converges from below as N and c grow, so
the drift slopes of log ratio against log N and log c are bounded by DRIFT_TOL = 0.15 (the fitted slopes, with
intervals, are in the band record), and a planted missing power sqrt(n_k) must FAIL (negative control).
Other data laws (Issue 13 item 5; full profile): the k = 1 band on data with a mean of the order of the noise
(||m||^2 = d and 4d: E||x||^2 = 2d, 5d, while S_1 keeps d) and on two non-Gaussian laws of Assumptions 2.1-2.2 (the
sphere of radius sqrt d, the continuous cube); Section 5 has no zero-mean premise.
Beyond the main regime: previous widths sublinear in N (intro bullet 1), r = 1 (mu_1 = 1/2, the coefficient (8)
does not give), and the chain of the proof (Lemmas 5.2-5.4) on the k = 2 nets.
Below the width condition: for n_k < N, sigma_min(F_k) = 0 (rank); at n_k = N the ratio collapses below the band's
lower edge; between N and N log N log(N/delta) the median ratio rises monotonically to the band, checked on the points
n_k / N = 1, 1.5, 2, log N, 2 log N, log N log(N/delta): points far enough apart that the medians are ordered by the
rise itself, not by the draw (the rise is steep up to n_k ~ 4N, then saturates like the Marchenko-Pastur edge
(1 - sqrt(N/n_k))^2; two points closer than a factor ~2 in n_k beyond 4N, e.g. 4N and N log N = 4.16 N at N = 64,
differ by less than the scatter of a median and are not ordered reliably).
"""
import math

import numpy as np
import pytest
from ._sec5_features import C_OMEGA, COVERAGE, expected_gram, feature_mean, feature_scale

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Theorem 5.1")

DELTA = 0.1  # the failure probability in (27)
NS = {"smoke": (64, 128), "full": (64, 128, 256), "paper": (64, 128, 256, 512)}  # N, octaves apart
# c in n_k = c N log(N) log(N / DELTA): (27) with two (three) constants, so n_k and N separate in the drift fit.
# k = 2 uses c in {1, 4}: its drift in c is the larger (0.08 +- 0.02 across seeds over c = 1..2), and with c = 1, 2 its
# 99% upper end crossed 0.15 at 3 of the 20 calibration seeds 2000-2019 (0.152-0.165, INCONCLUSIVE); over c = 1..4 the
# log range doubles, the drift is 0.04-0.08 and its upper end <= 0.104 on tuning seeds 1000-1019 (8 trials).
# k = 1 likewise: with c = 1, 2 its drift in c (0.064 +- 0.019 across seeds) left the 99% upper end above 0.15 at 2 of
# 40 fresh calibration seeds 2040-2079 (38/40, on the target's edge).
WIDTH_FACTORS = {1: {"smoke": (1, 4), "full": (1, 4), "paper": (1, 2, 4)},
                 2: {"smoke": (1, 4), "full": (1, 4), "paper": (1, 2, 4)}}
# Theta(.): no drift in N nor in c, |slope| <= DRIFT_TOL (Issue 14: <= 0.15, half of the missing sqrt(N) or sqrt(n_k)
# that the check must exclude). The ratio approaches its limit from below, a finite-size effect: in N because
# the Hermite terms of order r >= 2 of the previous layer's Gram matrix settle like 1 - O(sqrt(N) / n_{k-1}), in c
# like the Marchenko-Pastur edge (1 - sqrt(N_eff / n_k))^2. Measured on tuning seeds 1000-1025 (8-12 trials per
# point), k = 2, LeCun, n_1 = 2N: drift N 0.08-0.15 over N = 64..128 (the old regime: its upper ends reached
# 0.16-0.23, Issue 14), 0.06-0.08 over N = 128..256, shrinking like N^-1/2 (so not a discrepancy); it depends on
# n_1 / N, not on d (d = 4N with n_1 = 2N: drift N 0.08-0.12). With d = n_1 = 4N: drift N 0.02-0.09, drift c
# 0.05-0.10 over N = 64..128, c = 1..2, 99% upper ends <= 0.141 in 19 seeds with 10-12 trials. k = 1 (He, d = 2N):
# drift N 0.02-0.06, drift c 0.04-0.08, upper ends <= 0.135 in 12 seeds with 8 trials.
DRIFT_TOL = 0.15
# Data and weight draws per grid point (log-ratio scatter ~0.05-0.1): the drift intervals are Welch intervals with
# few degrees of freedom, half-width ~0.045 at these counts (smoke), so a drift of 0.15 + 0.09 is detected.
TRIALS = {1: {"smoke": 8, "full": 8, "paper": 20}, 2: {"smoke": 10, "full": 10, "paper": 20}}
ARCHITECTURES = {  # k -> (widths from (N, n_k), init); d = n_{k-1} = 2N (k = 1), d = n_1 = 4N (k = 2), see DRIFT_TOL
    1: (lambda n, wide: (2 * n, wide, 1), "he"),
    2: (lambda n, wide: (4 * n, 4 * n, wide, 1), "lecun"),
}
BAND = (nc.relu_hermite_coefficient(4) ** 2, 0.5)  # (mu_4^2, 1/2): see the module docstring
CHAIN_RS = (2, 4)  # the orders of the proof's chain at k = 2 (r = 4: the band's lower edge mu_4^2)
CONTROL_POWER = 0.5  # negative control: ratios times n_k^0.5 (a missing sqrt(n_k) in the scale) must FAIL
# Other laws (k = 1, full only: each costs a k = 1 grid): name -> (distribution, ||m||^2 / d of the mean vector).
LAWS = {"gaussian, ||m||^2 = d": ("gaussian", 1.0), "gaussian, ||m||^2 = 4d": ("gaussian", 4.0),
        "sphere": ("sphere", 0.0), "cube": ("cube", 0.0)}
# Below the width condition: n_k / N on a grid from rank deficiency (0.5) up to (27) with c = 1.
BELOW_N = {"smoke": 64, "full": 128}
# then log N, 2 log N and log N log(N/delta) are appended (in increasing order for N >= 8). Measured at N = 64 (200
# draws per point): median ratio 0.0098, 0.022, 0.056, 0.080, 0.0995 at 1.5, 2, log N, 2 log N, log N log(N/delta),
# consecutive gaps in log median >= 0.24, at least 7 standard deviations of the difference of two medians of
# BELOW_TRIALS draws (log-ratio sd 0.19 at 1.5 N down to 0.04 at 26.9 N). Over 200 base seeds at smoke the smallest
# relative rise between consecutive medians was 0.19 (60 seeds at full: 0.20); with 4 N next to log N it fell below 0
# in 6 of 20.
BELOW_FACTORS = (0.5, 1.0, 1.5, 2.0)
BELOW_TRIALS = {"smoke": 9, "full": 11}  # odd: the median is one draw
# A backward-stable eigensolver returns lambda_min of a singular PSD matrix within ~ N eps ||A||_F.
RANK_ROUNDING = 10.0


def _wide_width(n: int, factor: float) -> int:
    return int(round(factor * n * math.log(n) * math.log(n / DELTA)))


def _data(claim, law, n, d, key):
    distribution, mean_sq = LAWS[law] if law else ("gaussian", 0.0)
    mean = math.sqrt(mean_sq) if mean_sq else None  # the vector sqrt(mean_sq) 1: ||m||^2 = mean_sq d
    return nc.sample_data(distribution, n, d, seed=claim.seed_for("data", *key), mean=mean)


def _features(claim, k: int, n: int, wide: int, trial: int, law=None, net_out=None):
    widths_of, init = ARCHITECTURES[k]
    key = (k, n, wide, trial) if law is None else (law, k, n, wide, trial)
    X = _data(claim, law, n, widths_of(n, wide)[0], key)
    net = nc.ReLUNet(widths_of(n, wide), init=init, seed=claim.seed_for("net", *key))
    features = net.features(X)
    if net_out is not None:
        net_out.append((net, features))
    return features[k], feature_scale(net, k)


def _band_grid(claim, k, law=None, keep=None):
    """ratios (G, T), grid parameters, smallest eigenvalues and min row norms over the (N, c) grid."""
    ns, factors = claim.pick(NS), claim.pick(WIDTH_FACTORS[k])
    trials = claim.pick(TRIALS[k])
    grid = [(n, c, _wide_width(n, c)) for c in factors for n in ns]  # c, not n_k, is the second regressor:
    # n_k = c N log N log(N/delta) is nearly collinear with N
    ratios, smallest, norms = [], [], []
    for n, _, wide in grid:
        row = []
        for trial in range(trials):
            F, scale = _features(claim, k, n, wide, trial, law=law, net_out=keep)
            value = nc.lambda_min(F @ F.T)  # = sigma_min(F_k)^2 as n_k >= N; an N x N eigenproblem
            row.append(value / scale)
            smallest.append(value)
            norms.append(np.min(np.sum(F * F, axis=1)))
        ratios.append(row)
    params = {"N": [g[0] for g in grid], "c": [g[1] for g in grid]}
    return np.array(ratios), params, np.array(smallest), np.array(norms), grid


@pytest.mark.parametrize("k", sorted(ARCHITECTURES))
def test_sigma_min_squared_is_theta_of_the_scale(claim, k):
    """Theorem 5.1: sigma_min(F_k)^2 / (d prod n_l beta_l^2) in a band, without drift in N or n_k; upper bound;
    at k = 2 the chain of the proof (Lemmas 5.2, 5.3, corrected 5.4) on the same nets."""
    nets = [] if k == 2 else None
    ratios, params, smallest, norms, grid = _band_grid(claim, k, keep=nets)
    claim.record(checks.inequality(norms, smallest, rtol=1e-10,
                                   name=f"k={k}: sigma_min(F_k)^2 <= min_i ||f_k(x_i)||^2 (upper bound of Thm 5.1)",
                                   reason="an exact inequality; slack for SVD rounding"))
    d_over_n = ARCHITECTURES[k][0](1, 1)[0]
    claim.record(checks.band(params, ratios, band=BAND, drift_tol=DRIFT_TOL,
                             name=f"k={k}: sigma_min(F_k)^2 / (d prod n_l beta_l^2) in [mu_4^2, 1/2], d = {d_over_n}N",
                             reason="Theta: no drift in N or c beyond the finite-size approach, see DRIFT_TOL"))
    widths = np.array([[g[2]] * ratios.shape[1] for g in grid], dtype=float)
    control = checks.band(params, ratios * widths ** CONTROL_POWER, band=(BAND[0], 1e9), drift_tol=DRIFT_TOL,
                          name="negative control", reason="a scale missing sqrt(n_k)")
    assert control.verdict is Verdict.FAIL, control.message  # the drift check resolves a missing sqrt(n_k)
    if k == 2:
        _record_chain_of_the_proof(claim, nets)


def _record_chain_of_the_proof(claim, nets):
    """The proof of Theorem 5.1 (inventory row 5.21), each link on the same k = 2 nets, r in CHAIN_RS:
    sigma_min(F_2)^2 >= n_2 lambda / 4 (Lemma 5.2, lambda of (29) from F_1, beta_2)
    lambda >= beta_2^2 mu_r^2 lambda_min((F_1 F_1^T)^{o r}) / max_i ||f_1(x_i)||^{2(r-1)} (Lemma 5.3, deterministic)
    lambda_min((F_1 F_1^T)^{o r}) >= C_OMEGA lambda_min((F~_1 F~_1^T)^{o r}) (the corrected Lemma 5.4, w.p. COVERAGE)
    with F~_1 = F_1 - E_X[F_1] exact for Gaussian data. The end of the chain over S_2 is reported."""
    first, second, third, ends = [], [], [], {r: [] for r in CHAIN_RS}
    for net, features in nets:
        F1, F2 = features[1], features[2]
        beta = float(net.betas[1])
        lam = nc.lambda_min(expected_gram(F1, beta))
        first.append((nc.lambda_min(F2 @ F2.T), F2.shape[1] * lam / 4))
        centred = F1 - feature_mean(net, 1, distribution="gaussian", samples=0, seed=0)
        top = np.max(np.sum(F1 * F1, axis=1))
        for r in CHAIN_RS:
            power = nc.lambda_min(nc.khatri_rao_gram(F1, r))
            factor = beta ** 2 * nc.relu_hermite_coefficient(r) ** 2 / top ** (r - 1)
            second.append((lam, factor * power))
            low = nc.lambda_min(nc.khatri_rao_gram(centred, r))
            third.append((power, C_OMEGA * low))
            ends[r].append(C_OMEGA * F2.shape[1] / 4 * factor * low / feature_scale(net, 2))
    first, second, third = (np.array(v) for v in (first, second, third))
    ends_text = ", ".join(f"r={r}: [{min(v):.2g}, {max(v):.2g}] S_2" for r, v in ends.items())
    claim.record(checks.inequality(first[:, 0], first[:, 1], rtol=1e-10,
                                   name="k=2 chain, Lemma 5.2: sigma_min(F_2)^2 >= n_2 lambda / 4",
                                   reason="Lemma 5.2 held in every trial from n_k = 3N; here n_2 >= 27N"))
    claim.record(checks.inequality(second[:, 0], second[:, 1], rtol=1e-9,
                                   name="k=2 chain, Lemma 5.3 (r = " + ", ".join(map(str, CHAIN_RS)) + "): "
                                        "lambda >= beta_2^2 mu_r^2 lambda_min((F_1 F_1^T)^(o r)) / max||f_1||^(2(r-1))",
                                   reason="deterministic given F_1; rounding of two eigenvalues"))
    claim.record(checks.inequality(third[:, 0], third[:, 1], rtol=1e-10, coverage=COVERAGE,
                                   name=f"k=2 chain, corrected Lemma 5.4: lambda_min((F_1 F_1^T)^(o r)) >= {C_OMEGA} "
                                        f"lambda_min((F~_1 F~_1^T)^(o r)) w.p. >= {COVERAGE:g}; chain end {ends_text}",
                                   reason="the constant and coverage of claims/test_lemma5_4_centering.py"))


@pytest.mark.parametrize("law", list(LAWS))
def test_other_data_laws(claim, law):
    """Theorem 5.1 at k = 1 on data with a mean of the order of the noise and on non-Gaussian laws of Assumptions
    2.1-2.2 (Issue 13 item 5): the same band and drift rule as for zero-mean Gaussian data."""
    if claim.profile == "smoke":
        pytest.skip("other data laws run in the full profile (each costs a k = 1 grid)")
    ratios, params, *_ = _band_grid(claim, 1, law=law)
    claim.record(checks.band(params, ratios, band=BAND, drift_tol=DRIFT_TOL,
                             name=f"k=1, {law}: sigma_min(F_1)^2 / S_1 in [mu_4^2, 1/2], d = 2N",
                             reason="Theta on a law allowed by Assumptions 2.1-2.2; see DRIFT_TOL"))


# Intro bullet 1 / row 5.6: "all the previous layers can have sublinear widths". k = 2, LeCun, d = n_1 = N^0.75,
# n_2 = N log N log(N/delta): r = 6 is admissible (min_{l<k} n_l = N^0.75 >> N^{2/5.9} = N^0.34), so the lower
# edge is mu_6^2 = 0.0020 (Omega-constant 1). Measured (inventory row 1.24, 4 draws): [0.0023, 0.0043], [0.0035,
# 0.0048], [0.0046, 0.0070] at N = 64, 128, 256, rising like N^0.4: not yet at its constant, so the lower bound is
# checked as an inequality on every net, not a drift-free band (the grid starts at 256: at 128 the minimum was 1.3x
# mu_6^2 at base seed 0, at 64 within 15%).
SUBLINEAR_NS = {"smoke": (256,), "full": (256, 512), "paper": (256, 512, 1024)}
SUBLINEAR_TRIALS = {"smoke": 4, "full": 10, "paper": 30}
SUBLINEAR_EXPONENT = 0.75
# r = 1 (row 5.4, F5): (8) gives no mu_1; the Hermite coefficient is mu_1 = 1/2, and the probability of Theorem 5.1
# at r = 1 needs min_{l<k} n_l >> N^{2/0.9} = N^2.22: k = 1, He, d = R1_D >> N^2.22 (N = 8, 12, 16: 101, 249, 471),
# n_1 = N log N log(N/delta). Measured (6 draws): sigma_min(F_1)^2 / S_1 in [0.14, 0.21] = (0.56-0.84) mu_1^2. Lower
# bound mu_1^2 / 4: the Omega-constant 1/4 is ours (the theorem gives none). Odd r >= 3: mu_r = 0, the bound is 0.
R1_NS = {"smoke": (8, 12, 16), "full": (8, 12, 16, 24), "paper": (8, 12, 16, 24, 32)}
R1_D = {"smoke": 2048, "full": 4096, "paper": 8192}
R1_TRIALS = {"smoke": 4, "full": 10, "paper": 30}
R1_OMEGA = 0.25


def test_sublinear_previous_widths(claim):
    """Theorem 5.1 at k = 2 with d = n_1 = N^0.75 (sublinear): sigma_min(F_2)^2 >= mu_6^2 S_2 on every net."""
    low = nc.relu_hermite_coefficient(6) ** 2
    ratios, names = [], []
    for n in claim.pick(SUBLINEAR_NS):
        narrow, wide = int(round(n ** SUBLINEAR_EXPONENT)), _wide_width(n, 1)
        for t in range(claim.pick(SUBLINEAR_TRIALS)):
            X = nc.sample_data("gaussian", n, narrow, seed=claim.seed_for("sublinear data", n, t))
            net = nc.ReLUNet((narrow, narrow, wide, 1), init="lecun", seed=claim.seed_for("sublinear net", n, t))
            F = net.features(X)[2]
            ratios.append(nc.lambda_min(F @ F.T) / feature_scale(net, 2))
        names.append(f"N={n}: {min(ratios[-claim.pick(SUBLINEAR_TRIALS):]):.2g}")
    claim.record(checks.inequality(np.array(ratios), np.full(len(ratios), low),
                                   name=f"k=2, d = n_1 = N^0.75: sigma_min(F_2)^2 / S_2 >= mu_6^2 = {low:.3g} (min "
                                        + ", ".join(names) + ")",
                                   reason="Theorem 5.1 with r = 6 (admissible), Omega-constant 1; rising with N"))


def test_r_equals_1(claim):
    """Theorem 5.1 at r = 1 with the true mu_1 = 1/2, in its regime min_{l<k} n_l = d >> N^2.22: sigma_min(F_1)^2 >=
    R1_OMEGA mu_1^2 S_1; mu_r = 0 for odd r >= 3 (the bound is vacuous there)."""
    mu1 = nc.relu_hermite_coefficient(1)
    d, ratios = claim.pick(R1_D), []
    for n in claim.pick(R1_NS):
        for t in range(claim.pick(R1_TRIALS)):
            X = nc.sample_data("gaussian", n, d, seed=claim.seed_for("r1 data", n, t))
            net = nc.ReLUNet((d, _wide_width(n, 1), 1), init="he", seed=claim.seed_for("r1 net", n, t))
            F = net.features(X)[1]
            ratios.append(nc.lambda_min(F @ F.T) / feature_scale(net, 1))
    ratios = np.array(ratios)
    odd = [nc.relu_hermite_coefficient(r) for r in (3, 5)]
    claim.record(checks.inequality(ratios, np.full(ratios.size, R1_OMEGA * mu1 ** 2),
                                   name=f"r=1, d = {d} >> N^2.22: sigma_min(F_1)^2 / S_1 >= {R1_OMEGA:g} mu_1^2 "
                                        f"(measured {ratios.min() / mu1 ** 2:.2f}-{ratios.max() / mu1 ** 2:.2f} mu_1^2; "
                                        f"mu_3 = {odd[0]:g}, mu_5 = {odd[1]:g}: vacuous at odd r >= 3)",
                                   reason="mu_1 = 1/2 (not given by (8)); R1_OMEGA: our Omega-constant"))


def test_below_the_width_condition(claim):
    """Without (27): rank deficiency for n_k < N, collapse at n_k = N, monotone rise up to N log N log(N/delta)."""
    n, trials = claim.pick(BELOW_N), claim.pick(BELOW_TRIALS)
    factors = BELOW_FACTORS + (math.log(n), 2 * math.log(n), math.log(n) * math.log(n / DELTA))
    ratios = np.empty((len(factors), trials))
    residue, floor = [], []
    for i, factor in enumerate(factors):
        wide = int(round(factor * n))
        for trial in range(trials):
            F, scale = _features(claim, 1, n, wide, trial)
            gram = F @ F.T
            value = nc.lambda_min(gram)
            ratios[i, trial] = value / scale
            if wide < n:
                residue.append(abs(value))
                floor.append(RANK_ROUNDING * n * np.finfo(float).eps * np.linalg.norm(gram))
    claim.record(checks.inequality(np.array(floor), np.array(residue),
                                   name=f"n_k = {BELOW_FACTORS[0]} N: sigma_min(F_k)^2 = 0 (rank <= n_k < N)",
                                   reason="zero up to the rounding of a backward-stable eigensolver"))
    at_n = ratios[factors.index(1.0)]
    claim.record(checks.inequality(np.full(trials, BAND[0]), at_n,
                                   name=f"n_k = N = {n}: the ratio collapses below mu_4^2 = {BAND[0]:.3g} "
                                        f"(max {at_n.max():.2g})",
                                   reason="a square F_k is nearly singular: sigma_min^2 ~ S_k / N^2"))
    medians = np.median(ratios[1:], axis=1)
    claim.record(checks.inequality(
        medians[1:], medians[:-1],
        name="median ratio rises with n_k / N = " + ", ".join(f"{f:.3g}: {m:.3g}" for f, m in zip(factors[1:], medians)),
        reason="medians of independent draws on points far enough apart (see BELOW_FACTORS); the Marchenko-Pastur "
               "edge (1 - sqrt(N/n_k))^2 rises with n_k; a flat ratio would pass w.p. 1/720 (6 points)"))
