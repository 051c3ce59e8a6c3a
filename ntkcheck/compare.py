"""`ntkcheck compare BASELINE.json CURRENT.json`: what changed in the claims since the last good run.

Reads two ``--claims-json`` documents (schema in docs/claims_framework.md) and lists, per claim check
(a check is its test and its position among the test's records):

* REGRESSED: the verdict got worse (PASS -> INCONCLUSIVE -> FAIL), a documented erratum now passes (its
  strict xfail turns the run red), or a test that passed now fails without a record saying why (a crash);
* MISSING: a check of the baseline that the current run did not produce (a claim that silently vanished);
* MOVED: a fitted number that shifted by more than ``--shift-fraction`` of its check's tolerance: the
  exponent of a scaling check (tolerance ``tol``), the drift exponents of a band check (``drift_tol``)
  and its extreme ratios (in log scale, against the half-width log(hi/lo)/2 of the band);
* IMPROVED, CHANGED (e.g. a check newly marked as an erratum), ADDED: for information.

The exit status is 1 when a check regressed or went missing (and for MOVED with ``--fail-on-shift``), 0
otherwise, 2 on unreadable input. The verdict half of the package: no engine import.
"""
from __future__ import annotations

import dataclasses
import math
import sys

from ntkcheck._validate import InvalidArgument
from ntkcheck.results import load_results

# Half the tolerance: a run at the same seed repeats its numbers up to rounding, so a shift this large
# comes from the code or the libraries, and it has used up half the margin a passing check had.
SHIFT_FRACTION = 0.5
_RANK = {"FAIL": 0, "INCONCLUSIVE": 1, "PASS": 2, "ERRATUM": 2}  # ERRATUM: failed as documented
_GOOD_OUTCOMES = ("passed", "xfailed")
# Order of the report, and which kinds of change make the exit status non-zero.
KINDS = ("REGRESSED", "MISSING", "MOVED", "IMPROVED", "CHANGED", "ADDED")
FAILING = ("REGRESSED", "MISSING")


@dataclasses.dataclass(frozen=True)
class Change:
    """One line of the comparison: ``kind`` (one of KINDS), the test and check it is about ("" for the
    test's outcome), and the text."""

    kind: str
    claim: str
    test: str
    check: str
    text: str

    def line(self, width: int) -> str:
        where = f"{self.test} :: {self.check}" if self.check else self.test
        return f"{self.kind.ljust(width)}  {self.claim}  {where}: {self.text}"


def load_run(path) -> dict:
    """The claims document at ``path``, validated by :func:`ntkcheck.results.load_results`."""
    return load_results(path)


def keyed_records(document) -> dict:
    """{(test, index): record}: a check is its position in its test, since a name may quote measured
    numbers (e.g. "measured C = 0.78") that change with the code."""
    return {(record["test"], record["index"]): record for record in document["records"]}


def _number(value) -> float:
    return float(value)  # also turns the "inf"/"nan" strings of the JSON back into floats


def fitted_numbers(record) -> dict:
    """{label: (value, allowed shift at SHIFT_FRACTION = 1)} of the numbers a MOVED line watches."""
    numbers, kind = record["numbers"], record["kind"]
    if kind == "scaling":
        return {"slope": (_number(numbers["slope"]), _number(numbers["tol"]))}
    if kind != "band":
        return {}
    lo, hi = map(_number, numbers["band"])
    half_width = math.log(hi / lo) / 2.0
    out = {f"log {end}": (math.log(_number(numbers[end])) if _number(numbers[end]) > 0 else -math.inf,
                          half_width) for end in ("min_ratio", "max_ratio")}
    for param, drift in numbers.get("drift", {}).items():
        out[f"drift slope in {param}"] = (_number(drift["slope"]), _number(numbers["drift_tol"]))
    return out


def _moved(base, current, fraction: float) -> list[str]:
    if base["kind"] != current["kind"]:
        return []
    old, new = fitted_numbers(base), fitted_numbers(current)
    lines = []
    for label in old.keys() & new.keys():
        (before, tol), (after, _) = old[label], new[label]
        shift = 0.0 if after == before else abs(after - before)  # the same infinity (log 0 = -inf) has not moved
        if not shift <= fraction * tol:  # also catches a number that became NaN
            lines.append(f"{label} {before:.4g} -> {after:.4g} (shift {shift:.3g} > {fraction:g} x "
                         f"tolerance {tol:.3g})")
    return sorted(lines)


def _verdict_change(base, current) -> str | None:
    before, after = base["verdict"], current["verdict"]
    if before == after:
        return None
    if _RANK[after] < _RANK[before] or (before == "ERRATUM" and after == "PASS"):
        return "REGRESSED"
    return "IMPROVED" if _RANK[after] > _RANK[before] else "CHANGED"


def _describe(record) -> str:
    return f"{record['verdict']}: {record['measured']} (expected {record['expected']})"


def compare_runs(baseline: dict, current: dict, shift_fraction: float = SHIFT_FRACTION) -> list[Change]:
    """Every change from ``baseline`` to ``current`` (two claims documents), in KINDS order."""
    old, new = keyed_records(baseline), keyed_records(current)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        record = new.get(key) or old[key]
        where = (record["claim"] or "-", key[0], f"{record['name']} [{record['kind']}]")
        if key not in new:
            changes.append(Change("MISSING", *where, f"was {_describe(old[key])}"))
        elif key not in old:
            changes.append(Change("ADDED", *where, _describe(new[key])))
        else:
            kind = _verdict_change(old[key], new[key])
            if kind is not None:
                changes.append(Change(kind, *where, f"{_describe(old[key])}  ->  {_describe(new[key])}"))
            for line in _moved(old[key], new[key], shift_fraction):
                changes.append(Change("MOVED", *where, line))
    return sorted(changes + _test_changes(baseline, current, changes),
                  key=lambda c: (KINDS.index(c.kind), c.claim, c.test, c.check, c.text))


def _test_changes(baseline: dict, current: dict, record_changes: list[Change]) -> list[Change]:
    """Test outcomes that got worse with no failing record change to explain them (a crash, an error in
    a fixture, a property test without records), and tests that vanished."""
    explained = {c.test for c in record_changes if c.kind in FAILING}
    changes = []
    for test, before in baseline["tests"].items():
        if test in explained or before["outcome"] not in _GOOD_OUTCOMES:
            continue
        after = current["tests"].get(test, {}).get("outcome")
        if after is None:
            changes.append(Change("MISSING", "-", test, "", f"test was {before['outcome']}, not run now"))
        elif after not in _GOOD_OUTCOMES:
            changes.append(Change("REGRESSED", "-", test, "", f"test {before['outcome']} -> {after}"))
    return changes


def _run_label(path, document) -> str:
    seed = document.get("base_seed")
    return (f"{path} (profile {document.get('profile')}, base seed {seed}, started "
            f"{document.get('started')}, ntkcheck {document.get('versions', {}).get('ntkcheck')})")


def context_lines(baseline: dict, current: dict) -> list[str]:
    """Warnings about what makes the numbers of the two runs differ by design (profile, seed, versions)."""
    lines = []
    for field in ("profile", "base_seed"):
        if baseline.get(field) != current.get(field):
            lines.append(f"Note: {field} differs ({baseline.get(field)} -> {current.get(field)}): the "
                         "numbers differ by design; verdicts still compare.")
    old, new = baseline.get("versions", {}), current.get("versions", {})
    moved = [f"{p} {old.get(p)} -> {new.get(p)}" for p in sorted(old.keys() | new.keys()) if old.get(p) != new.get(p)]
    if moved:
        lines.append("Versions changed: " + ", ".join(moved))
    return lines


def format_report(changes: list[Change], baseline: dict, current: dict, paths=("baseline", "current"),
                  shift_fraction: float = SHIFT_FRACTION) -> list[str]:
    """The readable diff: a header, the changes grouped by kind, and a summary line."""
    lines = [f"Baseline: {_run_label(paths[0], baseline)}", f"Current:  {_run_label(paths[1], current)}"]
    lines += context_lines(baseline, current)
    width = max(len(k) for k in KINDS)
    lines += [change.line(width) for change in changes]
    counts = {k: sum(c.kind == k for c in changes) for k in KINDS}
    compared = len(keyed_records(baseline).keys() & keyed_records(current).keys())
    lines.append(f"{compared} checks in both runs; " + ", ".join(f"{n} {k.lower()}" for k, n in counts.items())
                 + f" (MOVED: a fitted number shifted by more than {shift_fraction:g} x its tolerance)")
    return lines


def add_arguments(parser) -> None:
    """The arguments of ``ntkcheck compare`` (registered by ntkcheck.cli)."""
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("baseline", metavar="BASELINE.json",
                        help="claims JSON of the last good run (e.g. baselines/claims-full.json); left out with "
                             "--baseline NAME")
    parser.add_argument("current", nargs="?", metavar="CURRENT.json",
                        help="claims JSON of the run to check (pytest claims/ --claims-json PATH)")
    parser.add_argument("--baseline", dest="baseline_name", default=None, metavar="NAME",
                        help="compare with the baseline shipped with the package (e.g. 'full': the claims under "
                             "the full profile, base seed 0); then give only CURRENT.json")
    parser.add_argument("--shift-fraction", type=float, default=SHIFT_FRACTION, metavar="F",
                        help=f"report a fitted exponent or ratio that moved by more than F times its "
                             f"check's tolerance (default {SHIFT_FRACTION})")
    parser.add_argument("--fail-on-shift", action="store_true",
                        help="exit 1 also when a fitted number moved (default: only on regressions)")


def run(args) -> int:
    """Compare the two runs named in ``args``; print the diff; 1 if a check regressed, 2 on bad input."""
    try:
        if not (isinstance(args.shift_fraction, (int, float)) and args.shift_fraction >= 0):
            raise InvalidArgument(f"--shift-fraction must be a number >= 0, got {args.shift_fraction!r}")
        if getattr(args, "baseline_name", None) is not None:  # `compare --baseline full CURRENT.json`
            if args.current is not None:
                raise InvalidArgument("with --baseline NAME give one claims JSON (the current run), got two")
            from ntkcheck import shipped

            args.baseline, args.current = str(shipped.baseline_path(args.baseline_name)), args.baseline
        elif args.current is None:
            raise InvalidArgument("give BASELINE.json and CURRENT.json, or --baseline NAME and CURRENT.json")
        baseline, current = load_run(args.baseline), load_run(args.current)
    except InvalidArgument as exc:
        print(f"ntkcheck compare: error: {exc}", file=sys.stderr)
        return 2
    changes = compare_runs(baseline, current, args.shift_fraction)
    for line in format_report(changes, baseline, current, (args.baseline, args.current), args.shift_fraction):
        print(line)
    failing = FAILING + (("MOVED",) if args.fail_on_shift else ())
    return int(any(c.kind in failing for c in changes))
