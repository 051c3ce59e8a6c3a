"""The machine's float64 GEMM throughput, the yardstick of the NTK's flop rate (measured in the same run)."""
import numpy as np
import pytest
import torch

from ratios import measure

SIDE = 2048  # large enough for BLAS to reach its peak, small enough for a second per product
FLOPS = 2.0 * SIDE ** 3


@pytest.mark.parametrize("implementation", ["numpy", "torch"])
def test_gemm(benchmark, implementation):
    a = np.random.default_rng(0).standard_normal((SIDE, SIDE))
    b = np.random.default_rng(1).standard_normal((SIDE, SIDE))
    product = (lambda: a @ b) if implementation == "numpy" else (lambda ta=torch.from_numpy(a), tb=torch.from_numpy(b): ta @ tb)
    measure(benchmark, product, group="gemm", case=f"{SIDE}^3", implementation=implementation, flops=FLOPS)
