"""Tests of `ntkcheck compare`: planted regressions are reported with a non-zero exit status, an unchanged
run is silent and exits 0. Documents are built with the real producers (ntkcheck.checks ->
records.run_document), and once end to end from two pytest runs of a synthetic claim module."""
import argparse
import json

import numpy as np
import pytest

from ntkcheck import checks, compare
from ntkcheck.records import SCHEMA_VERSION, Verdict, run_document

pytest_plugins = ["pytester"]

GRID = np.geomspace(64.0, 640.0, 6)
TRIALS = 5
NOISE_SD = 0.05  # log-noise of the synthetic power laws: half-width ~0.04, far inside SLOPE_TOL
SLOPE_TOL = 0.3
SCALING_TEST = "claims/test_a.py::test_scaling"
BAND_TEST = "claims/test_a.py::test_band"
IDENTITY_TEST = "claims/test_b.py::test_identity"
PLAIN_TEST = "claims/test_b.py::test_property"


def _power(slope, seed=0):
    noise = np.random.default_rng(seed).standard_normal((GRID.size, TRIALS))
    return GRID[:, None] ** slope * np.exp(NOISE_SD * noise)


def _document(slope=1.0, erratum_verdict=Verdict.ERRATUM, drop=(), property_outcome="passed"):
    """A claims document: a scaling check, a band check, an identity and a documented erratum."""
    scaling = checks.scaling(GRID, _power(slope), expected=1.0, tol=SLOPE_TOL, name="y vs x", reason="synthetic")
    band = checks.band({"n": GRID}, 2.0 * _power(0.0, seed=1), band=(1.0, 4.0), drift_tol=0.2, name="ratio",
                       reason="synthetic")
    identity = checks.identity([1.0], [1.0], rtol=1e-9, name="K = J J^T", reason="rounding")
    erratum = checks.identity([2.0], [1.0], rtol=1e-9, name="printed formula", reason="erratum")
    erratum = erratum.replace(verdict=erratum_verdict)
    records = [scaling.replace(test=SCALING_TEST, claim="Theorem 3.2"),
               band.replace(test=BAND_TEST, claim="Theorem 4.1"),
               identity.replace(test=IDENTITY_TEST, claim="eq. (3)"),
               erratum.replace(test=IDENTITY_TEST, claim="eq. (3)", index=1)]
    records = [r for r in records if r.name not in drop]
    outcome = {Verdict.PASS: "passed", Verdict.ERRATUM: "xfailed"}  # as the plugin reports the test
    tests = {}
    for r in records:  # a test's outcome is that of its last record (the plugin stops at a non-PASS)
        tests[r.test] = {"outcome": outcome.get(r.verdict, "failed"), "duration": 0.1}
    tests[PLAIN_TEST] = {"outcome": property_outcome, "duration": 0.1}
    return json.loads(json.dumps(run_document(records, profile="full", base_seed=0,
                                              started="2025-01-01T00:00:00+00:00", tests=tests)))


def _compare(tmp_path, baseline, current, *extra):
    paths = []
    for name, document in (("baseline.json", baseline), ("current.json", current)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document))
    parser = argparse.ArgumentParser()
    compare.add_arguments(parser)
    return compare.run(parser.parse_args([str(p) for p in paths] + list(extra)))


def _kinds(baseline, current, **kwargs):
    return sorted((c.kind, c.check or c.test) for c in compare.compare_runs(baseline, current, **kwargs))


def test_unchanged_run_is_silent_and_exits_zero(tmp_path, capsys):
    assert _compare(tmp_path, _document(), _document()) == 0
    out = capsys.readouterr().out
    assert "4 checks in both runs; 0 regressed, 0 missing, 0 moved" in out
    assert not any(line.startswith(compare.KINDS) for line in out.splitlines())


def test_planted_slope_regression_is_reported_and_fails(tmp_path, capsys):
    current = _document(slope=1.6)  # the interval lies wholly outside 1 +- 0.3: FAIL
    assert current["summary"]["FAIL"] == 1
    assert _compare(tmp_path, _document(), current) == 1
    out = capsys.readouterr().out
    assert "REGRESSED  Theorem 3.2  claims/test_a.py::test_scaling :: y vs x [scaling]: PASS: slope" in out
    assert "->  FAIL: slope 1.6" in out
    assert "MOVED      Theorem 3.2  claims/test_a.py::test_scaling :: y vs x [scaling]: slope 0.9986 -> 1.599" in out
    assert "(shift 0.6 > 0.5 x tolerance 0.3)" in out


def test_moved_exponent_within_pass_is_reported_but_does_not_fail(tmp_path, capsys):
    baseline, current = _document(slope=0.9), _document(slope=1.1)  # both PASS; shift 0.2 > 0.5 x 0.3
    assert _kinds(baseline, current) == [("MOVED", "y vs x [scaling]")]
    assert _kinds(baseline, current, shift_fraction=1.0) == []  # 0.2 < 1 x 0.3
    assert _compare(tmp_path, baseline, current) == 0
    assert _compare(tmp_path, baseline, current, "--fail-on-shift") == 1
    assert "slope 0.8986 -> 1.099 (shift 0.2 > 0.5 x tolerance 0.3)" in capsys.readouterr().out


def test_band_ratio_and_drift_moves():
    baseline, current = _document(), _document()
    record = next(r for r in current["records"] if r["kind"] == "band")
    record["numbers"]["max_ratio"] *= 1.5  # log 1.5 = 0.41 > 0.5 x log(4/1)/2 = 0.35
    record["numbers"]["drift"]["n"]["slope"] += 0.15  # > 0.5 x drift_tol 0.2
    moves = [c.text for c in compare.compare_runs(baseline, current) if c.kind == "MOVED"]
    assert len(moves) == 2
    assert moves[0].startswith("drift slope in n") and moves[1].startswith("log max_ratio")


def test_missing_added_and_vanished_tests(tmp_path, capsys):
    baseline = _document(drop=("printed formula",))
    current = _document(drop=("ratio",))
    del current["tests"][PLAIN_TEST]
    assert _kinds(baseline, current) == [("ADDED", "printed formula [identity]"), ("MISSING", PLAIN_TEST),
                                         ("MISSING", "ratio [band]")]
    assert _compare(tmp_path, baseline, current) == 1
    out = capsys.readouterr().out
    assert "MISSING    Theorem 4.1  claims/test_a.py::test_band :: ratio [band]: was PASS" in out
    assert "1 added" in out


def test_erratum_that_passes_and_crashed_test_regress():
    current = _document(erratum_verdict=Verdict.PASS, property_outcome="failed")
    assert _kinds(_document(), current) == [("REGRESSED", PLAIN_TEST), ("REGRESSED", "printed formula [identity]")]
    # back again: a documented erratum is as good as a PASS, and a test that recovers is not news
    assert _kinds(current, _document()) == [("CHANGED", "printed formula [identity]")]


def test_checks_are_matched_by_position_not_by_name():
    """A name may quote measured numbers: a renamed check at the same position is the same check."""
    baseline, current = _document(), _document()
    current["records"][0]["name"] = "y vs x, measured C = 1.23"
    assert _kinds(baseline, current) == []


def test_verdict_order():
    base = {"verdict": "INCONCLUSIVE"}
    assert compare._verdict_change(base, {"verdict": "FAIL"}) == "REGRESSED"
    assert compare._verdict_change(base, {"verdict": "PASS"}) == "IMPROVED"
    assert compare._verdict_change({"verdict": "PASS"}, {"verdict": "ERRATUM"}) == "CHANGED"
    assert compare._verdict_change({"verdict": "ERRATUM"}, {"verdict": "PASS"}) == "REGRESSED"


def test_context_notes_profile_seed_and_versions(tmp_path, capsys):
    current = _document()
    current.update(profile="smoke", base_seed=3)
    current["versions"]["torch"] = "9.9"
    assert _compare(tmp_path, _document(), current) == 0
    out = capsys.readouterr().out
    assert "Note: profile differs (full -> smoke)" in out and "Note: base_seed differs (0 -> 3)" in out
    assert "Versions changed: torch" in out and "-> 9.9" in out


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ('{"schema_version": 99, "records": [], "tests": {}}', "schema_version is 99"),
    ("[1, 2]", "must be a JSON object"),
    ('{"schema_version": %d}' % SCHEMA_VERSION, "is missing"),
])
def test_bad_input_is_one_line_and_exit_two(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_document()))
    parser = argparse.ArgumentParser()
    compare.add_arguments(parser)
    assert compare.run(parser.parse_args([str(good), str(bad)])) == 2
    err = capsys.readouterr().err
    assert err.startswith("ntkcheck compare: error:") and message in err and err.count("\n") == 1


CLAIM_MODULE = '''
import os
import numpy as np
import pytest
from ntkcheck import checks

pytestmark = pytest.mark.claim("Theorem 3.2")
GRID = np.geomspace(64.0, 640.0, 6)

def test_power_law(claim):
    slope = float(os.environ.get("PLANTED_SLOPE", "1.0"))
    y = GRID[:, None] ** slope * np.exp(0.05 * claim.rng.standard_normal((GRID.size, 5)))
    claim.record(checks.scaling(GRID, y, expected=1.0, tol=0.3, name="y vs x", reason="synthetic"))
'''


def test_end_to_end_planted_regression(pytester, monkeypatch, capsys):
    pytester.makepyfile(test_claims=CLAIM_MODULE)
    baseline, current = pytester.path / "baseline.json", pytester.path / "current.json"
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(baseline)).assert_outcomes(passed=1)
    monkeypatch.setenv("PLANTED_SLOPE", "2.0")
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(current)).assert_outcomes(failed=1)
    parser = argparse.ArgumentParser()
    compare.add_arguments(parser)
    assert compare.run(parser.parse_args([str(baseline), str(current)])) == 1
    out = capsys.readouterr().out
    assert "REGRESSED  Theorem 3.2  test_claims.py::test_power_law :: y vs x [scaling]: PASS" in out
    assert "1 checks in both runs; 1 regressed, 0 missing, 1 moved" in out


def test_the_same_infinity_has_not_moved():
    """log min_ratio = -inf in both runs (a ratio of 0, e.g. a dead point) is no shift; inf -> finite is."""
    from ntkcheck.compare import _moved

    def band(log_min):
        return {"kind": "band", "numbers": {"min_ratio": float(np.exp(log_min)), "max_ratio": 1.0,
                                            "band": [0.1, 10.0], "drift_tol": 0.15}}
    assert _moved(band(-np.inf), band(-np.inf), 0.5) == []
    assert _moved(band(-np.inf), band(0.0), 0.5) != []
