"""What the wheel ships besides the library: the paper's claims (package ``ntkcheck_claims``, the repository's
``claims/`` folder) and their baselines (``ntkcheck_claims/baselines/claims-NAME.json``, the repository's
``baselines/``), found without importing anything (setup.py lays them out).

``ntkcheck verify`` runs :func:`claims_folder` when there is no ``./claims``; ``ntkcheck compare --baseline
NAME`` reads :func:`baseline_path`.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ntkcheck._validate import InvalidArgument

CLAIMS_PACKAGE = "ntkcheck_claims"


def claims_folder() -> Path | None:
    """The folder of the installed claims package (site-packages/ntkcheck_claims, or the repository's claims/
    under an editable install), or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(CLAIMS_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _baseline_folders() -> list[Path]:
    claims = claims_folder()
    if claims is None:
        return []
    # the wheel's ntkcheck_claims/baselines/, or under an editable install the repository's baselines/
    return [folder for folder in (claims / "baselines", claims.parent / "baselines") if folder.is_dir()]


def baseline_names() -> list[str]:
    """The names of the shipped baselines (``full`` for ``claims-full.json``), sorted."""
    return sorted({path.name[len("claims-"):-len(".json")] for folder in _baseline_folders()
                   for path in folder.glob("claims-*.json")})


def baseline_path(name: str) -> Path:
    """The shipped baseline ``name`` (e.g. "full": the claims under the full profile, base seed 0)."""
    for folder in _baseline_folders():
        path = folder / f"claims-{name}.json"
        if path.is_file():
            return path
    names = baseline_names()
    raise InvalidArgument(f"--baseline must name a shipped baseline ({', '.join(names) or 'none is installed'}), "
                          f"got {name!r}" + ("" if names else f": the package {CLAIMS_PACKAGE} is not installed"))
