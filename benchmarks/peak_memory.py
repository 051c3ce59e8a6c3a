"""Peak memory of the engine's routines, each measured in a fresh subprocess as the growth of its peak RSS.

    python benchmarks/peak_memory.py            # the default cases, as a Markdown table
    NTKCHECK_BENCH_FULL=1 python benchmarks/peak_memory.py   # adds N = 16384 with widths 4096 (minutes)

The child builds its inputs, reads its resident set (VmRSS), runs the routine once and reads its peak
(ru_maxrss); the difference is what the routine itself needed at its peak. The reference size is the output
plus the feature matrices, N^2 + N * sum_l n_l floats, next to the N * P floats that J would take.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

MIB = 2 ** 20
# (routine, N, widths or depth, max_memory in bytes or None)
CASES = [
    ("empirical_ntk", 1024, (100, 2048, 2048, 1), None),
    ("empirical_ntk", 4096, (100, 2048, 2048, 1), None),
    ("empirical_ntk", 4096, (100, 2048, 2048, 1), 512 * MIB),
    ("empirical_ntk_autograd", 256, (100, 512, 512, 1), None),
    ("limiting_ntk", 4096, 3, None),
    ("limiting_ntk", 4096, 10, None),
    ("lambda_min", 4000, 3, None),
    ("torch_eigvalsh", 4000, 3, None),
    ("scipy_evr_subset", 4000, 3, None),
]
FULL_CASES = [("empirical_ntk", 16384, (100, 4096, 4096, 1), 6 * 2 ** 30)]


def reference_floats(routine: str, n: int, shape) -> tuple[int, int]:
    """(N^2 + N * sum of widths, N * P): the output plus the features, and the Jacobian (0 without a net)."""
    if not isinstance(shape, tuple):
        return n * n, 0
    return n * n + n * sum(shape), n * sum(a * b for a, b in zip(shape[:-1], shape[1:]))


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def child(routine: str, n: int, shape, max_memory) -> int:
    """Run one routine once in this process; return its peak RSS growth in bytes."""
    import ntkcheck as nc

    if routine.startswith("empirical_ntk"):
        net, X = nc.ReLUNet(shape, seed=0), nc.sample_data("gaussian", n=n, d=shape[0], seed=0)
        method = "autograd" if routine.endswith("autograd") else "structured"
        run = lambda: nc.empirical_ntk(net, X, method, max_memory=max_memory)  # noqa: E731
    elif routine == "limiting_ntk":
        X = nc.sample_data("sphere", n=n, d=100, seed=0)
        run = lambda: nc.limiting_ntk(X, shape)  # noqa: E731
    else:  # lambda_min and the solvers it is compared with, on the same K^(3)
        import scipy.linalg
        import torch

        K = nc.limiting_ntk(nc.sample_data("sphere", n=n, d=50, seed=0), shape)
        run = {"lambda_min": lambda: nc.lambda_min(K),
               "torch_eigvalsh": lambda: torch.linalg.eigvalsh(torch.from_numpy(K)),
               "scipy_evr_subset": lambda: scipy.linalg.eigh(K, eigvals_only=True, subset_by_index=(0, 0),
                                                             driver="evr", check_finite=False)}[routine]
    nc.empirical_ntk(nc.ReLUNet((2, 2, 1)), [[1.0, 0.0]])  # load the BLAS libraries and their buffers first
    import numpy as np
    import torch
    from ntkcheck import linalg

    linalg._mkl_lowest_eigenvalue(np.eye(4))  # and the LAPACK drivers (MKL's, torch's, OpenBLAS's)
    torch.linalg.eigvalsh(torch.eye(4, dtype=torch.float64))
    nc.lambda_min(np.eye(4))
    before = resident_bytes()
    run()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before


def measure(case) -> dict:
    """Run ``case`` in a fresh interpreter and return its row."""
    output = subprocess.run([sys.executable, __file__, "--child", json.dumps(case)], check=True,
                            capture_output=True, text=True).stdout
    routine, n, shape, max_memory = case
    peak = int(output.strip().splitlines()[-1])
    reference, jacobian = reference_floats(routine, n, tuple(shape) if isinstance(shape, list) else shape)
    return {"routine": routine, "N": n, "shape": shape, "max_memory": max_memory, "peak_bytes": peak,
            "reference_bytes": 8 * reference, "jacobian_bytes": 8 * jacobian}


def table(rows) -> list[str]:
    lines = ["| routine | N | widths / depth | max_memory | peak RSS growth (MiB) | N^2 + N sum n_l (MiB) "
             "| ratio | J would take (MiB) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        budget = f"{r['max_memory'] / MIB:.0f} MiB" if r["max_memory"] else "-"
        lines.append(f"| {r['routine']} | {r['N']} | {r['shape']} | {budget} | {r['peak_bytes'] / MIB:.0f} "
                     f"| {r['reference_bytes'] / MIB:.0f} | {r['peak_bytes'] / r['reference_bytes']:.2f} "
                     f"| {r['jacobian_bytes'] / MIB:.0f} |")
    return lines


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        routine, n, shape, max_memory = json.loads(argv[1])
        print(child(routine, n, tuple(shape) if isinstance(shape, list) else shape, max_memory))
        return
    cases = CASES + (FULL_CASES if os.environ.get("NTKCHECK_BENCH_FULL") == "1" else [])
    print("\n".join(table(measure(case) for case in cases)))


if __name__ == "__main__":
    main(sys.argv[1:])
