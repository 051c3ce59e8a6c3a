"""The floors of pyproject.toml (issue 18 item 1): every dependency has one `>=` floor and no cap, and
.ci/minimum_constraints.py pins exactly those floors for CI's minimum-versions job."""
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "minimum_constraints.py"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _script():
    spec = importlib.util.spec_from_file_location("minimum_constraints", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("requirement", [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]])
def test_a_floor_and_no_cap(requirement):
    specifiers = list(Requirement(requirement).specifier)
    assert [s.operator for s in specifiers] == [">="], f"{requirement}: one floor, no cap (issue 18)"


def test_a_newer_torch_satisfies_the_declared_requirement():
    torch = next(Requirement(r) for r in PROJECT["dependencies"] if Requirement(r).name == "torch")
    assert all(torch.specifier.contains(v) for v in ("2.13.0", "2.14.0", "2.14.0+cu128", "3.0.0"))


def test_constraints_pin_each_floor():
    lines = subprocess.run([sys.executable, SCRIPT, "test"], capture_output=True, text=True,
                           check=True).stdout.split()
    expected = {Requirement(r).name.lower(): str(next(iter(Requirement(r).specifier))).removeprefix(">=")
                for r in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]}
    assert lines == [f"{name}=={version}" for name, version in sorted(expected.items())]
    assert "torch==2.1" in lines and "numpy==1.24" in lines


def test_a_requirement_without_a_floor_is_an_error(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["torch<=2.13"]\n[project.optional-dependencies]\ntest = []\n')
    with pytest.raises(SystemExit, match="no single '>=' floor"):
        _script().floors(("test",), pyproject)
