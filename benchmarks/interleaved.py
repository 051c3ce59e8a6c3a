"""Interleaved timings for a shared machine: every candidate of a case is called in turn, round after round, in
one process (neural-tangents in a worker process of its own venv, called in the same turn), and the minimum over
the rounds is kept, so that a burst of load from other jobs hits all candidates alike. Prints a Markdown table
of minima and ratios to ntkcheck's time, with the load average before and after and the versions.

    python benchmarks/interleaved.py --threads 1            # one thread, pinned to one core (default for 1)
    python benchmarks/interleaved.py --threads 2
    python benchmarks/interleaved.py --threads 1 --nt /work/venvs/nt/bin/python   # adds NT's kernel_fn

(pytest benchmarks/ --benchmark-only runs the same candidates one after the other with pytest-benchmark; this
script is what docs/performance.md quotes.) No speed is asserted anywhere; agreement is (lambda_min to 1e-12 of
||K||_2 against a full eigendecomposition, limiting NTK to the transcription's accuracy).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nt", default=None, help="python of a venv with neural-tangents 0.6.5 (kernel_fn rows)")
    parser.add_argument("--groups", default="gemm,ntk,limiting,lambda_min")
    parser.add_argument("--no-pin", action="store_true", help="do not pin a one-thread run to one core")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds of sleep before each call (default 0.3 with more than one thread: OpenMP and "
                             "OpenBLAS workers spin for ~200 ms after a parallel region and would slow whichever "
                             "candidate comes next; 0 with one thread)")
    return parser.parse_args(argv)


def reexec_with_threads(threads: int) -> None:
    """Thread pools are sized when numpy/torch load: set the environment, then start again."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    if all(os.environ.get(name) == str(threads) for name in names):
        return
    env = dict(os.environ, **{name: str(threads) for name in names})
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


class Worker:
    """neural-tangents' kernel_fn in its own interpreter (neural_tangents_timing.py)."""

    def __init__(self, python: str):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
        self.process = subprocess.Popen([python, os.path.join(HERE, "neural_tangents_timing.py")], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        self.versions = json.loads(self.process.stdout.readline())

    def time(self, n: int, depth: int) -> float:
        self.process.stdin.write(f"{n} {depth}\n")
        self.process.stdin.flush()
        return Reported(self.process.stdout.readline())

    def close(self):
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.process.wait(timeout=60)


class Reported(float):
    """Seconds measured by a worker (its own clock), as opposed to a result to be timed here."""

    @property
    def seconds(self) -> float:
        return float(self)


SETTLE = 0.0


def interleave(candidates: dict, rounds: int) -> dict:
    """Minimum seconds per candidate over ``rounds`` turns; a candidate is a callable returning ``Reported``
    seconds (a worker's) or anything else (then it is timed here). One warm-up turn first; ``SETTLE`` seconds
    of sleep before each call, so that the previous candidate's spinning thread pools are idle. The order rotates
    by one each turn, so that no candidate always follows the same one (a neighbour's page cache or warm pools)."""
    best = {name: float("inf") for name in candidates}
    names = list(candidates)
    for turn in range(rounds + 1):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            call = candidates[name]
            time.sleep(SETTLE)
            start = time.perf_counter()
            reported = call()
            elapsed = reported.seconds if isinstance(reported, Reported) else time.perf_counter() - start
            if turn:
                best[name] = min(best[name], elapsed)
    return best


def main(argv) -> None:
    global SETTLE
    args = parse(argv)
    SETTLE = args.settle if args.settle is not None else (0.3 if args.threads > 1 else 0.0)
    reexec_with_threads(args.threads)
    if args.threads == 1 and not args.no_pin:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    sys.path.insert(0, HERE)
    import numpy as np
    import scipy
    import scipy.linalg
    import torch

    import ntkcheck as nc
    from test_bench_limiting import naive_limiting_ntk
    from test_bench_ntk import jacobian_contraction

    torch.set_num_threads(args.threads)
    groups = args.groups.split(",")
    worker = Worker(args.nt) if args.nt and "limiting" in groups else None
    load_before = os.getloadavg()
    rows = []  # (group, case, implementation, seconds, reference seconds, note)

    def record(group, case, best, reference, notes=None):
        for name, seconds in best.items():
            rows.append((group, case, name, seconds, best[reference], (notes or {}).get(name, "")))

    if "gemm" in groups:
        a, b = np.random.default_rng(0).standard_normal((2, 2048, 2048))
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        best = interleave({"numpy": lambda: a @ b, "torch": lambda: ta @ tb}, args.rounds + 2)
        record("gemm", "2048^3", best, "numpy",
               {k: f"{2 * 2048 ** 3 / v / 1e9:.1f} GFLOP/s" for k, v in best.items()})
    if "ntk" in groups:
        for widths, n in (((100, 512, 512, 1), 256), ((100, 1024, 1024, 1), 128)):
            net, X = nc.ReLUNet(widths, seed=0), nc.sample_data("gaussian", n=n, d=widths[0], seed=0)
            x, params = net.input_tensor(X), tuple(net.weights)
            best = interleave({"ntkcheck structured": lambda: nc.empirical_ntk(net, X),
                               "torch.func jacobian contraction": lambda: jacobian_contraction(params, x)},
                              args.rounds)
            record("empirical NTK", f"{widths}, N={n}", best, "ntkcheck structured")
    if "limiting" in groups:
        for n in (512, 1024, 2048, 4096):
            X = nc.sample_data("sphere", n=n, d=100, seed=0)
            candidates = {"ntkcheck": lambda: nc.limiting_ntk(X, 3), "numpy transcription": lambda: naive_limiting_ntk(X, 3)}
            if worker:
                candidates["neural-tangents kernel_fn (jit)"] = lambda n=n: worker.time(n, 3)
            record("limiting NTK, L=3", f"N={n}", interleave(candidates, args.rounds + 2), "ntkcheck")
            assert np.max(np.abs(nc.limiting_ntk(X, 3) - naive_limiting_ntk(X, 3))) <= 1e-6 * 3
    if "lambda_min" in groups:
        solvers = {
            "ntkcheck": nc.lambda_min,
            "torch eigvalsh (MKL dsyevd)": lambda a: torch.linalg.eigvalsh(torch.from_numpy(a))[0].item(),
            "scipy evr subset": lambda a: scipy.linalg.eigh(a, eigvals_only=True, subset_by_index=(0, 0),
                                                            driver="evr", check_finite=False)[0],
            "scipy evd": lambda a: scipy.linalg.eigh(a, eigvals_only=True, driver="evd", check_finite=False)[0],
            "numpy eigvalsh": lambda a: np.linalg.eigvalsh(a)[0],
        }
        for n in (500, 1000, 1500, 2000, 4000):
            K = nc.limiting_ntk(nc.sample_data("sphere", n=n, d=50, seed=0), 3)
            exact = np.linalg.eigh(K)[0]
            errors = {name: abs(solve(K) - exact[0]) / exact[-1] for name, solve in solvers.items()}
            assert max(errors.values()) <= 1e-12, errors
            best = interleave({name: (lambda s=solve: s(K)) for name, solve in solvers.items()},
                              args.rounds if n < 4000 else max(2, args.rounds - 1))
            record("lambda_min", f"N={n}", best, "ntkcheck",
                   {name: f"error {errors[name]:.1e} of ||K||_2" for name in solvers})
    if worker:
        worker.close()
    load_after = os.getloadavg()
    cores = os.sched_getaffinity(0)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; threads {args.threads}"
          f"{' (pinned to core ' + str(min(cores)) + ')' if len(cores) == 1 else ''}; rounds {args.rounds}; "
          f"settle {SETTLE:g} s; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (on {os.cpu_count()} cores); "
          f"numpy {np.__version__}, scipy {scipy.__version__}, torch {torch.__version__}"
          + (f"; neural-tangents {worker.versions['neural_tangents']}, jax/jaxlib {worker.versions['jax']}/"
             f"{worker.versions['jaxlib']}" if worker else ""))
    print()
    print("| group | case | implementation | min time (s) | / ntkcheck | notes |")
    print("|---|---|---|---|---|---|")
    for group, case, name, seconds, reference, note in rows:
        print(f"| {group} | {case} | {name} | {seconds:.4g} | {seconds / reference:.2f} | {note} |")


if __name__ == "__main__":
    main(sys.argv[1:])
