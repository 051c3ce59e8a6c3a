"""The hypothesis budgets of ntkcheck's property tests, loaded by the repository's root conftest.py (for
tests/ and claims/) and by the claims package's own conftest.py (for the installed ``ntkcheck_claims``).

Profiles, chosen by the HYPOTHESIS_PROFILE environment variable (default "dev", or "ci" when CI is set):
  dev      a quick local budget with random examples;
  ci       derandomized (a run is a function of the code), so CI never fails by luck of the draw;
  nightly  many examples, to hunt for rare counterexamples.
deadline=None everywhere: the first call of a torch routine pays a one-off warm-up far above hypothesis'
200 ms default, which would be reported as a flaky DeadlineExceeded.
"""
from __future__ import annotations

import importlib.util
import os


def load_profiles(environ=os.environ) -> str | None:
    """Register the three profiles and load the chosen one; its name, or None without hypothesis."""
    if importlib.util.find_spec("hypothesis") is None:
        return None
    from hypothesis import settings

    settings.register_profile("dev", max_examples=30, deadline=None)
    settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None,
                              print_blob=True)
    settings.register_profile("nightly", max_examples=2000, deadline=None)
    name = environ.get("HYPOTHESIS_PROFILE", "ci" if environ.get("CI") else "dev")
    settings.load_profile(name)
    return name
