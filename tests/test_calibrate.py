"""Tests of `ntkcheck calibrate`: a synthetic claim module run under several base seeds, with a true claim
(passes under every seed), a negative control whose tolerance is below its own interval's half-width
(never passes), a documented erratum (counts as passing) and a test that crashes under some seeds."""
import argparse
import json
import math

import pytest

from ntkcheck import calibrate
from ntkcheck._validate import InvalidArgument

pytest_plugins = ["pytester"]

SEEDS = 8  # enough to see the planted crash (every 4th base seed) twice; each seed costs ~0.1 s here
CLAIM_MODULE = '''
import numpy as np
import pytest
from ntkcheck import checks

pytestmark = pytest.mark.claim("Theorem 3.2")
GRID = np.geomspace(64.0, 640.0, 6)


def power(claim, slope):
    return GRID[:, None] ** slope * np.exp(0.1 * claim.rng.standard_normal((GRID.size, 5)))


def test_true_claim(claim):  # half-width ~0.07 inside the tolerance 0.3: PASS under every seed
    claim.record(checks.scaling(GRID, power(claim, 1.0), expected=1.0, tol=0.3, name="true", reason="synthetic"))


def test_tight_claim(claim):  # tolerance 0.02 below the half-width: never PASS (the negative control)
    claim.record(checks.scaling(GRID, power(claim, 1.0), expected=1.0, tol=0.02, name="tight", reason="synthetic"))


@pytest.mark.erratum("printed exponent 2; measured 1")
def test_erratum(claim):
    claim.record(checks.scaling(GRID, power(claim, 1.0), expected=2.0, tol=0.3, name="printed", reason="synthetic"))


def test_crashes_for_some_seeds(claim):
    claim.record(checks.identity([1.0], [1.0], rtol=0.0, name="exact", reason="synthetic"))
    if claim.base_seed % 4 == 0:
        raise RuntimeError("planted crash")


def test_without_claim_fixture():
    pass


def test_skipped_at_this_profile(claim):
    pytest.skip("runs in the full profile only")
'''


def _args(*argv):
    parser = argparse.ArgumentParser()
    calibrate.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def calibration(pytester, capsys):
    """Run `calibrate` on CLAIM_MODULE; return (exit status, stdout, the --json document)."""
    pytester.makepyfile(test_claims=CLAIM_MODULE)

    def run(*argv):
        out = pytester.path / "calibration.json"
        status = calibrate.run(_args(*argv, "--json", str(out)))
        return status, capsys.readouterr().out, json.loads(out.read_text()) if out.exists() else None
    return run


def _rows(document):
    return {(row["test"].rpartition("::")[2], row["check"]): row for row in document["rows"]}


def test_pass_rates_statuses_and_spread(calibration):
    status, out, document = calibration("test_claims.py", "--seeds", str(SEEDS), "-n", "0")
    assert status == 1  # the negative control and the crashing test miss the target
    rows = _rows(document)
    true, tight = rows["test_true_claim", "true"], rows["test_tight_claim", "tight"]
    crash, plain = rows["test_crashes_for_some_seeds", "(test outcome)"], rows["test_without_claim_fixture",
                                                                                "(test outcome)"]
    assert len(rows) == 6  # the four checks, the crash, the test without records (run once); no skipped test
    assert (true["passes"], true["runs"], true["status"]) == (SEEDS, SEEDS, "ok")
    assert rows["test_erratum", "printed"]["passes"] == SEEDS  # ERRATUM: failed as documented
    assert tight["passes"] == 0 and tight["status"] == "REJECTED"
    assert (crash["passes"], crash["failing_seeds"], crash["status"]) == (SEEDS - 2, [0, 4], "BELOW")
    assert rows["test_crashes_for_some_seeds", "exact"]["passes"] == SEEDS  # recorded before the crash
    assert (plain["passes"], plain["runs"], plain["status"]) == (1, 1, "ok")
    slope = true["spread"]["slope"]
    assert 0.9 < slope["min"] <= slope["mean"] <= slope["max"] < 1.1 and 0 < slope["sd"] < 0.1
    # the tolerance the spread needs: above the tight claim's 0.02, below the true claim's 0.3
    assert tight["tolerance"]["name"] == "tol" and tight["tolerance"]["now"] == 0.02
    assert 0.02 < tight["tolerance"]["needed"] < 0.3
    assert true["tolerance"]["now"] == 0.3 and true["tolerance"]["needed"] < 0.3
    assert document["target"] == calibrate.TARGETS["smoke"] and document["base_seeds"] == list(range(SEEDS))
    assert "| Theorem 3.2 | `test_true_claim` true [scaling] | 8/8 = 1 |" in out
    assert "test_claims.py::test_crashes_for_some_seeds :: (test outcome): failing seeds [0, 4]" in out


def test_all_true_claims_exit_zero_and_first_seed(calibration):
    status, out, document = calibration("test_claims.py::test_true_claim", "--seeds", "3", "--first-seed", "5",
                                        "-n", "0", "--profile", "full")
    assert status == 0 and document["base_seeds"] == [5, 6, 7] and document["target"] == 0.99
    assert "Calibration: profile full, 3 base seeds 5..7, target pass rate 0.99; " in out


NAMED_MODULE = '''
from ntkcheck import checks


def test_named(claim):
    value = float(claim.rng.uniform(1.0, 2.0))
    claim.record(checks.inequality(value, 1.0, name=f"measured C = {value:.3g}", reason="synthetic"))
'''


def test_from_json_rereads_a_run_and_names_may_quote_numbers(calibration, pytester):
    """--from-json re-analyses a stored run; checks are matched by position, so a name that quotes a
    measured number (different under every seed) is still one row."""
    pytester.makepyfile(test_named=NAMED_MODULE)
    raw = pytester.path / "raw.json"
    status, _, first = calibration("test_named.py", "--seeds", "4", "-n", "0", "--claims-json", str(raw),
                                   "--target", "1")
    assert status == 0 and len(first["rows"]) == 1 and first["rows"][0]["passes"] == 4
    status, out, again = calibration("--from-json", str(raw), "--target", "1")
    assert status == 0 and again["rows"] == first["rows"] and again["wall_seconds"] is None
    assert "Calibration: profile smoke, 4 base seeds 0..3, target pass rate 1\n" in out


def test_rows_agree_with_plain_runs(calibration, pytester):
    """A calibration copy draws what `pytest --claims-seed s` draws: the fitted slopes are the same."""
    _, _, document = calibration("test_claims.py::test_true_claim", "--seeds", "2", "-n", "0",
                                 "--claims-json", str(pytester.path / "raw.json"))
    raw = json.loads((pytester.path / "raw.json").read_text())
    for seed in (0, 1):
        plain = pytester.path / f"plain{seed}.json"
        pytester.runpytest_inprocess("test_claims.py::test_true_claim", "-p", "no:cacheprovider",
                                     "--claims-seed", str(seed), "--claims-json", str(plain))
        slope = json.loads(plain.read_text())["records"][0]["numbers"]["slope"]
        copy = next(r for r in raw["records"] if r["test"].endswith(f"[claims_seed={seed}]"))
        assert copy["numbers"]["slope"] == slope


@pytest.mark.slow  # two xdist workers in a subprocess: several seconds
def test_xdist_calibration_matches_one_process(calibration):
    serial = calibration("test_claims.py", "--seeds", "4", "-n", "0")[2]
    parallel = calibration("test_claims.py", "--seeds", "4", "-n", "2")[2]
    assert serial["rows"] == parallel["rows"]


@pytest.mark.parametrize("argv, message", [
    ((), "give --seeds S"),
    (("--from-json", "missing.json"), "claims JSON 'missing.json' does not exist"),
    (("--seeds", "0"), "--seeds must be >= 1"),
    (("--seeds", "2", "--first-seed", "-1"), "--first-seed >= 0"),
    (("--seeds", "2", "--target", "1.5"), "--target must be in (0, 1]"),
    (("--seeds", "2", "-n", "many"), "--workers must be a number >= 0 or 'auto'"),
    (("no_such_dir/", "--seeds", "2", "-n", "0"), "pytest exited with status 4"),
])
def test_bad_input_is_one_line_and_exit_two(pytester, capsys, argv, message):
    assert calibrate.run(_args(*argv)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("ntkcheck calibrate: error:") and message in err[-1]


def test_summarize_needs_a_seeds_document():
    with pytest.raises(InvalidArgument, match="not written by a --claims-seeds run"):
        calibrate.summarize({"tests": {}, "records": [], "base_seed": 0}, 0.95)


def test_needed_tolerance_is_an_order_statistic():
    # 10 seeds at target 0.8: 8 must pass, so the 8th smallest per-seed tolerance
    assert calibrate._needed_at([0.1 * k for k in range(10, 0, -1)], 10, 0.8) == pytest.approx(0.8)
    assert calibrate._needed_at([0.1, 0.2], 10, 0.8) == math.inf  # 8 seeds never reached the check


def test_a_whp_inequality_has_no_single_tolerance():
    """With coverage < 1 a violation count decides the inequality, so no rtol 'would just pass' it."""
    from ntkcheck import checks
    strict = checks.inequality([1.0, 0.9], [1.0, 1.0], name="a", reason="b")
    whp = checks.inequality([1.0] * 99 + [0.9], [1.0] * 100, coverage=0.99, name="a", reason="b")
    assert calibrate.tolerance_to_pass(json.loads(strict.to_json())) == ("rtol", 0.0, pytest.approx(0.1))
    assert calibrate.tolerance_to_pass(json.loads(whp.to_json())) is None
