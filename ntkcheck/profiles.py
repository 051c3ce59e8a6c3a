"""Run profiles: the budget of a claims run (grid sizes, trial counts), chosen once per session.

``smoke`` is the default, fast enough for every commit; ``full`` is the CI budget; ``paper`` reproduces
the sizes of the paper's experiments (Figure 2: 50 Monte Carlo trials). A claim module gives a value per
profile in a dict; a missing larger profile falls back to the next smaller one (paper -> full -> smoke),
so ``{"smoke": 5, "full": 20}`` is a complete specification.
"""
from __future__ import annotations

from collections.abc import Mapping

from ntkcheck._validate import InvalidArgument, as_choice

PROFILES = ("smoke", "full", "paper")  # ordered by budget: the fallback walks this tuple backwards
DEFAULT_PROFILE = "smoke"
PROFILE_ENV_VAR = "NTKCHECK_PROFILE"


def resolve_profile(option_value, environ: Mapping[str, str]) -> str:
    """The active profile: the command-line option, else the environment variable, else the default."""
    if option_value is not None:
        return as_choice(option_value, "--claims-profile", PROFILES)
    if environ.get(PROFILE_ENV_VAR):
        return as_choice(environ[PROFILE_ENV_VAR], PROFILE_ENV_VAR, PROFILES)
    return DEFAULT_PROFILE


def pick(mapping, profile: str):
    """The value of ``mapping`` (keyed by profile name) for ``profile``, with the fallback above."""
    if not isinstance(mapping, Mapping):
        raise InvalidArgument(f"pick expects a dict keyed by profile name {PROFILES}, "
                              f"got {type(mapping).__name__}")
    unknown = sorted(set(map(str, mapping)) - set(PROFILES))
    if unknown:
        raise InvalidArgument(f"pick: unknown profile name(s) {unknown}; expected keys among {PROFILES}")
    if PROFILES[0] not in mapping:
        raise InvalidArgument(f"pick: the dict must give a value for {PROFILES[0]!r} (the fallback of "
                              f"every profile), got keys {sorted(mapping)}")
    profile = as_choice(profile, "profile", PROFILES)
    fallbacks = reversed(PROFILES[:PROFILES.index(profile) + 1])
    return next(mapping[name] for name in fallbacks if name in mapping)
