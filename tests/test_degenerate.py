"""Degenerate data through every engine path, each against its closed form: an all-zero row, duplicated rows,
rows on one ray (x and c x, c > 0; and -x), N = 1, and all-zero data.

The closed forms (a ReLU net without biases is positively homogeneous, and sigma(0) = sigma'(0) = 0):
* zero row x_i = 0: every feature row F_k(x_i) is 0 and every back-propagated row B_k(x_i), k < L, is 0, so row
  and column i of every kernel (Kbar, G^(l), Gdot^(l), K^(l)) are exactly 0;
* duplicated rows x_j = x_i: rows i and j of every matrix coincide, and lambda_min of a kernel is 0 up to rounding;
* one ray x_j = c x_i, c > 0: F_k(x_j) = c F_k(x_i) and B_k(x_j) = B_k(x_i) (the same activation pattern), so row j
  of Kbar is c times row i (all columns, the diagonal included); for the limiting kernels, which are homogeneous
  of degree 1 (G, K) and 0 (Gdot) in each argument, G^(l)_ij = c ||x_i||^2, Gdot^(l)_ij = 1 and
  K^(l)_ij = c l ||x_i||^2; the antipodal x_j = -x_i gives G^(2)_ij = 0 and Gdot^(2)_ij = 0 (theta = pi);
* N = 1: K^(L) = L ||x||^2 (G^(l)_11 = ||x||^2 and Gdot^(l)_11 = 1 at every level) and
  Kbar = ||J||^2 = sum_k ||F_k(x)||^2 ||B_{k+1}(x)||^2.
The Monte Carlo path of Lemma 3.1 on the same data is in tests/test_limiting.py (TestDegenerateMonteCarlo).
"""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck.limiting import arccos_step, limiting_kernels
from ntkcheck.linalg import khatri_rao_gram, khatri_rao_power, psd_sqrt, sigma_min
from ntkcheck.ntk import METHODS as NTK_METHODS

EPS = np.finfo(np.float64).eps
ZERO, GENERIC, DUPLICATE_OF, DUPLICATE, RAY_OF, RAY, ANTIPODE = 1, 0, 2, 4, 3, 5, 6
C = 2.5  # the factor of the ray: x_RAY = C x_RAY_OF
# A linear relation between entries computed through a few products and sums: rounding only.
RTOL_LINEAR = 1e-13
# Gdot = (pi - arccos c) / pi has slope ~1 / (pi sqrt(2 (1 - c))) at c = 1: a cosine of points on one ray that
# rounds to 1 - 20 eps moves Gdot by sqrt(40 eps) / pi ~ 3e-8, and K through K^(l-1) o Gdot^(l) (as in
# tests/test_limiting.py); the G entries stay well conditioned.
RTOL_STEP = math.sqrt(40.0 * EPS) / math.pi
NET_WIDTHS = ((4, 32, 16, 1), (4, 8, 1), (4, 64, 1))
DEPTHS = (1, 2, 3, 5)
ONE_POINT_NETS = {1: (3, 1), 2: (3, 16, 1), 3: (3, 16, 8, 1), 5: (3, 16, 8, 8, 8, 1)}  # widths by depth L


def degenerate_data(seed=0):
    """(7, 4): generic rows 0, 2, 3; row 1 zero; row 4 = row 2; row 5 = C * row 3; row 6 = -row 0."""
    X = np.random.default_rng(seed).standard_normal((7, 4))
    X[ZERO] = 0.0
    X[DUPLICATE] = X[DUPLICATE_OF]
    X[RAY] = C * X[RAY_OF]
    X[ANTIPODE] = -X[GENERIC]
    return X


def rounding_floor(matrix):
    """|lambda_min| of a singular PSD matrix from a backward-stable solver: ~ N eps ||A||_F (linalg's floor)."""
    return 4 * matrix.shape[0] * EPS * np.linalg.norm(matrix)


def assert_zero_row_and_column(matrix, i, what):
    assert not matrix[i].any() and not matrix[:, i].any(), f"{what}: row/column {i} of a zero data row is not 0"


def assert_rows_proportional(matrix, i, j, factor, rtol, what):
    error = np.max(np.abs(matrix[j] - factor * matrix[i])) / np.max(np.abs(matrix))
    assert error <= rtol, f"{what}: row {j} - {factor} row {i} is {error:.3g} of the largest entry (> {rtol:.1g})"


@pytest.fixture(scope="module")
def X():
    return degenerate_data()


@pytest.mark.parametrize("method", NTK_METHODS)
@pytest.mark.parametrize("widths", NET_WIDTHS, ids=str)
def test_empirical_ntk_on_degenerate_rows(X, widths, method):
    net = nc.ReLUNet(widths, seed=3)
    K = nc.empirical_ntk(net, X, method)
    assert_zero_row_and_column(K, ZERO, f"Kbar {method}")
    assert_rows_proportional(K, DUPLICATE_OF, DUPLICATE, 1.0, RTOL_LINEAR, f"Kbar {method}, duplicate")
    assert_rows_proportional(K, RAY_OF, RAY, C, RTOL_LINEAR, f"Kbar {method}, ray")
    assert abs(nc.lambda_min(K)) <= rounding_floor(K)  # a zero row, and two pairs of dependent rows


@pytest.mark.parametrize("widths", NET_WIDTHS, ids=str)
def test_features_and_backprop_vectors_on_degenerate_rows(X, widths):
    net = nc.ReLUNet(widths, seed=4)
    features, vectors = net.features(X), net.backprop_vectors(X)
    for k, F in enumerate(features):
        assert not F[ZERO].any(), f"F_{k} of a zero row"
        np.testing.assert_array_equal(F[DUPLICATE], F[DUPLICATE_OF])
        np.testing.assert_allclose(F[RAY], C * F[RAY_OF], rtol=RTOL_LINEAR, atol=0)
    for k, B in enumerate(vectors[:-1], start=1):
        assert not B[ZERO].any(), f"B_{k} of a zero row (every ReLU has input 0, and sigma'(0) = 0)"
        np.testing.assert_array_equal(B[DUPLICATE], B[DUPLICATE_OF])
        np.testing.assert_array_equal(B[RAY], B[RAY_OF])  # the same activation pattern along the ray
    np.testing.assert_array_equal(vectors[-1], np.ones((len(X), 1)))  # B_L = 1_N, whatever the data


@pytest.mark.parametrize("method", ("closed_form", "unrolled"))  # Monte Carlo: tests/test_limiting.py
@pytest.mark.parametrize("depth", DEPTHS)
def test_limiting_ntk_on_degenerate_rows(X, depth, method):
    K = nc.limiting_ntk(X, depth, method)
    assert_zero_row_and_column(K, ZERO, f"K^({depth}) {method}")
    assert_rows_proportional(K, DUPLICATE_OF, DUPLICATE, 1.0, RTOL_LINEAR, f"K^({depth}), duplicate")
    assert_rows_proportional(K, RAY_OF, RAY, C, RTOL_STEP, f"K^({depth}), ray")
    norm2 = float(X[RAY_OF] @ X[RAY_OF])
    assert K[RAY_OF, RAY] == pytest.approx(C * depth * norm2, rel=RTOL_STEP)
    assert abs(nc.lambda_min(K)) <= rounding_floor(K) + RTOL_STEP * np.abs(K).max()


@pytest.mark.parametrize("depth", DEPTHS[1:])
def test_limiting_kernels_levels_on_degenerate_rows(X, depth):
    kernels = limiting_kernels(X, depth)
    norm2 = float(X[RAY_OF] @ X[RAY_OF])
    for level, (G, Gdot) in enumerate(zip(kernels.G, kernels.Gdot), start=1):
        assert_zero_row_and_column(G, ZERO, f"G^({level})")
        assert G[RAY_OF, RAY] == pytest.approx(C * norm2, rel=RTOL_LINEAR)  # c ||x||^2 at every level
        np.testing.assert_allclose(np.diag(G), np.sum(X * X, axis=1), rtol=RTOL_LINEAR)
        if Gdot is not None:
            assert_zero_row_and_column(Gdot, ZERO, f"Gdot^({level})")
            assert Gdot[RAY_OF, RAY] == pytest.approx(1.0, abs=RTOL_STEP)
            np.testing.assert_array_equal(Gdot[DUPLICATE], Gdot[DUPLICATE_OF])
    G2, Gdot2 = kernels.G[1], kernels.Gdot[1]
    assert abs(G2[GENERIC, ANTIPODE]) <= RTOL_LINEAR * G2[GENERIC, GENERIC]  # theta = pi: sin pi + 0 = 0
    assert Gdot2[GENERIC, ANTIPODE] == 0.0


def test_arccos_step_on_zero_rows_and_rays():
    X = degenerate_data(seed=1)
    G_next, Gdot = arccos_step(X @ X.T)
    for matrix in (G_next, Gdot):
        assert_zero_row_and_column(matrix, ZERO, "arccos_step")
    np.testing.assert_array_equal(G_next, G_next.T)
    norm2 = float(X[RAY_OF] @ X[RAY_OF])
    assert G_next[RAY_OF, RAY] == pytest.approx(C * norm2, rel=RTOL_LINEAR)  # the kernel of x and c x: c ||x||^2
    assert G_next[DUPLICATE, DUPLICATE_OF] == pytest.approx(G_next[DUPLICATE_OF, DUPLICATE_OF], rel=RTOL_LINEAR)
    assert Gdot[DUPLICATE, DUPLICATE_OF] == pytest.approx(1.0, abs=RTOL_STEP)


def test_all_zero_data_gives_zero_kernels():
    X = np.zeros((3, 2))
    for depth in (1, 3):
        assert not nc.limiting_ntk(X, depth).any()
        assert not nc.limiting_ntk(X, depth, "unrolled").any()
        assert not nc.limiting_ntk(X, depth, "monte_carlo", samples=100, seed=0).any()
    net = nc.ReLUNet((2, 8, 4, 1), seed=0)
    for method in NTK_METHODS:
        assert not nc.empirical_ntk(net, X, method).any()
    assert not psd_sqrt(np.zeros((3, 3))).any()


@pytest.mark.parametrize("depth", DEPTHS)
def test_one_point(depth):
    x = np.array([[0.3, -1.2, 2.0]])
    norm2 = float(np.sum(x * x))
    for method in ("closed_form", "unrolled"):
        assert nc.limiting_ntk(x, depth, method)[0, 0] == pytest.approx(depth * norm2, rel=RTOL_LINEAR)
    net = nc.ReLUNet(ONE_POINT_NETS[depth], seed=depth)
    features, vectors = net.features(x), net.backprop_vectors(x)
    closed = sum(float(np.sum(F * F) * np.sum(B * B)) for F, B in zip(features, vectors))
    for method in NTK_METHODS:
        K = nc.empirical_ntk(net, x, method)
        assert K.shape == (1, 1) and K[0, 0] == pytest.approx(closed, rel=RTOL_LINEAR)
        assert nc.lambda_min(K) == K[0, 0]
    assert psd_sqrt(np.array([[norm2]]))[0, 0] == pytest.approx(math.sqrt(norm2), rel=RTOL_LINEAR)
    assert sigma_min(x) == pytest.approx(math.sqrt(norm2), rel=RTOL_LINEAR)


def test_lambda_min_and_sigma_min_of_dependent_rows():
    X = degenerate_data(seed=2)
    wide = np.random.default_rng(2).standard_normal((7, 12))
    wide[ZERO], wide[DUPLICATE], wide[RAY] = 0.0, wide[DUPLICATE_OF], C * wide[RAY_OF]
    for rows in ([ZERO, GENERIC], [DUPLICATE_OF, DUPLICATE], [RAY_OF, RAY]):
        gram = wide[rows] @ wide[rows].T
        assert abs(nc.lambda_min(gram)) <= rounding_floor(gram)
        assert sigma_min(wide[rows]) <= 4 * len(rows) * EPS * np.linalg.norm(wide[rows])
    assert nc.lambda_min(np.zeros((4, 4))) == 0.0
    assert abs(nc.lambda_min(X @ X.T)) <= rounding_floor(X @ X.T)


def test_psd_sqrt_of_degenerate_gram():
    X = degenerate_data(seed=3)
    A = X @ X.T
    root = psd_sqrt(A)
    assert_zero_row_and_column(root, ZERO, "psd_sqrt")  # e_i is in the kernel of A, hence of sqrt(A)
    np.testing.assert_array_equal(root, root.T)
    # elsewhere A is singular (rank 4 of 7), and the root of its null space is rounding of size sqrt(eps ||A||)
    noise = math.sqrt(len(A) * EPS * np.linalg.norm(A))
    assert np.max(np.abs(root[DUPLICATE] - root[DUPLICATE_OF])) <= noise
    assert np.max(np.abs(root[RAY] - C * root[RAY_OF])) <= C * noise
    assert np.linalg.norm(root @ root - A) <= 1e-12 * len(A) * np.linalg.norm(A)


@pytest.mark.parametrize("r", (1, 2, 3))
def test_khatri_rao_of_degenerate_rows(r):
    A = degenerate_data(seed=4)
    power, gram = khatri_rao_power(A, r), khatri_rao_gram(A, r)
    assert not power[ZERO].any()
    assert_zero_row_and_column(gram, ZERO, "khatri_rao_gram")
    np.testing.assert_array_equal(power[DUPLICATE], power[DUPLICATE_OF])
    np.testing.assert_allclose(power[RAY], C ** r * power[RAY_OF], rtol=RTOL_LINEAR)
    assert_rows_proportional(gram, RAY_OF, RAY, C ** r, RTOL_LINEAR, "khatri_rao_gram, ray")
    np.testing.assert_allclose(power[ANTIPODE], (-1) ** r * power[GENERIC], rtol=RTOL_LINEAR)
