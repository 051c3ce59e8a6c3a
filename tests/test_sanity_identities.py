"""Sanity identities moved out of the claim checks (issue 14, item 5): bounds that hold by construction, so that
they cannot fail as claim checks, kept here as tests of the engine.

* Theorem 3.2, the Rayleigh bound: lambda_min(K^(L)) <= min_i K^(L)_ii = L min_i ||x_i||^2 (the Rayleigh quotient
  on e_i, with the diagonal fact K^(L)_ii = L ||x_i||^2). As a claim check it could only fail by a broken
  eigensolver; the claim's upper bound is checked in claims/test_thm3_2_limiting_lambda_min.py at its derived
  constant (test_lambda_min_at_its_first_order_value) and as a band of lambda_min / (L d).
"""
import numpy as np
import pytest

import ntkcheck as nc

ROUNDING_RTOL = 1e-10  # eigenvalues of N <= 64 matrices by a backward-stable solver: ~N eps relative


@pytest.mark.parametrize("distribution", ("gaussian", "sphere", "hypercube", "gan"))
@pytest.mark.parametrize("n, d", ((16, 1024), (64, 32), (8, 8)))
def test_rayleigh_bound_lambda_min_below_the_smallest_diagonal(distribution, n, d):
    """Labelled sanity identity (Theorem 3.2's L O(d) by e_i): lambda_min(K^(L)) <= L min_i ||x_i||^2, L = 1..5."""
    X = nc.sample_data(distribution, n, d, seed=1)
    kernels = nc.limiting_kernels(X, 5)
    norms = np.sum(X * X, axis=1)
    for depth in range(1, 6):
        kernel = kernels.K[depth - 1]
        np.testing.assert_allclose(np.diag(kernel), depth * norms, rtol=1e-12)
        assert nc.lambda_min(kernel) <= depth * norms.min() * (1 + ROUNDING_RTOL)


def test_rayleigh_bound_on_orthogonal_data():
    """Orthogonal rows of equal norm: K^(L) = ||x||^2 ((L - kappa_L(0)) I + kappa_L(0) 1 1^T), whose lambda_min
    (L - kappa_L(0)) ||x||^2 lies strictly below the diagonal L ||x||^2."""
    X = 3.0 * np.eye(4)
    for depth in range(1, 6):
        kernel = nc.limiting_ntk(X, depth)
        assert nc.lambda_min(kernel) <= depth * 9.0 * (1 + ROUNDING_RTOL)
        np.testing.assert_allclose(np.diag(kernel), depth * 9.0, rtol=1e-12)
