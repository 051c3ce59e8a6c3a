"""Tests of the claims report (ntkcheck/report.py, ntkcheck/templates/): every claim of the JSON appears in
the HTML and the Markdown, every referenced plot exists and is a valid image, the page's order (per-claim
summary, errata once per erratum, contents, claims with their checks and plots, beyond the paper), node ids
folded away, the plots' axes named after the check's parameter and quantity (x_name / y_name), single-point
bands without a numeric x axis, no overlapping tick labels, the title of the claims' paper (plugin option and
ini value), and bad input as one clear InvalidArgument. The documents are synthetic (made with the checks),
so these tests need no engine; tests/test_report_browser.py loads a page in headless Chromium."""
import base64
import html
import html.parser
import importlib.resources
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from ntkcheck import checks, cli, plots, report
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import SCHEMA_VERSION, Verdict, run_document

pytest_plugins = ["pytester"]  # the plugin's --claims-title / ini claims_title, run on a tiny claim file

GRID = np.geomspace(16.0, 256.0, 5)
TRIALS = 4
SEED = 20210718
UNRECORDED_FAILURE = "claims/test_crash.py::test_crashes"
INCONCLUSIVE_ERRATUM = "claims/test_t1.py::test_1"  # an erratum test whose record is INCONCLUSIVE: a failure
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ERRATUM_TEXT = "(99) prints x^2; measured slope 2 over three grids; the corrected form x^1 holds"
BEYOND_TEST = "claims/beyond/test_extra.py::test_beyond"
TITLE = "A Paper About Something Else (Doe, 2030)"


def _records():
    rng = np.random.default_rng(SEED)
    noise = np.exp(0.05 * rng.standard_normal((GRID.size, TRIALS)))
    made = [
        checks.scaling(GRID, GRID[:, None] * noise, expected=1.0, tol=0.2, name="lambda_min vs d",
                       reason="synthetic"),
        checks.scaling(GRID, np.sqrt(GRID), expected=0.5, tol=0.05, name="deterministic <tail> & |pipe|",
                       reason="synthetic, one value per point"),
        checks.band({"N": GRID, "d": np.full(GRID.size, 32.0)}, 0.8 * noise, band=(0.1, 10.0), drift_tol=0.2,
                    name="ratio to the scale of (23)", reason="synthetic"),
        checks.identity(np.ones(3), np.ones(3), rtol=1e-12, name="closed form vs Monte Carlo", reason="rounding"),
        checks.inequality(np.array([2.0, 3.0]), 1.0, name="Schur bound", reason="exact"),
        checks.probability(48, 50, p=0.9, tol=0.05, name="w.p. at least 0.9", reason="synthetic"),
        checks.scaling(GRID, GRID ** 2, expected=1.0, tol=0.1, name="printed exponent", reason="erratum"),
    ]
    made[-1] = made[-1].replace(verdict=Verdict.ERRATUM)
    out = [r.replace(claim=f"Theorem {i}.1", test=f"claims/test_t{i}.py::test_{i}", seed=i, profile="smoke")
           for i, r in enumerate(made)]
    # one erratum with three records (a parametrized printed-form test): one row in the errata, not three
    out[-1] = out[-1].replace(erratum=ERRATUM_TEXT, test="claims/test_t6.py::test_6[a]")
    out += [out[-1].replace(test=f"claims/test_t6.py::test_6[{p}]") for p in ("b", "c")]
    out.append(made[3].replace(name="a second check of Theorem 0.1", claim="Theorem 0.1",
                               test="claims/test_t0.py::test_0b", seed=8, profile="smoke"))
    out.append(made[0].replace(name="a statement the paper does not make", claim="Beyond: extra",
                               test=BEYOND_TEST, seed=9, profile="smoke"))
    return out


def _document(records=None, *, title=None):
    records = _records() if records is None else records
    tests = {r.test: {"outcome": "passed", "duration": 0.1} for r in records}
    tests[UNRECORDED_FAILURE] = {"outcome": "failed", "duration": 0.2}
    if INCONCLUSIVE_ERRATUM in tests:
        tests[INCONCLUSIVE_ERRATUM].update(outcome="failed", erratum="printed", erratum_status="INCONCLUSIVE")
    document = run_document(records, profile="smoke", base_seed=7, started="2025-01-01T12:00:00+00:00",
                            tests=tests)
    for raw in document["records"]:  # the optional record key "section" (claims/beyond/), default "paper"
        if raw["test"].startswith("claims/beyond/"):
            raw["section"] = "beyond"
    if title is not None:
        document["title"] = title
    return json.loads(json.dumps(document))  # exactly what a reader of the file gets


def document_fixture():
    """The synthetic document of these tests (also rendered by tests/test_report_browser.py)."""
    return _document(title=TITLE)


def _missing_records(document, text, escape):
    """Names of the records whose claim, name or verdict does not appear in ``text``."""
    return [r["name"] for r in document["records"]
            if not all(escape(str(r[key])) in text for key in ("claim", "name", "verdict"))]


def _assert_png(data: bytes):
    assert data.startswith(PNG_SIGNATURE)
    image = imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def _md_escape(text):
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")  # raw HTML would vanish on GitHub


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    document = _document(title=TITLE)
    out = tmp_path_factory.mktemp("report")
    return document, report.build_report(document, out), out


def test_every_claim_appears_in_html_and_markdown(built):
    document, files, _ = built
    assert _missing_records(document, files.html.read_text(), html.escape) == []
    assert _missing_records(document, files.markdown.read_text(), _md_escape) == []


def test_missing_record_is_detected(built, tmp_path):
    """Negative control of the check above: a report built without one record must be caught."""
    document = built[0]
    truncated = dict(document, records=document["records"][1:])
    files = report.build_report(truncated, tmp_path)
    assert _missing_records(document, files.html.read_text(), html.escape) == [document["records"][0]["name"]]


def test_one_valid_plot_per_scaling_and_band_record(built):
    document, files, out = built
    plotted = [r for r in document["records"] if r["kind"] in report.PLOTTED_KINDS]
    assert len(files.plots) == len(plotted) == 7
    referenced = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", files.markdown.read_text())
    assert sorted(referenced) == sorted(p.relative_to(out).as_posix() for p in files.plots)
    for name in referenced:
        _assert_png((out / name).read_bytes())


def test_html_is_self_contained_with_valid_embedded_plots(built):
    text = built[1].html.read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(embedded) == len(built[1].plots)
    for data in embedded:
        _assert_png(base64.b64decode(data))
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing to fetch: viewable offline


def test_png_check_rejects_a_non_image():
    """Negative control of the image check."""
    with pytest.raises(AssertionError):
        _assert_png(b"<svg/>")


def test_errata_failures_metadata_and_escaping(built):
    document, files, _ = built
    text = files.html.read_text()
    errata = text.split("<h2>Errata</h2>", 1)[1]
    assert "printed exponent" in errata and "No erratum" not in errata
    failures = text.split("Tests that failed without a record", 1)[1]
    assert UNRECORDED_FAILURE in failures
    assert f"{INCONCLUSIVE_ERRATUM}</code>: failed: erratum test INCONCLUSIVE" in failures  # although recorded
    for value in ("smoke", "2025-01-01T12:00:00+00:00", f"numpy {document['versions']['numpy']}"):
        assert value in text
    assert "<tail>" not in text and "&lt;tail&gt;" in text
    markdown = files.markdown.read_text()
    assert "## Errata" in markdown and UNRECORDED_FAILURE in markdown
    assert "\\|pipe\\|" in markdown  # a pipe inside a cell must not split the table row


def test_run_without_plots_or_errata(tmp_path):
    records = [r for r in _records() if r.kind not in report.PLOTTED_KINDS and r.verdict is not Verdict.ERRATUM]
    files = report.build_report(_document(records), tmp_path)
    assert files.plots == []
    assert "No scaling or band check" in files.html.read_text()
    assert "No erratum in this run." in files.markdown.read_text()


def test_non_finite_numbers_from_json_are_read():
    assert np.isnan(report._floats(["nan", 1.0])[0]) and report._floats(["inf"])[0] == np.inf


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"schema_version": %d}' % SCHEMA_VERSION, "is missing"),
])
def test_load_results_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        report.load_results(path)


def test_load_results_rejects_other_schema_and_bad_records(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(dict(_document(), schema_version=99)))
    with pytest.raises(InvalidArgument, match="schema_version is 99"):
        report.load_results(path)
    document = _document()
    document["records"][0]["verdict"] = "MAYBE"
    with pytest.raises(InvalidArgument, match="malformed"):
        report.records_of(document)


def test_report_does_not_import_the_engine():
    """The report is the verdict half (ARCHITECTURE.md): building one must not load torch."""
    code = ("import sys, ntkcheck.report, ntkcheck.cli; "
            "assert 'torch' not in sys.modules and 'ntkcheck.network' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------ the page's layout

class _Outline(html.parser.HTMLParser):
    """The ids of the page in document order, the rows of each table (by table id or class), and the
    node ids met inside a table but outside a <details>."""

    def __init__(self, node_ids):
        super().__init__()
        self.node_ids, self.ids, self.rows, self.loose_node_ids = node_ids, [], {}, []
        self._tables, self._details, self._in_body = [], 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "table":
            self._tables.append(attrs.get("id") or attrs.get("class") or "table")
        elif tag == "details":
            self._details += 1
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._tables and self._in_body:
            self.rows[self._tables[-1]] = self.rows.get(self._tables[-1], 0) + 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._tables.pop()
        elif tag == "details":
            self._details -= 1
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._tables and not self._details and any(n in data for n in self.node_ids):
            self.loose_node_ids.append(data)


def _outline(document, text):
    parser = _Outline({r["test"] for r in document["records"]})
    parser.feed(text)
    return parser


def _claims_of(document, section="paper"):
    return list(dict.fromkeys(r["claim"] for r in document["records"] if r.get("section", "paper") == section))


def test_summary_first_then_errata_contents_claims_beyond_run(built):
    document, files, _ = built
    text = files.html.read_text()
    ids = _outline(document, text).ids
    order = [ids.index(i) for i in ("summary", "errata", "failures", "contents", "claims", "beyond", "run")]
    assert order == sorted(order)
    anchors = [report._anchor("claim", c) for c in _claims_of(document)]
    assert all(order[4] < ids.index(a) < order[5] for a in anchors)  # every claim in its own section
    assert ids.index(report._anchor("beyond-claim", "Beyond: extra")) > order[5]


def test_one_summary_row_per_claim_with_the_worst_verdict(built):
    document, files, _ = built
    outline = _outline(document, files.html.read_text())
    assert outline.rows["summary-table"] == len(_claims_of(document)) == 7
    assert outline.rows["beyond-summary-table"] == 1
    claims = report.context(document, report.records_of(document), {})["claims"]
    verdicts = {c.name: c.verdict.value for c in claims}
    assert verdicts["Theorem 1.1"] == "PASS" and verdicts["Theorem 6.1"] == "ERRATUM"
    assert [c.name for c in claims if len(c.checks) > 1] == ["Theorem 0.1", "Theorem 6.1"]
    headline = next(c for c in claims if c.name == "Theorem 0.1").headline
    assert headline.record.kind == "scaling"  # a PASS claim leads with its slope


def test_the_worst_verdict_leads_and_decides(built):
    """Negative control of the summary's verdict: one FAIL among PASSes makes the claim FAIL and is its
    headline."""
    document = json.loads(json.dumps(built[0]))
    document["records"][5]["claim"] = "Theorem 0.1"
    document["records"][5]["verdict"] = "FAIL"
    claims = report.context(document, report.records_of(document), {})["claims"]
    claim = next(c for c in claims if c.name == "Theorem 0.1")
    assert claim.verdict is Verdict.FAIL and claim.headline.record.verdict is Verdict.FAIL


def test_each_erratum_once_however_many_records(built):
    document, files, _ = built
    text = files.html.read_text()
    assert sum(r["erratum"] == ERRATUM_TEXT for r in document["records"]) == 3
    assert text.count(html.escape(ERRATUM_TEXT)) == 1
    assert _outline(document, text).rows["errata"] == 1
    errata = text.split('<section id="errata">', 1)[1].split("</section>", 1)[0]
    for record in document["records"]:
        if record["verdict"] == "ERRATUM":
            assert html.escape(record["measured"]) in errata
    assert files.markdown.read_text().count(ERRATUM_TEXT) == 1


def test_node_ids_only_inside_details_in_tables(built):
    document, files, _ = built
    outline = _outline(document, files.html.read_text())
    assert outline.loose_node_ids == []
    loose = _outline(document, "<table><tbody><tr><td>claims/test_t1.py::test_1</td></tr></tbody></table>")
    assert loose.loose_node_ids  # negative control: a bare node id in a cell is caught


def test_tables_are_fixed_layout_and_wrap(built):
    css = built[1].html.read_text().split("<style>", 1)[1].split("</style>", 1)[0]
    assert "table-layout:fixed" in css and "overflow-wrap:anywhere" in css and "width:100%" in css


def test_beyond_the_paper_apart_from_the_paper_verdicts(built):
    document, files, _ = built
    text = files.html.read_text()
    summary = text.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    beyond = text.split('<section id="beyond">', 1)[1].split("</section>", 1)[0]
    assert "a statement the paper does not make" not in summary and "Beyond: extra" not in summary
    assert "a statement the paper does not make" in beyond and BEYOND_TEST in beyond
    paper = [r for r in document["records"] if r.get("section", "paper") == "paper"]
    assert f"{len(paper)} checks:" in text.split("</header>", 1)[0]
    assert "## Beyond the paper" in files.markdown.read_text()


def test_title_from_the_document_else_a_neutral_one(built, tmp_path):
    text = built[1].html.read_text()
    assert f"<h1>{html.escape(TITLE)}</h1>" in text and "Nguyen" not in text
    files = report.build_report(_document([r for r in _records() if r.kind == "identity"]), tmp_path)
    assert f"<h1>{report.DEFAULT_TITLE}</h1>" in files.html.read_text()
    assert files.markdown.read_text().startswith(f"# {report.DEFAULT_TITLE}\n")


def test_report_command_title_option(tmp_path, capsys):
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(_document([r for r in _records() if r.kind == "identity"])))
    assert cli.main(["report", str(path), "--out", str(tmp_path / "out"), "--title", "My <Paper>"]) == 0
    assert "<h1>My &lt;Paper&gt;</h1>" in (tmp_path / "out" / "report.html").read_text()


TITLED_CLAIM = '''
import pytest
from ntkcheck import checks

def test_one(claim):
    claim.record(checks.identity([1.0], [1.0], rtol=0, name="one", reason="exact"))
'''


@pytest.mark.parametrize("ini, option, expected", [
    ("", (), None),
    ("[pytest]\nclaims_title = Ini Title\n", (), "Ini Title"),
    ("[pytest]\nclaims_title = Ini Title\n", ("--claims-title", "Option Title"), "Option Title"),
])
def test_plugin_writes_the_title(pytester, ini, option, expected):
    if ini:
        pytester.makeini(ini)
    pytester.makepyfile(test_titled=TITLED_CLAIM)
    path = pytester.path / "claims.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(path), *option)
    result.assert_outcomes(passed=1)
    assert json.loads(path.read_text()).get("title") == expected


@pytest.mark.slow  # a pytest subprocess on one claims module
def test_the_claims_carry_their_papers_title(tmp_path):
    """claims/conftest.py names this paper (so the shipped ntkcheck_claims do too), and --claims-title wins."""
    module = Path(__file__).parents[1] / "claims" / "test_lemma5_5_centered_khatri_rao.py"
    for extra, expected in (((), "Smallest Eigenvalue of the Neural Tangent Kernel"), (("--claims-title", "T"), "T")):
        path = tmp_path / "claims.json"
        subprocess.run([sys.executable, "-m", "pytest", str(module), "-q", "-p", "no:cacheprovider", "-k",
                        "norm_factor", "--claims-json", str(path), *extra], check=True, capture_output=True)
        assert expected in json.loads(path.read_text())["title"]


def test_templates_ship_as_package_data():
    """The templates are found through the package (as from an installed wheel), and setup.py's package_data
    names every one of them (tests/test_wheel.py builds the wheel)."""
    folder = importlib.resources.files("ntkcheck") / "templates"
    names = sorted(p.name for p in Path(str(folder)).iterdir() if p.suffix == ".j2")
    assert names == ["report.html.j2", "report.md.j2"]
    setup = (Path(__file__).parents[1] / "setup.py").read_text()
    patterns = re.findall(r'"(templates/[^"]+)"', setup)
    assert patterns and all(any(Path("templates", n).match(p) for p in patterns) for n in names)


# ----------------------------------------------------------------------------------------------- plots

def test_axis_names_default_from_the_check_and_explicit():
    assert checks.axis_names("Fig. 2 left, (N, n1, n2) = (16, 512, 512): lambda_min(Kbar) ~ d at d/N >= 16") == (
        "d", "lambda_min(Kbar)")
    assert checks.axis_names("lambda_min(K^(2)) vs d, gaussian, N=16") == ("d", "lambda_min(K^(2))")
    assert checks.axis_names("(4), (15), L=2: relative Frobenius error ~ n^-1/2") == ("n", "relative Frobenius error")
    assert checks.axis_names("wide first layer: estimate^2 / S_k(36) does not grow with n_1") == (
        "n_1", "estimate^2 / S_k(36)")
    assert checks.axis_names("lambda_min(Kbar) / (23), 8 architectures, d = N = 128") == (
        None, "lambda_min(Kbar) / (23)")
    y = GRID[:, None] * np.ones((1, 2))
    default = checks.scaling(GRID, y, expected=1.0, tol=0.2, name="lambda_min vs d", reason="r")
    assert (default.numbers["x_name"], default.numbers["y_name"]) == ("d", "lambda_min")
    unnamed = checks.scaling(GRID, y, expected=1.0, tol=0.2, name="a power law", reason="r")
    assert (unnamed.numbers["x_name"], unnamed.numbers["y_name"]) == ("x", "a power law")
    given = checks.scaling(GRID, y, expected=1.0, tol=0.2, name="a power law", reason="r", x_name="width n_1",
                           y_name="||B||^2")
    assert (given.numbers["x_name"], given.numbers["y_name"]) == ("width n_1", "||B||^2")
    banded = checks.band({"d": np.full(GRID.size, 8.0), "N": GRID}, np.ones((GRID.size, 2)), band=(0.5, 2),
                         drift_tol=0.1, name="k=1: ratio / scale, d = 2N", reason="r")
    assert (banded.numbers["x_name"], banded.numbers["y_name"]) == ("N", "ratio / scale")
    fixed = checks.band({"N": [8.0]}, [[1.0, 1.1]], band=(0.5, 2), drift_tol=0.1, name="ratio", reason="r")
    assert fixed.numbers["x_name"] == "grid point"
    with pytest.raises(InvalidArgument, match="x_name"):
        checks.scaling(GRID, y, expected=1.0, tol=0.2, name="n", reason="r", x_name="")
    with pytest.raises(InvalidArgument, match="y_name"):
        checks.band({"N": GRID}, np.ones(GRID.size), band=(0.5, 2), drift_tol=0.1, name="n", reason="r", y_name=3)


def test_plot_axes_are_named_after_parameter_and_quantity(built):
    records = report.records_of(built[0])
    for record in records:
        if record.kind not in report.PLOTTED_KINDS:
            continue
        axes = report.figure_for(record).axes[0]
        assert axes.get_xlabel().replace("\n", " ").startswith(record.numbers["x_name"])
        assert axes.get_ylabel().replace("\n", " ") == record.numbers["y_name"]
        assert axes.get_xlabel() != "x (grid)" and axes.get_ylabel() != "y"
    first = next(r for r in records if r.name == "lambda_min vs d")
    older = first.replace(numbers={k: v for k, v in first.numbers.items() if k not in ("x_name", "y_name")})
    axes = report.figure_for(older).axes[0]  # a record written before x_name: the same names, from the check's name
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("d", "lambda_min")


def _numeric(text):
    try:
        float(text.replace("\u2212", "-"))
    except ValueError:
        return False
    return True


def test_single_point_band_is_dots_against_the_band():
    record = checks.band({"N": [64.0]}, [[0.9, 1.1, 1.0]], band=(0.5, 2.0), drift_tol=0.1,
                         name="ratio of (16), N = 64", reason="r")
    figure = report.figure_for(record)
    axes = figure.axes[0]
    assert axes.get_xlim() == pytest.approx((-0.6, 0.6))  # one column, no 0.96-1.04 numeric axis
    assert not any(_numeric(t.get_text()) for t in axes.get_xticklabels() if t.get_text())
    assert "N = 64" in axes.get_xlabel()
    ys = [line.get_ydata() for line in axes.lines if len(line.get_xdata()) == 1]
    assert any(np.allclose(y, np.exp(np.mean(np.log([0.9, 1.1, 1.0])))) for y in ys)  # the dot itself


def test_no_tick_labels_overlap_in_any_plot(built):
    for record in report.records_of(built[0]):
        if record.kind in report.PLOTTED_KINDS:
            figure = report.figure_for(record)
            figure.canvas.draw()
            assert report.tick_label_overlaps(figure) == [], record.name


def test_overlap_detector_catches_crowded_labels():
    """Negative control of the tick check: 40 labelled ticks on a narrow axis overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_xticks(np.arange(40.0), [f"{v:.0f}000" for v in np.arange(40)])
    axes.set_xlim(0, 39)
    figure.canvas.draw()
    assert len(report.tick_label_overlaps(figure)) > 10
    plots._thin_tick_labels(figure)
    figure.canvas.draw()
    assert report.tick_label_overlaps(figure) == []
