"""The claims table printed at the end of a pytest run: one row per Record."""
from __future__ import annotations

from ntkcheck.records import Record, Verdict

# (header, width cap): a cell longer than its cap is cut with "..."; the JSON keeps the full text.
COLUMNS = (("claim", 18), ("check", 44), ("measured", 44), ("expected", 30), ("verdict", 12))


def _cells(record: Record) -> tuple[str, ...]:
    return (record.claim or "-", f"{record.name} [{record.kind}]", record.measured, record.expected,
            record.verdict.value)


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
