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
"""
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
TRIALS = {"smoke": 8, "full": 12}  # weight draws per grid point: the slope intervals come from their scatter
SEARCH = {"smoke": {"starts": 4, "steps": 4}, "full": {"starts": 6, "steps": 6}}  # per net; see lipschitz.py
# O(.) hides a constant; we allow the one of the k = 1 case: ||W_1||_op^2 <= beta_1^2 (sqrt n_0 + sqrt n_1)^2
# <= 4 beta_1^2 max(n_0, n_1) = 4 S_1 (Davidson-Szarek, up to fluctuations of lower order).
C_BOUND = 4.0
# (36) holds w.p. 1 - sum_l exp(-Omega(n_l)) and these nets have layers of width 4 (pyramid m = 4, bottleneck n_2 = 4):
# a fixed constant is exceeded with a small probability. Measured: estimate^2 / S_k > 4 in about 0.07% of pyramid nets
# (one net of 84 at 1.004 x the bound, base seed 10 of 24 at full, failed the every-net rule). We declare the failure
# probability at most 1% and FAIL when the data reject that (Clopper-Pearson): from 5 nets of 84 (full) or 4 of 48
# (smoke) over the bound; a true rate of 1e-3 gets there with probability < 1e-6, a bound missed by 14% (full) or 21%
# (smoke) of nets is caught, and a missing power of a width (every large net over the bound) fails outright.
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


def _measure(claim, family):
    """(x, estimate^2, S_k, naive^2) over the grid, (G, T) each."""
    widths_of, _ = FAMILIES[family]
    x = np.array(claim.pick(GRID)[family], dtype=float)
    trials, search = claim.pick(TRIALS), claim.pick(SEARCH)
    estimate, scale, naive = (np.empty((x.size, trials)) for _ in range(3))
    for i, width in enumerate(x.astype(int)):
        widths = widths_of(int(width))
        for t in range(trials):
            net = ReLUNet(widths, init="he", seed=claim.seed_for(family, int(width), t))
            estimate[i, t] = lipschitz_lower_estimate(net, K, seed=claim.seed_for("search", family, int(width), t),
                                                      **search).value ** 2
            scale[i, t] = squared_lipschitz_bound_scale(net.widths, net.betas, K)
            naive[i, t] = naive_lipschitz_bound(net, K) ** 2
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
