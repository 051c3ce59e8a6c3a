"""Linear algebra of the paper: smallest eigenvalue, PSD square root, row-wise Khatri-Rao powers.

All functions take and return float64 numpy arrays and validate their input at the boundary.
"""
from __future__ import annotations

import ctypes
import functools
import os

import numpy as np
import scipy.linalg

from ntkcheck._validate import (ASYMMETRY_TOLERANCE, InvalidArgument, as_int, as_matrix, as_symmetric_matrix,
                                symmetry_error)


class NotPositiveSemidefinite(InvalidArgument):
    """A matrix expected to be PSD has an eigenvalue below zero beyond rounding."""


def _rounding_floor(a: np.ndarray) -> float:
    """How negative an eigenvalue of a PSD matrix can come out of a backward-stable solver: ~ N eps ||A||_2.

    ||A||_F bounds ||A||_2 and is cheap; the factor N covers the accumulation of N-term inner products."""
    return a.shape[0] * np.finfo(np.float64).eps * float(np.linalg.norm(a))


def lambda_min(a, *, psd: bool = False) -> float:
    """Smallest eigenvalue of a symmetric matrix (the paper's lambda_min).

    a : (N, N) symmetric (relative asymmetry max|A - A^T| / max|A| <= 1e-8), finite. A dense backward-stable
    solver: the absolute accuracy is ~ eps ||A||_2, which keeps nearly singular matrices accurate (no iterative
    solver whose convergence degrades when the smallest eigenvalues cluster). Cost: the tridiagonal reduction,
    4/3 N^3 flops, no eigenvectors; memory: one (N, N) working copy (LAPACK overwrites its input), no other.

    The driver was chosen by measurement (benchmarks/test_bench_lambda_min.py, docs/performance.md): from
    N = ``_MKL_FROM`` on, MKL's dsyevd (eigenvalues only: dsytrd, then dsterf) from the MKL inside torch, called
    directly on a copy of the lower triangle made in the same blocked pass that validates symmetry
    (``_validate.symmetry_error``), so that neither the validation nor torch.linalg.eigvalsh's own copy of the
    input is paid on top of the solver; it was 1.9-2.2x faster than LAPACK's dsyevr subset driver from
    numpy/scipy's OpenBLAS at N = 2000-4000 and faster than the two-stage drivers there. Below ``_MKL_FROM``,
    scipy's dsyevr restricted to the lowest eigenvalue (faster there). Without an MKL dsyevd symbol in torch's
    library, torch.linalg.eigvalsh on the same copy.
    psd : when True, raise ``NotPositiveSemidefinite`` if the eigenvalue is negative beyond rounding
    (below -N eps ||A||_F); a value within rounding is returned as computed, not clipped.
    """
    a = as_matrix(a, "a", square=True, finite=False, writeable=False)
    n = a.shape[0]
    if n < _MKL_FROM:
        _check_symmetric(a, None)
        value = float(scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=(0, 0), driver="evr",
                                        check_finite=False)[0])
    else:
        work = np.empty_like(a, order="C")
        _check_symmetric(a, work)  # fills the lower triangle (row-major) = the upper one column-major
        value = _mkl_lowest_eigenvalue(work)
    if psd and value < -_rounding_floor(a):
        raise NotPositiveSemidefinite(
            f"a must be positive semi-definite, got lambda_min = {value:.6g} "
            f"(rounding allows down to {-_rounding_floor(a):.3g})")
    return value


# Size from which MKL's dsyevd beats scipy's dsyevr subset driver on this machine (benchmarks/test_bench_lambda_min.py)
_MKL_FROM = 1024


def _check_symmetric(a: np.ndarray, copy_lower_to: np.ndarray | None) -> None:
    asym = symmetry_error(a, "a", copy_lower_to)
    if asym > ASYMMETRY_TOLERANCE:
        raise InvalidArgument(f"a must be symmetric, got relative asymmetry {asym:.3g}")


@functools.cache
def _mkl_dsyevd():
    """MKL's LP64 Fortran dsyevd_ from torch's CPU library (torch.linalg.eigvalsh's own LAPACK), or None."""
    import torch

    try:
        library = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        routine = library.dsyevd_
    except (OSError, AttributeError):
        return None
    pointer = ctypes.POINTER
    routine.restype = None
    routine.argtypes = [ctypes.c_char_p, ctypes.c_char_p, pointer(ctypes.c_int), pointer(ctypes.c_double),
                        pointer(ctypes.c_int), pointer(ctypes.c_double), pointer(ctypes.c_double),
                        pointer(ctypes.c_int), pointer(ctypes.c_int), pointer(ctypes.c_int), pointer(ctypes.c_int)]
    return routine


def _mkl_lowest_eigenvalue(work: np.ndarray) -> float:
    """The lowest eigenvalue of the symmetric matrix whose lower triangle (row-major) ``work`` holds; destroys it.

    Row-major lower = column-major upper, so LAPACK is told uplo = "U" on the same buffer (no transpose copy;
    MKL's dsytrd on "U" was 1.846 s against 1.912 s on "L" at N = 4000, one thread, 7 interleaved rounds)."""
    routine = _mkl_dsyevd()
    n = work.shape[0]
    if routine is None or n > np.iinfo(np.int32).max // max(n, 1):
        import torch

        return float(torch.linalg.eigvalsh(torch.from_numpy(work), UPLO="L")[0])
    c_int, c_double = ctypes.c_int, ctypes.c_double
    size, info = c_int(n), c_int(0)
    values = np.empty(n)
    query, iquery = c_double(0.0), c_int(0)
    as_double = lambda array: array.ctypes.data_as(ctypes.POINTER(c_double))  # noqa: E731
    minus_one = c_int(-1)
    routine(b"N", b"U", size, as_double(work), size, as_double(values), query, minus_one, iquery, minus_one, info)
    lwork, liwork = c_int(max(int(query.value), 2 * n + 1)), c_int(max(iquery.value, 1))
    workspace, iworkspace = np.empty(lwork.value), np.empty(liwork.value, dtype=np.int32)
    routine(b"N", b"U", size, as_double(work), size, as_double(values), as_double(workspace), lwork,
            iworkspace.ctypes.data_as(ctypes.POINTER(c_int)), liwork, info)
    if info.value != 0:  # < 0: a bad argument (a bug here); > 0: dsterf did not converge
        raise RuntimeError(f"LAPACK dsyevd failed with info = {info.value} (N = {n})")
    return float(values[0])


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
