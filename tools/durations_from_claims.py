"""pytest-split durations (``{node id: seconds}``) from a claims JSON's per-test durations.

Usage: ``python tools/durations_from_claims.py CLAIMS_JSON OUT`` writes OUT in the format of pytest-split's
``--durations-path`` file (the format ``--store-durations`` writes), one entry per test of the claims JSON's
``tests`` (their node ids are relative to the repository root, as pytest-split's are). Meant for the weekly paper
workflow (.github/workflows/paper.yml), whose shards are balanced today by the smoke times of ``.test_durations``:
the paper profile's proportions differ (Section 4 is ~40% of a paper run), so once a paper-profile run completes,
its durations file (e.g. ``baselines/paper-durations.json``) can replace them via ``--durations-path``.
Calibration copies (``[claims_seed=S]``) are refused: their durations are per seed, not per test.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def durations(claims: dict) -> dict[str, float]:
    """{node id: duration in seconds} of the ``tests`` of a claims JSON (a dict as ``json.load`` returns it)."""
    tests = claims.get("tests") if isinstance(claims, dict) else None
    if not isinstance(tests, dict) or not tests:
        raise ValueError("the claims JSON has no 'tests' object with per-test durations")
    out = {}
    for nodeid, entry in tests.items():
        if "[claims_seed=" in nodeid:
            raise ValueError(f"{nodeid!r} is a calibration copy: use the JSON of a plain run")
        duration = entry.get("duration") if isinstance(entry, dict) else None
        if not isinstance(duration, (int, float)) or duration < 0:
            raise ValueError(f"test {nodeid!r} has no non-negative 'duration'")
        out[nodeid] = round(float(duration), 3)
    return dict(sorted(out.items()))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/durations_from_claims.py CLAIMS_JSON OUT", file=sys.stderr)
        return 2
    try:
        table = durations(json.loads(Path(argv[0]).read_text()))
    except (OSError, json.JSONDecodeError, ValueError) as error:
        print(f"durations_from_claims: {argv[0]}: {error}", file=sys.stderr)
        return 2
    Path(argv[1]).write_text(json.dumps(table, indent=1) + "\n")
    print(f"{len(table)} tests, {sum(table.values()):.0f} s in all -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
