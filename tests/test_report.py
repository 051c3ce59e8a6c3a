"""Tests of the claims report (ntkcheck/report.py): every claim of the JSON appears in the HTML and the
Markdown, every referenced plot exists and is a valid image, the errata and the unrecorded failures are
listed, and bad input is one clear InvalidArgument. The documents are synthetic (made with the checks),
so these tests need no engine."""
import base64
import html
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from ntkcheck import checks, report
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import SCHEMA_VERSION, Verdict, run_document

GRID = np.geomspace(16.0, 256.0, 5)
TRIALS = 4
SEED = 20210718
UNRECORDED_FAILURE = "claims/test_crash.py::test_crashes"
INCONCLUSIVE_ERRATUM = "claims/test_t1.py::test_1"  # an erratum test whose record is INCONCLUSIVE: a failure
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
    return [r.replace(claim=f"Theorem {i}.1", test=f"claims/test_t{i}.py::test_{i}", seed=i, profile="smoke")
            for i, r in enumerate(made)]


def _document(records=None):
    records = _records() if records is None else records
    tests = {r.test: {"outcome": "passed", "duration": 0.1} for r in records}
    tests[UNRECORDED_FAILURE] = {"outcome": "failed", "duration": 0.2}
    if INCONCLUSIVE_ERRATUM in tests:
        tests[INCONCLUSIVE_ERRATUM].update(outcome="failed", erratum="printed", erratum_status="INCONCLUSIVE")
    document = run_document(records, profile="smoke", base_seed=7, started="2025-01-01T12:00:00+00:00",
                            tests=tests)
    return json.loads(json.dumps(document))  # exactly what a reader of the file gets


def _missing_records(document, text, escape):
    """Names of the records whose claim, name or verdict does not appear in ``text``."""
    return [r["name"] for r in document["records"]
            if not all(escape(str(r[key])) in text for key in ("claim", "name", "verdict"))]


def _assert_png(data: bytes):
    assert data.startswith(PNG_SIGNATURE)
    image = imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def _md_escape(text):
    return text.replace("|", "\\|")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    document = _document()
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
    assert len(files.plots) == len(plotted) == 4
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
