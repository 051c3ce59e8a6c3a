"""The regime map of Section 4 (issue 13, item 4) as a markdown table, from a claims JSON.

Usage: ``python tools/sec4_regime_table.py [baselines/claims-full.json]`` prints one table row per record of
``claims/test_thm4_1_finite_width_lambda_min.py::test_regime_map_of_section_4`` (full and paper profiles; the map is
skipped at smoke, so a smoke JSON has none and the script exits with status 1). docs/claims_sec4.md carries its
output for the committed full baseline.

Where each column comes from:
  * the cell and the premises (18), (19), (21) it meets, the geometric means of lambda_min / (23) per N, and the
    drift in N (the local slope of log ratio against log N, 99% interval) as printed and after dividing by Lemma
    4.3's N-point factor min_i / mean_i ||B_{k+1,i}||^2: the record's name, which the test writes as
    ``regime map [<cell>; (18) holds, (19) holds, (21) fails; lambda_min/(23) = a/b/c/d at N = 64/128/256/512;
    drift printed s [lo, hi]; drift N-point factor s [lo, hi]]: <check>`` (a part after the drifts that is not a
    drift, such as the d-widest cells' share of (20)'s lambda_min(X X^T) term, goes into the status column);
  * the check, its verdict and its power: the record's verdict and ``numbers`` (instances, detectable violation
    rate);
  * the shape (d/N, the wide layer's n_k/N and position, the layers before and after it): the widths of the cell in
    ``REGIME_CELLS`` of the claims module at each N of the record (imported; ``?`` where the cell is not there);
  * the status: "holds" (inside the premises, PASS, the drift with the N-point factor within +-DRIFT_TOL),
    "holds (lower side of Theta); drift not inside +-0.15" (inside the premises, PASS, that drift interval not inside
    +-DRIFT_TOL: the constant has not settled in the finite window, a finding, not a check), "finding outside premises" (a premise fails: the decay (21) predicts, or a
    counterfactual without a wide layer), "erratum" (an ERRATUM record), "FAIL" (a failed check inside the
    premises: an erratum candidate).
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

TEST = "claims/test_thm4_1_finite_width_lambda_min.py::test_regime_map_of_section_4"
DRIFT_TOL = 0.15  # the Theta((23)) drift tolerance of the claims module (DRIFT_TOL there)
PREMISES = ("(18)", "(19)", "(21)")
LABEL = re.compile(r"^regime map \[(?P<cell>[^;]+); (?P<flags>[^;]+); lambda_min/\(23\) = (?P<means>\S+) at "
                   r"N = (?P<ns>\S+); (?P<drifts>.*)$")
DRIFT = re.compile(r"drift (?P<kind>printed|N-point factor) (?:(?P<slope>\S+) \[(?P<lo>\S+), (?P<hi>\S+)\]|n/a.*)$")
HEADER = ("| Cell | Widths (N = {lo} .. {hi}) | d / N | Wide layer n_k / N (position) | Before the wide layer | "
          "After it | (18) / (19) / (21) | lambda_min / (23), geometric mean per N (range) | Drift in N, printed | "
          "Drift in N, with min_i/mean_i \\|\\|B_k+1,i\\|\\|^2 | Check (power) | Verdict | Status |")


class RegimeRecordError(ValueError):
    """A regime-map record whose name does not have the form the claims module writes."""


def parse_name(name: str) -> dict:
    """The cell, premises, per-N geometric means and drifts of one regime-map record name."""
    label, sep, check = name.partition("]: ")
    match = LABEL.match(label)
    if not sep or match is None:
        raise RegimeRecordError(f"name: not a regime-map record name: {name!r}")
    flags = {}
    for part in match["flags"].split(", "):
        premise, _, state = part.partition(" ")
        if premise not in PREMISES or state not in ("holds", "fails"):
            raise RegimeRecordError(f"name: premise flags {match['flags']!r} in {name!r}")
        flags[premise] = state == "holds"
    drifts, notes = {}, []
    for part in match["drifts"].split("; "):
        if not part.startswith("drift "):  # a cell's own note after the drifts (the d-widest cells' share of (20))
            notes.append(part)
            continue
        found = DRIFT.match(part)
        if found is None:
            raise RegimeRecordError(f"name: drift {part!r} in {name!r}")
        drifts[found["kind"]] = (None if found["slope"] is None else
                                 tuple(float(found[key]) for key in ("slope", "lo", "hi")))
    ns = [int(n) for n in match["ns"].split("/")]
    means = [float(m) for m in match["means"].split("/")]
    if len(ns) != len(means) or set(flags) != set(PREMISES):
        raise RegimeRecordError(f"name: {len(means)} means for {len(ns)} N, premises {sorted(flags)} in {name!r}")
    return {"cell": match["cell"], "premises": flags, "ns": ns, "means": means, "drifts": drifts, "check": check,
            "notes": notes}


def _cells():
    """REGIME_CELLS of the claims module (widths as functions of N), or {} where it cannot be imported."""
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        from claims import test_thm4_1_finite_width_lambda_min as module
    except ImportError:
        return {}
    return {cell: spec[0] for cell, spec in module.REGIME_CELLS.items()}


def _width_law(values, ns):
    """A width sequence over N in words: fixed, c N, or ~N^s (its range)."""
    if len(set(values)) == 1:
        return f"fixed {values[0]}"
    per_n = [v / n for v, n in zip(values, ns)]
    if max(per_n) - min(per_n) < 1e-12:
        return f"{per_n[0]:g}N"
    slope = math.log(values[-1] / values[0]) / math.log(ns[-1] / ns[0])
    return f"~N^{slope:.2g} ({values[0]}-{values[-1]})"


def shape(widths_of, ns) -> dict:
    """d / N, the wide layer(s) (n_k / N and position) and the layers before and after, over the N grid."""
    table = [widths_of(n) for n in ns]
    hidden = [w[1:-1] for w in table]
    depth = len(table[0]) - 1
    # the wide layer(s): the widest hidden layer (ties: all of them), if it has at least N neurons at every N
    wide = [k for k in range(1, depth) if all(h[k - 1] == max(h) >= n for h, n in zip(hidden, ns))]
    d_law = _width_law([w[0] for w in table], ns)
    if d_law.endswith("N") and not d_law.startswith("~"):
        d_law = d_law[:-1]  # the column is d / N
    if not wide:
        return {"d": d_law, "wide": f"none (widest {_width_law([max(h) for h in hidden], ns)})",
                "before": "—", "after": "—", "widths": table}
    names = {1: "first", depth - 1: "last hidden"}
    position = ", ".join(names.get(k, "middle") if len(wide) == 1 else f"n_{k}" for k in wide)
    law = " and ".join(_width_law([w[k] for w in table], ns) for k in wide)
    if law.startswith("~"):  # a wide layer that is not c N: its n_k / N at the ends of the grid too
        law += f" = {table[0][wide[0]] / ns[0]:.3g}N-{table[-1][wide[0]] / ns[-1]:.3g}N"
    before = [_width_law([w[k] for w in table], ns) for k in range(1, wide[0])]
    after = [_width_law([w[k] for w in table], ns) for k in range(wide[-1] + 1, depth)]
    return {"d": d_law, "wide": f"{law} ({position})", "before": ", ".join(before) or "none",
            "after": ", ".join(after) or "none", "widths": table}


def _interval(drift):
    return "n/a (a dead point: lambda_min = 0)" if drift is None else f"{drift[0]:.3g} [{drift[1]:.3g}, {drift[2]:.3g}]"


def status(parsed: dict, verdict: str) -> str:
    if verdict == "ERRATUM":
        return "erratum"
    inside = all(parsed["premises"].values())
    if verdict != "PASS":
        return f"{verdict}{' (inside the premises: erratum candidate)' if inside else ''}"
    if not inside:
        return "finding outside premises"
    drift = parsed["drifts"].get("N-point factor")
    if drift is not None and -DRIFT_TOL <= drift[1] and drift[2] <= DRIFT_TOL:
        return "holds"
    return f"holds (lower side of Theta); drift not inside +-{DRIFT_TOL:g} at these N (finding)"


def regime_records(claims: dict) -> list[dict]:
    return [r for r in claims.get("records", []) if r.get("test") == TEST]


def rows(claims: dict) -> list[str]:
    """One markdown row per regime-map record of ``claims`` (a loaded claims JSON), in record order."""
    cells, out = _cells(), []
    for record in regime_records(claims):
        parsed = parse_name(record["name"])
        ns = parsed["ns"]
        widths_of = cells.get(parsed["cell"])
        form = shape(widths_of, ns) if widths_of else {key: "?" for key in ("d", "wide", "before", "after")}
        widths = (f"{tuple(form['widths'][0])} .. {tuple(form['widths'][-1])}" if widths_of else "?")
        flags = " / ".join("holds" if parsed["premises"][p] else "**fails**" for p in PREMISES)
        means = "/".join(f"{m:.3g}" for m in parsed["means"])
        numbers = record.get("numbers", {})
        power = numbers.get("power", {}).get("summary", record.get("resolution", ""))
        check = (f"{parsed['check']} ({numbers.get('violations', '?')} violations in "
                 f"{numbers.get('instances', '?')}; {power})")
        cell = parsed["cell"].replace("|", "\\|")
        out.append(f"| {cell} | {widths} | {form['d']} | {form['wide']} | {form['before']} | {form['after']} | "
                   f"{flags} | {means} ({min(parsed['means']):.3g}-{max(parsed['means']):.3g}) | "
                   f"{_interval(parsed['drifts'].get('printed'))} | "
                   f"{_interval(parsed['drifts'].get('N-point factor'))} | {check} | {record['verdict']} | "
                   f"{'; '.join([status(parsed, record['verdict'])] + parsed['notes'])} |")
    return out


def table(claims: dict) -> str:
    body = rows(claims)
    if not body:
        raise RegimeRecordError(f"claims: no records of {TEST} (the map runs at the full and paper profiles only)")
    ns = parse_name(regime_records(claims)[0]["name"])["ns"]
    header = HEADER.format(lo=ns[0], hi=ns[-1])
    return "\n".join([header, "|" + "---|" * header.count(" | ") + "---|", *body])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else Path(__file__).resolve().parents[1] / "baselines" / "claims-full.json")
    try:
        print(table(json.loads(path.read_text(encoding="utf-8"))))
    except RegimeRecordError as error:
        print(f"sec4_regime_table: {path}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
