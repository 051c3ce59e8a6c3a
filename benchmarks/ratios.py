"""Shared pieces of the benchmarks: size grids, one timing helper, and the table of ratios.

Run: ``pytest benchmarks/ --benchmark-only`` (a few minutes on 2 cores); ``NTKCHECK_BENCH_FULL=1`` adds
the large sizes of the performance issue (tens of minutes). Speed is never asserted: each benchmark
records the minimum over its rounds (the statistic least disturbed by other jobs on a shared machine),
and the end of the run prints every ratio against the engine's routine measured in the same run, as a
Markdown table ready for docs/performance.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

FULL = os.environ.get("NTKCHECK_BENCH_FULL") == "1"


def grid(default: list, full: list) -> list:
    """The default grid, plus the large sizes when NTKCHECK_BENCH_FULL=1."""
    return default + full if FULL else default


@dataclass
class Timing:
    group: str
    case: str
    implementation: str
    seconds: float
    notes: dict = field(default_factory=dict)


TIMINGS: list[Timing] = []
# implementation whose time is the denominator of the ratios of its group
REFERENCE = {"ntk": "structured", "limiting": "closed_form", "lambda_min": "ntkcheck", "gemm": "numpy"}


def measure(benchmark, function, *, group: str, case: str, implementation: str, rounds: int = 5,
            warmup: int = 1, **notes):
    """Time ``function`` with pytest-benchmark (``warmup`` + ``rounds`` calls) and record its minimum.

    Returns the function's result, for the agreement checks of the caller."""
    benchmark.group = f"{group}: {case}"
    benchmark.extra_info.update(notes)
    result = benchmark.pedantic(function, rounds=rounds, warmup_rounds=warmup, iterations=1)
    if benchmark.stats is not None:  # None under --benchmark-disable
        TIMINGS.append(Timing(group, case, implementation, benchmark.stats.stats.min, notes))
    return result


def timing(group: str, case: str, implementation: str) -> Timing | None:
    return next((t for t in TIMINGS if (t.group, t.case, t.implementation) == (group, case, implementation)), None)


def ratio_table() -> list[str]:
    """Markdown rows: per group and case, each implementation's minimum time over the reference's, and
    for timings that carry a flop count, the achieved rate as a fraction of this run's best GEMM rate."""
    gemm = max((t.notes["flops"] / t.seconds for t in TIMINGS if t.group == "gemm"), default=None)
    lines = [f"threads: torch {torch.get_num_threads()}; NTKCHECK_BENCH_FULL={int(FULL)}; best float64 GEMM: "
             + (f"{gemm / 1e9:.1f} GFLOP/s" if gemm else "not measured"), "",
             "| group | case | implementation | min time (s) | / reference | GFLOP/s (of GEMM) | notes |",
             "|---|---|---|---|---|---|---|"]
    for t in TIMINGS:
        reference = timing(t.group, t.case, REFERENCE[t.group])
        ratio = f"{t.seconds / reference.seconds:.2f}" if reference else "-"
        rate = t.notes.get("flops", 0.0) / t.seconds
        rate_text = f"{rate / 1e9:.1f}" + (f" ({rate / gemm:.0%})" if gemm else "") if rate else ""
        notes = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in t.notes.items() if k != "flops")
        lines.append(f"| {t.group} | {t.case} | {t.implementation} | {t.seconds:.4g} | {ratio} | {rate_text} | {notes} |")
    return lines
