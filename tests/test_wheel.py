"""The wheel as a pip-only user gets it (issue 18 item 2): build it, install it into a fresh venv, and from an
empty folder run the shipped claims of one small module through ``pytest --pyargs`` and ``ntkcheck verify``
(same records as the repository's ``claims/`` run: the seeds do not depend on where the files lie), and find
the shipped baseline by name.

The venv sees the packages of the Python running this test (``--system-site-packages`` plus a .pth naming
this interpreter's package folders, for a virtualenv of one's own), so nothing is downloaded; the wheel goes in
with ``--no-index --no-deps``. The environment of each command drops PYTHONPATH, so nothing of the source
tree is imported: the test checks that ntkcheck and ntkcheck_claims come from the venv. About 30-40 s.
"""
import importlib.util
import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ntkcheck.records import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
MODULE = "test_eq8_hermite_coefficients"  # a small claims module: a few seconds at smoke

pytestmark = pytest.mark.slow


def _run(command, cwd, env=None, **kwargs):
    env = env if env is not None else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                            check=False, **kwargs)
    return result


def _ok(result):
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from this source tree."""
    work = tmp_path_factory.mktemp("build")
    # Without build isolation where this Python's setuptools builds wheels itself (>= 70.1, as pyproject's
    # build-system needs): then nothing is fetched; else pip builds in an isolated env from the index.
    isolation = [] if importlib.util.find_spec("setuptools.command.bdist_wheel") is None else [
        "--no-build-isolation", "--no-index"]
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", work / "dist", ROOT],
             cwd=work))
    return next((work / "dist").glob("ntkcheck-*.whl"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel):
    """(venv python, venv bin folder, an empty folder) with the freshly built wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    _ok(_run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", work / "venv"], cwd=work))
    python = work / "venv" / "bin" / "python"
    purelib = _ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       cwd=work)).stdout.strip()
    ours = [p for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"]) if Path(p).is_dir()]
    Path(purelib, "outer-packages.pth").write_text("\n".join(ours) + "\n")  # e.g. threadpoolctl of a venv
    _ok(_run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps",
              "--ignore-installed", "-q", wheel], cwd=work))
    empty = work / "empty"
    empty.mkdir()
    return python, python.parent, empty


def test_the_package_and_its_claims_come_from_the_venv(installed):
    python, _, empty = installed
    out = _ok(_run([python, "-c", "import ntkcheck, ntkcheck_claims, ntkcheck.plugin; "
                                  "from ntkcheck import shipped; "
                                  "print(ntkcheck.__file__); print(ntkcheck_claims.__file__); "
                                  "print(shipped.baseline_path('full'))"], cwd=empty)).stdout.split()
    venv = python.parent.parent
    assert all(Path(p).is_relative_to(venv) for p in out), out
    assert Path(out[2]).name == "claims-full.json"
    assert (Path(out[0]).parent / "py.typed").is_file()


def test_pytest_pyargs_runs_the_shipped_claims_with_the_repository_numbers(installed, tmp_path):
    python, _, empty = installed
    shipped = _ok(_run([python, "-m", "pytest", "--pyargs", f"ntkcheck_claims.{MODULE}", "-p", "no:cacheprovider",
                        "-q", "--claims-json", tmp_path / "shipped.json"], cwd=empty))
    assert "passed" in shipped.stdout
    repo = _ok(_run([python, "-m", "pytest", ROOT / "claims" / f"{MODULE}.py", "-p", "no:cacheprovider", "-q",
                     "--claims-json", tmp_path / "repo.json"], cwd=ROOT))

    def numbers(name):
        records = json.loads((tmp_path / name).read_text())["records"]
        return [(r["test"].partition("::")[2], r["seed"], r["verdict"], r["measured"]) for r in records]

    assert numbers("shipped.json") == numbers("repo.json") and numbers("repo.json")


def test_verify_from_an_empty_folder(installed):
    python, bin_dir, empty = installed
    result = _ok(_run([bin_dir / "ntkcheck", "verify", "--profile", "smoke", "--out", "out", "--",
                       "-k", MODULE, "-p", "no:cacheprovider", "-q"], cwd=empty))
    assert "ntkcheck_claims" in result.stdout  # it ran the installed claims
    document = json.loads((empty / "out" / "claims.json").read_text())
    assert document["records"] and all(r["verdict"] in ("PASS", "ERRATUM") for r in document["records"])
    assert (empty / "out" / "report.html").is_file()
    compared = _run([bin_dir / "ntkcheck", "compare", "--baseline", "full", empty / "out" / "claims.json"],
                    cwd=empty)
    baseline_schema = json.loads((ROOT / "baselines" / "claims-full.json").read_text())["schema_version"]
    if baseline_schema == SCHEMA_VERSION:  # a smoke run against the full baseline: moved numbers, no crash
        assert compared.returncode in (0, 1) and "Baseline:" in compared.stdout, compared.stderr
    else:  # the committed baseline predates the schema: one line naming it (regenerate baselines/claims-full.json)
        assert compared.returncode == 2 and "claims-full.json" in compared.stderr and "schema_version" in compared.stderr


def _fake_distribution(site_packages: Path, name: str, version: str):
    info = site_packages / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("test\n")
    (info / "RECORD").write_text("")


def test_installing_the_wheel_keeps_a_newer_torch(wheel, tmp_path):
    """pip's plan (--dry-run --report) for the wheel in a venv where torch 2.14.0 (and the other dependencies,
    newer than any cap) is installed: only ntkcheck is to be installed. Offline: no index, no config (so no
    find-links either); a cap such as the former torch<=2.13.0 makes pip fail here (nothing to downgrade to)
    or, given a wheel, plan the downgrade: both fail this test."""
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], cwd=tmp_path))
    python = tmp_path / "venv" / "bin" / "python"
    site_packages = Path(_ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  cwd=tmp_path)).stdout.strip())
    newer = {"torch": "2.14.0", "numpy": "2.9.0", "scipy": "1.99.0", "threadpoolctl": "9.0.0"}
    for name, version in newer.items():
        _fake_distribution(site_packages, name, version)
    report = tmp_path / "plan.json"
    # no pip configuration at all (files or PIP_* variables: find-links, constraints): the plan is the wheel's own
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    _ok(_run([sys.executable, "-m", "pip", "--python", python, "install", "--dry-run", "--no-index", "--report",
              report, "-q", wheel], cwd=tmp_path, env=env))
    planned = {item["metadata"]["name"]: item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
    assert planned == {"ntkcheck": wheel.name.split("-")[1]}, planned  # torch 2.14.0 stays
