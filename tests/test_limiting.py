"""Tests of ntkcheck.limiting: closed form (9)-(10) vs Monte Carlo (Lemma 3.1), (13) vs (12), exact facts."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate

from ntkcheck import InvalidArgument
from ntkcheck import limiting
from ntkcheck.linalg import lambda_min, psd_sqrt
from ntkcheck.limiting import arccos_step, limiting_kernels, limiting_ntk

N_POINTS, DIM = 6, 4
MAX_DEPTH = 5
DEPTHS = tuple(range(1, MAX_DEPTH + 1))
DATA_SEED, MC_SEED = 0, 1
MC_SAMPLES = 100_000
# A Monte Carlo entry is declared wrong beyond Z_MAX standard errors: P(|z| > 5) = 6e-7 per
# entry, so the ~100 entries checked per test give a false-fail rate ~1e-4 (and seeds are fixed).
Z_MAX = 5.0
# Resolution shown by the negative controls: a 10% error in the off-diagonal entries is caught.
DETECTABLE_RELATIVE_ERROR = 0.10
# (13) and (12) add the same O(L) products in another order: rounding only.
RTOL_UNROLLED = 1e-12
# G^(l)_ii is copied from X X^T, compared with sum_k x_ik^2: two summation orders.
RTOL_DIAGONAL = 1e-13
# Eigenvalues of an exactly symmetric matrix are computed to ~N eps ||A||: allow 1e-12 N ||A||_max.
RTOL_PSD = 1e-12
# Gdot = (pi - arccos c) / pi has slope ~ 1 / (pi sqrt(2 (1 - c))) at c = 1, so a rounding error of
# up to 20 eps in c (nearly collinear points) moves an entry by sqrt(40 eps) / pi ~ 3e-8, which
# enters Gdot and, through K^(l-1) o Gdot^(l), K: their p.s.d. floor is N times that, relative.
RTOL_PSD_NEAR_COLLINEAR = math.sqrt(40.0 * np.finfo(float).eps) / math.pi
# The lean limiting_ntk keeps c^(l) = G^(l)_ij / sqrt(G_ii G_jj) from level to level, limiting_kernels recomputes
# it from G^(l): a few roundings per level, amplified at most by the ~1/sqrt(1 - c) slope of Gdot away from c = 1
# (the data below has no nearly collinear pairs). Measured max 6e-16 relative to max|K| at L = 5.
RTOL_LEAN = 1e-13
# Batching changes only the order of the sums over samples.
RTOL_BATCHING = 1e-12
# scipy dblquad at epsabs = epsrel = 1e-11 over a smooth integrand on a wedge.
QUAD_TOL = 1e-11
# The wedge is cut at |z| <= Z_CUT: the Gaussian mass beyond is < 1e-31, while infinite limits
# make quad miss the bump when the wedge edge lies far out (correlation near 1).
Z_CUT = 12.0
RTOL_QUAD = 1e-8
# 2x2 covariances (G_11, G_22, correlation) for the quadrature check, including c near +-1.
COVARIANCES = ((1.0, 1.0, 0.0), (2.0, 0.5, 0.3), (1.0, 3.0, -0.7), (4.0, 1.0, 0.999), (1.0, 1.0, -0.999))

small_data = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
    # Exact zeros exercise zero rows; magnitudes >= 1e-3 keep the squares far from underflow.
    elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0), st.floats(-10.0, -1e-3)),
)


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(DATA_SEED).standard_normal((N_POINTS, DIM))


@pytest.fixture(scope="module")
def exact(data):
    return limiting_kernels(data, MAX_DEPTH)


def assert_close(actual, expected, rtol, what):
    """Relative Frobenius error, with the numbers in the message."""
    error = np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), np.finfo(float).tiny)
    assert error <= rtol, f"{what}: relative error {error:.3g} > {rtol:.1g}"


def excess(estimate, reference, standard_error):
    """max |estimate - reference| / (Z_MAX * standard_error): a Monte Carlo check passes iff <= 1."""
    return float(np.max(np.abs(estimate - reference) / (Z_MAX * standard_error)))


def moment_stderr_bounds(G_previous, samples):
    """Upper bounds on the standard errors of one level of (11)-(12) from the sample count alone.

    Var[2 sigma(u) sigma(v)] <= 4 sqrt(E sigma(u)^4 E sigma(v)^4) = 6 G_ii G_jj (E sigma(u)^4 =
    3 G_ii^2 / 2), and 2 sigma'(u) sigma'(v) takes the values 0 and 2 with mean <= 1: variance <= 1.
    """
    d = np.diag(G_previous)
    return np.sqrt(6.0 * np.outer(d, d) / samples), np.full_like(G_previous, math.sqrt(1.0 / samples))


def ntk_tolerances(G_exact, K_exact, samples):
    """Z_MAX-standard-error tolerances on G^(l), Gdot^(l) (sampled through the exact G^(l-1)) and on
    K^(l) by the triangle inequality through (12) with |Gdot| <= 1:
    |dK^(l)| <= |dK^(l-1)| (1 + |dGdot^(l)|) + |K^(l-1)| |dGdot^(l)| + |dG^(l)|."""
    tol_g, tol_gdot, tol_k = [np.zeros_like(G_exact[0])], [None], [np.zeros_like(G_exact[0])]
    for level in range(1, len(G_exact)):
        se_g, se_gdot = moment_stderr_bounds(G_exact[level - 1], samples)
        tol_g.append(Z_MAX * se_g)
        tol_gdot.append(Z_MAX * se_gdot)
        tol_k.append(tol_k[-1] * (1.0 + tol_gdot[-1]) + np.abs(K_exact[level - 1]) * tol_gdot[-1] + tol_g[-1])
    return tol_g, tol_gdot, tol_k


def within(estimate, reference, tolerance):
    return bool(np.all(np.abs(estimate - reference) <= tolerance))


def perturb_off_diagonal(A, relative):
    return A * (1.0 + relative * (1.0 - np.eye(len(A))))


class TestClosedFormAgainstMonteCarlo:
    """Closed form (9)-(10) against the expectations of Lemma 3.1 estimated by sampling."""

    # classmethods: pytest deprecates class-scoped fixtures defined as instance methods (PytestRemovedIn10Warning)
    @pytest.fixture(scope="class")
    @classmethod
    def sampled(cls, data):
        return limiting_kernels(data, MAX_DEPTH, "monte_carlo", samples=MC_SAMPLES, seed=MC_SEED)

    @pytest.fixture(scope="class")
    @classmethod
    def tolerances(cls, exact):
        return ntk_tolerances(exact.G, exact.K, MC_SAMPLES)

    @pytest.mark.parametrize("level", DEPTHS)
    def test_every_level_within_its_tolerance(self, exact, sampled, tolerances, level):
        tol_g, tol_gdot, tol_k = (t[level - 1] for t in tolerances)
        assert within(sampled.G[level - 1], exact.G[level - 1], tol_g), f"G^({level})"
        assert within(sampled.K[level - 1], exact.K[level - 1], tol_k), f"K^({level})"
        if level > 1:
            assert within(sampled.Gdot[level - 1], exact.Gdot[level - 1], tol_gdot), f"Gdot^({level})"

    @pytest.mark.parametrize("level", DEPTHS[1:])
    def test_negative_control_a_small_error_is_detected(self, exact, sampled, tolerances, level):
        tol_g, tol_gdot, tol_k = (t[level - 1] for t in tolerances)
        wrong_g = perturb_off_diagonal(exact.G[level - 1], DETECTABLE_RELATIVE_ERROR)
        wrong_gdot = perturb_off_diagonal(exact.Gdot[level - 1], DETECTABLE_RELATIVE_ERROR)
        wrong_k = perturb_off_diagonal(exact.K[level - 1], DETECTABLE_RELATIVE_ERROR)
        assert not within(sampled.G[level - 1], wrong_g, tol_g)
        assert not within(sampled.Gdot[level - 1], wrong_gdot, tol_gdot)
        assert not within(sampled.K[level - 1], wrong_k, tol_k)

    def test_ntk_is_the_last_level(self, data, sampled):
        ntk = limiting_ntk(data, MAX_DEPTH, "monte_carlo", samples=MC_SAMPLES, seed=MC_SEED)
        np.testing.assert_array_equal(ntk, sampled.K[-1])


@pytest.mark.parametrize("level", DEPTHS[1:])
def test_one_expectation_within_five_sampled_standard_errors(data, exact, level):
    """Each expectation of (11)-(12) against the closed form, with standard errors estimated from
    the samples themselves; negative control: the kernel of the next level is rejected."""
    root = psd_sqrt(exact.G[level - 2])
    rng = np.random.default_rng(MC_SEED)
    g, g_dot, g_se, g_dot_se = limiting._sampled_moments(root, MC_SAMPLES, rng, with_stderr=True)
    assert excess(g, exact.G[level - 1], g_se) <= 1.0
    assert excess(g_dot, exact.Gdot[level - 1], g_dot_se) <= 1.0
    if level < MAX_DEPTH:
        assert excess(g_dot, exact.Gdot[level], g_dot_se) > 1.0


# Degenerate data through the Monte Carlo of Lemma 3.1 (the closed-form paths: tests/test_degenerate.py). The first
# is the case that was wrong: X of shape 5x3 with row 2 zeroed gave Gdot row 2 = [0.50, 0.50, 1.01, 0.50, 0.50] at
# 20,000 samples instead of 0 (psd_sqrt left ~6e-9 of rounding in that row, so the sign of the step was random);
# a row scaled by 1e-8 (G_ii ~ 1e-16 ||G||, below the rounding of a symmetric root) had Gdot off by 0.1-0.4.
DEGENERATE_SAMPLES = 20_000
DEGENERATE_ROWS = {"zero row": (2, 0.0), "tiny row": (2, 1e-8), "duplicate": (3, None), "ray": (3, 2.5)}


def degenerate_monte_carlo_data(case):
    X = np.random.default_rng(DATA_SEED).standard_normal((5, 3))
    row, factor = DEGENERATE_ROWS[case]
    X[row] = X[row - 1] if factor is None else (factor * X[row - 1] if case == "ray" else factor * X[row])
    return X


class TestDegenerateMonteCarlo:
    """Monte Carlo (11)-(12) and the closed form agree within the Monte Carlo bound on degenerate data."""

    @pytest.fixture(scope="class", params=list(DEGENERATE_ROWS))
    @classmethod
    def case(cls, request):
        X = degenerate_monte_carlo_data(request.param)
        exact = limiting_kernels(X, MAX_DEPTH)
        return request.param, X, exact, ntk_tolerances(exact.G, exact.K, DEGENERATE_SAMPLES)

    @pytest.mark.parametrize("chained", (False, True), ids=("exact previous level", "chained"))
    def test_within_the_monte_carlo_bound(self, case, chained):
        name, X, exact, (tol_g, tol_gdot, tol_k) = case
        sampled = limiting_kernels(X, MAX_DEPTH, "monte_carlo", samples=DEGENERATE_SAMPLES, seed=MC_SEED,
                                   chained=chained)
        for level in range(2, MAX_DEPTH + 1):
            if chained:  # level l is one expectation through the sampled G^(l-1): its own closed form
                reference_g, reference_gdot = arccos_step(sampled.G[level - 2])
                se_g, se_gdot = moment_stderr_bounds(sampled.G[level - 2], DEGENERATE_SAMPLES)
                bound_g, bound_gdot = Z_MAX * se_g, Z_MAX * se_gdot
            else:
                reference_g, reference_gdot = exact.G[level - 1], exact.Gdot[level - 1]
                bound_g, bound_gdot = tol_g[level - 1], tol_gdot[level - 1]
                assert within(sampled.K[level - 1], exact.K[level - 1], tol_k[level - 1]), f"{name}: K^({level})"
            assert within(sampled.G[level - 1], reference_g, bound_g), f"{name}: G^({level})"
            assert within(sampled.Gdot[level - 1], reference_gdot, bound_gdot), f"{name}: Gdot^({level})"



@pytest.mark.parametrize("chained", (False, True))
def test_monte_carlo_of_a_zero_row_is_exactly_zero(chained):
    X = degenerate_monte_carlo_data("zero row")
    sampled = limiting_kernels(X, MAX_DEPTH, "monte_carlo", samples=DEGENERATE_SAMPLES, seed=MC_SEED, chained=chained)
    for matrices in sampled:
        for A in matrices[1:]:
            assert not A[2].any() and not A[:, 2].any()  # sigma(0) = sigma'(0) = 0 in every sample


def test_chained_sampling_matches_the_closed_form_of_its_own_previous_level(data):
    """With chained=True, level l is one expectation through the sampled G^(l-1)."""
    chained = limiting_kernels(data, MAX_DEPTH, "monte_carlo", samples=MC_SAMPLES, seed=MC_SEED, chained=True)
    unchained = limiting_kernels(data, 2, "monte_carlo", samples=MC_SAMPLES, seed=MC_SEED)
    np.testing.assert_array_equal(chained.G[1], unchained.G[1])  # level 2 samples through the exact X X^T
    for level in range(3, MAX_DEPTH + 1):
        reference_g, reference_gdot = arccos_step(chained.G[level - 2])
        se_g, se_gdot = moment_stderr_bounds(chained.G[level - 2], MC_SAMPLES)
        assert within(chained.G[level - 1], reference_g, Z_MAX * se_g), f"G^({level})"
        assert within(chained.Gdot[level - 1], reference_gdot, Z_MAX * se_gdot), f"Gdot^({level})"


def test_monte_carlo_does_not_depend_on_the_batch_size(data, monkeypatch):
    whole = limiting_kernels(data, 3, "monte_carlo", samples=1000, seed=MC_SEED)
    monkeypatch.setattr(limiting, "_BATCH_ENTRIES", 7 * N_POINTS)  # batches of 7 samples, the last of 6
    batched = limiting_kernels(data, 3, "monte_carlo", samples=1000, seed=MC_SEED)
    for a, b in zip(whole.K, batched.K):
        assert_close(b, a, RTOL_BATCHING, "K with batches of 7 samples")


def test_monte_carlo_is_reproducible_from_its_seed(data):
    first = limiting_ntk(data, 3, "monte_carlo", samples=500, seed=MC_SEED)
    np.testing.assert_array_equal(first, limiting_ntk(data, 3, "monte_carlo", samples=500, seed=MC_SEED))
    assert not np.array_equal(first, limiting_ntk(data, 3, "monte_carlo", samples=500, seed=MC_SEED + 1))


@settings(max_examples=50, deadline=None)
@given(X=small_data, depth=st.integers(1, 6))
def test_unrolled_13_equals_recursion_12(X, depth):
    assert_close(limiting_ntk(X, depth, "unrolled"), limiting_ntk(X, depth), RTOL_UNROLLED, "(13) vs (12)")


@settings(max_examples=50, deadline=None)
@given(X=small_data, depth=st.integers(1, 6))
def test_diagonal_facts(X, depth):
    """G^(l)_ii = ||x_i||^2, Gdot^(l)_ii = 1 (0 for x_i = 0, as sigma'(0) = 0), K^(L)_ii = L ||x_i||^2."""
    kernels = limiting_kernels(X, depth)
    squared_norms = np.sum(X * X, axis=1)
    nonzero = squared_norms > 0
    for g, g_dot in zip(kernels.G, kernels.Gdot):
        np.testing.assert_allclose(np.diag(g), squared_norms, rtol=RTOL_DIAGONAL)
        if g_dot is not None:
            np.testing.assert_array_equal(np.diag(g_dot), nonzero.astype(float))
    np.testing.assert_allclose(np.diag(kernels.K[-1]), depth * squared_norms, rtol=RTOL_DIAGONAL)


@settings(max_examples=50, deadline=None)
@given(X=small_data, depth=st.integers(1, 6))
def test_symmetric_and_positive_semidefinite(X, depth):
    kernels = limiting_kernels(X, depth)
    for name, matrices in zip(("G", "Gdot", "K"), kernels):
        for level, A in enumerate(matrices, start=1):
            if A is None:
                continue
            np.testing.assert_array_equal(A, A.T, err_msg=f"{name}^({level}) is not symmetric")
            rtol = RTOL_PSD if name == "G" else RTOL_PSD_NEAR_COLLINEAR
            floor = -rtol * len(A) * max(float(np.max(np.abs(A))), 1.0)
            assert lambda_min(A) >= floor, f"{name}^({level}) is not p.s.d."


def two_dimensional_expectations(g11, g22, correlation):
    """2 E[sigma(u) sigma(v)] and 2 E[sigma'(u) sigma'(v)] by dblquad over the wedge where u, v > 0,
    with u = sqrt(g11) z1, v = sqrt(g22) (rho z1 + sqrt(1 - rho^2) z2), z ~ N(0, I_2)."""
    a, b, s = math.sqrt(g11), math.sqrt(g22), math.sqrt(1.0 - correlation ** 2)
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)  # noqa: E731
    lower = lambda z1: min(max(-correlation * z1 / s, -Z_CUT), Z_CUT)  # noqa: E731  (v > 0 iff z2 > -rho z1 / s)
    relu = integrate.dblquad(lambda z2, z1: a * z1 * b * (correlation * z1 + s * z2) * phi(z1) * phi(z2),
                             0.0, Z_CUT, lower, Z_CUT, epsabs=QUAD_TOL, epsrel=QUAD_TOL)[0]
    step = integrate.dblquad(lambda z2, z1: phi(z1) * phi(z2),
                             0.0, Z_CUT, lower, Z_CUT, epsabs=QUAD_TOL, epsrel=QUAD_TOL)[0]
    return 2.0 * relu, 2.0 * step


@pytest.mark.parametrize("g11, g22, correlation", COVARIANCES)
def test_arccos_step_matches_a_two_dimensional_integral(g11, g22, correlation):
    g12 = correlation * math.sqrt(g11 * g22)
    g_next, g_dot = arccos_step(np.array([[g11, g12], [g12, g22]]))
    relu, step = two_dimensional_expectations(g11, g22, correlation)
    assert g_next[0, 1] == pytest.approx(relu, rel=RTOL_QUAD, abs=QUAD_TOL)
    assert g_dot[0, 1] == pytest.approx(step, rel=RTOL_QUAD, abs=QUAD_TOL)
    assert (g_next[0, 0], g_next[1, 1], g_dot[0, 0], g_dot[1, 1]) == (g11, g22, 1.0, 1.0)


@pytest.mark.parametrize("sign", (1.0, -1.0))
def test_arccos_step_clips_correlations_rounded_past_one(sign):
    """c = +-(1 + 1e-15): clipped to +-1, i.e. u = +-v, so G_next_12 = max(sign, 0) G_12 exactly."""
    g12 = sign * (1.0 + 1e-15)
    g_next, g_dot = arccos_step(np.array([[1.0, g12], [g12, 1.0]]))
    assert g_next[0, 1] == pytest.approx(max(sign, 0.0), abs=1e-15)  # one rounding of sin(0) + pi cos(0)
    assert g_dot[0, 1] == max(sign, 0.0)


def test_zero_rows_give_zero_rows_without_nan():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 0.5]])
    g_next, g_dot = arccos_step(X @ X.T)
    assert np.all(np.isfinite(g_next)) and np.all(np.isfinite(g_dot))
    assert not np.any(g_next[1]) and not np.any(g_dot[1]) and not np.any(g_dot[:, 1])


# Tiles of 4 over 23 points: a ragged last tile, diagonal and off-diagonal tiles, more tiles than threads.
TILED_POINTS, SMALL_TILE, THREADS = 23, 4, 2


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(previous)


def test_tiled_threaded_step_is_the_untiled_one_bit_for_bit(monkeypatch, two_threads):
    # Every entry goes through the same elementwise operations in any tiling, and the tiles below the
    # diagonal are transposes of tiles above it: with a symmetric G the results are identical.
    X = np.random.default_rng(DATA_SEED).standard_normal((TILED_POINTS, DIM))
    X[5] = 0.0  # a zero row crossing tiles
    whole = limiting_kernels(X, MAX_DEPTH)
    monkeypatch.setattr(limiting, "_TILE", SMALL_TILE)
    tiled = limiting_kernels(X, MAX_DEPTH)
    for name, matrices, references in zip(("G", "Gdot", "K"), tiled, whole):
        for level, (A, reference) in enumerate(zip(matrices[1:], references[1:]), start=2):
            np.testing.assert_array_equal(A, reference, err_msg=f"tiled {name}^({level})")
    # The lean limiting_ntk runs every level inside one tile: any tiling gives the same bits, and it agrees with
    # the level-by-level limiting_kernels to rounding (c is kept instead of recomputed from G at each level).
    lean_tiled = limiting_ntk(X, MAX_DEPTH)
    monkeypatch.setattr(limiting, "_TILE", TILED_POINTS + 1)
    np.testing.assert_array_equal(lean_tiled, limiting_ntk(X, MAX_DEPTH))
    assert_close(lean_tiled, whole.K[-1], RTOL_LEAN, "lean limiting_ntk vs limiting_kernels")


def test_depth_one_is_the_gram_matrix(data):
    kernels = limiting_kernels(data, 1)
    assert [len(m) for m in kernels] == [1, 1, 1] and kernels.Gdot[0] is None
    np.testing.assert_array_equal(limiting_ntk(data, 1), data @ data.T)


@pytest.mark.parametrize("kwargs, name", [
    (dict(depth=0), "depth"),
    (dict(depth=2.0), "depth"),
    (dict(X=np.array([[1.0, np.nan]])), "X"),
    (dict(X=np.ones(3)), "X"),
    (dict(method="exact"), "method"),
    (dict(method="monte_carlo", samples=0, seed=0), "samples"),
    (dict(method="monte_carlo", samples=10, seed=-1), "seed"),
    (dict(method="monte_carlo", seed=0), "samples"),
    (dict(method="closed_form", samples=10), "samples"),
])
@pytest.mark.parametrize("function", (limiting_kernels, limiting_ntk))
def test_bad_input_names_the_argument(function, kwargs, name):
    arguments = dict(X=np.ones((2, 2)), depth=2) | kwargs
    with pytest.raises(InvalidArgument, match=rf"\b{name}\b"):
        function(**arguments)


def test_unrolled_is_only_a_method_of_limiting_ntk():
    with pytest.raises(InvalidArgument, match=r"^method "):
        limiting_kernels(np.ones((2, 2)), 2, method="unrolled")


@pytest.mark.parametrize("G, pattern", [
    (np.ones((2, 3)), "^G must be square"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), "^G must be symmetric"),
    (np.array([[-1.0, 0.0], [0.0, 1.0]]), "^G must be positive semidefinite"),
])
def test_arccos_step_rejects_bad_matrices(G, pattern):
    with pytest.raises(InvalidArgument, match=pattern):
        arccos_step(G)


# Cross-kernel K^(L)(X1, X2): the off-diagonal block of the square kernel of the stacked data. X1 X2^T and the
# norms are other summations than the stacked Gram matrix: rounding only (no nearly collinear pairs here).
RTOL_CROSS = 1e-12
CROSS_ROWS = (9, 5)


@pytest.mark.parametrize("depth", (1, 2, 3, 5))
@pytest.mark.parametrize("tile", (4, 256))
def test_cross_kernel_is_the_block_of_the_square_case(monkeypatch, depth, tile):
    monkeypatch.setattr(limiting, "_TILE", tile)
    rng = np.random.default_rng(DATA_SEED)
    X1, X2 = rng.standard_normal((CROSS_ROWS[0], DIM)), rng.standard_normal((CROSS_ROWS[1], DIM))
    X2[2] = 0.0  # a zero row gives a zero column
    square = limiting_ntk(np.vstack([X1, X2]), depth)
    cross = limiting_ntk(X1, depth, X2=X2)
    assert cross.shape == CROSS_ROWS
    scale = np.abs(square).max()
    assert np.max(np.abs(cross - square[:CROSS_ROWS[0], CROSS_ROWS[0]:])) <= RTOL_CROSS * scale
    assert np.max(np.abs(limiting_ntk(X2, depth, X2=X1) - cross.T)) <= RTOL_CROSS * scale
    assert not cross[:, 2].any()


def test_cross_kernel_with_itself_is_the_square_case(data):
    np.testing.assert_array_equal(limiting_ntk(data, 3, X2=data.copy()), limiting_ntk(data, 3))


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(X2=np.ones((3, 5))), r"^X2 must have 4 columns"),
    (dict(X2=np.array([[np.inf, 0, 0, 0]])), r"^X2 must be finite"),
    (dict(X2=np.ones((3, 4)), method="unrolled"), r"^X2 \(a cross-kernel\) is only computed by"),
])
def test_cross_kernel_bad_input_names_the_argument(data, kwargs, pattern):
    with pytest.raises(InvalidArgument, match=pattern):
        limiting_ntk(data, 2, **kwargs)


def test_lean_path_allocates_no_other_square_array(monkeypatch):
    """Memory of (9)-(12) in place: the output is the only (N, N) array; the rest are tiles (peak RSS in
    benchmarks/peak_memory.py). Counted here by wrapping numpy's allocators of the step."""
    n = 40
    X = np.random.default_rng(DATA_SEED).standard_normal((n, DIM))
    monkeypatch.setattr(limiting, "_TILE", 8)
    shapes = []
    for name in ("empty_like", "zeros_like"):
        original = getattr(np, name)
        monkeypatch.setattr(limiting.np, name, lambda a, *args, _f=original, **kw: shapes.append(a.shape)
                            or _f(a, *args, **kw))
    limiting_ntk(X, 4)
    assert shapes and max(shapes) == (8, 8)
