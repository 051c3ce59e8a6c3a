"""What the wheel ships, found by name (ntkcheck/shipped.py), and the commands that use it: `ntkcheck verify`
picks ./claims, else the installed ntkcheck_claims; `ntkcheck compare --baseline NAME CURRENT.json`; verify
names its missing optional modules in one line before any work. (The built wheel itself: test_wheel.py.)"""
import json
from pathlib import Path

import pytest

from ntkcheck import cli, shipped
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def installed_claims(tmp_path, monkeypatch):
    """A fake installed ntkcheck_claims folder with a wheel-style baselines/ of one baseline."""
    package = tmp_path / "site" / "ntkcheck_claims"
    (package / "baselines").mkdir(parents=True)
    (package / "baselines" / "claims-full.json").write_text((ROOT / "baselines" / "claims-full.json").read_text())
    monkeypatch.setattr(shipped, "claims_folder", lambda: package)
    return package


def test_baseline_by_name(installed_claims):
    assert shipped.baseline_names() == ["full"]
    assert shipped.baseline_path("full") == installed_claims / "baselines" / "claims-full.json"
    with pytest.raises(InvalidArgument, match=r"--baseline must name a shipped baseline \(full\), got 'nightly'"):
        shipped.baseline_path("nightly")


def test_editable_install_finds_the_repository_baselines(monkeypatch):
    monkeypatch.setattr(shipped, "claims_folder", lambda: ROOT / "claims")  # claims/ -> ../baselines
    assert shipped.baseline_path("full") == ROOT / "baselines" / "claims-full.json"


def test_nothing_installed(monkeypatch):
    monkeypatch.setattr(shipped, "claims_folder", lambda: None)
    with pytest.raises(InvalidArgument, match="none is installed.*ntkcheck_claims is not installed"):
        shipped.baseline_path("full")


def test_compare_with_a_shipped_baseline(installed_claims, tmp_path, capsys):
    document = json.loads((installed_claims / "baselines" / "claims-full.json").read_text())
    current = tmp_path / "current.json"
    current.write_text(json.dumps(document))
    status = cli.main(["compare", "--baseline", "full", str(current)])
    out, err = capsys.readouterr()
    if document["schema_version"] != SCHEMA_VERSION:  # the committed baseline predates schema 2: regenerate it
        assert status == 2 and "schema_version" in err and err.count("\n") == 1
        return
    assert status == 0 and "claims-full.json" in out.splitlines()[0], err


@pytest.mark.parametrize("argv, message", [
    (("--baseline", "full", "a.json", "b.json"), "with --baseline NAME give one claims JSON"),
    (("a.json",), "give BASELINE.json and CURRENT.json, or --baseline NAME"),
    (("--baseline", "nope", "a.json"), "--baseline must name a shipped baseline (full)"),
])
def test_compare_baseline_mistakes(installed_claims, capsys, argv, message):
    status = cli.main(["compare", *argv])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and message in err, err


def test_verify_runs_the_installed_claims_outside_the_repository(installed_claims, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./claims here
    assert cli._claims_folder(None) == installed_claims
    (tmp_path / "claims").mkdir()  # a ./claims folder wins (the repository root)
    assert cli._claims_folder(None) == Path("claims")


def test_verify_without_claims_anywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shipped, "claims_folder", lambda: None)
    status = cli.main(["verify"])
    err = capsys.readouterr().err
    assert status == 2 and "no ./claims folder and no installed ntkcheck_claims" in err and err.count("\n") == 1


def test_verify_names_missing_optional_modules_before_any_work(tmp_path, monkeypatch, capsys):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    status = cli.main(["verify", "--out", "out"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "needs matplotlib" in err and "ntkcheck[claims]" in err
    assert not (tmp_path / "out").exists()
