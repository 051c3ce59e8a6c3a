"""Settings of the claims run that travel with the claims (also when installed as ``ntkcheck_claims``, where
the repository's root conftest.py is absent): the hypothesis budgets (ntkcheck._hypothesis), and the title of
their paper for the claims JSON and the report (unless --claims-title or the ini value claims_title names one)."""
from ntkcheck._hypothesis import load_profiles

PAPER_TITLE = ("Tight Bounds on the Smallest Eigenvalue of the Neural Tangent Kernel for Deep ReLU Networks "
               "(Nguyen, Mondelli & Montufar, ICML 2021)")

load_profiles()


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("ntkcheck"):  # -p no:ntkcheck: no option to set
        return
    if not (config.getoption("claims_title") or config.getini("claims_title")):
        config.option.claims_title = PAPER_TITLE
