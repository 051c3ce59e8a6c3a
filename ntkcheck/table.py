"""The claims table printed at the end of a pytest run: one row per Record.

The "detects" column is the check's power at this run's budget (``numbers["power"]["summary"]``, see
:mod:`ntkcheck.checks`): e.g. "slope err > 0.29" (an exponent error the scaling check would catch),
"drift > 0.21, x[0.5, 2.1]" (a band's detectable drift, and the constant factors that would still pass
it), "viol. rate > 0.0021", "P short by > 0.19", "rel err > 1e-12"."""
from __future__ import annotations

from ntkcheck.records import Record, Verdict

# (header, width cap): a cell longer than its cap is cut with "..."; the JSON keeps the full text.
COLUMNS = (("claim", 18), ("check", 40), ("measured", 40), ("expected", 28), ("detects", 26), ("verdict", 12))


def _cells(record: Record) -> tuple[str, ...]:
    power = record.numbers.get("power") or {}  # records written before the power field have none
    return (record.claim or "-", f"{record.name} [{record.kind}]", record.measured, record.expected,
            power.get("summary", "-"), record.verdict.value)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def format_table(records) -> list[str]:
    """The table as lines of text (header, rule, one line per record in the given order)."""
    rows = [_cells(r) for r in records]
    widths = [min(cap, max([len(header)] + [len(row[i]) for row in rows]))
              for i, (header, cap) in enumerate(COLUMNS)]
    def line(cells):
        return "  ".join(_cut(c, w).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line([h for h, _ in COLUMNS]), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def summary_line(records) -> str:
    """E.g. "12 claims checks: 10 PASS, 1 INCONCLUSIVE, 1 ERRATUM"."""
    counts = [(v.value, sum(r.verdict is v for r in records)) for v in Verdict]
    return f"{len(records)} claims checks: " + ", ".join(f"{n} {v}" for v, n in counts if n)
