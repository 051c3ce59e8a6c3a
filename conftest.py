"""Repo-local pytest settings: the hypothesis budgets (the ntkcheck plugin itself is loaded through
its ``pytest11`` entry point).

Profiles, chosen by the HYPOTHESIS_PROFILE environment variable (default "dev", or "ci" when CI is set):
  dev      a quick local budget with random examples;
  ci       derandomized (a run is a function of the code), so CI never fails by luck of the draw;
  nightly  many examples, to hunt for rare counterexamples.
"""
import os

from hypothesis import settings

# deadline=None everywhere: the first call of a torch routine pays a one-off warm-up far above
# hypothesis' 200 ms default, which would be reported as a flaky DeadlineExceeded.
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None,
                          print_blob=True)
settings.register_profile("nightly", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
