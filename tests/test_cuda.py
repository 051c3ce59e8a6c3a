"""The CUDA path of the engine: every branch that depends on the device, run on a GPU against the CPU.

Skipped cleanly where torch.cuda.is_available() is False (the project's CI machines have no GPU; the run on a GPU
machine is owed, see docs/performance.md). On a GPU: the weights are drawn on the CPU and moved (same seed, same
weights), products go through torch (network.matmul's device branch), results come back as numpy arrays, the
memory check reads torch.cuda.mem_get_info, and "cuda:N" / torch.device select the device.
"""
import numpy as np
import pytest
import torch

import ntkcheck as nc
from ntkcheck import _validate, figure2

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda)")

WIDTHS = (6, 40, 30, 1)
# The same products on another BLAS (cuBLAS sums in other orders): backward-stable, ~1e-15 relative.
DEVICE_RTOL = 1e-12


def relative(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(np.asarray(b)), 1e-300))


def data(n=20, seed=0):
    return nc.sample_data("gaussian", n=n, d=WIDTHS[0], seed=seed)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 0)])
def test_device_spellings_put_the_weights_on_the_gpu(device):
    net = nc.ReLUNet(WIDTHS, seed=1, device=device)
    assert all(w.is_cuda for w in net.weights) and net.device.startswith("cuda")


@pytest.mark.parametrize("method", ["structured", "autograd"])
@pytest.mark.parametrize("kwargs", [{}, {"per_layer": True}, {"block_size": 7}, {"max_memory": 2 ** 20}])
def test_empirical_ntk_on_the_gpu_is_the_cpu_one(method, kwargs):
    cpu, gpu = nc.ReLUNet(WIDTHS, seed=2), nc.ReLUNet(WIDTHS, seed=2, device="cuda")
    X = data()
    expected = nc.empirical_ntk(cpu, X, method=method, **kwargs)
    actual = nc.empirical_ntk(gpu, X, method=method, **kwargs)
    assert isinstance(actual, np.ndarray) and relative(actual, expected) <= DEVICE_RTOL


def test_cross_kernel_jacobian_and_net_outputs_on_the_gpu():
    cpu, gpu = nc.ReLUNet(WIDTHS, seed=3), nc.ReLUNet(WIDTHS, seed=3, device="cuda")
    X1, X2 = data(9, seed=4), data(5, seed=5)
    assert relative(nc.empirical_ntk(gpu, X1, X2), nc.empirical_ntk(cpu, X1, X2)) <= DEVICE_RTOL
    assert relative(nc.jacobian(gpu, X1), nc.jacobian(cpu, X1)) <= DEVICE_RTOL
    assert relative(gpu.outputs(X1), cpu.outputs(X1)) <= DEVICE_RTOL
    assert relative(gpu.backprop_vectors(X1)[0], cpu.backprop_vectors(X1)[0]) <= DEVICE_RTOL


def test_a_cuda_tensor_as_data_is_accepted():
    gpu = nc.ReLUNet(WIDTHS, seed=6, device="cuda")
    X = data()
    np.testing.assert_array_equal(nc.empirical_ntk(gpu, torch.from_numpy(X).cuda()), nc.empirical_ntk(gpu, X))


def test_the_memory_check_reads_the_gpu_and_refuses_before_allocating():
    free = _validate.available_bytes("cuda:0")
    assert free is not None and free > 0
    side = int((free / 8) ** 0.5) * 2  # an (N, N) output four times the free memory
    gpu = nc.ReLUNet((2, 4, 1), device="cuda")
    with pytest.raises(nc.InvalidArgument, match=r"available on cuda"):
        nc.empirical_ntk(gpu, np.zeros((side, 2)))


def test_figure2_sweep_on_the_gpu_matches_the_cpu():
    plan = figure2.Plan(left_d=(8, 16, 32), left_curves=((6, 12, 10),), right_n=(4, 8, 16), right_curves=((5, 7),),
                        trials=2)
    cpu, gpu = figure2.sweep(plan, seed=0), figure2.sweep(plan, seed=0, device="cuda:0")
    for a, b in zip(cpu.curves, gpu.curves):
        assert relative(b.values, a.values) <= 1e-10
