"""Theorem 3.2 (Smallest eigenvalue of limiting NTK): for N i.i.d. zero-mean data points satisfying Assumptions
2.1-2.2 and any even integer constant r >= 2, w.p. at least 1 - N e^(-Omega(d)) - N^2 e^(-Omega(d N^(-2/(r-0.5)))),
"L O(d) >= lambda_min(K^(L)) >= mu_r(sigma)^2 Omega(d)" (14), the O and Omega hiding no dependence on L.

Regime. The probability is close to 1 once d >> N^(2/(r-0.5)) (and d >> log N). The main grid fixes N and takes
d >= 64 N (every r >= 2 qualifies); there lambda_min(K^(L)) / d tends to c_inf(L) = L - kappa_L(0) as d grows,
with kappa_L(0) = K^(L)_12 of two orthonormal inputs (the closed form: c_inf = 1.68, 2.31, 2.94, 3.57 for
L = 2..5), and the gap closes like sqrt(N/d): writing K_ij = ||x_i|| ||x_j|| kappa_L(rho_ij), the first-order term
kappa_L'(0) rho_ij contributes kappa_L'(0) (lambda_min(Xhat Xhat^T) - 1) ~ -2 kappa_L'(0) sqrt(N/d)
(Marchenko-Pastur edge). So the log-log slope in d is 1 + O(sqrt(N/d)): 1.3 at d = 2N, 1.04 at d = 512 N.
test_gap_to_the_limit_closes_like_sqrt_d shows that approach; the linear-in-d check runs where it is done.
A second grid, N = d^1.25 > d, is outside the theorem for r = 2 (it needs N << d^0.75) but inside for r >= 4
(N << d^1.75): there the lower bound is checked with r >= 4 only.

Checked: slope 1 in d for L = 2..5, three distributions, several N (scaling); lambda_min / d -> c_inf with gap
~ d^(-1/2) (scaling); the upper bound: lambda_min <= L min_i ||x_i||^2 (the diagonal K_ii = L ||x_i||^2,
inequality), lambda_min / (L d) in a band, and growth linear in L for large L (the bound is attained in L);
the lower bound: lambda_min / (mu_r^2 d) bounded below (band) and the proof's Hermite step made explicit,
lambda_min(K^(L)) >= lambda_min(G^(2)) >= 2 mu_r^2 min_i ||x_i||^2 lambda_min((Xhat Xhat^T)^(o r)) (inequality,
Xhat the normalized rows); the proof sketch's lambda_min(K^(L)) >= sum_l lambda_min(G^(l)) (inequality) and the
diagonal facts G^(l)_ii = ||x_i||^2, Gdot^(l)_ii = 1, K^(L)_ii = L ||x_i||^2 (identity, evaluated off the
diagonal on a duplicated data point, so that the closed form computes them rather than the exact diagonal fill).
"""
import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import checks

pytestmark = pytest.mark.claim("Theorem 3.2")

DISTRIBUTIONS = ("gaussian", "sphere", "hypercube")  # zero mean, Assumptions 2.1-2.2 (Section 2)
DEPTHS = (2, 3, 4, 5)
MAX_DEPTH = DEPTHS[-1]
NS = {"smoke": (16, 32), "full": (16, 64)}
D_OVER_N = (64, 128, 256, 512)  # d >= 64 N: the O(sqrt(N/d)) bend of the slope is <= 0.08 (see the docstring)
TRIALS = {"smoke": 4, "full": 12}
SLOPE_TOL = 0.1  # the local slope is 1 + kappa_L'(0) sqrt(N/d) / c_inf(L) <= 1.08 at d >= 64 N
# The approach: gaps c_inf(L) - lambda_min / d over a wider range of d / N, for one distribution per N.
APPROACH_N = 32
APPROACH_D_OVER_N = {"smoke": (16, 64, 256, 1024), "full": (16, 32, 64, 128, 256, 512, 1024)}
APPROACH_TRIALS = {"smoke": 8, "full": 24}  # the gap is a difference: its log spreads more than lambda_min's
GAP_EXPONENT = -0.5
GAP_TOL = 0.1  # the O(N/d) second-order term bends the gap's exponent by < 0.06 at d >= 16 N (measured)
# Upper bound: lambda_min / (L d). Its limit c_inf(L) / L is 0.84, 0.77, 0.73, 0.71 for L = 2..5, and
# lambda_min <= min_i K_ii = L min_i ||x_i||^2 ~ L d gives the upper edge.
UPPER_BAND = (0.5, 1.0)
DRIFT_TOL = 0.1  # as SLOPE_TOL: the ratio's drift in d (and in N) is the O(sqrt(N/d)) approach, <= 0.08
# Growth in L: c_inf(L) / L flattens (0.735, 0.689, 0.686, 0.70 at L = 4, 8, 16, 32), so lambda_min ~ L d.
LONG_DEPTHS = (4, 8, 16, 32)
LONG_N, LONG_D_OVER_N = 16, 256
DEPTH_EXPONENT = 1.0
DEPTH_TOL = 0.1  # c_inf(L) / L moves by < 5% over L = 4..32: a least-squares exponent within 0.03 of 1
# Lower bound: lambda_min / (mu_r^2 d) >= c with c = 1 (the measured constant is ~18 for r = 2); the upper edge
# is the upper bound MAX_DEPTH * d / (mu_r^2 d).
EVEN_RS = (2, 4, 6, 8)
OMEGA_CONSTANT = 1.0
# Second regime: N = d^1.25 (N > d), covered by the theorem for r >= 4 only.
WIDE_DS = {"smoke": (16, 32, 64), "full": (16, 32, 64, 128)}
WIDE_POWER = 1.25
WIDE_RS = (4, 6, 8)
ROUNDING_RTOL = 1e-10  # eigenvalues of N <= 431 matrices by a backward-stable solver: ~N eps relative
DIAGONAL_RTOL = {"G": 1e-12, "Gdot": 1e-7, "K": 1e-7}  # arccos at c = 1 - ulp moves theta by sqrt(2 eps) = 2e-8


def _limit_constant(depth):
    """c_inf(L) = K^(L)_11 - K^(L)_12 = L - kappa_L(0) for two orthonormal inputs (d -> infinity, N fixed)."""
    kernel = nc.limiting_ntk(np.eye(2), depth)
    return kernel[0, 0] - kernel[0, 1]


def _kernels(claim, distribution, n, d, trial):
    X = nc.sample_data(distribution, n, d, seed=claim.seed_for(distribution, n, d, trial))
    return X, nc.limiting_kernels(X, MAX_DEPTH)


def _lambda_mins(kernels):
    """lambda_min(K^(L)) for L in DEPTHS."""
    return np.array([nc.lambda_min(kernels.K[depth - 1]) for depth in DEPTHS])


def _far_grid(claim, distributions):
    """lambda_min(K^(L)) on the main grid: array (distribution, N, d / N, trial, L), and the (N, d) of each point."""
    ns, trials = claim.pick(NS), claim.pick(TRIALS)
    values = np.array([[[[_lambda_mins(_kernels(claim, dist, n, n * ratio, t)[1]) for t in range(trials)]
                         for ratio in D_OVER_N] for n in ns] for dist in distributions])
    n_grid, ratio_grid = np.meshgrid(ns, D_OVER_N, indexing="ij")
    return values, n_grid.ravel().astype(float), (n_grid * ratio_grid).ravel().astype(float)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_lambda_min_linear_in_d(claim, distribution):
    """(14): lambda_min(K^(L)) = Theta(d): log-log slope 1 in d at fixed N, for L = 2..5."""
    values, _, _ = _far_grid(claim, [distribution])
    for i, n in enumerate(claim.pick(NS)):
        for k, depth in enumerate(DEPTHS):
            claim.record(checks.scaling(n * np.array(D_OVER_N), values[0, i, :, :, k], expected=1.0,
                                        tol=SLOPE_TOL, name=f"lambda_min(K^({depth})) vs d, {distribution}, N={n}",
                                        reason="O(sqrt(N/d)) bend at d >= 64 N, see SLOPE_TOL"))


def test_gap_to_the_limit_closes_like_sqrt_d(claim):
    """The approach of the slope to 1: c_inf(L) - lambda_min(K^(L)) / d ~ d^(-1/2) at fixed N (sphere data:
    equal norms leave only the sqrt(N/d) term; Gaussian norms add a spread of the same order)."""
    ds = APPROACH_N * np.array(claim.pick(APPROACH_D_OVER_N))
    trials = claim.pick(APPROACH_TRIALS)
    values = np.array([[_lambda_mins(_kernels(claim, "sphere", APPROACH_N, d, t)[1]) / d for t in range(trials)]
                       for d in ds])
    for k, depth in enumerate(DEPTHS):
        gaps = _limit_constant(depth) - values[:, :, k]
        claim.record(checks.scaling(ds, gaps, expected=GAP_EXPONENT, tol=GAP_TOL,
                                    name=f"c_inf({depth}) - lambda_min(K^({depth}))/d vs d, N={APPROACH_N}",
                                    reason="first-order kernel term ~ sqrt(N/d); O(N/d) bend, see GAP_TOL"))


def test_upper_bound_L_times_d(claim):
    """(14), left: lambda_min(K^(L)) <= L O(d), with the constant from K_ii = L ||x_i||^2, attained in L."""
    lams, min_norms, n_points, d_points = [], [], [], []
    ns, trials = claim.pick(NS), claim.pick(TRIALS)
    for dist in DISTRIBUTIONS:
        for n in ns:
            for ratio in D_OVER_N:
                for t in range(trials):
                    X, kernels = _kernels(claim, dist, n, n * ratio, t)
                    lams.append(_lambda_mins(kernels))
                    min_norms.append(np.min(np.sum(X * X, axis=1)))
                    n_points.append(n)
                    d_points.append(n * ratio)
    lams, depths = np.array(lams), np.array(DEPTHS)
    claim.record(checks.inequality(depths * np.array(min_norms)[:, None], lams, rtol=ROUNDING_RTOL,
                                   name="L min_i ||x_i||^2 >= lambda_min(K^(L)), L = 2..5",
                                   reason="eigenvalue rounding"))
    # One band over every distribution, N, d and L (the O hides no L): one grid point per (sample, L).
    ratios = (lams / (depths * np.array(d_points)[:, None])).ravel()
    claim.record(checks.band({"d": np.repeat(d_points, depths.size), "N": np.repeat(n_points, depths.size)},
                             ratios, band=UPPER_BAND, drift_tol=DRIFT_TOL,
                             name="lambda_min(K^(L)) / (L d), L = 2..5, 3 distributions",
                             reason="limit c_inf(L)/L in [0.71, 0.84]; O(sqrt(N/d)) drift, see DRIFT_TOL"))
    d = LONG_N * LONG_D_OVER_N
    long_values = np.array([[nc.lambda_min(nc.limiting_ntk(
        nc.sample_data("gaussian", LONG_N, d, seed=claim.seed_for("depth", t)), depth)) for t in range(trials)]
        for depth in LONG_DEPTHS])
    claim.record(checks.scaling(np.array(LONG_DEPTHS), long_values, expected=DEPTH_EXPONENT, tol=DEPTH_TOL,
                                name=f"lambda_min(K^(L)) vs L = {LONG_DEPTHS[0]}..{LONG_DEPTHS[-1]}, "
                                     f"N={LONG_N}, d={d}",
                                reason="c_inf(L)/L flattens for L >= 4, see DEPTH_TOL"))


def test_lower_bound_mu_r_squared_d(claim):
    """(14), right: lambda_min(K^(L)) >= mu_r^2 c d, and the Hermite step of the proof made explicit."""
    values, n_points, d_points = _far_grid(claim, DISTRIBUTIONS)
    depths = np.array(DEPTHS)
    # Grid points (distribution, N, d, L); trials along the last axis.
    per_point = values.transpose(0, 1, 2, 4, 3).reshape(-1, values.shape[3])
    shape = (len(DISTRIBUTIONS), d_points.size, depths.size)
    d_rows = np.broadcast_to(d_points[None, :, None], shape).ravel()
    n_rows = np.broadcast_to(n_points[None, :, None], shape).ravel()
    mu2 = nc.relu_hermite_coefficient(2) ** 2
    claim.record(checks.band({"d": d_rows, "N": n_rows}, per_point / (mu2 * d_rows[:, None]),
                             band=(OMEGA_CONSTANT, MAX_DEPTH / mu2), drift_tol=DRIFT_TOL,
                             name="lambda_min(K^(L)) / (mu_2^2 d), d >= 64 N, L = 2..5",
                             reason="c = 1; upper edge from the upper bound; drift as DRIFT_TOL"))
    lhs, chain, omega = [], [], []
    wide = [(int(round(d ** WIDE_POWER)), d) for d in claim.pick(WIDE_DS)]
    far = [(n, n * D_OVER_N[0]) for n in claim.pick(NS)]
    for dist in DISTRIBUTIONS:
        for n, d in far + wide:
            X, kernels = _kernels(claim, dist, n, d, "chain")
            lam = _lambda_mins(kernels)
            unit = X / np.linalg.norm(X, axis=1, keepdims=True)
            min_norm = np.min(np.sum(X * X, axis=1))
            for r in EVEN_RS:
                mu_r2 = nc.relu_hermite_coefficient(r) ** 2
                lhs.append(lam)
                chain.append(np.full(depths.size, 2 * mu_r2 * min_norm * nc.lambda_min(nc.khatri_rao_gram(unit, r))))
                if r in WIDE_RS and (n, d) in wide:
                    omega.append(lam / (mu_r2 * d))
    claim.record(checks.inequality(np.array(lhs), np.array(chain), rtol=ROUNDING_RTOL,
                                   name="lambda_min(K^(L)) >= 2 mu_r^2 min||x_i||^2 lambda_min((Xhat Xhat^T)^(o r)),"
                                        " r = 2..8",
                                   reason="eigenvalue rounding"))
    claim.record(checks.inequality(np.array(omega), OMEGA_CONSTANT, name="lambda_min(K^(L)) / (mu_r^2 d) >= 1, "
                                                                         "N = d^1.25, r = 4, 6, 8",
                                   reason="c = 1, as in the band above; no slack needed (a ratio, not a rounding)"))


def test_proof_sketch_sum_bound_and_diagonal_facts(claim):
    """Proof of Thm 3.2: lambda_min(K^(L)) >= sum_l lambda_min(G^(l)) (Schur + Gdot_ii = 1), and the diagonals."""
    lhs, rhs, computed, reference = [], [], {k: [] for k in DIAGONAL_RTOL}, {k: [] for k in DIAGONAL_RTOL}
    for dist in DISTRIBUTIONS:
        for n, d in ((16, 1024), (64, 32)):
            X, kernels = _kernels(claim, dist, n, d, "sketch")
            g_mins = np.cumsum([nc.lambda_min(g) for g in kernels.G])
            lhs.append(_lambda_mins(kernels))
            rhs.append(g_mins[np.array(DEPTHS) - 1])
            doubled = nc.limiting_kernels(np.vstack([X, X]), MAX_DEPTH)
            norms = np.sum(X * X, axis=1)
            for level in range(1, MAX_DEPTH + 1):  # entry (i, n + i): the same point twice, off the diagonal
                computed["G"].append(np.diag(doubled.G[level - 1][:n, n:]))
                reference["G"].append(norms)
                computed["K"].append(np.diag(doubled.K[level - 1][:n, n:]))
                reference["K"].append(level * norms)
                if level >= 2:
                    computed["Gdot"].append(np.diag(doubled.Gdot[level - 1][:n, n:]))
                    reference["Gdot"].append(np.ones(n))
    claim.record(checks.inequality(np.array(lhs), np.array(rhs), rtol=ROUNDING_RTOL,
                                   name="lambda_min(K^(L)) >= sum_{l<=L} lambda_min(G^(l)), L = 2..5",
                                   reason="eigenvalue rounding"))
    labels = {"G": "G^(l)_ii = ||x_i||^2", "Gdot": "Gdot^(l)_ii = 1", "K": "K^(l)_ii = l ||x_i||^2"}
    for key, label in labels.items():
        claim.record(checks.identity(np.concatenate(computed[key]), np.concatenate(reference[key]),
                                     rtol=DIAGONAL_RTOL[key], name=f"{label} (duplicated point), l <= {MAX_DEPTH}",
                                     reason="arccos near c = 1, see DIAGONAL_RTOL"))

