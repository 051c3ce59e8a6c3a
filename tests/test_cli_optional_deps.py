"""The CLI's optional dependencies and devices (issue 18 item 7): a command that draws (``figure2``, ``report``)
without matplotlib says so in one line, names the package and the pip extra that installs it, and exits with 2
before any work (no sweep, no JSON read, no folder written); ``figure2 --device`` takes what the library's
``device=`` takes (``ntkcheck._validate.as_device``: "cpu", "cuda", "cuda:N") and refuses anything else in one
line, before any work."""
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ntkcheck import cli, figure2, report

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "baselines" / "claims-full.json"


def _run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(status, out, err, *fragments):
    assert status == cli.USAGE_ERROR, (status, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert out == "", out  # nothing printed: no progress, no 'wrote ...'
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def no_work(monkeypatch):
    """Every entry into the work of figure2 and report raises: a test passing with it shows none was done."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work was started before the command's checks")

    for module, name in ((figure2, "sweep"), (figure2, "write_data"), (report, "load_results"),
                         (report, "build_report")):
        monkeypatch.setattr(module, name, forbidden)


@pytest.fixture
def without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ModuleNotFoundError


@pytest.mark.parametrize("argv", [("figure2",), ("figure2", "--profile", "full", "--device", "cpu"),
                                  ("report", str(BASELINE))])
def test_a_plotting_command_without_matplotlib_is_one_line_before_any_work(capsys, tmp_path, no_work,
                                                                           without_matplotlib, argv):
    out_dir = tmp_path / "out"
    status, out, err = _run(capsys, *argv, "--out", out_dir)
    _one_line_error(status, out, err, f"ntkcheck {argv[0]}: error:", "needs matplotlib", "not installed",
                    "pip install 'ntkcheck[plots]'")
    assert not out_dir.exists()


def test_verify_without_matplotlib_runs_no_pytest(capsys, monkeypatch, tmp_path, without_matplotlib):
    """verify builds a report at the end: it names its own extra ([claims]) before starting pytest."""
    def forbidden(*args, **kwargs):
        raise AssertionError("pytest was started before the check")

    monkeypatch.setattr(cli.subprocess, "call", forbidden)
    status, out, err = _run(capsys, "verify", "--out", tmp_path / "out")
    _one_line_error(status, out, err, "ntkcheck verify: error:", "needs matplotlib", "pip install 'ntkcheck[claims]'")
    assert not (tmp_path / "out").exists()


def test_help_needs_no_matplotlib(capsys, without_matplotlib):
    assert _run(capsys, "figure2", "--help")[0] == 0 and _run(capsys, "report", "--help")[0] == 0


def test_commands_that_do_not_draw_need_no_matplotlib(capsys, tmp_path, without_matplotlib):
    status, out, _ = _run(capsys, "compare", BASELINE, BASELINE)
    assert status == 0, out


def test_a_broken_matplotlib_is_named_too(capsys, monkeypatch, tmp_path, no_work):
    real = cli.importlib.import_module

    def broken(name, *args):
        if name == "matplotlib":
            raise ImportError("libfreetype.so.6: cannot open shared object file")
        return real(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    _one_line_error(*_run(capsys, "figure2", "--out", tmp_path / "out"), "needs matplotlib", "does not import",
                    "libfreetype", "ntkcheck[plots]")


def test_every_needed_package_is_in_its_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for command, (packages, extra) in cli.NEEDS.items():
        assert command in cli.COMMANDS
        declared = {requirement.split(">")[0].split("=")[0].strip() for requirement in extras[extra]}
        assert set(packages) <= declared, (command, extra, extras[extra])


def test_the_message_from_a_fresh_process(tmp_path):
    """As a user meets it: `python -m ntkcheck figure2` in a process whose matplotlib does not import."""
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; sys.argv = ['ntkcheck', 'figure2', '--out', "
            f"{str(tmp_path / 'out')!r}]; runpy.run_module('ntkcheck', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    _one_line_error(done.returncode, done.stdout, done.stderr, "ntkcheck figure2: error: needs matplotlib",
                    "ntkcheck[plots]")
    assert not (tmp_path / "out").exists()


# --device: the library's parser (as_device), its messages, before any work


class _Stop(Exception):
    pass


def test_figure2_takes_the_devices_of_the_library(capsys, monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    seen = []

    def sweep(plan, *, device, **kwargs):
        seen.append(device)
        raise _Stop  # the device reached the sweep: stop there

    monkeypatch.setattr(figure2, "sweep", sweep)
    devices = {"cpu": "cpu"} | ({"cuda": "cuda", "cuda:0": "cuda:0"} if torch.cuda.is_available() else {})
    for device in devices:
        with pytest.raises(_Stop):
            cli.main(["figure2", "--device", device, "--out", str(tmp_path)])
    assert seen == list(devices.values())
    assert "cuda:N" in _run(capsys, "figure2", "--help")[1]


@pytest.mark.parametrize("device, fragments", [
    ("tpu", ("--device must be 'cpu', 'cuda', 'cuda:N'", "got 'tpu'")),
    ("cuda:x", ("--device must be", "got 'cuda:x'")),
    ("", ("--device must be",)),
])
def test_figure2_refuses_other_devices_in_one_line(capsys, tmp_path, no_work, device, fragments):
    _one_line_error(*_run(capsys, "figure2", "--device", device, "--out", tmp_path / "out"), "ntkcheck figure2:",
                    *fragments)
    assert not (tmp_path / "out").exists()


def test_figure2_on_an_absent_gpu_is_the_library_error(capsys, tmp_path, no_work):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: cuda:0 exists (tests/test_cuda.py runs figure2 on it)")
    _one_line_error(*_run(capsys, "figure2", "--device", "cuda:0", "--out", tmp_path / "out"), "ntkcheck figure2:",
                    "--device 'cuda:0'", "torch.cuda.is_available() is False")
    assert not (tmp_path / "out").exists()
