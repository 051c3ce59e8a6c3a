"""The claims report: a self-contained HTML page and its Markdown twin, built from a ``--claims-json``
document (schema in docs/claims_framework.md), rendered from the Jinja2 templates in ``ntkcheck/templates/``.

The report is the verdict half: it reads records and knows nothing about NTKs (it never imports the
engine). It is laid out for a researcher reading a paper's verdicts, in this order:

1. the title of the claims' paper (document key ``title``, from ``--claims-title`` / ini ``claims_title``),
   one line of run settings, and the **per-claim summary**: one row per claim (its verdict, a headline
   number, a link to its section);
2. the **errata**: one row per erratum (the printed form checked, what this run measured, the documented
   correction), however many records it has;
3. tests that failed without a record (a crash must not hide), then a table of contents;
4. **per claim**, its checks (node ids folded in a ``<details>``) and its plots together;
5. **beyond the paper**: records with ``section == "beyond"`` (claims/beyond/), summarized apart so that
   they never change a paper verdict; then the run's metadata.

A claim is the ``claim`` reference of a record (the ``@pytest.mark.claim`` of its test; the test's module
when it has none). Plots: one per scaling or band record, axes named after the check's parameter and
quantity (``numbers["x_name"]`` / ``numbers["y_name"]``), single-point bands drawn as dots against the
band, overlapping tick labels thinned out. The page fits a 1280 px window (fixed table layout, wrapping
cells; tests/test_report_browser.py checks it in headless Chromium).

Output, in ``out_dir``: ``report.html`` (plots embedded as data URIs: one file, viewable offline, fit
for a CI artifact), ``report.md`` (GitHub Markdown) and ``plots/NN-name.png`` (referenced by the
Markdown). Cost: one matplotlib figure per scaling/band record.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import re
from pathlib import Path


from ntkcheck._validate import InvalidArgument
from ntkcheck.plots import PLOTTED_KINDS, _floats, figure_for, plot_record, tick_label_overlaps  # noqa: F401
from ntkcheck.records import Record, Verdict
from ntkcheck.results import load_results  # noqa: F401  (the one JSON reader; re-exported)

__all__ = ["PLOTTED_KINDS", "ReportFiles", "build_report", "figure_for", "load_results", "plot_record",
           "records_of", "render_html", "render_markdown", "tick_label_overlaps"]
VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700", "ERRATUM": "#8250df"}
FAILED_OUTCOMES = ("failed", "error", "xpassed")
DEFAULT_TITLE = "Claims report"  # a document without a "title" (another paper's claims, an older run)
SECTIONS = ("paper", "beyond")  # record key "section" (default "paper"); "beyond": claims/beyond/
# the worst verdict among a claim's checks is the claim's; ERRATUM counts only where nothing else was checked
_VERDICT_ORDER = (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.ERRATUM)


@dataclasses.dataclass
class ReportFiles:
    """What :func:`build_report` wrote: the HTML page, its Markdown twin, and the plot files."""

    html: Path
    markdown: Path
    plots: list[Path]


def records_of(document: dict) -> list[Record]:
    """The records of a claims document as :class:`~ntkcheck.records.Record` objects, in file order."""
    fields = {f.name for f in dataclasses.fields(Record)}  # optional keys (e.g. "section") are read apart
    try:
        return [Record.from_dict({k: v for k, v in r.items() if k in fields}) for r in document["records"]]
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"a record of the claims document is malformed ({exc})") from None


def _slug(record: Record, position: int, digits: int = 2) -> str:
    test = (record.test or "test").rsplit("::", 1)[-1]
    return f"{position:0{digits}d}-" + re.sub(r"[^A-Za-z0-9]+", "-", f"{test}-{record.name}").strip("-")[:70]


def _plots(records: list[Record], folder: Path) -> dict[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(2, len(str(len(records) - 1)))  # file names sort in record order
    return {i: plot_record(r, folder / f"{_slug(r, i, digits)}.png")
            for i, r in enumerate(records) if r.kind in PLOTTED_KINDS}


# --------------------------------------------------------------------------------- what the page shows

def _summary(records: list[Record]) -> str:
    counts = ", ".join(f"{sum(r.verdict is v for r in records)} {v.value}" for v in Verdict)
    return f"{len(records)} checks: {counts}"


def _metadata(document: dict) -> list[tuple[str, str]]:
    versions = ", ".join(f"{k} {v}" for k, v in document["versions"].items() if v is not None)
    machine = document["machine"]
    return [("started (UTC)", document["started"]), ("profile", document["profile"]),
            ("base seed", str(document["base_seed"])), ("versions", versions),
            ("machine", f"{machine.get('platform')}, {machine.get('machine')}, "
                        f"{machine.get('cpu_count')} CPUs"),
            ("report built", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))]


FAILURES_HEADING = "Tests that failed without a record, and errata that did not fail as documented"


def _unrecorded_failures(document: dict, records: list[Record]) -> list[tuple[str, str]]:
    """Tests that failed (or passed a strict erratum) without a record, and erratum tests that did not fail by
    the FAIL of their check (a crash, no record, INCONCLUSIVE): a crash must not hide."""
    recorded = {r.test for r in records}
    out = []
    for test, info in sorted(document["tests"].items()):
        status = info.get("erratum_status")  # absent in documents written before the erratum harness
        if status not in (None, "ERRATUM"):
            out.append((test, f"{info['outcome']}: erratum test {status}"))
        elif info.get("outcome") in FAILED_OUTCOMES and test not in recorded:
            out.append((test, info["outcome"]))
    return out


def _module(test: str | None) -> str:
    return (test or "-").split("::", 1)[0]


def _test_function(test: str | None) -> str:
    return (test or "-").rsplit("::", 1)[-1].split("[", 1)[0]


def _anchor(prefix: str, text: str) -> str:
    return f"{prefix}-" + (re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x")


@dataclasses.dataclass
class Check:
    """One record as the page shows it: its position (the plot file's number), the record, its plot."""

    index: int
    record: Record
    anchor: str
    plot: Path | None = None
    image: str = ""  # what the HTML's <img src> holds: a data URI

    @property
    def detects(self) -> str:
        return str((self.record.numbers.get("power") or {}).get("summary", ""))  # older records: none


@dataclasses.dataclass
class Claim:
    """The checks of one claim (one ``claim`` reference) in one section, and what its summary row shows."""

    name: str
    section: str
    anchor: str
    checks: list[Check]
    failures: list[tuple[str, str]]

    @property
    def verdict(self) -> Verdict:
        present = {c.record.verdict for c in self.checks}
        return next(v for v in _VERDICT_ORDER if v in present)

    @property
    def errata(self) -> int:
        return sum(c.record.verdict is Verdict.ERRATUM for c in self.checks)

    @property
    def headline(self) -> Check:
        """The check that decides the verdict; for a PASS, the first Theta-scaling (slope) or band check,
        the numbers a reader of the paper looks for first."""
        deciding = [c for c in self.checks if c.record.verdict is self.verdict]
        for kind in (("scaling", "band") if self.verdict is Verdict.PASS else ()):
            preferred = [c for c in deciding if c.record.kind == kind]
            if preferred:
                return preferred[0]
        return deciding[0]

    @property
    def counts(self) -> str:
        return ", ".join(f"{n} {v.value}" for v in Verdict
                         if (n := sum(c.record.verdict is v for c in self.checks)))

    @property
    def modules(self) -> list[str]:
        return sorted({_module(c.record.test) for c in self.checks})

    @property
    def plots(self) -> list[Check]:
        return [c for c in self.checks if c.plot is not None]


@dataclasses.dataclass
class Erratum:
    """One documented erratum with all its records (one per parametrization of the printed-form test)."""

    claim: Claim
    text: str
    checks: list[Check]
    beside: list[str]  # the passing tests of the same module: the corrected form is among them

    @property
    def printed(self) -> list[str]:
        return list(dict.fromkeys(c.record.expected for c in self.checks))


def _claims(records: list[Record], sections: list[str], failures, plots: dict[int, Path]) -> list[Claim]:
    claims: dict[tuple[str, str], Claim] = {}
    for i, (record, section) in enumerate(zip(records, sections)):
        name = record.claim or _module(record.test)
        key = (section, name)
        if key not in claims:
            prefix = "claim" if section == "paper" else f"{section}-claim"
            claims[key] = Claim(name, section, _anchor(prefix, name), [], [])
        claims[key].checks.append(Check(i, record, f"check-{i}", plots.get(i)))
    for claim in claims.values():
        claim.failures = [f for f in failures if _module(f[0]) in claim.modules]
    return list(claims.values())


def _errata(claims: list[Claim], document: dict) -> list[Erratum]:
    """One entry per erratum text (records without one: per test function), in order of appearance."""
    found: dict[tuple[str, str], Erratum] = {}
    for claim in claims:
        for check in claim.checks:
            record = check.record
            if record.verdict is not Verdict.ERRATUM:
                continue
            key = (claim.anchor, record.erratum or _test_function(record.test))
            if key not in found:
                module = _module(record.test)
                beside = sorted({_test_function(t) for t, info in document["tests"].items()
                                 if _module(t) == module and info.get("outcome") == "passed"} - {
                                     _test_function(record.test)})
                found[key] = Erratum(claim, record.erratum or "", [], beside)
            found[key].checks.append(check)
    return list(found.values())


def context(document: dict, records: list[Record], plots: dict[int, Path]) -> dict:
    """What the templates show (see the module docstring for the order)."""
    sections = [raw.get("section", "paper") if isinstance(raw, dict) else "paper" for raw in document["records"]]
    sections = [s if s in SECTIONS else "paper" for s in sections]
    failures = _unrecorded_failures(document, records)
    claims = _claims(records, sections, failures, plots)
    paper = [c for c in claims if c.section == "paper"]
    beyond = [c for c in claims if c.section == "beyond"]
    paper_records = [r for r, s in zip(records, sections) if s == "paper"]
    beyond_records = [r for r, s in zip(records, sections) if s == "beyond"]
    return {"title": document.get("title") or DEFAULT_TITLE, "document": document,
            "summary": _summary(paper_records), "beyond_summary": _summary(beyond_records),
            "claims": paper, "beyond": beyond, "errata": _errata(paper, document),
            "beyond_errata": _errata(beyond, document), "failures": failures,
            "failures_heading": FAILURES_HEADING, "metadata": _metadata(document),
            "colors": VERDICT_COLORS, "verdicts": Verdict}


def _environment(autoescape: bool):
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("ntkcheck", "templates"),
                                     autoescape=autoescape, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["md"] = _md
    return environment


def _md(text) -> str:
    """A Markdown table cell: pipes escaped, newlines as spaces, HTML-looking text escaped."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def render_html(document: dict, records: list[Record], plots: dict[int, Path]) -> str:
    """The report page (templates/report.html.j2); every plot is embedded as a base64 PNG (no file or
    network needed to view it)."""
    data = context(document, records, plots)
    for claim in data["claims"] + data["beyond"]:
        for check in claim.plots:
            check.image = "data:image/png;base64," + base64.b64encode(check.plot.read_bytes()).decode("ascii")
    return _environment(True).get_template("report.html.j2").render(**data)


def render_markdown(document: dict, records: list[Record], plots: dict[int, Path], base: Path) -> str:
    """The Markdown twin of :func:`render_html` (templates/report.md.j2); plots are referenced relative
    to ``base``."""
    data = context(document, records, plots)
    for claim in data["claims"] + data["beyond"]:
        for check in claim.plots:
            check.image = check.plot.relative_to(base).as_posix()
    return _environment(False).get_template("report.md.j2").render(**data)


def build_report(document: dict, out_dir) -> ReportFiles:
    """Write report.html, report.md and plots/*.png for ``document`` (from :func:`load_results`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = records_of(document)
    plots = _plots(records, out / "plots")
    html_path, md_path = out / "report.html", out / "report.md"
    html_path.write_text(render_html(document, records, plots))
    md_path.write_text(render_markdown(document, records, plots, out))
    return ReportFiles(html_path, md_path, list(plots.values()))


def add_arguments(parser) -> None:
    """The options of ``ntkcheck report``."""
    parser.add_argument("results", type=Path, metavar="RESULTS.json",
                        help="a claims document written by `pytest claims/ --claims-json RESULTS.json`")
    parser.add_argument("--out", type=Path, default=Path("ntkcheck-report"), metavar="DIR",
                        help="output folder for report.html, report.md and plots/ (default ./ntkcheck-report)")
    parser.add_argument("--title", default=None, metavar="TITLE",
                        help="the heading: the claims' paper (default: the JSON's 'title', written from "
                             "pytest's --claims-title / ini claims_title)")


def run(args) -> int:
    """``ntkcheck report``: build the report and print where it is. Returns 0."""
    document = load_results(args.results)
    if args.title:
        document = dict(document, title=args.title)
    files = build_report(document, args.out)
    print(f"wrote {files.html}, {files.markdown} and {len(files.plots)} plot(s) in {files.html.parent / 'plots'}")
    return 0
