"""README's claims table and errata agree with a claims JSON (issue 15: "the README errata section and the claims
table agree with the JSON"); by default the committed full-profile baseline, baselines/claims-full.json.

A README row of "## Claims" names its module (`test_x.py`); its records are those of the JSON whose test lies in
claims/test_x.py (a module may hold several record claims, e.g. "Lemma 4.3, eq. (26)" and "eq. (26)", so the module
is the key, not the record's claim text). For each row:

* its Verdict cell says PASS iff every non-erratum record of the module PASSes;
* it says ERRATUM iff the module has erratum records, and then every erratum record's verdict is ERRATUM;
* every paper module of the JSON has a row, and every row's module has records.

Every numbered entry of "## Errata" cites a module (`claims/test_x.py`) holding at least one record with `erratum`
set, and every module with erratum records is cited by some entry.

Another claims JSON (a smoke run, say) is checked too when NTKCHECK_VERDICTS_JSON names it (paths separated by
os.pathsep). Each rule is also run on planted mistakes, which it must report (negative controls).
"""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BASELINE = ROOT / "baselines" / "claims-full.json"
MODULE = re.compile(r"`(test_\w+\.py)`")
CITED = re.compile(r"`claims/(test_\w+\.py)")


def _cells(line):
    """The cells of one markdown table line (pipes inside cells are escaped as \\|)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def section(text, title):
    """The text of README section ``## title`` (up to the next ``## `` heading)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


def claims_rows(text):
    """(paper ref, module file name, verdict cell) per row of README's claims table."""
    found = []
    for line in section(text, "Claims").splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if cells[0] == "Paper ref" or all(set(cell) <= set("-: ") for cell in cells):
            continue
        module = MODULE.search(cells[1])
        assert module, f"claims row {cells[0]!r} names no module `test_x.py`: {cells[1]!r}"
        found.append((cells[0], module.group(1), cells[-1]))
    return found


def errata_entries(text):
    """(number, modules cited) per numbered entry of README's errata (before the findings list)."""
    body = section(text, "Errata").split("Findings that are not errata")[0]
    entries = re.split(r"^(\d+)\. ", body, flags=re.M)[1:]
    return [(int(number), set(CITED.findall(entry))) for number, entry in zip(entries[::2], entries[1::2])]


def paper_records(doc):
    """Records of the paper's claims (not claims/beyond/), grouped by module file name."""
    by_module = {}
    for record in doc["records"]:
        path = record["test"].split("::")[0]
        if record.get("section", "paper") != "paper" or "/beyond/" in path:
            continue
        by_module.setdefault(Path(path).name, []).append(record)
    return by_module


def table_problems(text, doc):
    """Every disagreement between README's claims table and the records of ``doc``, as sentences."""
    problems, by_module = [], paper_records(doc)
    rows = claims_rows(text)
    for ref, module, verdict in rows:
        records = by_module.get(module)
        if not records:
            problems.append(f"{ref}: no record of claims/{module} in the JSON")
            continue
        plain = [r for r in records if not r.get("erratum")]
        errata = [r for r in records if r.get("erratum")]
        all_pass = bool(plain) and all(r["verdict"] == "PASS" for r in plain)
        if ("PASS" in verdict) != all_pass:
            bad = sorted({f"{r['name'][:60]}: {r['verdict']}" for r in plain if r["verdict"] != "PASS"})
            problems.append(f"{ref}: verdict {verdict!r} but non-erratum records "
                            f"{'all PASS' if all_pass else 'not all PASS: ' + '; '.join(bad) or 'none'}")
        if ("ERRATUM" in verdict) != bool(errata):
            problems.append(f"{ref}: verdict {verdict!r} but {len(errata)} erratum records")
        for r in errata:
            if r["verdict"] != "ERRATUM":
                problems.append(f"{ref}: erratum record {r['name'][:60]!r} has verdict {r['verdict']}")
    named = {module for _, module, _ in rows}
    for module in sorted(set(by_module) - named):
        problems.append(f"claims/{module} has records but no row in README's claims table")
    return problems


def errata_problems(text, doc):
    """Every disagreement between README's errata entries and the erratum records of ``doc``."""
    problems, by_module = [], paper_records(doc)
    with_errata = {m for m, records in by_module.items() if any(r.get("erratum") for r in records)}
    entries = errata_entries(text)
    if not entries:
        problems.append("README's errata section has no numbered entry")
    for number, modules in entries:
        if not modules:
            problems.append(f"erratum {number} cites no module `claims/test_x.py`")
        elif not modules & with_errata:
            problems.append(f"erratum {number}: no record with `erratum` set in {sorted(modules)}")
    cited = set().union(*(modules for _, modules in entries)) if entries else set()
    for module in sorted(with_errata - cited):
        problems.append(f"claims/{module} has erratum records but no README errata entry cites it")
    return problems


def _documents():
    paths = [BASELINE] + [Path(p) for p in os.environ.get("NTKCHECK_VERDICTS_JSON", "").split(os.pathsep) if p]
    return [pytest.param(path, id=path.name) for path in paths]


@pytest.mark.parametrize("path", _documents())
def test_claims_table_verdicts_agree_with_the_records(path):
    problems = table_problems(README.read_text(encoding="utf-8"), json.loads(path.read_text(encoding="utf-8")))
    assert not problems, "README claims table vs " + str(path) + ":\n" + "\n".join(problems)


@pytest.mark.parametrize("path", _documents())
def test_every_readme_erratum_has_an_erratum_record(path):
    problems = errata_problems(README.read_text(encoding="utf-8"), json.loads(path.read_text(encoding="utf-8")))
    assert not problems, "README errata vs " + str(path) + ":\n" + "\n".join(problems)


def test_the_readme_has_a_row_per_claim_and_the_parse_finds_them():
    text = README.read_text(encoding="utf-8")
    rows = claims_rows(text)
    assert len(rows) >= 20, rows
    assert len(errata_entries(text)) >= 9
    assert ("Eq. (8)", "test_eq8_hermite_coefficients.py", "PASS") in rows


# Negative controls: a small README and JSON with one planted mistake per rule.
PLANTED_README = """## Claims

| Paper ref | Module (`claims/`) | What is checked | Measured (full profile) | Verdict |
|---|---|---|---|---|
| A | `test_a.py` | x \\| y | 1 | PASS |
| B | `test_b.py` | x | 1 | PASS |
| C | `test_c.py` | x | 1 | PASS; printed: ERRATUM |
| D | `test_d.py` | x | 1 | PASS; printed: ERRATUM |
| E | `test_e.py` | x | 1 | PASS |

## Errata

1. **A** is wrong (`claims/test_a.py`).
2. **C** is wrong (`claims/test_c.py`).
3. **Z** cites nothing.

Findings that are not errata:

* **B** (`claims/test_b.py`).

## Next
"""


def _record(module, verdict, erratum=None, name="r"):
    return {"test": f"claims/{module}::test_x", "section": "paper", "verdict": verdict, "erratum": erratum,
            "name": name}


PLANTED_DOC = {"records": [
    _record("test_a.py", "PASS"),                                   # A: errata entry 1 has no erratum record
    _record("test_b.py", "INCONCLUSIVE", name="b inconclusive"),    # B: PASS in README but not all PASS
    _record("test_c.py", "PASS"), _record("test_c.py", "ERRATUM", erratum="printed"),    # C: agrees
    _record("test_d.py", "PASS"),                                   # D: ERRATUM in README, no erratum record
    _record("test_e.py", "PASS"), _record("test_e.py", "PASS", erratum="printed"),       # E: erratum not shown
    _record("test_f.py", "PASS"),                                   # F: no README row
]}


def test_planted_table_mistakes_are_reported():
    problems = "\n".join(table_problems(PLANTED_README, PLANTED_DOC))
    assert "B: verdict 'PASS' but non-erratum records not all PASS: b inconclusive: INCONCLUSIVE" in problems
    assert "D: verdict 'PASS; printed: ERRATUM' but 0 erratum records" in problems
    assert "E: verdict 'PASS' but 1 erratum records" in problems
    assert "E: erratum record 'r' has verdict PASS" in problems
    assert "claims/test_f.py has records but no row" in problems
    assert not any(line.startswith(("A:", "C:")) for line in problems.splitlines()), problems


def test_planted_errata_mistakes_are_reported():
    problems = errata_problems(PLANTED_README, PLANTED_DOC)
    assert "erratum 1: no record with `erratum` set in ['test_a.py']" in problems
    assert "erratum 3 cites no module `claims/test_x.py`" in problems
    assert "claims/test_e.py has erratum records but no README errata entry cites it" in problems
    assert not any(p.startswith("erratum 2") for p in problems), problems
