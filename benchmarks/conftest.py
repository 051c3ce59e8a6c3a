"""Benchmarks of ntkcheck: ``pytest benchmarks/ --benchmark-only`` (see ratios.py for the grids and the table)."""
from ratios import TIMINGS, ratio_table


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("ntkcheck ratios (same run)")
        for line in ratio_table():
            terminalreporter.write_line(line)
