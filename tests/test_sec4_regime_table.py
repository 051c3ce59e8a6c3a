"""tools/sec4_regime_table.py: the regime map of Section 4 (docs/claims_sec4.md) from a claims JSON.

On the committed full baseline it prints one table row per record of the regime-map test, each with the record's
numbers; a JSON without regime-map records (a smoke run skips the map) and a record name of another form are
reported, naming the problem, rather than giving a short or wrong table (negative controls).
"""
import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "sec4_regime_table.py"
BASELINE = ROOT / "baselines" / "claims-full.json"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("sec4_regime_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def baseline():
    return json.loads(BASELINE.read_text(encoding="utf-8"))


def test_one_row_per_regime_map_record(baseline):
    records = [r for r in baseline["records"] if r["test"].endswith("::test_regime_map_of_section_4")]
    assert len(records) >= 8  # the full profile's map: cells inside and outside the premises and a counterfactual
    out = subprocess.run([sys.executable, str(SCRIPT), str(BASELINE)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    lines = [line for line in out.splitlines() if line.startswith("|")]
    body = lines[2:]
    assert len(body) == len(records)
    columns = lines[0].count(" | ") + 1
    for record, line in zip(records, body):
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert len(cells) == columns, line
        cell = record["name"][len("regime map ["):].split(";")[0]
        assert cells[0] == cell and cells[-2] == record["verdict"]
        assert "?" not in cells[1:6], line  # every cell's shape found in the claims module's REGIME_CELLS


def test_rows_carry_the_record_numbers(tool, baseline):
    record = next(r for r in baseline["records"] if r["test"] == tool.TEST)
    parsed = tool.parse_name(record["name"])
    row = tool.rows({"records": [record]})[0]
    assert all(f"{m:.3g}" in row for m in parsed["means"])
    assert f"{parsed['drifts']['printed'][0]:.3g}" in row and record["numbers"]["power"]["summary"] in row


def test_status_follows_premises_and_drift(tool):
    inside = {"premises": {"(18)": True, "(19)": True, "(21)": True},
              "drifts": {"printed": (0.3, 0.2, 0.4), "N-point factor": (0.0, -0.1, 0.1)}}
    assert tool.status(inside, "PASS") == "holds"
    unsettled = copy.deepcopy(inside)
    unsettled["drifts"]["N-point factor"] = (0.16, 0.07, 0.25)
    assert tool.status(unsettled, "PASS").startswith("holds (lower side of Theta); drift not inside")
    outside = copy.deepcopy(inside)
    outside["premises"]["(21)"] = False
    assert tool.status(outside, "PASS") == "finding outside premises"
    assert "erratum candidate" in tool.status(inside, "FAIL")
    assert tool.status(inside, "ERRATUM") == "erratum"


def test_no_regime_records_is_an_error(tmp_path, baseline):
    smoke = {"records": [r for r in baseline["records"] if "regime_map" not in r["test"]]}
    path = tmp_path / "claims-smoke.json"
    path.write_text(json.dumps(smoke), encoding="utf-8")
    done = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and "no records of" in done.stderr and not done.stdout


def test_malformed_name_is_an_error(tool, baseline):
    record = copy.deepcopy(next(r for r in baseline["records"] if r["test"] == tool.TEST))
    record["name"] = record["name"].replace("(21) holds", "(21) maybe")
    with pytest.raises(tool.RegimeRecordError, match="premise flags"):
        tool.rows({"records": [record]})
    record["name"] = "regime map without brackets"
    with pytest.raises(tool.RegimeRecordError, match="not a regime-map record name"):
        tool.rows({"records": [record]})


def test_a_note_after_the_drifts_goes_to_the_status_column(tool, baseline):
    """The d-widest cells append their share of (20) after the drifts: parsed as a note, not as a malformed drift."""
    record = copy.deepcopy(next(r for r in baseline["records"] if r["test"] == tool.TEST))
    label, sep, check = record["name"].partition("]: ")
    record["name"] = f"{label}; (20)'s lambda_min(X X^T) term >= 0.933 of (20)'s sum (r = 2) on every net{sep}{check}"
    parsed = tool.parse_name(record["name"])
    assert parsed["notes"] == ["(20)'s lambda_min(X X^T) term >= 0.933 of (20)'s sum (r = 2) on every net"]
    assert set(parsed["drifts"]) == {"printed", "N-point factor"}
    assert tool.rows({"records": [record]})[0].endswith("; (20)'s lambda_min(X X^T) term >= 0.933 of (20)'s sum "
                                                        "(r = 2) on every net |")
