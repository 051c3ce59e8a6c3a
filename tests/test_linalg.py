"""linalg: lambda_min against numpy's full solver, the PSD square root, Khatri-Rao powers."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from ntkcheck import InvalidArgument
from ntkcheck.linalg import (NotPositiveSemidefinite, khatri_rao_gram, khatri_rao_power, lambda_min, psd_sqrt,
                             sigma_min)

# Two dense backward-stable solvers agree to a few eps * ||A||_2; 1e-12 relative leaves room for N up to ~100.
SOLVER_RTOL = 1e-12

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def random_psd(n, rank, seed):
    g = np.random.default_rng(seed).standard_normal((n, rank))
    return g @ g.T


@given(arrays(np.float64, (6, 4), elements=finite))
def test_lambda_min_matches_full_eigendecomposition(g):
    a = g @ g.T + np.diag(np.arange(6.0))
    reference = np.linalg.eigvalsh(a)[0]
    assert abs(lambda_min(a) - reference) <= SOLVER_RTOL * max(1.0, np.abs(a).max()) * 6


def test_lambda_min_on_nearly_singular_matrix():
    # A rank-deficient PSD matrix: the smallest eigenvalue is 0 exactly; the solver returns it within rounding.
    a = random_psd(60, 20, seed=0)
    value = lambda_min(a, psd=True)
    assert abs(value) < 60 * np.finfo(float).eps * np.linalg.norm(a)


def test_lambda_min_reports_non_psd():
    a = random_psd(10, 10, seed=1) - 5 * np.linalg.norm(random_psd(10, 10, seed=1)) * np.eye(10) * 0.01
    assert lambda_min(a) < 0
    with pytest.raises(NotPositiveSemidefinite, match="positive semi-definite"):
        lambda_min(-np.eye(3), psd=True)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2 ** 31))
def test_psd_sqrt_squares_back(n, rank, seed):
    a = random_psd(n, rank, seed)
    root = psd_sqrt(a)
    np.testing.assert_array_equal(root, root.T)
    assert np.linalg.norm(root @ root - a) <= 1e-12 * max(1.0, np.linalg.norm(a)) * n
    assert np.linalg.eigvalsh(root)[0] >= -1e-10 * max(1.0, np.linalg.norm(root))


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2 ** 31))
def test_khatri_rao_power_gram_identity(n_rows, n_cols, r, seed):
    a = np.random.default_rng(seed).standard_normal((n_rows, n_cols))
    power = khatri_rao_power(a, r)
    assert power.shape == (n_rows, n_cols ** r)
    np.testing.assert_allclose(power @ power.T, khatri_rao_gram(a, r), rtol=1e-12, atol=1e-12)
    # row i is the r-fold Kronecker power of a_i
    kron = a[0]
    for _ in range(r - 1):
        kron = np.kron(kron, a[0])
    np.testing.assert_allclose(power[0], kron, rtol=1e-15)


def test_sigma_min_matches_lambda_min_of_gram():
    f = np.random.default_rng(3).standard_normal((8, 20))
    assert abs(sigma_min(f) ** 2 - lambda_min(f @ f.T)) < 1e-12 * np.linalg.norm(f) ** 2


@pytest.mark.parametrize("call, argument", [
    (lambda: lambda_min(np.ones((2, 3))), "square"),
    (lambda: lambda_min(np.array([[1.0, 2.0], [0.0, 1.0]])), "symmetric"),
    (lambda: lambda_min(np.array([[np.inf]])), "finite"),
    (lambda: lambda_min(np.array(["a"])), "dtype"),
    (lambda: psd_sqrt(np.ones(3)), "2-D"),
    (lambda: khatri_rao_power(np.ones((2, 2)), 0), "r"),
    (lambda: khatri_rao_power(np.ones((2, 2000)), 4), "khatri_rao_gram"),
    (lambda: sigma_min(np.ones((5, 2))), "columns"),
])
def test_bad_input(call, argument):
    with pytest.raises(InvalidArgument, match=argument):
        call()
