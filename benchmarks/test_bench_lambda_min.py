"""lambda_min: the engine (LAPACK dsyevr restricted to the lowest eigenvalue) against every dense symmetric solver
at hand, on limiting NTK matrices (their smallest eigenvalues are what the paper bounds)."""
import numpy as np
import pytest
import scipy.linalg
import torch

import ntkcheck as nc
from ratios import grid, measure

SIZES = grid([1000, 2000], [3000, 4000])
SOLVERS = {
    "ntkcheck": nc.lambda_min,
    "numpy_eigvalsh": lambda a: np.linalg.eigvalsh(a)[0],
    "scipy_evr_subset": lambda a: scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=(0, 0), driver="evr",
                                                    check_finite=False)[0],
    "scipy_evx_subset": lambda a: scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=(0, 0), driver="evx",
                                                    check_finite=False)[0],
    "scipy_evd": lambda a: scipy.linalg.eigh(a, eigvals_only=True, driver="evd", check_finite=False)[0],
    "torch_eigvalsh": lambda a: torch.linalg.eigvalsh(torch.from_numpy(a))[0].item(),
}
# Backward-stable dense solvers are accurate to ~N eps ||K||_2 in absolute terms: 1e-12 relative to ||K||_2.
AGREEMENT_RTOL = 1e-12


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"N{n}")
def kernel(request):
    return nc.limiting_ntk(nc.sample_data("sphere", n=request.param, d=50, seed=0), 3)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_lambda_min(benchmark, kernel, solver):
    value = measure(benchmark, lambda: SOLVERS[solver](kernel), group="lambda_min", case=f"N{len(kernel)}",
                    implementation=solver, rounds=3)
    reference = np.linalg.eigvalsh(kernel)
    error = abs(value - reference[0]) / reference[-1]
    benchmark.extra_info["relative_error"] = error
    assert error <= AGREEMENT_RTOL, f"{solver}: lambda_min {value!r} vs {reference[0]!r}"
