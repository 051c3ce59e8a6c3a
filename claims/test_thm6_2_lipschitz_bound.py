"""Theorem 6.2, bound (36): w.h.p. ||g_k||_Lip^2 = O(S_k), S_k = prod_{l=0}^k n_l / min_{l in [0,k]} n_l
* prod_{l=1}^{k-1} log(n_l) * prod_{l=1}^k beta_l^2, against the naive bound prod_{l=1}^k ||W_l||_op of Section 6.

What is checked, and what is not. ||g_k||_Lip is a supremum over exponentially many activation regions (Lemma 6.1);
any number computed from the weights is a LOWER estimate of it. Here it is a strong one: the best ||J(g_k)(z)||_op
of (35) found by exact line searches over pieces along great circles from many starts (ntkcheck.lipschitz).
An upper bound can therefore only be refuted, never confirmed: a PASS means "no counterexample found; the
estimate's growth is consistent with (36)", not "(36) proven".

Regime: He initialisation (beta_l^2 = 2 / n_{l-1}), input dimension d = 4, depth L = 4, k = 3 = L - 1, three
architecture families, each sweeping one width over a factor 6-16:
  * wide first layer, narrow later layers: (4, n_1, 8, 8, 1), sweep n_1 (S_k ~ log n_1; naive^2 ~ n_1);
  * pyramid: (4, 4m, 2m, m, 1), sweep m >= 4 (S_k ~ m log^2 m; naive^2 ~ m; m < 4 is outside the w.h.p. regime);
  * bottleneck: (4, n, 4, n, 1), sweep n (S_k ~ n log n; naive^2 ~ n^2).
For each family three records: estimate^2 <= C_BOUND * S_k with probability >= COVERAGE over the nets (the
theorem holds w.h.p.; the measured constant C = max estimate^2 / S_k is in the record); the exponent of estimate^2 / S_k against the swept width is not positive
beyond MAX_GROWTH (a decay is allowed: (36) is an upper bound, and in the pyramid it is loose by about m);
and the naive bound naive^2 = prod ||W_l||_op^2 holds on every net, with its fitted exponent next to that of S_k
(where the naive bound grows faster than (36)). The fitted exponents of the estimate itself, with intervals,
are in the check names and the numbers of the records. Negative control: the growth check rejects the measured
ratios detrended to grow like (swept width)^(MAX_GROWTH + 1), i.e. at the measured scatter it resolves one power of
the width beyond the allowed growth.
The k = 1 end, where ||g_1||_Lip = ||W_1||_op is exact: ||W_1||_op^2 <= C_BOUND (36) w.h.p. on non-square shapes, and
the finding that on square ones C_BOUND = 4 is exceeded w.p. ~0.15 (Tracy-Widom); the Davidson-Szarek scale of the
naive bound per layer at its limit 1 + sqrt(min/max); and the introduction's "(36) is tighter than the product of
operator norms": for non-increasing widths S(36) / (naive scale) = prod_{l=1}^{k-1} log n_l exactly (looser), tighter
only with a narrow layer between wider ones (finding F8).
"""
import math

import numpy as np
import pytest

from ntkcheck import checks, stats
from ntkcheck.lipschitz import lipschitz_lower_estimate, naive_lipschitz_bound, squared_lipschitz_bound_scale
from ntkcheck.network import ReLUNet
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Theorem 6.2")

K = 3  # the last hidden layer of a depth-4 net: k in [L - 1], as in Theorem 6.2
D = 4  # input dimension: small enough for the great-circle search to be strong, > 2 so pieces are not enumerable
FAMILIES = {  # name -> (widths as a function of the swept width, name of the swept width)
    "wide first layer": (lambda n: (D, n, 8, 8, 1), "n_1"),
    "pyramid": (lambda m: (D, 4 * m, 2 * m, m, 1), "m = n_3"),
    "bottleneck": (lambda n: (D, n, 4, n, 1), "n = n_1 = n_3"),
}
GRID = {  # swept widths: a factor 6-8 (smoke) to 8-16 (full) per family; the cost grows like the widths^2
    "smoke": {"wide first layer": (16, 32, 64, 128), "pyramid": (4, 6, 8, 12, 16, 24),
              "bottleneck": (16, 32, 64, 128)},
    "full": {"wide first layer": (16, 32, 64, 128, 256), "pyramid": (4, 6, 8, 12, 16, 24, 32),
             "bottleneck": (16, 32, 64, 128, 256)},
}
# The pyramid starts at m = 4, not 2. Theorem 6.2 holds w.p. 1 - sum_l exp(-Omega(n_l)), which is no guarantee when
# n_3 = m = 2: there (widths 8, 4, 2) estimate^2 / S_k exceeded C_BOUND in 6 of 2000 nets (max 5.6; 1 in 1000 at
# m = 3, none in 1000 at m = 4, max 3.3), so 8-12 draws at m = 2 failed the C_BOUND check at 2-4 % of seeds.
TRIALS = {"smoke": 8, "full": 12, "paper": 48}  # weight draws per grid point: the slope intervals come from their
# scatter (paper: 4x the draws, intervals ~2x narrower; the grids stay at full: the search cost grows like widths^2)
SEARCH = {"smoke": {"starts": 4, "steps": 4}, "full": {"starts": 6, "steps": 6}, "paper": {"starts": 8, "steps": 8}}  # per net; see lipschitz.py
# O(.) hides a constant; we allow the one of the k = 1 case: ||W_1||_op^2 <= beta_1^2 (sqrt n_0 + sqrt n_1)^2
# <= 4 beta_1^2 max(n_0, n_1) = 4 S_1 (Davidson-Szarek, up to fluctuations of lower order).
C_BOUND = 4.0
# (36) holds w.p. 1 - sum_l exp(-Omega(n_l)) and these nets have layers of width 4 (pyramid m = 4, bottleneck n_2 = 4):
# a fixed constant is exceeded with a small probability. Measured: estimate^2 / S_k > 4 in about 0.07% of pyramid nets
# (one net of 84 at 1.004 x the bound, base seed 10 of 24 at full, failed the every-net rule). We declare the failure
# probability at most 1% and FAIL when the data reject that (Clopper-Pearson): from 5 nets of 84 (full) or 4 of 48
# (smoke) over the bound; a true rate of 1e-3 gets there with probability < 1e-6, a bound missed by 14% (full) or 21%
# (smoke) of nets is caught, and a missing power of a width (every large net over the bound) fails outright.
# C_BOUND and COVERAGE were set after that failure; re-justified on the tuning seeds 1000-1099 (smoke grid,
# `ntkcheck calibrate --first-seed 1000 --seeds 100`, 11,200 nets): estimate^2 > 4 S_k in 1 of 3200 bottleneck nets
# (C = 5.18: its n_2 = 4 makes exp(-Omega(n_2)) no small probability), 0 of 4800 pyramid, 0 of 3200 wide-first-layer
# nets (largest C there 2.32, 2.20). The declared failure probability 1% is 4x the 99% Clopper-Pearson upper bound
# (0.23%) of the worst family's rate; every check passed under 100/100 tuning seeds. C_BOUND = 4 itself is derived
# (Davidson-Szarek, below); at k = 1 on square layers it is exceeded w.p. ~0.15 (test_k1_operator_norm_against_bound_36).
COVERAGE = 0.99
# (36) must not be outgrown: the slope of log(estimate^2 / S_k) must lie in [MAX_DECAY, MAX_GROWTH]. 0.5 leaves
# room for the seed scatter of a lower estimate, yet is half of one missing power of a width; a decay down to
# -2 is allowed because an upper bound may be loose (the pyramid measures about -1.2).
MAX_GROWTH, MAX_DECAY = 0.5, -2.0
# Negative control: log(estimate^2 / S_k) detrended to the slope MAX_GROWTH + CONTROL_EXCESS (one power of the swept
# width beyond the allowed growth), its scatter kept: the growth check must reject it. Not S_k / width^2: the pyramid
# ratio decays like m^-1.1..-1.3, which left that control within 0.2 of MAX_GROWTH, undecided at 2 of 20 seeds.
CONTROL_EXCESS = 1.0


def _grid_slope(x, y) -> float:
    """Least-squares slope of log y against log x (exact values: no interval needed)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _measure(claim, family, k=K, families=None):
    """(x, estimate^2, S_k, naive^2) over the grid, (G, T) each."""
    widths_of, _ = (families or FAMILIES)[family]
    x = np.array(claim.pick(GRID)[family], dtype=float)
    trials, search = claim.pick(TRIALS), claim.pick(SEARCH)
    estimate, scale, naive = (np.empty((x.size, trials)) for _ in range(3))
    for i, width in enumerate(x.astype(int)):
        widths = widths_of(int(width))
        for t in range(trials):
            net = ReLUNet(widths, init="he", seed=claim.seed_for(family, int(width), t))
            estimate[i, t] = lipschitz_lower_estimate(net, k, seed=claim.seed_for("search", family, int(width), t),
                                                      **search).value ** 2
            scale[i, t] = squared_lipschitz_bound_scale(net.widths, net.betas, k)
            naive[i, t] = naive_lipschitz_bound(net, k) ** 2
    return x, estimate, scale, naive


def _growth(x, ratio, name, reason):
    return checks.scaling(x, ratio, expected=(MAX_GROWTH + MAX_DECAY) / 2, tol=(MAX_GROWTH - MAX_DECAY) / 2,
                          name=name, reason=reason)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_lipschitz_estimate_against_bound_36(claim, family):
    x, estimate, scale, naive = _measure(claim, family)
    swept = FAMILIES[family][1]
    ratio = estimate / scale
    constant = float(ratio.max())
    fit = stats.fit_log_slopes(np.log(x)[:, None], np.log(estimate))
    exponents = {"estimate_slope": float(fit.slopes[0]), "estimate_slope_interval": [float(fit.lower[0]),
                                                                                       float(fit.upper[0])],
                 "scale36_slope": _grid_slope(x, scale[:, 0]), "naive_slope": _grid_slope(x, naive.mean(axis=1)),
                 "C": constant}
    rec = checks.inequality(C_BOUND * scale, estimate, coverage=COVERAGE,
                            name=f"{family}: estimate^2 <= {C_BOUND:g} S_k(36) w.p. >= {COVERAGE:g}",
                            reason="C_BOUND: the k = 1 constant of the Gaussian operator norm (Davidson-Szarek); "
                                   "COVERAGE: (36) holds w.h.p., widths down to 4")
    claim.record(rec.replace(numbers={**rec.numbers, **exponents}))
    growth = _growth(x, ratio, name=f"{family}: estimate^2 / S_k(36) does not grow with {swept}",
                     reason=f"slope window [{MAX_DECAY:g}, {MAX_GROWTH:g}]: an upper bound may be loose, not outgrown")
    claim.record(growth.replace(numbers={**growth.numbers, **exponents}))
    rec = checks.inequality(naive, estimate, rtol=1e-12,
                            name=f"{family}: naive bound prod ||W_l||_op^2 >= estimate^2",
                            reason="submultiplicativity (a true bound); 1e-12 absorbs rounding")
    claim.record(rec.replace(numbers={**rec.numbers, **exponents}))
    outgrown = ratio * x[:, None] ** (MAX_GROWTH + CONTROL_EXCESS - growth.numbers["slope"])
    control = _growth(x, outgrown, name="negative control", reason="a ratio outgrowing the window")
    assert control.verdict is Verdict.FAIL, control.message  # the growth check can fail


# --- k = 1, where ||g_1||_Lip = ||W_1||_op exactly (inventory rows 6.2, 6.13; gaps C9, C11) ---------------------------
# (36) at k = 1 is beta_1^2 max(d, n_1): ||W_1||_op^2 / (36) is the squared Davidson-Szarek ratio, whose mean is
# below (1 + sqrt(min/max))^2 <= 4 (the derivation of C_BOUND). Non-square shapes: the first layers of the families
# (d = 4) and d = 64 with n_1 >= 4 d; measured on tuning draws (numpy seed 1000, 2000-20000 per shape): P(ratio > 4)
# = 1e-4 at 4 x 16, 0 elsewhere (max 2.45 at 64 x 256).
K1_SHAPES = ((4, 16), (4, 64), (4, 256), (4, 1024), (64, 256), (64, 1024))
K1_DRAWS = {"smoke": 20, "full": 100, "paper": 400}
# Square shapes: the mean ratio tends to 4 from below and the largest singular value fluctuates on the Tracy-Widom
# scale around it, so C_BOUND = 4 is exceeded with a probability that does not vanish: measured (tuning seed 1000)
# 11% at 16 x 16 (max 5.8), 13% at 64 x 64 (max 4.7); P(TW_1 > 0) = 0.17 in the limit. A finding: the O-constant
# of (36) at k = 1 is 4 (1 + o(1)) at best, not 4, for square first layers; the suite's k = 3 families have no
# square layer pair at k = 1 and their measured C is <= 1.25.
SQUARE = 64
SQUARE_DRAWS = {"smoke": 200, "full": 1000, "paper": 4000}
SQUARE_P = 0.05  # "exceeded w.p. >= 5%": PASS when the Clopper-Pearson lower end is >= 0.05 - SQUARE_TOL
SQUARE_TOL = 0.03


def _k1_ratio(n_in, n_out, seed):
    net = ReLUNet((n_in, n_out, 1), init="he", seed=seed)
    return naive_lipschitz_bound(net, 1) ** 2 / squared_lipschitz_bound_scale(net.widths, net.betas, 1)


def test_k1_operator_norm_against_bound_36(claim):
    """Theorem 6.2 at its k = 1 end, exactly: ||W_1||_op^2 <= C_BOUND beta_1^2 max(d, n_1) w.p. >= COVERAGE on
    non-square shapes, and the finding that C_BOUND is exceeded with non-vanishing probability on square ones."""
    draws = claim.pick(K1_DRAWS)
    ratios = np.array([[_k1_ratio(m, n, claim.seed_for("k1", m, n, t)) for t in range(draws)] for m, n in K1_SHAPES])
    claim.record(checks.inequality(np.full(ratios.size, C_BOUND), ratios.ravel(), coverage=COVERAGE,
                                   name=f"k=1: ||W_1||_op^2 <= {C_BOUND:g} beta_1^2 max(d, n_1) w.p. >= {COVERAGE:g} "
                                        f"(shapes {', '.join(f'{m}x{n}' for m, n in K1_SHAPES)}; max {ratios.max():.3g})",
                                   reason="exact ||g_1||_Lip; C_BOUND: (1 + sqrt(min/max))^2 <= 4 (Davidson-Szarek)"))
    square = np.array([_k1_ratio(SQUARE, SQUARE, claim.seed_for("square", t)) for t in range(claim.pick(SQUARE_DRAWS))])
    exceeded = int(np.count_nonzero(square > C_BOUND))
    claim.record(checks.probability(exceeded, square.size, p=SQUARE_P, tol=SQUARE_TOL,
                                    name=f"k=1, {SQUARE}x{SQUARE}: ||W_1||_op^2 > {C_BOUND:g} (36) in "
                                         f"{exceeded}/{square.size} draws (mean ratio {square.mean():.3g}): the "
                                         "k = 1 constant is 4 (1 + o(1)), not 4 (finding)",
                                    reason="Tracy-Widom fluctuations around the Davidson-Szarek mean 4"))


# Davidson-Szarek per layer (row 6.2): ||W||_op / (beta max(sqrt m, sqrt n)) -> 1 + sqrt(min/max) in [1, 2]
# (Bai-Yin), checked against that limit: ratio / (1 + sqrt(min/max)) in DS_BAND without drift in the size; shapes
# n x n, n x 4n, 4n x n for n in DS_SIZES. Band derived: Gordon's sqrt(max) <= E ||G|| <= sqrt m + sqrt n and Gaussian
# concentration of the 1-Lipschitz ||G|| (P(| ||G|| - E | > t) <= 2 e^{-t^2/2}; t = 5: 7.5e-6 per draw) give
# [(sqrt max - 5) / (sqrt m + sqrt n), 1 + 5 / (sqrt m + sqrt n)], widest at the smallest shapes: 64 x 64 (lower
# 0.19) and 64 x 16 (upper 1.42). (At n = 16 the lower end is vacuous, and 16 x 4 draws reached 0.72 at full.)
DS_SIZES = {"smoke": (64, 128, 256), "full": (64, 128, 256, 512), "paper": (64, 128, 256, 512, 1024)}
DS_ASPECTS = (0.25, 1.0, 4.0)
DS_DRAWS = {"smoke": 6, "full": 20, "paper": 50}
DS_BAND = (0.18, 1.42)
DS_DRIFT_TOL = 0.15  # Theta: a missing sqrt of a width (exponent 0.5) is excluded


def test_davidson_szarek_scale_of_the_naive_bound(claim):
    """Section 6: prod_l ||W_l||_op scales as prod_l beta_l max(sqrt n_{l-1}, sqrt n_l), layer by layer."""
    sizes, draws = claim.pick(DS_SIZES), claim.pick(DS_DRAWS)
    grid = [(n, a) for a in DS_ASPECTS for n in sizes]
    ratios = np.empty((len(grid), draws))
    for i, (n, aspect) in enumerate(grid):
        m = max(1, int(round(n * aspect)))
        rng = np.random.default_rng(claim.seed_for("ds", n, aspect))
        for t in range(draws):
            ratios[i, t] = (np.linalg.norm(rng.standard_normal((n, m)), 2) / max(math.sqrt(n), math.sqrt(m))
                            / (1 + math.sqrt(min(n, m) / max(n, m))))
    claim.record(checks.band({"n": [g[0] for g in grid], "aspect": [g[1] for g in grid]}, ratios, band=DS_BAND,
                             drift_tol=DS_DRIFT_TOL,
                             name="||W_l||_op / (beta_l max(sqrt n_(l-1), sqrt n_l) (1 + sqrt(min/max))) in [0.18, 1.42] "
                                  f"(Davidson-Szarek; limit 1, measured {ratios.min():.3g}-{ratios.max():.3g})",
                             reason="Gordon's bounds on E and Gaussian concentration (t = 5); Theta in n and aspect"))
    control = checks.band({"n": [g[0] for g in grid], "aspect": [g[1] for g in grid]},
                          ratios * np.array([[math.sqrt(g[0])] for g in grid]), band=(DS_BAND[0], 1e9),
                          drift_tol=DS_DRIFT_TOL, name="negative control", reason="a scale missing sqrt(n)")
    assert control.verdict is Verdict.FAIL, control.message


# Intro bullet 2 (row 1.25; F8): "(36) is tighter than the product of operator norms". For non-increasing widths
# d >= n_1 >= ... >= n_k, S(36) / (the Davidson-Szarek scale of the naive bound squared) = prod_{l=1}^{k-1} log n_l
# exactly, so (36) is looser there; it is tighter only with a layer narrower than its neighbours.
NON_INCREASING = ((4096, 1024, 256, 64), (256, 256, 256, 256), (64, 32, 16, 8, 4), (1024, 1024, 8))
NARROW_BETWEEN = ((4, 64, 4, 64), (4, 128, 8, 8))


def _naive_scale(widths, betas, k):
    return math.prod(b ** 2 * max(widths[l - 1], widths[l]) for l, b in zip(range(1, k + 1), betas))


def test_36_against_the_naive_scale(claim):
    """(36) vs the naive bound's scale: the ratio is prod log n_l (identity) for non-increasing widths; below 1 only
    with a narrow layer between wider ones (finding about the introduction's "tighter")."""
    computed, reference = [], []
    for widths in NON_INCREASING:
        k = len(widths) - 1
        betas = [math.sqrt(2.0 / n) for n in widths[:-1]]
        computed.append(squared_lipschitz_bound_scale(widths, betas, k) / _naive_scale(widths, betas, k))
        reference.append(math.prod(math.log(n) for n in widths[1:k]))
    claim.record(checks.identity(np.array(computed), np.array(reference), rtol=1e-12,
                                 name="non-increasing widths: S(36) / naive scale = prod_{l=1}^{k-1} log n_l ("
                                      + ", ".join(f"{c:.3g}" for c in computed) + "): (36) is looser (finding)",
                                 reason="algebra of the two products; rounding"))
    tighter = []
    for widths in NARROW_BETWEEN:
        k = len(widths) - 1
        betas = [math.sqrt(2.0 / n) for n in widths[:-1]]
        tighter.append(squared_lipschitz_bound_scale(widths, betas, k) / _naive_scale(widths, betas, k))
    claim.record(checks.inequality(np.ones(len(tighter)), np.array(tighter),
                                   name="a narrow layer between wider ones: S(36) < naive scale ("
                                        + ", ".join(f"{w}: {t:.2g}" for w, t in zip(NARROW_BETWEEN, tighter)) + ")",
                                   reason="instances where the introduction's 'tighter' holds"))
    control = checks.identity(np.array(computed), np.ones(len(computed)), rtol=1e-12, name="negative control",
                              reason="the two scales are not equal")
    assert control.verdict is Verdict.FAIL, control.message


# k = 2 (row 6.13's range k in [L-1] at its other interior value; full profile only): the three families cut at L = 3.
K2_FAMILIES = {
    "wide first layer": (lambda n: (D, n, 8, 1), "n_1"),
    "pyramid": (lambda m: (D, 4 * m, 2 * m, 1), "m = n_2 / 2"),
    "bottleneck": (lambda n: (D, n, 4, 1), "n = n_1"),
}


@pytest.mark.parametrize("family", list(K2_FAMILIES))
def test_lipschitz_estimate_at_k2(claim, family):
    """Theorem 6.2 at k = 2 (L = 3): estimate^2 <= C_BOUND S_2(36) w.p. >= COVERAGE, and no growth against (36)."""
    if claim.profile == "smoke":
        pytest.skip("k = 2 runs in the full profile")
    x, estimate, scale, _ = _measure(claim, family, k=2, families=K2_FAMILIES)
    ratio = estimate / scale
    claim.record(checks.inequality(C_BOUND * scale, estimate, coverage=COVERAGE,
                                   name=f"k=2, {family}: estimate^2 <= {C_BOUND:g} S_2(36) w.p. >= {COVERAGE:g} "
                                        f"(C = {ratio.max():.3g})",
                                   reason="as for k = 3 (C_BOUND, COVERAGE)"))
    claim.record(_growth(x, ratio, name=f"k=2, {family}: estimate^2 / S_2(36) does not grow with "
                                        f"{K2_FAMILIES[family][1]}",
                         reason=f"slope window [{MAX_DECAY:g}, {MAX_GROWTH:g}]"))
