"""Which packages the wheel holds (the project's metadata is in pyproject.toml).

The repository keeps the paper's claims in the top-level folder ``claims/`` (``pytest claims/``); the wheel
ships them as the package ``ntkcheck_claims`` (``pytest --pyargs ntkcheck_claims``, ``ntkcheck verify`` from
any folder), with every sub-folder that holds Python files (``claims/beyond/``, ...), and the claims baselines
of ``baselines/`` as its data (``ntkcheck_claims/baselines/claims-full.json``: ``ntkcheck compare --baseline
full``). pyproject.toml alone cannot map a folder to another package name and find its sub-folders, hence
this file; tests/test_wheel.py builds the wheel and runs the shipped claims from an empty folder.
"""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
CLAIMS_PACKAGE = "ntkcheck_claims"
BASELINES_PACKAGE = f"{CLAIMS_PACKAGE}.baselines"


def claims_packages() -> list[str]:
    """ntkcheck_claims and one sub-package per folder of claims/ that holds a .py file."""
    folders = {path.parent.relative_to(ROOT / "claims") for path in (ROOT / "claims").rglob("*.py")
               if "__pycache__" not in path.parts}
    return sorted(".".join((CLAIMS_PACKAGE, *folder.parts)) for folder in folders)


setup(
    packages=[*find_packages(include=["ntkcheck", "ntkcheck.*"]), *claims_packages(), BASELINES_PACKAGE],
    package_dir={"ntkcheck": "ntkcheck", CLAIMS_PACKAGE: "claims", BASELINES_PACKAGE: "baselines"},
    package_data={"ntkcheck": ["py.typed"], BASELINES_PACKAGE: ["claims-*.json"]},
)
