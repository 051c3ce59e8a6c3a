"""Theorem 4.1 (Finite-width scaling of NTK eigenvalue) and Figure 2 (right): with one wide layer n_k =
Omega(N log N log(N/delta)) and no exponential bottleneck before it, lambda_min(Kbar^(L)) is bounded below by (20) and
above by (22), both of the order (23) = d prod_{l=1}^{L-1} n_l prod_{l=1}^L beta_l^2 / min_l beta_l^2 when
beta_{k+1} = min_l beta_l (He or LeCun init with the wide layer the widest). Figure 2 (right): He init, L = 3,
n_1 = 8N, fixed (d, n_2): "lambda_min(Kbar) scales linearly in the width of the wide layer (and hence linearly in N)".

What is checked (Kbar from the structured NTK, whose decomposition is checked against autograd in
test_sec4_1_jjt_decomposition.py):
  * Figure 2 (right) as printed, three fixed (d, n_2): the slope of log lambda_min against log N is not 1 but about
    0.3-0.6 over N = 32..512 (erratum below). Why: at fixed d the probability (21) needs min(d, n_l) >> N^(2/(r-0.1)),
    which fails as N grows, and lambda_min then tracks the smallest eigenvalue of the data's kernel, which keeps
    falling (the degree-r Khatri-Rao powers of X lose rank as N passes d, d^2/2, ...).
  * The corrected regime, where the premises hold at every N (d = N grows with N, n_2 = 256 >> log N): slope 1.
  * Theorem 4.1 on six architecture families (d = 2N, He; the wide layer 8N first, in the middle, last hidden; a
    bottleneck N before / after it; L = 3 and 4; n_k = 8N and 16N; the other layers 2N: the shape is fixed as N
    grows), all in one measurement per net (test_theorem_4_1_on_architecture_families):
      - Theta((23)) in N with a drift fit (tolerance 0.15, excluding the exponents 0.7 and 1.3 against (23)). As
        printed (lambda_min / (23)) for the L = 3 families; for L = 4 the ratio still rises over N <= 1024
        (drift 0.2-0.27, a finding, docs/claims_sec4.md) and the check divides out the one factor that carries
        the rise: min_i ||(B_{k+1})_i||^2 / mean_i ||(B_{k+1})_i||^2, the N-point minimum of Lemma 4.3's norm that
        the Schur step (24) uses (it tends to 1 like 1 - O(sqrt(log N / n)); the Schur slack lambda_min / (24) and
        Theorem 5.1's ratio are flat).
      - (20) as printed, term by term: xi_k of (18)-(19) at finite size (constants in claims/_sec4_theorem.py; the
        xi do not change for C18 in [1/24, 1/10]), every term for r = 2, 4, 6 and the lambda_min(X X^T) term;
        lambda_min / (sum of (20)'s terms) as a band with a drift check in N, the share of the wide layer's term
        (it leads at r = 2; the lambda_min(X X^T) term leads at r = 4, 6 when d = 2N), and the per-layer
        lambda_min of Kbar's own terms next to them (the wide layer's NTK term carries lambda_min).
      - (21) as a probability: the fraction of nets for which (20) holds with the constant fixed below, against
        1 - delta - N sum_l exp(-n_l ln 2) - N exp(-d (ln 2 - 1/2)/2) (the terms with a computable constant).
      - the upper bound (22) with constant 1.
  * A regime map (d/N, n_k/N, fixed bottlenecks, fixed small and large d, sublinear and poly-log layers, two wide
    layers, no wide layer; test_regime_map_of_section_4, full and paper): lambda_min / (23) and its drift per cell
    with the premises it meets. Inside the premises the lower side of Theta holds everywhere, but the constant has
    not settled at N <= 512 in several cells (a finding); outside them (fixed d, a fixed layer before the wide one)
    the ratio decays as (21) predicts; without a wide layer but with P >> N it does not collapse.
  * Data with a mean (||m||^2 = d) and GAN-like (non-Gaussian) data (test_theta_23_for_other_data_laws, full and
    paper).
  * Negative controls: a family whose scaling differs from (23) (L = 2, d = 16 fixed: the premise of (21) fails,
    lambda_min / (23) ~ N^-1) must FAIL the drift check; every n_l << N and P < N: rank(Kbar) <= P < N, so
    lambda_min / (23) collapses (premise not met: a result, not a failure).
  * The suite's wide layers are 8N and 16N, Theta(N) but outside (18) asymptotically (N log N log(N/0.1) = 35N at
    N = 128): the family "n_k = N log N log(N/delta) / 8" of the regime map is inside it.
"""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

from . import _sec4_theorem as t4
from ._sec4_theorem import scale_23

pytestmark = pytest.mark.claim("Theorem 4.1")

WIDE_FACTOR = 8  # n_k = 8N, as in Figure 2 (right)
FIG2_N = {"smoke": (32, 64, 128, 256), "full": (32, 64, 128, 256, 512), "paper": (32, 64, 128, 256, 512, 1024)}
FIG2_CURVES = ((16, 64), (64, 64), (256, 128))  # (d, n_2) of the three fixed curves; the paper does not print its own
# Enough trials that the printed form decides at smoke: with 4, d = 64 was INCONCLUSIVE (not FAIL) under base seed 0
# and 5 of the 20 tuning seeds 1000-1019; with 10 the three curves FAIL under all 20 (largest upper end 0.74 < 0.85),
# for about 1 s more per run.
FIG2_TRIALS = {"smoke": 10, "full": 10, "paper": 50}  # paper: the 50 Monte Carlo trials of Figure 2
SLOPE_TOL = 0.15  # claimed exponent 1, told apart from 0.7 or 1.3 (the fixed-d curves measure 0.3-0.6)
CORRECTED_N = {"smoke": (64, 128, 256), "full": (64, 128, 256, 512), "paper": (64, 128, 256, 512, 1024)}  # d = N >= 64: below, small-d effects bend it
CORRECTED_TRIALS = {"smoke": 12, "full": 16, "paper": 50}  # log lambda_min has sd ~0.1 here
CORRECTED_N2 = 256  # fixed, >> log N: keeps min_i ||B_2 row||^2 from adding noise (sd 0.3 at n_2 = 64)
# Measured slopes over N = 64..512, 8 trials: d = N, n_2 = 256: 0.98; d = 2N: 0.90 (local slopes rising 0.86 -> 0.97);
# d = N/2: 1.09; d = N, n_2 = 2N: 1.11. The Theta constant drifts by ~+-0.1 per doubling before it settles.

# Theorem 4.1 on architecture families. d = 2N and the non-wide layers 2N (the bottleneck N): with d = N and layers
# N/2, N/4 the constant still rose by N^0.25 [0.19, 0.32] pooled over N = 128..1024 (tuning seeds 1000-1003), most of
# it from the N-point minima of row norms through the narrow layers; the shape is ours to pick (the theorem allows
# any), and the regime map shows the narrower shapes. FAMILIES: name -> (d / N, hidden widths / N, L = 3 flag).
FAMILIES = {
    "L=3 wide first": (2, (8, 2)),
    "L=3 wide last hidden": (2, (2, 8)),
    "L=3 wide first 16N": (2, (16, 2)),
    "L=4 wide middle": (2, (2, 8, 2)),
    "L=4 bottleneck before": (2, (1, 8, 2)),
    "L=4 bottleneck after": (2, (8, 1, 2)),
}
# N grid: >= 8x at full (the drift fit reaches N = 1024, ~5-14 s per net there on one core); smoke 4x.
FAMILY_N = {"smoke": (64, 128, 256), "full": (128, 256, 512, 1024), "paper": (128, 256, 512, 1024, 2048)}
FAMILY_TRIALS = {"smoke": 4, "full": 3, "paper": 6}  # trials per family and N (each the geometric mean of N_max / N
# independent draws, see _draws)
SMOKE_SKIPS = ("L=3 wide first 16N", "L=4 bottleneck before")  # the costliest and a near copy: full and paper only
DRIFT_TOL = 0.15  # Theta in N: excludes lambda_min growing like N^0.7 or N^1.3 against (23) (drift -+0.3)
BAND_23 = (0.005, 1.0)  # Theta constants unknown: measured 0.041-0.16 on the families (tuning seeds 1000-1003);
# the upper end 1 is above the Rayleigh ceiling min_i Kbar_ii / (23) ~ 2^-(L-1) (22) / (23) <= 0.25 of these nets
# (20) / (lambda_min / sum of its terms with Omega constants 1): lower edge = the Omega constant we fix (the (21)
# check counts the nets above it), upper edge = tightness. Measured 0.60-1.6 (r = 2), 2.0-7.0 (r = 4), 2.5-9.4 (r = 6)
# at d = 2N, N = 64..256 (tuning seeds 1000-1001).
BAND_20 = {2: (1 / 16, 16.0), 4: (1 / 4, 64.0), 6: (1 / 4, 64.0)}
# The wide layer's own NTK term (F_k F_k^T) o (B_{k+1} B_{k+1}^T) carries lambda_min: lambda_min(term) / lambda_min(Kbar)
# measured 0.17-0.78 (tuning seeds 1000-1001); a layer that did not carry it would be ~0. Floor 1/16.
LAYER_SHARE_FLOOR = 1 / 16
# Share of the wide layer's term in (20) at r = 2: measured 0.77-0.87 (d = 2N: lambda_min(X X^T) ~ 0.086 d).
LEADING_SHARE_FLOOR = 0.5
P21_TOL = 0.05  # a PASS of "w.p. >= 1 - delta - ..." affordable with ~36 nets (34 needed at p = 0.9)
UPPER_22_CONSTANT = 1.0  # lambda_min <= min_i Kbar_ii ~ 2^-(L-1) (22) on average: measured max 0.14 (22)
TINY_WIDTHS = (8, 6, 6, 1)  # negative control: P = 48 + 36 + 6 = 90 < N
TINY_N = 128
TINY_TRIALS = {"smoke": 3, "full": 10}
COLLAPSE = 1e-10  # lambda_min / (23) below this is rank deficiency (rounding ~1e-15), not a small constant
CONTROL_N = {"smoke": (64, 128, 256, 512), "full": (128, 256, 512, 1024)}  # L = 2, d = 16 nets are cheap
CONTROL_D = 16  # the negative control's fixed input dimension (Figure 2 (right)'s smallest d)
# Nets per N of the negative control. It first used FAMILY_TRIALS (3 at full): its drift interval then stayed above
# -0.15 under 3 of the 24 fresh full-profile calibration seeds 2200-2223; 8 at full (the nets are cheap: L = 2).
CONTROL_TRIALS = {"smoke": 4, "full": 8, "paper": 8}
LECUN_RTOL = 1e-10  # LeCun = He / sqrt 2 in every layer: Kbar and (23) scale by 2^-(L-1), the ratio is unchanged


def _lambda_min(widths, init, X, seed):
    net = nc.ReLUNet(widths, init=init, seed=seed)
    return nc.lambda_min(nc.empirical_ntk(net, X)), net


def _slope_in_n(claim, ns, d_of_n, n2, trials, name):
    """Scaling check of lambda_min(Kbar) against N (exponent 1), He init, widths (d(N), 8N, n2, 1), N in ``ns``."""
    values = np.empty((len(ns), trials))
    for g, n in enumerate(ns):
        d = d_of_n(n)
        for t in range(trials):
            X = nc.sample_data("gaussian", n=n, d=d, seed=claim.seed_for("data", n, d, t))
            values[g, t] = _lambda_min((d, WIDE_FACTOR * n, n2, 1), "he", X, claim.seed_for("net", n, d, n2, t))[0]
    return checks.scaling(x=ns, y=values, expected=1.0, tol=SLOPE_TOL, name=name, reason="see SLOPE_TOL")


@pytest.mark.erratum("Figure 2 (right) shows lambda_min(Kbar) linear in N at fixed (d, n_2) (He, L = 3, n_1 = 8N); "
                     "measured over N = 32..512: the slope stays well below 1 (the record carries it and its interval); "
                     "linear when d grows with N (test_lambda_min_linear_in_n_when_d_grows_with_n)")
@pytest.mark.parametrize("d, n2", FIG2_CURVES, ids=[f"d{d}-n2_{n2}" for d, n2 in FIG2_CURVES])
def test_figure2_right_linear_in_n_at_fixed_d(claim, d, n2):
    claim.record(_slope_in_n(claim, claim.pick(FIG2_N), lambda n: d, n2, claim.pick(FIG2_TRIALS),
                             f"Figure 2 (right) as printed: lambda_min(Kbar) vs N, d = {d}, n_2 = {n2}"))


def test_lambda_min_linear_in_n_when_d_grows_with_n(claim):
    """The regime where (18)-(21) hold at every N of the grid: d = N, n_1 = 8N, n_2 = 256."""
    claim.record(_slope_in_n(claim, claim.pick(CORRECTED_N), lambda n: n, CORRECTED_N2, claim.pick(CORRECTED_TRIALS),
                             f"lambda_min(Kbar) vs N, d = N, n_1 = 8N, n_2 = {CORRECTED_N2}"))


def family_widths(name, n):
    d_mult, hidden = FAMILIES[name]
    return (d_mult * n,) + tuple(int(m * n) for m in hidden) + (1,)


def _draws(n, ns):
    """Independent draws averaged (geometric mean) into one trial at N: N_max / N, so that the cheap small-N points,
    whose log-ratio sd is 2-4x that at N_max, do not dominate the drift interval; the mean of log ratio, the target of
    the drift fit, is unchanged (the band part then sees per-trial geometric means)."""
    return max(1, max(ns) // n)


def _measure_families(claim, names, ns, trials, law="gaussian", mean=None, key="family"):
    """{name: [[[Measurement per draw] per trial] per N]} for He nets of the families on i.i.d. data of ``law``."""
    out = {}
    for name in names:
        out[name] = []
        for n in ns:
            widths = family_widths(name, n)
            rows = []
            for t in range(trials):
                draws = []
                for j in range(_draws(n, ns)):
                    X = nc.sample_data(law, n=n, d=widths[0], seed=claim.seed_for(key, "data", name, n, t, j),
                                       mean=mean)
                    draws.append(t4.measure(widths, X, seed=claim.seed_for(key, "net", name, n, t, j)))
                rows.append(draws)
            out[name].append(rows)
    return out


def _pooled(measured, names, ns, value):
    """params {"N": ...} and the (G, T) values (geometric mean over the draws of a trial) over the families ``names``
    x ``ns``: a balanced design, every family at every N, so that the family constants cancel from the drift in N."""
    params = {"N": np.array([float(n) for _ in names for n in ns])}
    return params, np.array([[np.exp(np.mean(np.log([value(m) for m in draws]))) for draws in row]
                             for name in names for row in measured[name]])


def _nets(measured):
    return [m for rows in measured.values() for row in rows for draws in row for m in draws]


def _theta23_records(measured, ns, label, finding=True):
    """The drift-checked Theta((23)) in N (with Lemma 4.3's N-point factor), then the finding that the ratio as
    printed rises (its drift interval lies above 0)."""
    names = list(measured)
    params, ratios = _pooled(measured, names, ns, lambda m: m.ratio23 / m.point_factor())
    yield checks.band(params, ratios, band=BAND_23, drift_tol=DRIFT_TOL,
                      name=f"Theta((23)) in N: lambda_min(Kbar) / ((23) x min_i |B_k+1,i|^2 / mean_i |B_k+1,i|^2), "
                           f"{len(names)} families{label}",
                      reason="BAND_23: unknown Theta constants; DRIFT_TOL excludes N^0.7, N^1.3 against (23); the "
                             "N-point factor of Lemma 4.3 (-> 1) carries the rise of the printed ratio")
    if not finding:
        return
    params, ratios = _pooled(measured, names, ns, lambda m: m.ratio23)
    raw = checks.band(params, ratios, band=BAND_23, drift_tol=DRIFT_TOL, name="raw", reason="raw")
    drift = raw.numbers["drift"]["N"]
    yield checks.inequality(drift["lower"], 0.0,
                            name=f"finding: lambda_min(Kbar) / (23) as printed rises in N, drift "
                                 f"{drift['slope']:.3g} [{drift['lower']:.3g}, {drift['upper']:.3g}] (> 0: the "
                                 f"constant approaches from below), {len(names)} families{label}",
                            reason="the lower end of the drift interval of the printed ratio must be >= 0")


def test_theorem_4_1_on_architecture_families(claim):
    """Theorem 4.1 on the FAMILIES, one measurement per net: Theta((23)) in N (drift), (20) term by term for
    r = 2, 4, 6 (band with drift, shares, per-layer lambda_min), (21) as a probability, (22), the xi_k."""
    ns, trials = claim.pick(FAMILY_N), claim.pick(FAMILY_TRIALS)
    names = [name for name in FAMILIES if claim.profile != "smoke" or name not in SMOKE_SKIPS]
    measured = _measure_families(claim, names, ns, trials)
    # the printed ratio's rise (drift ~0.1 +- 0.1 at N <= 256) is resolved from the full profile on
    for rec in _theta23_records(measured, ns, "", finding=claim.profile != "smoke"):
        claim.record(rec)
    nets = _nets(measured)
    for r in t4.R_VALUES:
        params, ratios = _pooled(measured, names, ns, lambda m: m.lam / m.terms20_at_n_points(r).sum())
        claim.record(checks.band(params, ratios, band=BAND_20[r], drift_tol=DRIFT_TOL,
                                 name=f"(20), r = {r}: lambda_min(Kbar) / (sum of (20)'s terms x their N-point "
                                      f"factors, Omega constants 1), {len(names)} families",
                                 reason="BAND_20: the Omega constant (lower) and tightness (upper); DRIFT_TOL"))
    shares = np.array([m.terms20(2)[m.wide] / m.terms20(2).sum() for m in nets])
    claim.record(checks.inequality(shares, LEADING_SHARE_FLOOR,
                                   name="(20), r = 2: share of the wide layer's term (k = wide + 1) in the sum "
                                        f">= {LEADING_SHARE_FLOOR} (the leading term), every family",
                                   reason="LEADING_SHARE_FLOOR: measured 0.77-0.87; at r = 4, 6 the lambda_min(X X^T) "
                                          "term leads (shares in docs/claims_sec4.md)"))
    carried = np.array([m.lam_layers[m.wide] for m in nets])
    claim.record(checks.inequality(carried, LAYER_SHARE_FLOOR * np.array([m.lam for m in nets]),
                                   name="per layer: lambda_min of the wide layer's NTK term (F_k F_k^T) o (B_k+1 "
                                        f"B_k+1^T) >= {LAYER_SHARE_FLOOR:g} lambda_min(Kbar) (the layer of (20)'s "
                                        "leading term carries lambda_min)",
                                   reason="LAYER_SHARE_FLOOR: measured 0.17-0.78 of lambda_min(Kbar)"))
    holds = [m.lam >= BAND_20[2][0] * m.terms20(2).sum() for m in nets]
    target = 1.0 - max(t4.failure_terms_21(m.widths, m.n) for m in nets)
    claim.record(checks.probability(int(np.sum(holds)), len(holds), p=target, tol=P21_TOL,
                                    name=f"(21): P((20) holds with Omega constant {BAND_20[2][0]:g}, r = 2) >= 1 - "
                                         "delta - N sum_l exp(-n_l ln 2) - N exp(-d (ln 2 - 1/2)/2), every family",
                                    reason="the N^2 exp(-Omega(.)) term has no computable constant (see "
                                           "claims/_sec4_theorem.py); P21_TOL makes a PASS affordable"))
    claim.record(checks.inequality(np.array([UPPER_22_CONSTANT * t4.scale_22(m.widths, m.betas) for m in nets]),
                                   np.array([m.lam for m in nets]),
                                   name="(22) with constant 1: lambda_min(Kbar) <= sum_k d prod n_l prod_{l != k} "
                                        "beta_l^2, every family",
                                   reason="no slack: see UPPER_22_CONSTANT"))
    argmin = np.array([int(np.argmin(m.betas)) + 1 for m in nets], dtype=float)
    claim.record(checks.identity(argmin, np.array([m.wide + 1 for m in nets], dtype=float), rtol=0.0,
                                 name="(23)'s premise: argmin_{l in [L]} beta_l = k + 1 for the wide layer k, every "
                                      "net (He: beta_l^2 = 2/n_{l-1}, so the min sits after the widest of n_0..n_{L-1})",
                                 reason="indices: exact"))
    xi = np.array([[t4.xi_indicators(m.widths, m.n, c) for c in (t4.C18,) + t4.C18_ALTERNATIVES]
                   for m in nets if len(m.widths) == len(nets[0].widths)], dtype=float)
    claim.record(checks.identity(xi[:, 1:, :], np.repeat(xi[:, :1, :], len(t4.C18_ALTERNATIVES), axis=1), rtol=0.0,
                                 name="(18)-(19): the xi_k read at finite size are the same for C18 = 1/13, 1/11, "
                                      "1/9.5 (the verdicts above do not hinge on C18 in that window)",
                                 reason="indicators: exact"))


def test_lecun_is_he_rescaled(claim):
    """He and LeCun differ by the factor sqrt 2 in every beta_l: Kbar scales by 2^(L-1), and so does (23)."""
    computed, reference = [], []
    for name in FAMILIES:
        widths = family_widths(name, 64)
        X = nc.sample_data("gaussian", n=64, d=widths[0], seed=claim.seed_for("data", name))
        seed = claim.seed_for("net", name)
        computed.append(t4.measure(widths, X, init="lecun", seed=seed).ratio23)
        reference.append(t4.measure(widths, X, init="he", seed=seed).ratio23)
    claim.record(checks.identity(np.array(computed), np.array(reference), rtol=LECUN_RTOL,
                                 name="LeCun init: lambda_min(Kbar) / (23) equals He's on the same draws, 6 families",
                                 reason="positive homogeneity: rounding only"))


# Data laws of Assumptions 2.1-2.2 beyond the zero-mean Gaussian: a mean of the order of the noise (every coordinate
# shifted by 1: ||m||^2 = d = E||x - m||^2) and the "GAN-like" law (a Lipschitz map of a Gaussian: non-Gaussian,
# ntkcheck.data). Full and paper profiles only (the smoke budget holds the Gaussian families).
DATA_LAWS = {"mean 1 (||m||^2 = d)": ("gaussian", 1.0), "gan": ("gan", None)}
LAW_N = {"smoke": (64, 128, 256), "full": (64, 128, 256, 512), "paper": (128, 256, 512, 1024)}
LAW_FAMILIES = ("L=3 wide first", "L=4 wide middle", "L=4 bottleneck after")


@pytest.mark.parametrize("law", list(DATA_LAWS))
def test_theta_23_for_other_data_laws(claim, law):
    """Theorem 4.1 (Theta((23)) in N with the drift check, (20) at r = 2, (21)) on data with a non-zero mean and on
    non-Gaussian data, three families (L = 3 and 4). (23) uses d, not E||x||^2 = 2d of the shifted law: a mean only
    changes the constant."""
    if claim.profile == "smoke":
        pytest.skip("data laws beyond the Gaussian run at the full and paper profiles (smoke budget)")
    distribution, mean = DATA_LAWS[law]
    ns, trials = claim.pick(LAW_N), claim.pick(FAMILY_TRIALS)
    measured = _measure_families(claim, LAW_FAMILIES, ns, trials, law=distribution, mean=mean, key=law)
    for rec in _theta23_records(measured, ns, f", {law} data", finding=False):
        claim.record(rec)
    params, ratios = _pooled(measured, list(LAW_FAMILIES), ns, lambda m: m.lam / m.terms20_at_n_points(2).sum())
    claim.record(checks.band(params, ratios, band=BAND_20[2], drift_tol=DRIFT_TOL,
                             name=f"(20), r = 2: lambda_min(Kbar) / (sum of (20)'s terms x their N-point factors), "
                                  f"{law} data",
                             reason="BAND_20 and DRIFT_TOL as for Gaussian data"))
    nets = _nets(measured)
    holds = [m.lam >= BAND_20[2][0] * m.terms20(2).sum() for m in nets]
    claim.record(checks.probability(int(np.sum(holds)), len(holds), p=1.0 - t4.DELTA, tol=P21_TOL,
                                    name=f"(21): P((20) holds with Omega constant {BAND_20[2][0]:g}, r = 2) >= "
                                         f"1 - delta, {law} data",
                                    reason="the terms of (21) with a constant use Gaussian tails: 1 - delta here"))


# The regime map of Section 4 (full and paper profiles; at smoke N <= 256 cannot resolve a drift of 0.15 per cell).
# Each cell: the widths as a function of N, the premises of Theorem 4.1 it meets asymptotically ((18): a layer of
# order N log N log(N/delta) up to the constant; (19); (21): every n_l and d grow faster than log N, and the layers
# before the wide one, d included, faster than N^(2/(r-0.1)) for some even r), and what the theorem then says:
# "Theta" (lambda_min / (23), with Lemma 4.3's N-point factor, has no drift: a claim check), "outside" (the
# premises fail as N grows, here through (21)'s exponent min_{l<k} n_l / N^(2/(r-0.1)) -> 0 for a fixed d or a fixed
# layer before the wide one: the map records the decay this predicts, a finding), or "counterfactual" (no wide
# layer: does the ratio collapse, as with P < N, or not). Two cells of the tuning run (seed 1000, full) are left out
# as undecided at this budget: a bottleneck of 16 after the wide layer (drift -0.30 [-1.6, 1.0]) and a wide layer of
# only 2N (+0.18 [0.01, 0.35]); docs/claims_sec4.md.
_log2sq = lambda n: int(math.ceil(math.log2(n))) ** 2  # noqa: E731
REGIME_CELLS = {  # name -> (widths(N), premises (18), (19), (21), kind)
    "d = N, wide 8N first": (lambda n: (n, 8 * n, 2 * n, 1), (1, 1, 1), "Theta"),
    "d = 8N, wide 8N first": (lambda n: (8 * n, 8 * n, 2 * n, 1), (1, 1, 1), "Theta"),
    "wide 32N first": (lambda n: (2 * n, 32 * n, 2 * n, 1), (1, 1, 1), "Theta"),
    "wide N log N log(N/delta) / 8 (inside (18))": (
        lambda n: (2 * n, int(n * math.log(n) * math.log(n / t4.DELTA) / 8), 2 * n, 1), (1, 1, 1), "Theta"),
    "two wide layers 8N, 8N": (lambda n: (n, 8 * n, 8 * n, 1), (1, 1, 1), "Theta"),
    "N^0.75 before the wide layer": (lambda n: (2 * n, int(n ** 0.75), 8 * n, 2 * n, 1), (1, 1, 1), "Theta"),
    "N^0.75 after the wide layer": (lambda n: (2 * n, 8 * n, int(n ** 0.75), 2 * n, 1), (1, 1, 1), "Theta"),
    "(log2 N)^2 after the wide layer": (lambda n: (2 * n, 8 * n, _log2sq(n), 2 * n, 1), (1, 1, 1), "Theta"),
    "d = 16 fixed (small), wide 8N": (lambda n: (16, 8 * n, 2 * n, 1), (1, 1, 0), "outside"),
    "bottleneck 16 before the wide layer": (lambda n: (2 * n, 16, 8 * n, 2 * n, 1), (1, 1, 0), "outside"),
    "d = 1024 fixed (large), wide 8N": (lambda n: (1024, 8 * n, 2 * n, 1), (1, 1, 0), "outside"),
    "no wide layer, every n_l = N/4 (P >> N)": (lambda n: (n, n // 4, n // 4, n // 4, 1), (0, 1, 1),
                                                "counterfactual"),
    # d strictly the widest layer (inventory gap B1(a)): under He, min_l beta_l is beta_1, so no k in [L-1] has
    # beta_{k+1} = min and the remark's condition for tightness (below (23)) fails; (20)'s lambda_min(X X^T) term
    # is then d prod n_l prod_{l>=2} beta_l^2 (lambda_min(X X^T) / d -> (1 - sqrt(N/d))^2 = 9/16) = (23) up to a
    # constant, so Theta((23)) still holds if that term is tight. Tuning seed 1000 (4 trials): geometric means
    # 0.12 / 0.16 / 0.21 / 0.22 and 0.17 / 0.22 / 0.30 / 0.34 at N = 64..512 (rising, settling like the families').
    "d = 16N widest, wide 8N first": (lambda n: (16 * n, 8 * n, n // 2, 1), (1, 1, 1), "Theta"),
    "d = 16N widest, no wide hidden layer": (lambda n: (16 * n, n // 2, 1), (0, 1, 1), "counterfactual"),
}
D_WIDEST_CELLS = ("d = 16N widest, wide 8N first", "d = 16N widest, no wide hidden layer")
REGIME_N = {"smoke": (64, 128), "full": (64, 128, 256, 512), "paper": (64, 128, 256, 512, 1024)}
REGIME_TRIALS = {"smoke": 2, "full": 4, "paper": 8}  # at 3 (tuning seed 1000) four Theta cells had drift
# half-widths 0.12-0.5 (INCONCLUSIVE)
COLLAPSE_COUNTERFACTUAL = 1e-3  # "collapse" as in the P < N control (~1e-15), far below the families' >= 0.04
# The counterfactual's floor holds w.h.p., not on every draw: with every n_l = N/4 (16 at N = 64) a point whose ReLUs
# of one layer are all off has lambda_min = 0, probability ~ N sum_l 2^-n_l ~ 2e-3 per net at N = 64 (the failure term
# N sum_l exp(-Omega(n_l)) of (21)). Seen once in the 24 fresh full-profile calibration seeds 2200-2223 (seed 2219).
COUNTERFACTUAL_COVERAGE = 0.99


def _regime_widths(cell, n):
    return REGIME_CELLS[cell][0](n)


def test_regime_map_of_section_4(claim):
    """lambda_min(Kbar) / (23) and its drift in N over the cells of REGIME_CELLS (He, Gaussian data). At N <= 512 the
    drift is not a claim check here: in several cells inside the premises the constant has not settled (drifts of
    -0.16..+0.35 either way, as printed or with the N-point factor; docs/claims_sec4.md), which a finite window
    cannot call a failure of Theta. What each record checks: inside the premises and for the counterfactual, the
    lower side of Theta, lambda_min / (23) >= the families' band edge at every N (a decay below it, or a collapse,
    fails); outside the premises, the decay that (21) predicts (the geometric mean falls from the smallest to the
    largest N; with a layer of 16 before the wide one points die, lambda_min = 0, so no drift is fitted). The
    drift intervals, as printed and with the factor, are in each record's name and numbers (for the table)."""
    if claim.profile == "smoke":
        pytest.skip("the regime map needs N up to 512 to resolve the drift per cell: full and paper profiles")
    ns, trials = claim.pick(REGIME_N), claim.pick(REGIME_TRIALS)
    for cell, (widths_of, premises, kind) in REGIME_CELLS.items():
        nets = [[[t4.measure(_regime_widths(cell, n),
                             nc.sample_data("gaussian", n=n, d=_regime_widths(cell, n)[0],
                                            seed=claim.seed_for("data", cell, n, t, j)),
                             seed=claim.seed_for("net", cell, n, t, j)) for j in range(_draws(n, ns))]
                  for t in range(trials)] for n in ns]
        params = {"N": np.array(ns, dtype=float)}
        mean = lambda value: np.array([[np.exp(np.mean(np.log(np.maximum([value(m) for m in d], 1e-300))))  # noqa
                                        for d in row] for row in nets])
        drifts = {}
        for label_, value in (("printed", lambda m: m.ratio23),
                              ("N-point factor", lambda m: m.ratio23 / max(m.point_factor(), 1e-300))):
            rec = checks.band(params, mean(value), band=BAND_23, drift_tol=DRIFT_TOL, name="map", reason="map")
            drifts[label_] = rec.numbers["drift"].get("N")  # None when a net has lambda_min = 0 (a dead point)
        text = "; ".join(f"drift {k} {v['slope']:.3g} [{v['lower']:.3g}, {v['upper']:.3g}]" if v else
                         f"drift {k} n/a (a net with a dead point: lambda_min = 0)" for k, v in drifts.items())
        flags = ", ".join(f"{p} {'holds' if ok else 'fails'}" for p, ok in zip(("(18)", "(19)", "(21)"), premises))
        ratios = mean(lambda m: m.ratio23)
        gm = "/".join(f"{g:.3g}" for g in np.exp(np.log(np.maximum(ratios, 1e-300)).mean(axis=1)))
        if cell in D_WIDEST_CELLS:  # the term that carries (23) when d is the widest layer: its share of (20)
            share = min(m.terms20(2)[0] / m.terms20(2).sum() for row in nets for draws in row for m in draws)
            text += f"; (20)'s lambda_min(X X^T) term >= {share:.3g} of (20)'s sum (r = 2) on every net"
        label = f"regime map [{cell}; {flags}; lambda_min/(23) = {gm} at N = {'/'.join(map(str, ns))}; {text}]"
        if kind == "outside":
            means = np.exp(np.log(np.maximum(ratios, 1e-300)).mean(axis=1))
            claim.record(checks.inequality(means[0], means[-1],
                                           name=f"{label}: finding, the printed ratio decays in N (geometric mean at "
                                                f"N = {ns[0]} above that at N = {ns[-1]})",
                                           reason="outside the premises the theorem says nothing; (21)'s exponent -> 0 "
                                                  "predicts the decay (dead points, lambda_min = 0, count as decay)"))
        else:
            floor = BAND_23[0] if kind == "Theta" else COLLAPSE_COUNTERFACTUAL
            coverage = 1.0 if kind == "Theta" else COUNTERFACTUAL_COVERAGE
            claim.record(checks.inequality(ratios.ravel(), floor, coverage=coverage,
                                           name=f"{label}: lambda_min / (23) >= {floor:g} at every N (the lower side "
                                                f"of Theta{'' if kind == 'Theta' else '; no collapse without a wide layer'})",
                                           reason="BAND_23's lower edge (the families' Theta constants) or "
                                                  "COLLAPSE_COUNTERFACTUAL (rank deficiency gives ~1e-15)"))


def test_negative_control_theta_23_drift_detects_a_scaling_that_differs(claim):
    """The checks of test_theorem_4_1_on_architecture_families fail on a family whose lambda_min does not scale like
    (23) or (20): L = 2, d = 16 fixed while N grows, n_1 = 8N (the premise d >> N^(2/(r-0.1)) of (21) fails;
    lambda_min / (23) ~ N^-1): the Theta((23)) drift, the (20) band with its drift, and the (21) probability."""
    ns, trials = claim.pick(CONTROL_N), claim.pick(CONTROL_TRIALS)
    nets = [[t4.measure((CONTROL_D, 8 * n, 1),
                        nc.sample_data("gaussian", n=n, d=CONTROL_D, seed=claim.seed_for("data", n, t)),
                        seed=claim.seed_for("net", n, t)) for t in range(trials)] for n in ns]
    params = {"N": np.array(ns, dtype=float)}
    control = checks.band(params, np.array([[m.ratio23 / m.point_factor() for m in row] for row in nets]),
                          band=BAND_23, drift_tol=DRIFT_TOL, name="control", reason="control")
    assert control.verdict is Verdict.FAIL, control.message
    control20 = checks.band(params, np.array([[m.lam / m.terms20_at_n_points(2).sum() for m in row] for row in nets]),
                            band=BAND_20[2], drift_tol=DRIFT_TOL, name="control", reason="control")
    assert control20.verdict is Verdict.FAIL, control20.message
    flat = [m for row in nets for m in row]
    control21 = checks.probability(sum(m.lam >= BAND_20[2][0] * m.terms20(2).sum() for m in flat), len(flat),
                                   p=1.0 - t4.DELTA, tol=P21_TOL, name="control", reason="control")
    # (21) itself is vacuous here (N exp(-d (ln 2 - 1/2)/2) > 1 at d = 16, N >= 64): the control asks for the level
    # 1 - delta that the in-premise families reach
    assert control21.verdict is Verdict.FAIL, control21.message
    claim.record(checks.inequality(-control.numbers["drift"]["N"]["upper"], DRIFT_TOL,
                                   name=f"negative control (premise of (21) not met: L = 2, d = {CONTROL_D} fixed, "
                                        "n_1 = 8N): the Theta((23)) drift check FAILs with drift < -0.15 (and the (20) "
                                        "band and the (21) probability FAIL)",
                                   reason="the upper end of the drift interval must lie below -DRIFT_TOL"))


def test_negative_control_no_wide_layer_and_fewer_parameters_than_points(claim):
    """Premise not met (every n_l << N, P < N): lambda_min(Kbar) / (23) collapses to rounding level."""
    ratios = []
    for t in range(claim.pick(TINY_TRIALS)):
        X = nc.sample_data("gaussian", n=TINY_N, d=TINY_WIDTHS[0], seed=claim.seed_for("data", t))
        lam, net = _lambda_min(TINY_WIDTHS, "he", X, claim.seed_for("net", t))
        ratios.append(lam / scale_23(TINY_WIDTHS, net.betas))
    parameters = sum(a * b for a, b in zip(TINY_WIDTHS[:-1], TINY_WIDTHS[1:]))
    claim.record(checks.inequality(COLLAPSE, np.array(ratios),
                                   name=f"premise not met (widths {TINY_WIDTHS}, P = {parameters} < N = {TINY_N}): "
                                        f"lambda_min / (23) <= {COLLAPSE:g}",
                                   reason="rank(J J^T) <= P < N: zero up to rounding, see COLLAPSE"))
