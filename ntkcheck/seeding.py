"""Seed derivation: every random draw of a claim check comes from an explicit, reproducible seed.

A test's seed is a stable hash of (base seed, test identity, extra keys), the identity being the module's
path inside its claims folder and the test's name (``ntkcheck.plugin.claim_identity``), so that

* the same ``--claims-seed`` replays a test bit for bit, in any order, alone or under pytest-xdist, from
  any rootdir (the repository's ``claims/`` and the installed ``ntkcheck_claims`` draw the same numbers);
* two tests (or two trials of one test) never share a stream by accident;
* Python's ``hash`` (salted per process by PYTHONHASHSEED) is never involved.
"""
from __future__ import annotations

import hashlib
import json
import numbers

from ntkcheck._validate import InvalidArgument, as_seed

SEED_BITS = 63  # fits a signed 64-bit integer: accepted by numpy Generators and torch.manual_seed


def _key(value, position: int):
    """A JSON-encodable, type-tagged form of one key (so that 1 and "1" give different seeds)."""
    if isinstance(value, bool) or value is None:
        return [type(value).__name__, value]
    if isinstance(value, numbers.Integral):
        return ["int", int(value)]
    if isinstance(value, numbers.Real):
        return ["float", repr(float(value))]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (tuple, list)):
        return ["seq", [_key(item, position) for item in value]]
    raise InvalidArgument(f"seed key #{position} must be a str, int, float, bool, None or a tuple of "
                          f"those, got {type(value).__name__}")


def derive_seed(base_seed, *keys) -> int:
    """A seed in [0, 2**63) derived from ``base_seed`` and ``keys`` by SHA-256 (stable across runs,
    processes and platforms). Cost: one hash of the JSON form of the keys."""
    base_seed = as_seed(base_seed, "base_seed")
    payload = json.dumps([base_seed, [_key(k, i) for i, k in enumerate(keys)]], separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)
