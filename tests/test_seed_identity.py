"""Seeds from the test's identity, not pytest's rootdir (issue 18 item 4): plugin.claim_identity on
folders and packages, and one claim file run from two rootdirs (and as a copied package of another name)
gives the same records."""
import json
import sys

import pytest

from ntkcheck.plugin import claim_identity

pytest_plugins = ["pytester"]

CLAIM_MODULE = '''
import numpy as np
import pytest
from ntkcheck import checks

GRID = np.geomspace(10.0, 1000.0, 4)


@pytest.mark.parametrize("slope", [1.0, 2.0])
def test_power_law(claim, slope):
    y = GRID[:, None] ** slope * np.exp(0.01 * claim.rng.standard_normal((GRID.size, 3)))
    noise = np.random.default_rng(claim.seed_for("extra")).standard_normal()
    claim.record(checks.scaling(GRID, y * np.exp(1e-3 * noise), expected=slope, tol=0.1, name="y vs x",
                                reason="synthetic"))
'''


def test_identity_of_a_module_in_a_plain_folder(tmp_path):
    path = tmp_path / "mine" / "test_a.py"
    path.parent.mkdir()
    assert claim_identity(path, "mine/test_a.py::test_x[1]") == "test_a.py::test_x[1]"
    assert claim_identity(path, "test_a.py::test_x[1]") == "test_a.py::test_x[1]"


@pytest.mark.parametrize("package", ["claims", "ntkcheck_claims"])
def test_identity_drops_the_outermost_package_name(tmp_path, package):
    root = tmp_path / "site" / package
    (root / "beyond").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "beyond" / "__init__.py").write_text("")
    assert claim_identity(root / "test_a.py", f"{package}/test_a.py::C::t") == "test_a.py::C::t"
    assert claim_identity(root / "beyond" / "test_b.py", "x/beyond/test_b.py::t") == "beyond/test_b.py::t"


def _records(pytester, rootdir, target, name):
    path = pytester.path / f"{name}.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--rootdir", str(rootdir), str(target),
                                          "--claims-seed", "3", "--claims-json", str(path))
    result.assert_outcomes(passed=2)
    return json.loads(path.read_text())["records"]


def _numbers(records):
    return [(r["test"].partition("::")[2], r["seed"], r["numbers"]["slope"]) for r in records]


def test_one_file_two_rootdirs_same_records(pytester):
    folder = pytester.mkdir("my_claims")
    (folder / "test_law.py").write_text(CLAIM_MODULE)
    from_parent = _records(pytester, pytester.path, folder / "test_law.py", "parent")
    from_folder = _records(pytester, folder, folder / "test_law.py", "folder")
    assert from_parent[0]["test"].startswith("my_claims/test_law.py::")  # node ids differ ...
    assert from_folder[0]["test"].startswith("test_law.py::")
    assert _numbers(from_parent) == _numbers(from_folder)  # ... the seeds and numbers do not
    assert len({seed for _, seed, _ in _numbers(from_parent)}) == 2


def test_repository_and_installed_package_names_same_records(pytester, monkeypatch):
    """The repository's claims/ package and the wheel's ntkcheck_claims (same files, another name and place)."""
    # In-process runs share sys.modules: this session may have imported the repository's own `claims` package,
    # which pytest 7.4 (the declared floor) then takes for the temporary one (ModuleNotFoundError claims.test_law).
    for name in [m for m in sys.modules if m == "claims" or m.startswith("claims.")]:
        monkeypatch.delitem(sys.modules, name)
    runs = []
    for package in ("claims", "site/ntkcheck_claims"):
        folder = pytester.mkdir(package) if "/" not in package else pytester.mkdir("site") / "ntkcheck_claims"
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "test_law.py").write_text(CLAIM_MODULE)
        runs.append(_numbers(_records(pytester, pytester.path, folder, package.replace("/", "-"))))
    assert runs[0] == runs[1]
