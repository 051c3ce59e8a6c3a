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
  * Theta: lambda_min / (23) stays in a band at each N across architectures: the wide layer first, in the
    middle or last hidden; a bottleneck before or after it; He and LeCun; L = 3 and 4; n_k = 8N and 16N. The upper
    bound (22) with constant 1 (its mean is 2^-(L-1) of (22): each ReLU keeps half its units).
  * Negative control: every n_l << N and P < N: rank(Kbar) <= P < N, so lambda_min / (23) collapses (premise not
    met: a result, not a failure).
"""
import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks

pytestmark = pytest.mark.claim("Theorem 4.1")

WIDE_FACTOR = 8  # n_k = 8N, as in Figure 2 (right)
FIG2_N = {"smoke": (32, 64, 128, 256), "full": (32, 64, 128, 256, 512)}
FIG2_CURVES = ((16, 64), (64, 64), (256, 128))  # (d, n_2) of the three fixed curves; the paper does not print its own
# Enough trials that the printed form decides at smoke: with 4, d = 64 was INCONCLUSIVE (not FAIL) under base seed 0
# and 5 of the 20 tuning seeds 1000-1019; with 10 the three curves FAIL under all 20 (largest upper end 0.74 < 0.85),
# for about 1 s more per run.
FIG2_TRIALS = {"smoke": 10, "full": 10}
SLOPE_TOL = 0.15  # claimed exponent 1, told apart from 0.7 or 1.3 (the fixed-d curves measure 0.3-0.6)
CORRECTED_N = {"smoke": (64, 128, 256), "full": (64, 128, 256, 512)}  # d = N >= 64: below, small-d effects bend it
CORRECTED_TRIALS = {"smoke": 12, "full": 16}  # log lambda_min has sd ~0.1 here
CORRECTED_N2 = 256  # fixed, >> log N: keeps min_i ||B_2 row||^2 from adding noise (sd 0.3 at n_2 = 64)
# Measured slopes over N = 64..512, 8 trials: d = N, n_2 = 256: 0.98; d = 2N: 0.90 (local slopes rising 0.86 -> 0.97);
# d = N/2: 1.09; d = N, n_2 = 2N: 1.11. The Theta constant drifts by ~+-0.1 per doubling before it settles.

BAND_N = {"smoke": (128,), "full": (128, 256, 512)}  # N >= 128: at N = 64 the N/4 and N/2 layers (16, 32) still
# lower the constant (ratios down to 0.003)
BAND_TRIALS = {"smoke": 2, "full": 4}
ARCHITECTURES = {  # name -> (hidden widths as multiples of N, init); d = N. The shape is fixed as N grows;
    # narrow layers N/2, bottlenecks N/4 (>= 32 >> log N at N >= 128: not exponential).
    "L=3 wide first": ((8, 1 / 2), "he"),
    "L=3 wide last hidden": ((1 / 2, 8), "he"),
    "L=4 wide middle": ((1 / 2, 8, 1 / 2), "he"),
    "L=4 bottleneck before": ((1 / 4, 8, 1 / 2), "he"),
    "L=4 bottleneck after": ((8, 1 / 4, 1 / 2), "he"),
    "L=3 wide first, LeCun": ((8, 1 / 2), "lecun"),
    "L=4 wide middle, LeCun": ((1 / 2, 8, 1 / 2), "lecun"),
    "L=3 wide first 16N": ((16, 1 / 2), "he"),
}
BAND = (0.005, 1.0)  # Theta constants unknown: measured 0.013-0.12 at N >= 128; no wide layer gives ~1e-16
# No drift fit in N: the constant approaches its plateau from below, per architecture +0.14..+0.21 and pooled +0.31,
# +0.33 (two seeds, 99% interval [0.19, 0.47]) in log ratio per log N over N = 128..512 (min_i ||B_k row||^2
# concentrates as the N/2, N/4 layers grow; the degree-2 Khatri-Rao Gram of X strengthens as N/d^2 -> 0). A rising
# ratio is capped by the check of (22); a decaying one would break (20) and shows as a ratio below BAND[0].
UPPER_22_CONSTANT = 1.0  # lambda_min <= (J J^T)_11 ~ 2^-(L-1) (22) on average: a factor >= 4 for fluctuations

TINY_WIDTHS = (8, 6, 6, 1)  # negative control: P = 48 + 36 + 6 = 90 < N
TINY_N = 128
TINY_TRIALS = {"smoke": 3, "full": 10}
COLLAPSE = 1e-10  # lambda_min / (23) below this is rank deficiency (rounding ~1e-15), not a small constant


def scale_23(widths, betas):
    """(23): d prod_{l=1}^{L-1} n_l prod_{l=1}^L beta_l^2 / min_l beta_l^2. For He init this is 4 max_l n_l."""
    betas2 = np.asarray(betas, dtype=float) ** 2
    return widths[0] * np.prod(widths[1:-1], dtype=float) * np.prod(betas2) / betas2.min()


def scale_22(widths, betas):
    """The sum in (22): sum_{k=1}^L d prod_{l=1}^{L-1} n_l prod_{l != k} beta_l^2 (constants of O(.) set to 1)."""
    betas2 = np.asarray(betas, dtype=float) ** 2
    return widths[0] * np.prod(widths[1:-1], dtype=float) * np.prod(betas2) * np.sum(1.0 / betas2)


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
                     "measured over N = 32..512 (full profile, 99% intervals): slope 0.42 [0.26, 0.58] (d=16, n_2=64), "
                     "0.60 [0.52, 0.67] (d=64, n_2=64), 0.50 [0.45, 0.54] (d=256, n_2=128); linear when d grows "
                     "with N (d = N, N = 64..512: 0.96 [0.92, 1.00])")
@pytest.mark.parametrize("d, n2", FIG2_CURVES, ids=[f"d{d}-n2_{n2}" for d, n2 in FIG2_CURVES])
def test_figure2_right_linear_in_n_at_fixed_d(claim, d, n2):
    claim.record(_slope_in_n(claim, claim.pick(FIG2_N), lambda n: d, n2, claim.pick(FIG2_TRIALS),
                             f"Figure 2 (right) as printed: lambda_min(Kbar) vs N, d = {d}, n_2 = {n2}"))


def test_lambda_min_linear_in_n_when_d_grows_with_n(claim):
    """The regime where (18)-(21) hold at every N of the grid: d = N, n_1 = 8N, n_2 = 256."""
    claim.record(_slope_in_n(claim, claim.pick(CORRECTED_N), lambda n: n, CORRECTED_N2, claim.pick(CORRECTED_TRIALS),
                             f"lambda_min(Kbar) vs N, d = N, n_1 = 8N, n_2 = {CORRECTED_N2}"))


def test_ratio_to_scale_23_in_band_across_architectures(claim):
    """Theta((23)) across architectures, at each N (band); the upper bound (22) with constant 1."""
    lams, uppers = [], []
    for n in claim.pick(BAND_N):
        ratios = []
        for name, (multiples, init) in ARCHITECTURES.items():
            widths = (n,) + tuple(int(m * n) for m in multiples) + (1,)
            row = []
            for t in range(claim.pick(BAND_TRIALS)):
                X = nc.sample_data("gaussian", n=n, d=n, seed=claim.seed_for("data", n, name, t))
                lam, net = _lambda_min(widths, init, X, claim.seed_for("net", n, name, t))
                row.append(lam / scale_23(widths, net.betas))
                lams.append(lam)
                uppers.append(UPPER_22_CONSTANT * scale_22(widths, net.betas))
            ratios.append(row)
        claim.record(checks.band({"N": np.full(len(ratios), float(n))}, np.array(ratios), band=BAND, drift_tol=0.0,
                                 name=f"lambda_min(Kbar) / (23), {len(ARCHITECTURES)} architectures, d = N = {n}",
                                 reason="BAND: unknown Theta constants (no drift fit: see the note on BAND)"))
    claim.record(checks.inequality(np.array(uppers), np.array(lams),
                                   name="upper bound (22) with constant 1: lambda_min(Kbar) <= sum_k (22) terms",
                                   reason="no slack: see UPPER_22_CONSTANT"))


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
