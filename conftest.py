"""Repo-local pytest settings: a check that the package is installed (one usage error naming what is
missing, instead of an ImportError per test module), and the hypothesis budgets (the ntkcheck plugin
itself is loaded through its ``pytest11`` entry point).

Profiles, chosen by the HYPOTHESIS_PROFILE environment variable (default "dev", or "ci" when CI is set):
dev, ci (derandomized), nightly; defined in ntkcheck/_hypothesis.py, which claims/conftest.py loads too.
"""
import importlib.util
import sys

import pytest

try:
    from ntkcheck._hypothesis import load_profiles
except ImportError:  # reported by pytest_configure below
    load_profiles = None

# What `pip install -e ".[test]"` brings (import names). Without it, collection would stop with one
# ModuleNotFoundError per test module and the claims would lack the ntkcheck plugin's `claim` fixture.
REQUIRED_MODULES = ("numpy", "scipy", "torch", "threadpoolctl", "hypothesis", "matplotlib", "yaml")


def pytest_configure(config):
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if not config.pluginmanager.hasplugin("ntkcheck"):
        missing.append("ntkcheck (its pytest plugin registers through the package's pytest11 entry point)")
    if missing:
        raise pytest.UsageError(f"not installed in this Python ({sys.executable}): {', '.join(missing)}. "
                                f'Run `pip install -e ".[test]"` in the repository root first (see README.md).')


if load_profiles is not None:
    load_profiles()  # the hypothesis budgets (dev / ci / nightly): ntkcheck/_hypothesis.py
