"""Linear algebra of the paper: smallest eigenvalue, PSD square root, row-wise Khatri-Rao powers.

All functions take and return float64 numpy arrays and validate their input at the boundary.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from ntkcheck._validate import InvalidArgument, as_int, as_matrix, as_symmetric_matrix


class NotPositiveSemidefinite(InvalidArgument):
    """A matrix expected to be PSD has an eigenvalue below zero beyond rounding."""


def _rounding_floor(a: np.ndarray) -> float:
    """How negative an eigenvalue of a PSD matrix can come out of a backward-stable solver: ~ N eps ||A||_2.

    ||A||_F bounds ||A||_2 and is cheap; the factor N covers the accumulation of N-term inner products."""
    return a.shape[0] * np.finfo(np.float64).eps * float(np.linalg.norm(a))


def lambda_min(a, *, psd: bool = False) -> float:
    """Smallest eigenvalue of a symmetric matrix (the paper's lambda_min).

    a : (N, N) symmetric. Uses LAPACK's dsyevr restricted to the lowest eigenvalue (tridiagonal reduction, then one
    eigenvalue by bisection/MRRR): O(4/3 N^3) flops, no eigenvectors, and the absolute accuracy of a dense
    backward-stable solver, ~ eps ||A||_2, which keeps nearly singular matrices accurate (no iterative solver whose
    convergence degrades when the smallest eigenvalues cluster).
    psd : when True, raise ``NotPositiveSemidefinite`` if the eigenvalue is negative beyond rounding
    (below -N eps ||A||_F); a value within rounding is returned as computed, not clipped.
    """
    a = as_symmetric_matrix(a, "a")
    value = float(scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=(0, 0), driver="evr",
                                    check_finite=False)[0])
    if psd and value < -_rounding_floor(a):
        raise NotPositiveSemidefinite(
            f"a must be positive semi-definite, got lambda_min = {value:.6g} "
            f"(rounding allows down to {-_rounding_floor(a):.3g})")
    return value


def sigma_min(a) -> float:
    """Smallest singular value of an (N, n) matrix with N <= n, as used in Theorem 5.1 (sigma_min(F_k)).

    Computed by an SVD, O(N^2 n); for N > n it is 0 up to rounding in the sense of sigma_min(F)^2 = lambda_min(F F^T),
    and the SVD returns the n-th singular value instead, so that case is rejected."""
    a = as_matrix(a, "a")
    if a.shape[0] > a.shape[1]:
        raise InvalidArgument(f"a must have at least as many columns as rows (N <= n), got shape {a.shape}")
    return float(scipy.linalg.svdvals(a, check_finite=False)[-1])


def psd_sqrt(a) -> np.ndarray:
    """The symmetric PSD square root sqrt(A) of Section 2 (sqrt(A) = sqrt(A)^T, sqrt(A) sqrt(A) = A).

    a : (N, N) symmetric PSD. Full eigendecomposition, O(9 N^3). Eigenvalues negative within rounding are set to 0;
    beyond rounding, ``NotPositiveSemidefinite`` is raised. A zero diagonal entry A_ii = 0 gives an exactly zero
    row and column i (e_i is in the kernel of A, hence of sqrt(A)); elsewhere the absolute error is
    ~sqrt(eps ||A||) when A is singular, so a row with A_ii below ~eps ||A|| is noise (to sample N(0, A), scale by
    the standard deviations first, as ``limiting_kernels(method="monte_carlo")`` does). Returns (N, N)."""
    a = as_symmetric_matrix(a, "a")
    values, vectors = scipy.linalg.eigh(a, check_finite=False)
    if values[0] < -_rounding_floor(a):
        raise NotPositiveSemidefinite(f"a must be positive semi-definite, got lambda_min = {values[0]:.6g}")
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    root = (root + root.T) / 2  # symmetric to the last bit, as the definition requires
    null = np.diag(a) == 0
    root[null, :] = 0.0
    root[:, null] = 0.0
    return root


def khatri_rao_power(a, r: int) -> np.ndarray:
    """Row-wise Khatri-Rao power A^{*r} (Section 2): row i is a_i (x) a_i (x) ... (x) a_i, r factors.

    a : (N, n); returns (N, n^r). Cost and memory O(N n^r): only for small n^r (a claim about Lemmas 5.3-5.5 needs
    this object itself; for its Gram matrix use ``khatri_rao_gram``, which never forms it)."""
    a = as_matrix(a, "a")
    r = as_int(r, "r", minimum=1)
    n_rows, n_cols = a.shape
    if float(n_cols) ** r * n_rows > 2e8:  # 1.6 GB of float64: beyond it, the caller wants khatri_rao_gram
        raise InvalidArgument(f"khatri_rao_power would have {n_rows} x {n_cols}^{r} entries; "
                              f"use khatri_rao_gram for (A^{{*r}})(A^{{*r}})^T")
    power = a
    for _ in range(r - 1):
        power = (power[:, :, None] * a[:, None, :]).reshape(n_rows, -1)
    return power


def khatri_rao_gram(a, r: int) -> np.ndarray:
    """Gram matrix of the Khatri-Rao power, (A^{*r})(A^{*r})^T = (A A^T)^{o r} (entrywise r-th power).

    The identity <a_i^{(x)r}, a_j^{(x)r}> = <a_i, a_j>^r makes this O(N^2 n) instead of O(N^2 n^r).
    a : (N, n); returns (N, N)."""
    a = as_matrix(a, "a")
    r = as_int(r, "r", minimum=1)
    return (a @ a.T) ** r
