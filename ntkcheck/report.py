"""The claims report: a self-contained HTML page and its Markdown twin, built from a ``--claims-json``
document (schema in docs/claims_framework.md).

The report is the verdict half: it reads records and knows nothing about NTKs (it never imports the
engine). It shows the run's metadata (profile, seed, versions, machine, time), the claims table with
verdicts and numbers, one log-log plot per scaling or band check, the errata (records whose printed
formula failed as documented), and the tests that failed without leaving a record.

Output, in ``out_dir``: ``report.html`` (plots embedded as data URIs: one file, viewable offline, fit
for a CI artifact), ``report.md`` (GitHub Markdown) and ``plots/NN-name.png`` (referenced by the
Markdown). Cost: one matplotlib figure per scaling/band record.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import json
import re
import textwrap
from pathlib import Path

import numpy as np

from ntkcheck._validate import InvalidArgument
from ntkcheck.records import Record, Verdict
from ntkcheck.results import load_results  # noqa: F401  (the one JSON reader; re-exported)

PLOTTED_KINDS = ("scaling", "band")
VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700", "ERRATUM": "#8250df"}
FAILED_OUTCOMES = ("failed", "error", "xpassed")


@dataclasses.dataclass
class ReportFiles:
    """What :func:`build_report` wrote: the HTML page, its Markdown twin, and the plot files."""

    html: Path
    markdown: Path
    plots: list[Path]


def records_of(document: dict) -> list[Record]:
    """The records of a claims document as :class:`~ntkcheck.records.Record` objects, in file order."""
    try:
        return [Record.from_dict(r) for r in document["records"]]
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"a record of the claims document is malformed ({exc})") from None


def _floats(values) -> np.ndarray:
    return np.asarray([float(v) for v in values])  # float() also reads the "nan"/"inf" strings of the JSON


def _legend_and_axes(axes, *, x_label: str, y_label: str, title: str) -> None:
    axes.set(xlabel=x_label, ylabel=y_label)
    axes.set_title(textwrap.fill(title, 80), fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="best")


def _plot_scaling(axes, record: Record) -> None:
    """Geometric mean +- 1 sd of log y per grid point, the fitted line with its interval, and the claimed
    exponent with its tolerance as a shaded fan, all through the centroid of the points."""
    n = record.numbers
    x, mean_log = _floats(n["x"]), _floats(n["mean_log_y"])
    y = np.exp(mean_log)
    spread = None if n["sd_log_y"] is None else _floats(n["sd_log_y"])
    yerr = None if spread is None else [y - np.exp(mean_log - spread), np.exp(mean_log + spread) - y]
    axes.errorbar(x, y, yerr=yerr, fmt="o", color="tab:blue", capsize=3, ms=4,
                  label=f"geometric mean (+- 1 sd of log) over {n['trials']} trial(s)")
    log_x = np.log(x)
    offset = log_x - log_x.mean()
    centre = mean_log.mean()  # the least-squares line passes through the centroid of the point means

    def line(slope):
        return np.exp(centre + float(slope) * offset)

    expected, tol = float(n["expected"]), float(n["tol"])
    axes.plot(x, line(n["slope"]), "-", color="tab:blue",
              label=f"fit: slope {float(n['slope']):.3g} [{float(n['lower']):.3g}, {float(n['upper']):.3g}]")
    axes.plot(x, line(expected), "--", color="0.3", label=f"claimed exponent {expected:g} +- {tol:g}")
    axes.fill_between(x, line(expected - tol), line(expected + tol), color="0.5", alpha=0.15, lw=0)
    axes.set(xscale="log", yscale="log")
    _legend_and_axes(axes, x_label="x (grid)", y_label="y", title=f"{record.name}\n{record.verdict.value}: "
                     f"{record.measured}")


def _plot_band(axes, record: Record) -> None:
    """The claimed band of the ratio quantity / predicted scale, the observed range of the ratios, and
    the fitted drift of log ratio in the first varied parameter (slope and interval as a fan)."""
    n = record.numbers
    lo, hi = _floats(n["band"])
    params = {k: _floats(v) for k, v in n["params"].items()}
    varied = n["varied"]
    name = varied[0] if varied else None
    x = params[name] if name else np.arange(1.0, len(next(iter(params.values()))) + 1)
    span = np.geomspace(x.min(), x.max(), 50) if name else np.array([x.min(), x.max()])
    axes.axhspan(lo, hi, color="tab:green", alpha=0.12, label=f"claimed band [{lo:.3g}, {hi:.3g}]")
    low, high = float(n["min_ratio"]), float(n["max_ratio"])
    axes.fill_between(span, low, high, color="tab:blue", alpha=0.25, lw=0,
                      label=f"observed ratios [{low:.3g}, {high:.3g}] ({n['trials']} trial(s) per point)")
    if "mean_log_ratio" in n and len(x) == len(n["mean_log_ratio"]):
        centres = np.exp(_floats(n["mean_log_ratio"]))
        spread = _floats(n["sd_log_ratio"]) if n.get("sd_log_ratio") is not None else np.zeros_like(centres)
        axes.errorbar(x, centres, yerr=[centres - centres * np.exp(-spread), centres * np.exp(spread) - centres],
                      fmt="o", color="tab:blue", label="geometric mean per point (+- 1 sd of log ratio)")
    if name in n["drift"]:
        drift = n["drift"][name]
        centre, anchor = np.sqrt(low * high), np.exp(np.log(x).mean())
        for key, style in (("slope", "-"), ("lower", ":"), ("upper", ":")):
            axes.plot(span, centre * (span / anchor) ** float(drift[key]), style, color="tab:blue",
                      label=(f"drift in {name}: {float(drift['slope']):.3g} [{float(drift['lower']):.3g}, "
                             f"{float(drift['upper']):.3g}], tol +- {float(n['drift_tol']):g}")
                      if key == "slope" else None)
        axes.set_xscale("log")
    if low > 0:
        axes.set_yscale("log")
    _legend_and_axes(axes, x_label=name or "grid point", y_label="quantity / predicted scale",
                     title=f"{record.name}\n{record.verdict.value}: {record.measured}")


def plot_record(record: Record, path) -> Path:
    """One log-log PNG for a scaling or band record (what its ``numbers`` hold), written to ``path``."""
    from matplotlib.figure import Figure  # imported here: loading a document needs no matplotlib

    figure = Figure(figsize=(6, 4.2), layout="constrained")
    {"scaling": _plot_scaling, "band": _plot_band}[record.kind](figure.subplots(), record)
    path = Path(path)
    figure.savefig(path, dpi=100)
    return path


def _slug(record: Record, position: int) -> str:
    test = (record.test or "test").rsplit("::", 1)[-1]
    return f"{position:02d}-" + re.sub(r"[^A-Za-z0-9]+", "-", f"{test}-{record.name}").strip("-")[:70]


def _plots(records: list[Record], folder: Path) -> dict[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {i: plot_record(r, folder / f"{_slug(r, i)}.png")
            for i, r in enumerate(records) if r.kind in PLOTTED_KINDS}


def _summary(document: dict, records: list[Record]) -> str:
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


_FAILURES_HEADING = "Tests that failed without a record, and errata that did not fail as documented"


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


def _e(text) -> str:
    return html.escape(str(text))


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1f2328}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #d0d7de;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f6f8fa}.v{font-weight:bold;color:white;padding:1px 6px;
border-radius:4px}figure{display:inline-block;margin:8px;vertical-align:top;max-width:520px}
figure img{max-width:100%}figcaption{font-size:12px}code{font-size:12px}"""


def _badge(verdict: Verdict) -> str:
    return f'<span class="v" style="background:{VERDICT_COLORS[verdict.value]}">{verdict.value}</span>'


def render_html(document: dict, records: list[Record], plots: dict[int, Path]) -> str:
    """The report page; every plot is embedded as a base64 PNG (no file or network needed to view it)."""
    rows = "".join(
        f"<tr><td>{i}</td><td>{_e(r.claim or '-')}</td><td>{_e(r.name)} [{_e(r.kind)}]<br><code>{_e(r.test)}"
        f"</code></td><td>{_e(r.measured)}</td><td>{_e(r.expected)}<br><small>{_e(r.reason)}</small></td>"
        f"<td>{_badge(r.verdict)}</td><td><small>{_e(r.resolution)}</small>"
        + (f' <a href="#plot-{i}">plot</a>' if i in plots else "")
        + f"<details><summary>message</summary><small>{_e(r.message)}</small></details></td></tr>"
        for i, r in enumerate(records))
    figures = "".join(
        f'<figure id="plot-{i}"><img alt="{_e(records[i].name)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}"><figcaption>#{i} {_e(records[i].claim or "-")}: '
        f"{_e(records[i].name)}</figcaption></figure>" for i, path in plots.items())
    errata = [(i, r) for i, r in enumerate(records) if r.verdict is Verdict.ERRATUM]
    errata_html = ("<ul>" + "".join(f"<li><b>{_e(r.claim or '-')}</b>, {_e(r.name)}: measured {_e(r.measured)}; "
                                    f"the printed form expects {_e(r.expected)}. {_e(r.erratum or '')} "
                                    f"<small>{_e(r.message)}</small></li>"
                                    for _, r in errata) + "</ul>") if errata else "<p>No erratum in this run.</p>"
    failures = _unrecorded_failures(document, records)
    failures_html = (f"<h2>{_FAILURES_HEADING}</h2><ul>" + "".join(
        f"<li><code>{_e(t)}</code>: {_e(o)}</li>" for t, o in failures) + "</ul>") if failures else ""
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _metadata(document))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>ntkcheck claims report'
            f"</title><style>{_CSS}</style></head><body>\n<h1>ntkcheck claims report</h1>\n"
            f"<p>Nguyen, Mondelli &amp; Montufar (ICML 2021). {_e(_summary(document, records))}.</p>\n"
            f"<h2>Run</h2><table>{meta}</table>\n"
            f"<h2>Claims</h2><table><tr><th>#</th><th>claim</th><th>check</th><th>measured</th>"
            f"<th>expected</th><th>verdict</th><th>resolution</th></tr>{rows}</table>\n"
            f"<h2>Plots</h2>{figures or '<p>No scaling or band check in this run.</p>'}\n"
            f"<h2>Errata</h2>{errata_html}\n{failures_html}</body></html>\n")


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(document: dict, records: list[Record], plots: dict[int, Path], base: Path) -> str:
    """The Markdown twin of :func:`render_html`; plots are referenced relative to ``base``."""
    lines = ["# ntkcheck claims report", "", f"{_summary(document, records)}.", "", "## Run", "",
             "| | |", "| --- | --- |", *(f"| {k} | {_md(v)} |" for k, v in _metadata(document)), "",
             "## Claims", "", "| # | claim | check | measured | expected | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {i} | {_md(r.claim or '-')} | {_md(r.name)} [{r.kind}] | {_md(r.measured)} | "
              f"{_md(r.expected)} | **{r.verdict.value}** |" for i, r in enumerate(records)]
    lines += ["", "## Plots", ""]
    lines += [f"![#{i} {_md(records[i].name)}]({path.relative_to(base).as_posix()})" for i, path in plots.items()]
    if not plots:
        lines.append("No scaling or band check in this run.")
    errata = [r for r in records if r.verdict is Verdict.ERRATUM]
    lines += ["", "## Errata", ""] + ([f"- **{_md(r.claim or '-')}**, {_md(r.name)}: measured {_md(r.measured)}; "
                                       f"the printed form expects {_md(r.expected)}. {_md(r.erratum or '')}"
                                       for r in errata]
                                      or ["No erratum in this run."])
    failures = _unrecorded_failures(document, records)
    if failures:
        lines += ["", f"## {_FAILURES_HEADING}", ""] + [f"- `{t}`: {o}" for t, o in failures]
    return "\n".join(lines) + "\n"


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


def run(args) -> int:
    """``ntkcheck report``: build the report and print where it is. Returns 0."""
    files = build_report(load_results(args.results), args.out)
    print(f"wrote {files.html}, {files.markdown} and {len(files.plots)} plot(s) in {files.html.parent / 'plots'}")
    return 0
