"""Thread pools of a claims run: the BLAS and OpenMP pools of torch, numpy and scipy, set per process with
threadpoolctl (``--claims-threads``, applied by the pytest plugin in every test process and xdist worker).

Why a limit by default: BLAS and OpenMP threads spin-wait for work. On a machine whose cores are busy (a shared
CI runner, other jobs, several xdist workers) the spinning threads of one process wait on each other and on the
other processes: issue 18 measured the smoke suite at 28.5 s quiet and 206 s under a load of 2-4 with the
libraries' default threads, and one test at 27.9 s against 2.3 s with one thread. The claims' matrices are
small (N <= a few hundred): one thread loses little when the machine is quiet (docs/performance.md, "Threads").
The limit also decides ``network.matmul``'s path (numpy's BLAS when torch has one thread).

threadpoolctl limits the libraries already loaded, so :meth:`ThreadLimits.apply` is called again before each
test (about 1 ms), which covers a library that a test imports late; the original limits come back at the end
of the session (an in-process pytester run leaves its host process as it was).
"""
from __future__ import annotations

import os
import sys

from ntkcheck._validate import InvalidArgument

DEFAULT_THREADS = 1
AUTO = "auto"  # leave the libraries' own defaults (one thread per core)


def parse_threads(value) -> int | None:
    """``--claims-threads``: a number >= 1, or "auto" (None: no limit)."""
    text = str(value).strip()
    if text.lower() == AUTO:
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidArgument(f"--claims-threads must be a number >= 1 or '{AUTO}', got {value!r}")
    return int(text)


class ThreadLimits:
    """Keeps the BLAS/OpenMP pools of this process at ``threads`` (None: untouched)."""

    def __init__(self, threads: int | None):
        self.threads = threads
        self._applied: list = []  # threadpoolctl's records, one per apply: each knows the limits it replaced
        self._torch_threads = None

    def apply(self) -> None:
        """Set every loaded BLAS/OpenMP pool (and torch's intra-op pool) to ``threads``."""
        if self.threads is None:
            return
        from threadpoolctl import threadpool_limits

        self._applied.append(threadpool_limits(limits=self.threads))
        torch = sys.modules.get("torch")  # torch is never imported here: only a loaded one is limited
        if torch is not None and torch.get_num_threads() != self.threads:
            if self._torch_threads is None:
                self._torch_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)

    def restore(self) -> None:
        """Give back the limits found before the first :meth:`apply`."""
        # newest first: a pool ends at its state before the first apply that saw it (also one loaded late)
        for limits in reversed(self._applied):
            limits.restore_original_limits()
        self._applied.clear()
        torch = sys.modules.get("torch")
        if torch is not None and self._torch_threads is not None:
            torch.set_num_threads(self._torch_threads)
            self._torch_threads = None


def describe() -> str:
    """One line: the pools of this process now (for a run's header and the measurements)."""
    from threadpoolctl import threadpool_info

    pools = ", ".join(f"{info['internal_api']} {info['num_threads']}" for info in threadpool_info())
    torch = sys.modules.get("torch")
    return (f"threads: {pools or 'no BLAS/OpenMP pool loaded'}" + (f", torch {torch.get_num_threads()}" if torch
                                                                    else "") + f" (cpu count {os.cpu_count()})")
