"""tools/durations_from_claims.py: pytest-split durations from a claims JSON (the paper workflow's shard balance)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import durations_from_claims as tool  # noqa: E402


def test_durations_are_the_tests_durations():
    claims = {"tests": {"claims/test_b.py::test_y": {"duration": 2.0004, "outcome": "passed"},
                        "claims/test_a.py::test_x[1]": {"duration": 0.5, "outcome": "failed"}}}
    assert tool.durations(claims) == {"claims/test_a.py::test_x[1]": 0.5, "claims/test_b.py::test_y": 2.0}


@pytest.mark.parametrize("claims, message", [({}, "no 'tests'"), ({"tests": {}}, "no 'tests'"),
                                             ({"tests": {"t.py::a[claims_seed=3]": {"duration": 1}}}, "calibration"),
                                             ({"tests": {"t.py::a": {"duration": -1}}}, "non-negative"),
                                             ({"tests": {"t.py::a": {}}}, "non-negative")])
def test_bad_claims_json_is_refused(claims, message):
    with pytest.raises(ValueError, match=message):
        tool.durations(claims)


def test_command_line(tmp_path):
    source, out = tmp_path / "claims.json", tmp_path / "durations.json"
    source.write_text(json.dumps({"tests": {"claims/test_a.py::test_x": {"duration": 1.25}}}))
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "durations_from_claims.py"), str(source), str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and json.loads(out.read_text()) == {"claims/test_a.py::test_x": 1.25}
    bad = subprocess.run([sys.executable, str(ROOT / "tools" / "durations_from_claims.py"), str(tmp_path / "no.json"),
                          str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no.json" in bad.stderr
