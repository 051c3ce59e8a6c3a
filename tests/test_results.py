"""Tests of the one claims-JSON reader (ntkcheck/results.py): every malformed file in the list of issue 18
(binary, truncated, wrong schema, missing field, unknown verdict, and a few more) is one line and exit
status 2, no traceback, from every command that reads a claims JSON (compare, in either position, report,
calibrate --from-json); a document written by the real producers loads unchanged."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ntkcheck import checks, cli
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import SCHEMA_VERSION, run_document
from ntkcheck.results import VERDICTS, load_results, validate

GRID = np.geomspace(10.0, 1000.0, 5)


def _document() -> dict:
    """A valid document with one record of every kind (built by ntkcheck.checks -> run_document)."""
    y = GRID[:, None] * np.exp(0.01 * np.random.default_rng(0).standard_normal((GRID.size, 3)))
    records = [checks.scaling(GRID, y, expected=1.0, tol=0.1, name="y vs x", reason="synthetic"),
               checks.band({"n": GRID}, y / GRID[:, None], band=(0.5, 2.0), drift_tol=0.2, name="ratio",
                           reason="synthetic"),
               checks.identity([1.0], [1.0], rtol=1e-9, name="K", reason="rounding"),
               checks.inequality([2.0], [1.0], name="bound", reason="exact"),
               checks.probability(50, 50, p=0.9, tol=0.1, name="w.h.p.", reason="exact")]
    records = [r.replace(test=f"claims/test_a.py::test_{i}", claim="Theorem 3.2", seed=1, profile="smoke")
               for i, r in enumerate(records)]
    tests = {r.test: {"outcome": "passed", "duration": 0.1} for r in records}
    return json.loads(json.dumps(run_document(records, profile="smoke", base_seed=0,
                                              started="2025-01-01T00:00:00+00:00", tests=tests)))


def _edited(edit) -> str:
    document = _document()
    edit(document)
    return json.dumps(document)


def _pop(keys):
    def edit(document):
        target = document
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return edit


def _set(keys, value):
    def edit(document):
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


VALID = json.dumps(_document(), indent=1)
# name -> (file content (bytes or str), what the one line says)
BAD_FILES = {
    "binary": (bytes(range(256)) * 4, "is not UTF-8 text (a binary file?)"),
    "truncated": (VALID[: len(VALID) // 2], "is not valid JSON (truncated?)"),
    "truncated in a string": (VALID[: VALID.index('"test"') + 3], "is not valid JSON (truncated?)"),
    "truncated after a key": (VALID[: VALID.index('"test"') + 7], "is not valid JSON (truncated?)"),
    "empty": ("", "is empty"),
    "not an object": ("[1, 2]", "the document must be a JSON object, got array"),
    "no schema_version": ('{"records": []}', "schema_version is missing"),
    "other schema_version": (_edited(_set(["schema_version"], 99)), f"schema_version is 99; this ntkcheck reads "
                                                                    f"schema_version {SCHEMA_VERSION}"),
    "missing top-level field": (_edited(_pop(["tests"])), "tests is missing"),
    "missing record field": (_edited(_pop(["records", 2, "test"])), "records[2].test is missing"),
    "missing number": (_edited(_pop(["records", 0, "numbers", "slope"])), "records[0].numbers.slope is missing"),
    "missing drift number": (_edited(_pop(["records", 1, "numbers", "drift", "n", "slope"])),
                             "records[1].numbers.drift.n.slope is missing"),
    "unknown verdict": (_edited(_set(["records", 3, "verdict"], "MAYBE")),
                        "records[3].verdict is 'MAYBE', expected one of PASS, FAIL, INCONCLUSIVE, ERRATUM"),
    "wrong type": (_edited(_set(["records", 0, "index"], "0")), "records[0].index must be integer, got string"),
    "number as text": (_edited(_set(["records", 4, "numbers", "rate"], "high")),
                       "records[4].numbers.rate must be a number"),
    "bad test entry": (_edited(_set(["tests", "claims/test_a.py::test_0"], [])),
                       "tests['claims/test_a.py::test_0'] must be an object"),
    "NaN literal": ('{"schema_version": NaN}', "non-standard JSON constant NaN"),
}
# every command that reads a claims JSON; {bad} is the malformed file, {good} a valid one
COMMANDS = {
    "compare (baseline)": ("compare", "{bad}", "{good}"),
    "compare (current)": ("compare", "{good}", "{bad}"),
    "report": ("report", "{bad}", "--out", "{out}"),
    "calibrate --from-json": ("calibrate", "--from-json", "{bad}"),
}


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_a_valid_document_loads_unchanged(tmp_path):
    document = _document()
    assert load_results(_write(tmp_path / "ok.json", json.dumps(document))) == document
    assert {r["verdict"] for r in document["records"]} <= set(VERDICTS)


def test_optional_keys_are_allowed(tmp_path):
    document = _document()
    document["title"] = "another paper"  # optional additions (docs/claims_framework.md)
    document["records"][0].update(section="beyond", x_name="d", y_name="lambda_min")
    document["base_seeds"] = [0, 1]
    assert validate(document) is document


@pytest.mark.parametrize("name", BAD_FILES)
def test_load_results_raises_one_line(tmp_path, name):
    content, message = BAD_FILES[name]
    path = _write(tmp_path / "bad.json", content)
    with pytest.raises(InvalidArgument) as excinfo:
        load_results(path)
    text = str(excinfo.value)
    assert message in text and str(path) in text and "\n" not in text, text


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InvalidArgument, match="does not exist"):
        load_results(tmp_path / "missing.json")
    with pytest.raises(InvalidArgument, match="is a directory"):
        load_results(tmp_path)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", BAD_FILES)
def test_every_command_gives_one_line_and_exit_two(tmp_path, capsys, command, name):
    content, message = BAD_FILES[name]
    paths = {"bad": _write(tmp_path / "bad.json", content), "good": _write(tmp_path / "good.json", VALID),
             "out": tmp_path / "report"}
    argv = [part.format(**paths) for part in COMMANDS[command]]
    status = cli.main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ntkcheck {argv[0]}: error:") and message in lines[0], lines[0]
    assert not (tmp_path / "report").exists()  # rejected before any work


def test_binary_file_through_the_console_script(tmp_path):
    """The same from a separate process: the one line is all a user sees (no traceback on stderr)."""
    bad = _write(tmp_path / "bad.json", BAD_FILES["binary"][0])
    good = _write(tmp_path / "good.json", VALID)
    result = subprocess.run([sys.executable, "-m", "ntkcheck", "compare", str(good), str(bad)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "not UTF-8 text" in result.stderr, result.stderr
