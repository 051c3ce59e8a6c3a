"""Tests of the ``ntkcheck`` command (ntkcheck/cli.py): --help everywhere, one-line errors with exit
status 2 and no traceback for user mistakes, a missing command module that breaks only itself,
``python -m ntkcheck``, ``figure2`` on a tiny plan, and ``verify`` on tiny claim folders (exit status =
pytest's)."""
import subprocess
import sys
import textwrap

import pytest

from ntkcheck import cli, figure2
from ntkcheck.records import SCHEMA_VERSION

OWN_COMMANDS = ("verify", "figure2", "report")
TINY = figure2.Plan(left_d=(8, 16, 32), left_curves=((6, 12, 10),), right_n=(4, 8, 16), right_curves=((5, 7),),
                    trials=2)
CLAIM_MODULE = textwrap.dedent('''
    import numpy as np
    import pytest
    from ntkcheck import checks

    pytestmark = pytest.mark.claim("Theorem 3.2")
    GRID = np.geomspace(10.0, 1000.0, 4)


    def test_power_law(claim):
        y = GRID[:, None] ** {slope} * np.exp(0.01 * claim.rng.standard_normal((GRID.size, 3)))
        claim.record(checks.scaling(GRID, y, expected=1.0, tol=0.1, name="y vs x", reason="synthetic"))
''')


def _run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _assert_one_line_error(status, err, *fragments):
    assert status == cli.USAGE_ERROR
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("ntkcheck")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("argv", [(), *((c,) for c in OWN_COMMANDS)])
def test_help_on_every_command(capsys, argv):
    status, out, _ = _run(capsys, *argv, "--help")
    assert status == 0 and out.startswith("usage: ntkcheck")


def test_top_level_help_lists_every_command(capsys):
    out = _run(capsys, "--help")[1]
    assert all(name in out for name in cli.COMMANDS)


def test_version(capsys):
    status, out, _ = _run(capsys, "--version")
    assert status == 0 and out.strip().startswith("ntkcheck ")


@pytest.mark.parametrize("argv, fragments", [
    ((), ("required: COMMAND",)),
    (("frobnicate",), ("invalid choice: 'frobnicate'",)),
    (("figure2", "--profile", "huge"), ("ntkcheck figure2", "--profile", "'huge'")),
    (("figure2", "--seed", "-1"), ("--seed must be >= 0",)),
    (("figure2", "--seed", "x"), ("--seed", "invalid int")),
    (("figure2", "--device", "tpu"), ("--device",)),
    (("report",), ("RESULTS.json",)),
    (("report", "no/such/results.json"), ("ntkcheck report", "does not exist")),
    (("verify", "--profile", "huge"), ("ntkcheck verify", "'huge'")),
    (("verify", "--claims", "no/such/claims"), ("claims folder", "not found")),
])
def test_user_mistakes_are_one_line_with_status_2(capsys, argv, fragments):
    status, _, err = _run(capsys, *argv)
    _assert_one_line_error(status, err, *fragments)


@pytest.mark.parametrize("content, fragment", [("{oops", "not valid JSON"),
                                               (f'{{"schema_version": {SCHEMA_VERSION}}}', "started is missing")])
def test_report_of_an_unreadable_document(capsys, tmp_path, content, fragment):
    path = tmp_path / "results.json"
    path.write_text(content)
    _assert_one_line_error(*_run(capsys, "report", str(path), "--out", str(tmp_path / "out"))[::2], fragment)


def test_missing_command_module_breaks_only_that_command(capsys, monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "ghost", ("ntkcheck._no_such_module", "a command whose module is missing"))
    status, _, err = _run(capsys, "ghost")
    _assert_one_line_error(status, err, "ntkcheck ghost", "unavailable")
    assert _run(capsys, "report", "--help")[0] == 0
    assert "ghost" in _run(capsys, "--help")[1]


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "ntkcheck", "report", "missing.json"], capture_output=True,
                          text=True)
    assert done.returncode == cli.USAGE_ERROR and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_figure2_writes_the_figure_and_the_data(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(figure2.PLANS, "smoke", TINY)  # the command's path, at tiny sizes
    status, out, _ = _run(capsys, "figure2", "--out", str(tmp_path), "--seed", "2")
    assert status == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"figure2.{e}" for e in ("csv", "json", "png", "svg")]
    assert out.count("slope") == 2 and "seed 2" in out


def _claims_folder(tmp_path, slope):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "test_tiny_claim.py").write_text(CLAIM_MODULE.format(slope=slope))
    return folder


@pytest.mark.slow  # a pytest subprocess, then matplotlib: a few seconds
@pytest.mark.parametrize("slope, status", [(1.0, 0), (2.0, 1)])  # 2.0: a wrong claim must fail the command
def test_verify_returns_the_suite_verdict_and_builds_the_report(capsys, tmp_path, slope, status):
    folder, out = _claims_folder(tmp_path, slope), tmp_path / "out"
    got, stdout, _ = _run(capsys, "verify", "--claims", str(folder), "--out", str(out), "--seed", "5",
                          "--", "-q", "-p", "no:cacheprovider")
    assert got == status
    assert (out / "claims.json").is_file() and (out / "report.html").is_file() and (out / "report.md").is_file()
    assert "y vs x" in (out / "report.md").read_text()
    assert "--claims-seed 5" in stdout and "--claims-profile smoke" in stdout
