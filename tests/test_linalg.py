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


# lambda_min's drivers: MKL's dsyevd (from N = _MKL_FROM on) on the upper triangle copied by the symmetry pass,
# torch.linalg.eigvalsh on that copy when the MKL symbol is missing, scipy's dsyevr subset below. Each against a
# full eigendecomposition, to 1e-12 relative to ||A||_2 (issue 17: backward-stable, ~N eps ||A||_2 absolute).
from ntkcheck import _validate, linalg  # noqa: E402


def spectrum_matrix(n, seed, lowest=1e-9):
    """Q diag(lowest, 1, ..., 2) Q^T exactly symmetric (the upper triangle mirrored): a nearly singular PSD matrix."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.concatenate([[lowest], np.linspace(1.0, 2.0, n - 1)])) @ q.T
    return np.triu(a) + np.triu(a, 1).T


@pytest.fixture(params=["mkl", "torch_fallback", "scipy_evr"])
def driver(request, monkeypatch):
    if request.param == "scipy_evr":
        monkeypatch.setattr(linalg, "_MKL_FROM", 10 ** 9)
    else:
        monkeypatch.setattr(linalg, "_MKL_FROM", 1)
        if request.param == "torch_fallback":
            monkeypatch.setattr(linalg, "_mkl_dsyevd", lambda: None)
        elif linalg._mkl_dsyevd() is None:
            pytest.skip("torch's CPU library exports no dsyevd_ (not an MKL build)")
    monkeypatch.setattr(_validate, "_SYMMETRY_TILE", 16)  # ragged tiles, many of them
    return request.param


@pytest.mark.parametrize("n", (1, 2, 37, 130))
def test_lambda_min_drivers_match_full_eigendecomposition(driver, n):
    a = spectrum_matrix(n, seed=1000 + n)
    reference = np.linalg.eigh(a)[0]
    assert abs(lambda_min(a) - reference[0]) <= SOLVER_RTOL * abs(reference).max()
    assert np.array_equal(a, spectrum_matrix(n, seed=1000 + n))  # the input is not overwritten


def test_lambda_min_drivers_reject_asymmetry_and_non_finite_entries(driver):
    a = spectrum_matrix(40, seed=1)
    for i, j, value in ((30, 2, a[30, 2] + 1e-6), (3, 35, np.nan), (35, 3, np.inf), (20, 20, -np.inf)):
        bad = a.copy()
        bad[i, j] = value
        with pytest.raises(InvalidArgument, match=r"^a must be (symmetric|finite)"):
            lambda_min(bad)


@pytest.mark.parametrize("tile", (1, 7, 64))
def test_symmetry_error_is_the_dense_formula(monkeypatch, tile):
    monkeypatch.setattr(_validate, "_SYMMETRY_TILE", tile)
    rng = np.random.default_rng(1001)
    a = rng.standard_normal((23, 23))
    # the scale max|A| is taken on the tiles on and below the diagonal: between max|tril(A)| and max|A|
    difference = np.max(np.abs(a - a.T))
    copy = np.zeros_like(a)
    error = _validate.symmetry_error(a, "a", copy)
    assert difference / np.max(np.abs(a)) <= error <= difference / np.max(np.abs(np.tril(a)))
    np.testing.assert_array_equal(np.tril(copy), np.tril(a))  # the triangle the solver reads (column-major "U")


def test_read_only_input_is_read_in_place(recwarn):
    a = spectrum_matrix(20, seed=2)
    a.flags.writeable = False
    assert lambda_min(a) == pytest.approx(1e-9, abs=1e-12)
    assert psd_sqrt(a).shape == (20, 20)
    assert not recwarn.list
