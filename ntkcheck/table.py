"""The claims table printed at the end of a pytest run: one row per Record.

The "detects" column is the check's power at this run's budget (``numbers["power"]["summary"]``, see
:mod:`ntkcheck.checks`): e.g. "slope err > 0.29" (an exponent error the scaling check would catch),
"drift > 0.21, x[0.5, 2.1]" (a band's detectable drift, and the constant factors that would still pass
it), "viol. rate > 0.0021", "P short by > 0.19", "rel err > 1e-12".

Records of section "beyond" (tests under claims/beyond/, questions the paper leaves open) get their own table
after the paper's, headed BEYOND_TITLE, with their verdicts read as answers to a conjecture (BEYOND_VERDICTS:
PASS "consistent", a documented refutation "refuted"); the summary line counts the two sections apart."""
from __future__ import annotations

from ntkcheck.records import BEYOND, Record, Verdict

# (header, width cap): a cell longer than its cap is cut with "..."; the JSON keeps the full text.
COLUMNS = (("claim", 18), ("check", 40), ("measured", 40), ("expected", 28), ("detects", 26), ("verdict", 12))
BEYOND_TITLE = "Beyond the paper: consistent / refuted"
# A beyond check tests a conjecture: PASS = the data are consistent with it; ERRATUM (its strict xfail failed as
# documented) = the data refute it. FAIL and INCONCLUSIVE keep their names: an unexpected outcome.
BEYOND_VERDICTS = {Verdict.PASS: "consistent", Verdict.ERRATUM: "refuted"}


def _split(records) -> tuple[list[Record], list[Record]]:
    records = list(records)
    return ([r for r in records if getattr(r, "section", "paper") != BEYOND],
            [r for r in records if getattr(r, "section", "paper") == BEYOND])


def _cells(record: Record) -> tuple[str, ...]:
    power = record.numbers.get("power") or {}  # records written before the power field have none
    verdict = (BEYOND_VERDICTS.get(record.verdict, record.verdict.value) if record.section == BEYOND
               else record.verdict.value)
    return (record.claim or "-", f"{record.name} [{record.kind}]", record.measured, record.expected,
            power.get("summary", "-"), verdict)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def format_table(records) -> list[str]:
    """The table as lines of text (header, rule, one line per record in the given order); records of section
    "beyond" follow in a table of their own, after a blank line and the BEYOND_TITLE line."""
    paper, beyond = _split(records)
    lines = _format_rows(paper) if paper or not beyond else []
    if beyond:
        lines += ([""] if lines else []) + [BEYOND_TITLE] + _format_rows(beyond)
    return lines


def _format_rows(records) -> list[str]:
    rows = [_cells(r) for r in records]
    widths = [min(cap, max([len(header)] + [len(row[i]) for row in rows]))
              for i, (header, cap) in enumerate(COLUMNS)]
    def line(cells):
        return "  ".join(_cut(c, w).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line([h for h, _ in COLUMNS]), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def summary_line(records) -> str:
    """E.g. "12 claims checks: 10 PASS, 1 INCONCLUSIVE, 1 ERRATUM"; with beyond records, their counts follow
    apart: "...; beyond the paper: 5 checks: 4 consistent, 1 refuted"."""
    paper, beyond = _split(records)
    counts = [(v.value, sum(r.verdict is v for r in paper)) for v in Verdict]
    parts = [f"{len(paper)} claims checks: " + ", ".join(f"{n} {v}" for v, n in counts if n)] if paper or not beyond else []
    if beyond:
        counts = [(BEYOND_VERDICTS.get(v, v.value), sum(r.verdict is v for r in beyond)) for v in Verdict]
        parts.append(f"beyond the paper: {len(beyond)} checks: " + ", ".join(f"{n} {v}" for v, n in counts if n))
    return "; ".join(parts)
