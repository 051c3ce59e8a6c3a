"""Repo-local pytest settings: a check that the package is installed (one usage error naming what is
missing, instead of an ImportError per test module), and the hypothesis budgets (the ntkcheck plugin
itself is loaded through its ``pytest11`` entry point).

Profiles, chosen by the HYPOTHESIS_PROFILE environment variable (default "dev", or "ci" when CI is set):
  dev      a quick local budget with random examples;
  ci       derandomized (a run is a function of the code), so CI never fails by luck of the draw;
  nightly  many examples, to hunt for rare counterexamples.
"""
import importlib.util
import os
import sys

import pytest

# What `pip install -e ".[test]"` brings (import names). Without it, collection would stop with one
# ModuleNotFoundError per test module and the claims would lack the ntkcheck plugin's `claim` fixture.
REQUIRED_MODULES = ("numpy", "scipy", "torch", "hypothesis", "matplotlib", "yaml")


def pytest_configure(config):
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if not config.pluginmanager.hasplugin("ntkcheck"):
        missing.append("ntkcheck (its pytest plugin registers through the package's pytest11 entry point)")
    if missing:
        raise pytest.UsageError(f"not installed in this Python ({sys.executable}): {', '.join(missing)}. "
                                f'Run `pip install -e ".[test]"` in the repository root first (see README.md).')


if importlib.util.find_spec("hypothesis") is None:  # reported by pytest_configure above
    settings = None
else:
    from hypothesis import settings

# deadline=None everywhere: the first call of a torch routine pays a one-off warm-up far above
# hypothesis' 200 ms default, which would be reported as a flaky DeadlineExceeded.
if settings is not None:
    settings.register_profile("dev", max_examples=30, deadline=None)
    settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None,
                              print_blob=True)
    settings.register_profile("nightly", max_examples=2000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
