"""Tests of the pytest plugin (through pytester: a tiny claim module run in-process, and once under
pytest-xdist in a subprocess), plus the seed derivation and profile selection it relies on."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ntkcheck import plugin, profiles, seeding
from ntkcheck._validate import InvalidArgument

pytest_plugins = ["pytester"]

CLAIM_MODULE = '''
import numpy as np
import pytest
from ntkcheck import checks

pytestmark = pytest.mark.claim("Theorem 3.2")
GRID = np.geomspace(64.0, 640.0, 6)
TRIALS = {"smoke": 3, "full": 7}


def noisy_power(claim, slope):
    trials = claim.pick(TRIALS)
    return GRID[:, None] ** slope * np.exp(0.1 * claim.rng.standard_normal((GRID.size, trials)))


def test_linear(claim):
    y = noisy_power(claim, 1.0)
    claim.record(checks.scaling(GRID, y, expected=1.0, tol=0.3, name="y vs x", reason="synthetic"))
    claim.record(checks.inequality(y, 0.0, name="y positive", reason="synthetic"))


@pytest.mark.claim("Lemma 3.1")
def test_wrong_exponent(claim):
    y = noisy_power(claim, 1.5)
    claim.record(checks.scaling(GRID, y, expected=1.0, tol=0.3, name="y vs x wrong", reason="synthetic"))


@pytest.mark.erratum("the paper prints exponent 1.5; measured 1.0")
def test_printed_exponent(claim):
    y = noisy_power(claim, 1.0)
    claim.record(checks.scaling(GRID, y, expected=1.5, tol=0.3, name="printed exponent", reason="synthetic"))


def test_not_a_claim():
    assert True
'''


@pytest.fixture
def claims_run(pytester):
    """Run CLAIM_MODULE in-process with extra arguments; return (result, JSON document)."""
    pytester.makepyfile(test_claims=CLAIM_MODULE)

    def run(*args):
        path = pytester.path / f"claims-{len(list(pytester.path.glob('claims-*.json')))}.json"
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(path), *args)
        return result, json.loads(path.read_text())
    return run


def _numbers(document):
    return {(r["test"], r["index"]): r["numbers"] for r in document["records"]}


def test_table_outcomes_and_failure_message(claims_run):
    result, _ = claims_run("--claims-seed", "5")
    result.assert_outcomes(passed=2, failed=1, xfailed=1)
    result.stdout.fnmatch_lines([
        "*ntkcheck claims table*",
        "claim*check*measured*expected*verdict",
        "Theorem 3.2*y vs x ?scaling?*slope*1 +- 0.3*PASS",  # rows in node-id order
        "Theorem 3.2*y positive ?inequality?*0 violations*PASS",
        "Theorem 3.2*printed exponent ?scaling?*slope*1.5 +- 0.3*ERRATUM",
        "Lemma 3.1*y vs x wrong ?scaling?*FAIL",
        "4 claims checks: 2 PASS, 1 FAIL, 1 ERRATUM (profile smoke, base seed 5)",
    ])
    result.stdout.fnmatch_lines([
        "*scaling check 'y vs x wrong': FAIL. Measured slope*Resolution:*",
        "Claim: Lemma 3.1; profile smoke; seed * (from base seed 5 and the test identity *).",
        "Replay: pytest 'test_claims.py::test_wrong_exponent' --claims-seed 5 --claims-profile smoke",
    ])


def test_json_schema(claims_run):
    _, document = claims_run("--claims-seed", "3")
    assert document["schema_version"] == 2  # 2: seeds from the test identity (issue 18)
    assert document["profile"] == "smoke" and document["base_seed"] == 3
    assert {"python", "numpy", "scipy", "torch", "pytest", "ntkcheck"} <= set(document["versions"])
    assert document["machine"]["cpu_count"] >= 1 and document["started"]
    assert document["summary"] == {"PASS": 2, "FAIL": 1, "INCONCLUSIVE": 0, "ERRATUM": 1}
    assert document["tests"]["test_claims.py::test_not_a_claim"]["outcome"] == "passed"
    assert document["tests"]["test_claims.py::test_printed_exponent"]["outcome"] == "xfailed"
    assert all(t["duration"] >= 0 for t in document["tests"].values())
    record = document["records"][0]
    assert set(record) == {"name", "kind", "measured", "expected", "tolerance", "reason", "verdict",
                           "resolution", "numbers", "message", "claim", "test", "seed", "profile", "index",
                           "erratum"}
    assert record["seed"] == seeding.derive_seed(3, record["test"])
    errata = [r for r in document["records"] if r["verdict"] == "ERRATUM"]
    assert [r["erratum"] for r in errata] == ["the paper prints exponent 1.5; measured 1.0"]
    assert all(r["erratum"] is None for r in document["records"] if r["verdict"] != "ERRATUM")


def test_same_seed_same_numbers_other_seed_other_numbers(claims_run):
    first = _numbers(claims_run("--claims-seed", "11")[1])
    again = _numbers(claims_run("--claims-seed", "11")[1])
    other = _numbers(claims_run("--claims-seed", "12")[1])
    assert first == again
    assert first.keys() == other.keys() and first != other


def test_profile_from_option_and_environment(claims_run, monkeypatch):
    def trials(document):
        return {r["numbers"]["trials"] for r in document["records"] if r["kind"] == "scaling"}

    assert trials(claims_run()[1]) == {3}
    assert trials(claims_run("--claims-profile", "full")[1]) == {7}
    monkeypatch.setenv(profiles.PROFILE_ENV_VAR, "paper")  # paper falls back to full's value
    result, document = claims_run()
    assert document["profile"] == "paper" and trials(document) == {7}
    assert claims_run("--claims-profile", "smoke")[1]["profile"] == "smoke"  # the option wins


def test_bad_profile_in_environment_is_a_usage_error(pytester, monkeypatch):
    pytester.makepyfile(test_nothing="def test_ok():\n    pass\n")
    monkeypatch.setenv(profiles.PROFILE_ENV_VAR, "huge")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*NTKCHECK_PROFILE must be one of 'smoke', 'full', 'paper', got 'huge'*"])


def test_no_records_no_table(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "claims table" not in result.stdout.str()


def test_erratum_that_passes_fails_the_run(pytester):
    pytester.makepyfile(test_fixed='''
import pytest
from ntkcheck import checks

@pytest.mark.erratum("documented as failing, but the formula holds")
def test_formula(claim):
    claim.record(checks.identity([1.0], [1.0], rtol=0.0, name="formula", reason="exact"))
''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*erratum: documented as failing*",
                                 "*(HOLDS). Every check PASSed (1): the printed form holds at this budget*",
                                 "*formula*PASS*"])


# One erratum test per way of ending: only the FAIL of its check is the documented failure (strict xfail with
# raises=ClaimFailure); a crash, a missing record, an INCONCLUSIVE check or a failing setup fail the run.
ERRATA_MODULE = '''
import numpy as np
import pytest
from ntkcheck import checks

pytestmark = pytest.mark.claim("Lemma 9.9")
GRID = np.geomspace(64.0, 640.0, 6)
PRINTED = "the paper prints exponent 1.5; measured 1.0"


def power_law(slope, trials, noise_sd):
    rng = np.random.default_rng(7)  # fixed: the verdicts below do not depend on the base seed
    return GRID[:, None] ** slope * np.exp(noise_sd * rng.standard_normal((GRID.size, trials)))


def printed_exponent(trials, noise_sd):
    return checks.scaling(GRID, power_law(1.0, trials, noise_sd), expected=1.5, tol=0.1,
                          name="printed exponent", reason="synthetic")


@pytest.mark.erratum(PRINTED)
def test_documented(claim):
    claim.record(printed_exponent(trials=5, noise_sd=0.1))


@pytest.mark.erratum(PRINTED)
def test_crash(claim):
    claim.record(checks.inequality([1.0], [0.0], name="a first check", reason="synthetic"))
    return len(None)


@pytest.mark.erratum(PRINTED)
def test_no_record(claim):
    printed_exponent(trials=5, noise_sd=0.1)  # computed, never recorded


@pytest.mark.erratum(PRINTED)
def test_inconclusive(claim):
    claim.record(printed_exponent(trials=3, noise_sd=1.0))


@pytest.fixture
def broken():
    raise RuntimeError("no data")


@pytest.mark.erratum(PRINTED)
def test_setup_crash(claim, broken):
    claim.record(printed_exponent(trials=5, noise_sd=0.1))
'''


@pytest.fixture
def errata_run(pytester):
    pytester.makepyfile(test_errata=ERRATA_MODULE)
    path = pytester.path / "errata.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(path))
    return result, json.loads(path.read_text())


def test_documented_erratum_is_an_xfail_with_its_record(errata_run):
    result, document = errata_run
    result.assert_outcomes(xfailed=1, failed=3, errors=1)
    test = document["tests"]["test_errata.py::test_documented"]
    assert test["outcome"] == "xfailed" and test["erratum_status"] == "ERRATUM"
    assert test["erratum"] == "the paper prints exponent 1.5; measured 1.0"
    [record] = [r for r in document["records"] if r["test"] == "test_errata.py::test_documented"]
    assert record["verdict"] == "ERRATUM" and record["erratum"] == test["erratum"]
    result.stdout.fnmatch_lines(["Lemma 9.9*printed exponent ?scaling?*1.5 +- 0.1*slope err > *ERRATUM"])
    assert "test_documented:" not in result.stdout.str()  # not among the errata that failed the run


def test_crashing_erratum_fails_the_run(errata_run):
    result, document = errata_run
    test = document["tests"]["test_errata.py::test_crash"]
    assert test["outcome"] == "failed" and test["erratum_status"] == "CRASHED"
    result.stdout.fnmatch_lines([
        "*TypeError*",
        "*- ntkcheck erratum -*",
        "An erratum test must fail by the FAIL of its check, and this one did not (CRASHED). It raised TypeError: "
        "*, after 1 passing record(s), not the FAIL of its check: a crash is a crash.*"])
    [record] = [r for r in document["records"] if r["test"] == "test_errata.py::test_crash"]
    assert record["verdict"] == "PASS" and record["erratum"] is None  # the record it made, as it was


def test_erratum_without_a_record_fails_the_run(errata_run):
    result, document = errata_run
    test = document["tests"]["test_errata.py::test_no_record"]
    assert test["outcome"] == "failed" and test["erratum_status"] == "NO RECORD"
    assert not [r for r in document["records"] if r["test"] == "test_errata.py::test_no_record"]
    result.stdout.fnmatch_lines(["*?XPASS(strict)? erratum: the paper prints exponent 1.5*",
                                 "*(NO RECORD). It recorded no check*"])


def test_inconclusive_erratum_fails_the_run_and_names_the_trials_that_decide(errata_run):
    result, document = errata_run
    test = document["tests"]["test_errata.py::test_inconclusive"]
    assert test["outcome"] == "failed" and test["erratum_status"] == "INCONCLUSIVE"
    [record] = [r for r in document["records"] if r["test"] == "test_errata.py::test_inconclusive"]
    assert record["verdict"] == "INCONCLUSIVE"  # not counted as ERRATUM
    needed = record["numbers"]["trials_needed"]
    assert record["numbers"]["to_decide"] == f"about {needed} trials per point (now 3)"
    result.stdout.fnmatch_lines([
        "*scaling check 'printed exponent': INCONCLUSIVE*",
        f"*(INCONCLUSIVE). Its check 'printed exponent' is INCONCLUSIVE, not FAIL: the erratum is not shown at this "
        f"budget (profile smoke). Give it the trials that decide: about {needed} trials per point (now 3), in the "
        "module's budget for that profile, with the reason."])


def test_erratum_with_a_failing_setup_is_an_error(errata_run):
    result, document = errata_run
    test = document["tests"]["test_errata.py::test_setup_crash"]
    assert test["outcome"] == "failed"  # the setup report's outcome: pytest counts it as an error
    assert test["erratum_status"] == "CRASHED"


def test_table_lists_every_erratum_that_failed_the_run(errata_run):
    result, document = errata_run
    result.stdout.fnmatch_lines([
        "*4 erratum test(s) did not fail by the FAIL of their check (failures of the run)*",
        "test_errata.py::test_crash: An erratum test *(CRASHED)*",
        "test_errata.py::test_inconclusive: An erratum test *(INCONCLUSIVE)*",
        "test_errata.py::test_no_record: An erratum test *(NO RECORD)*",
        "test_errata.py::test_setup_crash: An erratum test *(CRASHED). It raised RuntimeError: no data, before "
        "recording*"])
    assert document["tests"]["test_errata.py::test_documented"]["erratum_status"] == "ERRATUM"
    plain = [t for t in document["tests"].values() if t["erratum"] is None]
    assert all(t["erratum_status"] is None for t in plain)


@pytest.mark.slow  # a subprocess that starts two xdist workers: several seconds
def test_erratum_statuses_survive_xdist(pytester):
    pytester.makepyfile(test_errata=ERRATA_MODULE)
    path = pytester.path / "parallel.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--claims-json", str(path))
    result.assert_outcomes(xfailed=1, failed=3, errors=1)
    result.stdout.fnmatch_lines(["*4 erratum test(s) did not fail by the FAIL of their check*"])
    statuses = {k: t["erratum_status"] for k, t in json.loads(path.read_text())["tests"].items()}
    assert sorted(statuses.values()) == ["CRASHED", "CRASHED", "ERRATUM", "INCONCLUSIVE", "NO RECORD"]


def test_seed_for_and_rng(pytester):
    pytester.makepyfile(test_seeds='''
import numpy as np
from ntkcheck import seeding

def test_seeds(claim):
    assert claim.seed == seeding.derive_seed(0, "test_seeds.py::test_seeds")
    assert claim.seed_for("trial", 1) == seeding.derive_seed(0, "test_seeds.py::test_seeds", "trial", 1)
    assert claim.seed_for("trial", 1) != claim.seed_for("trial", 2)
    assert claim.rng.standard_normal() == np.random.default_rng(claim.seed).standard_normal()
''')
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow  # a subprocess that starts two xdist workers: several seconds
def test_xdist_run_matches_serial(pytester):
    pytester.makepyfile(test_claims=CLAIM_MODULE)
    serial, parallel = pytester.path / "serial.json", pytester.path / "parallel.json"
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-seed", "4", "--claims-json", str(serial))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--claims-seed", "4",
                                           "--claims-json", str(parallel))
    result.stdout.fnmatch_lines(["*ntkcheck claims table*", "4 claims checks: 2 PASS, 1 FAIL, 1 ERRATUM*"])
    assert result.stdout.str().count("ntkcheck claims table") == 1
    records = [json.loads(p.read_text())["records"] for p in (serial, parallel)]
    assert records[0] == records[1] and len(records[0]) == 4


def test_derive_seed_is_stable_and_type_tagged():
    assert seeding.derive_seed(0, "a::b") == seeding.derive_seed(0, "a::b")
    assert 0 <= seeding.derive_seed(0, "a::b") < 2 ** seeding.SEED_BITS
    assert len({seeding.derive_seed(0, "t", 1), seeding.derive_seed(0, "t", "1"),
                seeding.derive_seed(0, "t", 1.0), seeding.derive_seed(1, "t", 1),
                seeding.derive_seed(0, "t", (1,))}) == 5
    with pytest.raises(InvalidArgument, match="seed key #0"):
        seeding.derive_seed(0, object())
    with pytest.raises(InvalidArgument, match="base_seed"):
        seeding.derive_seed(-1)


def test_derive_seed_regression_value():
    # a fixed value: a change here changes every seed of every claim run (replays would break)
    assert seeding.derive_seed(0, "claims/test_x.py::test_y", "trial", 3) == 7649297366457927315


def test_pick_falls_back_to_smaller_profiles():
    grid = {"smoke": 1, "full": 2}
    assert [profiles.pick(grid, p) for p in profiles.PROFILES] == [1, 2, 2]
    with pytest.raises(InvalidArgument, match="unknown profile"):
        profiles.pick({"smoke": 1, "ful": 2}, "full")
    with pytest.raises(InvalidArgument, match="'smoke'"):
        profiles.pick({"full": 2}, "full")


# Calibration (--claims-seeds): a parametrized claim test as well, so that the copy id is stripped from
# a node id that already has parameters.
PARAMETRIZED_CLAIM = '''

@pytest.mark.parametrize("slope", [1.0, 1.1])
def test_parametrized(claim, slope):
    y = noisy_power(claim, slope)
    claim.record(checks.scaling(GRID, y, expected=1.0, tol=0.3, name="parametrized", reason="synthetic"))
'''
CALIBRATION_SEEDS = (4, 9)


def _records_by_plain_test(document):
    """{(plain node id, base seed, index): record without its test id}, base seed from the copy id."""
    out = {}
    for record in document["records"]:
        test, seed = plugin.split_copy_id(record["test"])
        out[test, seed if seed is not None else document["base_seed"], record["index"]] = \
            {k: v for k, v in record.items() if k != "test"}
    return out


def _run_json(pytester, name, *args, subprocess=False):
    path = pytester.path / name
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    result = runner("-p", "no:cacheprovider", "--claims-json", str(path), *args)
    return result, json.loads(path.read_text())


def test_calibration_copies_draw_what_plain_runs_draw(pytester):
    pytester.makepyfile(test_claims=CLAIM_MODULE + PARAMETRIZED_CLAIM)
    result, calibration = _run_json(pytester, "calibration.json", "--claims-seeds", "4,9")
    # 5 claim tests x 2 seeds (the erratum copies xfail), and the plain test once
    result.assert_outcomes(passed=7, failed=2, xfailed=2)
    result.stdout.fnmatch_lines(["12 claims checks: *(profile smoke, 2 base seeds; per-claim pass rates: "
                                 "ntkcheck calibrate)"])
    assert "claims table" not in result.stdout.str()
    assert calibration["base_seed"] is None and calibration["base_seeds"] == list(CALIBRATION_SEEDS)
    assert "test_claims.py::test_parametrized[1.1-claims_seed=9]" in calibration["tests"]
    plain = {}
    for seed in CALIBRATION_SEEDS:
        plain.update(_records_by_plain_test(_run_json(pytester, f"plain{seed}.json", "--claims-seed",
                                                      str(seed))[1]))
    assert _records_by_plain_test(calibration) == plain
    result.stdout.fnmatch_lines(["*Replay: pytest 'test_claims.py::test_wrong_exponent' --claims-seed 9 *"])


@pytest.mark.slow  # a subprocess that starts two xdist workers: several seconds
def test_calibration_under_xdist_matches_serial(pytester):
    pytester.makepyfile(test_claims=CLAIM_MODULE + PARAMETRIZED_CLAIM)
    serial = _run_json(pytester, "serial.json", "--claims-seeds", "4,9")[1]
    result, parallel = _run_json(pytester, "parallel.json", "--claims-seeds", "4,9", "-n", "2", subprocess=True)
    result.stdout.fnmatch_lines(["12 claims checks: *2 base seeds*"])
    assert serial["records"] == parallel["records"]
    assert serial["tests"].keys() == parallel["tests"].keys()


def test_parse_seeds_and_copy_ids():
    assert plugin.parse_seeds("3-6") == (3, 4, 5, 6)
    assert plugin.parse_seeds("0,7, 2") == (0, 7, 2)
    for bad in ("", "5-3", "1,1", "-1", "a-b", "1.5"):
        with pytest.raises(InvalidArgument, match="--claims-seeds"):
            plugin.parse_seeds(bad)
    assert plugin.split_copy_id("c/t.py::test_a[claims_seed=12]") == ("c/t.py::test_a", 12)
    assert plugin.split_copy_id("c/t.py::test_a[64-x-claims_seed=3]") == ("c/t.py::test_a[64-x]", 3)
    assert plugin.split_copy_id("c/t.py::test_a[64]") == ("c/t.py::test_a[64]", None)


def test_bad_seeds_option_is_a_usage_error(pytester):
    pytester.makepyfile(test_nothing="def test_ok():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-seeds", "7-2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--claims-seeds must be a range*'7-2'*"])


def test_missing_installation_is_one_clear_usage_error():
    """The root conftest stops a run in an environment without the package (here: its plugin blocked) with one
    line naming what is missing and the README's install command, not one ImportError per module."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:ntkcheck", "-p", "no:cacheprovider",
                             "--collect-only", "-q", "claims/test_eq8_hermite_coefficients.py"],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "ntkcheck" in result.stderr and 'pip install -e ".[test]"' in result.stderr, result.stderr
