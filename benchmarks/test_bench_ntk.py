"""Empirical NTK (eq. (3)): the structured path of Section 4.1 against the autograd oracle and the two torch.func
approaches of PyTorch's NTK tutorial ("Neural Tangent Kernels", torch.func), written here as baselines.

* jacobian contraction: per-sample Jacobians by vmap(jacrev), contracted layer by layer with einsum;
* NTK-vector products: vjp against each basis vector of the output, then jvp, vmapped over the basis.

Both store O(N P) floats (J itself or the N vjps), so they run only where that fits in BASELINE_MEMORY.
The structured path's flops are counted as the GEMMs of its dominant products (``structured_flops``).
"""
import numpy as np
import pytest
import torch
from torch.func import jacrev, jvp, vjp, vmap

import ntkcheck as nc
from ratios import grid, measure

# (widths, N): the grid; Figure 2 (right) puts a layer of 8N neurons after d = 100.
CASES = grid(
    [((100, 512, 512, 1), 128), ((100, 512, 512, 1), 256), ((100, 2048, 2048, 1), 128),
     ((100, 2048, 2048, 1), 512), ((100, 8 * 128, 100, 1), 128)],
    [((100, 512, 512, 1), 512), ((100, 512, 512, 1), 1024), ((100, 2048, 2048, 1), 256),
     ((100, 2048, 2048, 1), 1024), ((100, 8 * 256, 100, 1), 256), ((100, 8 * 1024, 100, 1), 1024)])
IMPLEMENTATIONS = ["structured", "autograd", "jacobian_contraction", "ntk_vector_products"]
# The baselines hold N * P floats (J or the vjps) plus einsum/vmap temporaries: skip them beyond 6 GiB of J.
BASELINE_MEMORY = 6 * 2 ** 30
# The baselines take seconds per call: two calls, no warm-up (their first-call tracing is milliseconds).
BASELINE_ROUNDS = {"rounds": 2, "warmup": 0}
# Every implementation computes the same J J^T: backward-stable sums in different orders agree to ~1e-15.
AGREEMENT_RTOL = 1e-10


def network(params, x):
    """Eq. (1) as a function of the weights, the form torch.func transforms (the tutorial's functional_call)."""
    for weight in params[:-1]:
        x = torch.relu(x @ weight)
    return (x @ params[-1])[..., 0]


def jacobian_contraction(params, x):
    """The tutorial's empirical_ntk_jacobian_contraction with x1 = x2 (J computed once)."""
    jac = vmap(jacrev(network), (None, 0))(params, x)
    jac = [j.flatten(1) for j in jac]
    return sum(torch.einsum("Nf,Mf->NM", j, j) for j in jac)


def ntk_vector_products(params, x):
    """The tutorial's empirical_ntk_ntk_vps (get_ntk) applied to the whole batch: row i of K is J (J^T e_i).

    (The tutorial vmaps get_ntk over pairs of samples, which holds N^2 P floats; on the batch it is N P.)"""
    _, vjp_fn = vjp(lambda p: network(p, x), params)

    def ntk_column(vec):
        (cotangents,) = vjp_fn(vec)
        return jvp(lambda p: network(p, x), (params,), (cotangents,))[1]

    return vmap(ntk_column)(torch.eye(x.shape[0], dtype=x.dtype))


def structured_flops(widths, n):
    """GEMM flops of the structured path: forward F_{l-1} W_l (l < L), backward B_{k+1} W_{k+1}^T (k >= 1), and the
    Gram products F_k F_k^T, B_{k+1} B_{k+1}^T counted as full GEMMs (syrk performs half of them)."""
    forward = sum(a * b for a, b in zip(widths[:-2], widths[1:-1]))
    backward = sum(a * b for a, b in zip(widths[1:-1], widths[2:]))
    gram = n * (sum(widths[:-1]) + sum(widths[1:]))
    return 2.0 * n * (forward + backward + gram)


def case_id(case):
    widths, n = case
    return f"{widths}-N{n}"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_empirical_ntk(benchmark, case, implementation):
    widths, n = case
    parameters = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    if implementation != "structured" and 8 * n * parameters > BASELINE_MEMORY:
        pytest.skip(f"J takes {8 * n * parameters / 2 ** 30:.0f} GiB > {BASELINE_MEMORY / 2 ** 30:.0f} GiB")
    net, X = nc.ReLUNet(widths, seed=0), nc.sample_data("gaussian", n=n, d=widths[0], seed=0)
    x, params = net.input_tensor(X), tuple(net.weights)
    function = {
        "structured": lambda: nc.empirical_ntk(net, X),
        "autograd": lambda: nc.empirical_ntk(net, X, method="autograd"),
        "jacobian_contraction": lambda: jacobian_contraction(params, x).numpy(),
        "ntk_vector_products": lambda: ntk_vector_products(params, x).numpy(),
    }[implementation]
    notes = {"flops": structured_flops(widths, n)} if implementation == "structured" else {}
    K = measure(benchmark, function, group="ntk", case=case_id(case), implementation=implementation,
                **(BASELINE_ROUNDS if implementation != "structured" else {}), **notes)
    if implementation != "structured":
        reference = nc.empirical_ntk(net, X)
        error = np.linalg.norm(K - reference) / np.linalg.norm(reference)
        assert error <= AGREEMENT_RTOL, f"{implementation} vs structured: relative error {error:.2e}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_empirical_ntk_cuda(benchmark, case):
    widths, n = case
    net, X = nc.ReLUNet(widths, seed=0, device="cuda"), nc.sample_data("gaussian", n=n, d=widths[0], seed=0)

    def synchronized():  # the result comes back to the host, and the device is idle before the clock stops
        K = nc.empirical_ntk(net, X)
        torch.cuda.synchronize()
        return K

    measure(benchmark, synchronized, group="ntk", case=case_id(case), implementation="structured_cuda",
            flops=structured_flops(widths, n))
