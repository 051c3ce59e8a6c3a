"""Settings of the claims run that travel with the claims (also when installed as ``ntkcheck_claims``, where
the repository's root conftest.py is absent): the hypothesis budgets (ntkcheck._hypothesis)."""
from ntkcheck._hypothesis import load_profiles

load_profiles()
