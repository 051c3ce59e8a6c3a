"""docs/inventory.md (issue 15): the inventory of the paper's statements stays machine-readable and true to the suite.

Every test the inventory names (a pytest node id in backticks, `claims/...::test_x` or `tests/...::test_y`, with an
optional parametrization id `[...]`) must exist; every test function of claims/ must be named by some row, so a new
claim test cannot go in without its row; and every row has a known status and says where it is checked (a node id,
NOT YET CHECKED, or "—" where there is nothing to run: a statement not checkable numerically, a definition, or a
derivation checked by reading).

Function names are read from the source with ast (no import, no torch); the node ids with a parametrization id are
checked against pytest's own collection of the modules concerned, in one subprocess. Each check is also run on a
small inventory with planted mistakes, which it must report (negative controls).
"""
import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "docs" / "inventory.md"
COLUMNS = ("#", "Statement", "Range / conditions", "Checked at", "How", "Status", "Notes", "Gap")
STATUSES = ("holds", "erratum", "candidate erratum", "finding", "outside premise", "unknown", "not checkable")
NOT_YET = "NOT YET CHECKED"
NOT_CHECKABLE = "—"
READ_ONLY = ("algebra", "not checkable")  # How of a row with nothing to run: a derivation, a definition, a citation
ROW_ID = re.compile(r"^\d+\.\d+$")
NODE = re.compile(r"`((?:claims|tests)/[^`:]+\.py)::([^`\[]+)(\[[^`]*\])?`")

# A table with one planted mistake per check: an unknown status, a row that says nowhere where it is checked, a
# missing test function, and a parametrization id that pytest does not collect.
PLANTED = """
| # | Statement | Range / conditions | Checked at | How | Status | Notes | Gap |
|---|---|---|---|---|---|---|---|
| 9.1 | a | b | `claims/test_eq8_hermite_coefficients.py::test_slow_decay` | scaling | probably | c | |
| 9.2 | a | b | somewhere | band | holds | c | |
| 9.3 | a | b | `claims/test_eq8_hermite_coefficients.py::test_no_such_test` | band | holds | c | |
| 9.4 | a | b | `claims/test_lemma5_3_khatri_rao_bound.py::test_khatri_rao_lower_bound[7]` | band | holds | c | |
"""


def _cells(line):
    """The cells of one markdown table line (pipes inside cells are escaped as \\|)."""
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def tables(text):
    """(header, rows) per inventory table of ``text`` (header cell '#'), rows as lists of cells."""
    found, current = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = _cells(line)
        if current is None:
            current = (cells, [])
            found.append(current)
        elif not all(set(cell) <= set("-: ") for cell in cells):
            current[1].append(cells)
    return [(header, rows) for header, rows in found if header and header[0] == "#"]


def rows(text):
    return [dict(zip(COLUMNS, cells)) for _, table in tables(text) for cells in table]


def references(text):
    """(row id, path, name, parametrization id or '') for every node id the inventory names."""
    return [(row["#"], *match.groups(default="")) for row in rows(text) for match in NODE.finditer(row["Checked at"])]


@functools.lru_cache(maxsize=None)
def defined_tests(path):
    """Names of the test functions of a module (path relative to the repository), 'test_x' and 'TestClass::test_y'."""
    names = set()
    for node in ast.parse((ROOT / path).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names.update(f"{node.name}::{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef) and item.name.startswith("test"))
    return frozenset(names)


def layout_problems(text):
    problems = [f"table header {header}" for header, _ in tables(text) if tuple(header) != COLUMNS]
    ids = [row["#"] for row in rows(text)]
    problems += [f"row id {i!r}" for i in ids if not ROW_ID.match(i)]
    problems += [f"duplicate row {i}" for i in sorted(set(i for i in ids if ids.count(i) > 1))]
    problems += [f"row {cells[0]}: {len(cells)} cells" for _, table in tables(text) for cells in table
                 if len(cells) != len(COLUMNS)]
    return problems


def row_problems(text):
    problems = []
    for row in rows(text):
        checked = row["Checked at"]
        if row["Status"] not in STATUSES:
            problems.append(f"{row['#']}: status {row['Status']!r} not in {STATUSES}")
        if not NODE.search(checked) and checked not in (NOT_YET, NOT_CHECKABLE):
            problems.append(f"{row['#']}: 'Checked at' names no test and is neither {NOT_YET!r} nor {NOT_CHECKABLE!r}")
        if checked == NOT_CHECKABLE and not (row["Status"] == "not checkable" or row["How"].startswith(READ_ONLY)):
            problems.append(f"{row['#']}: '{NOT_CHECKABLE}' is for statements with nothing to run (status 'not "
                            f"checkable', or How starting with one of {READ_ONLY})")
    return problems


def missing_functions(text):
    return [f"{row}: {path}::{name}" for row, path, name, _ in references(text)
            if not (ROOT / path).is_file() or name not in defined_tests(path)]


def missing_parametrizations(text):
    wanted = {f"{path}::{name}{param}" for _, path, name, param in references(text) if param}
    if not wanted:
        return []
    files = sorted({node.split("::")[0] for node in wanted})
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                *files], cwd=ROOT, capture_output=True, text=True, check=False)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    return sorted(wanted - set(collected.stdout.splitlines()))


@pytest.fixture(scope="module")
def inventory():
    return INVENTORY.read_text(encoding="utf-8")


def test_every_table_has_the_inventory_columns_and_rows_are_unique(inventory):
    assert rows(inventory), "no inventory table found"
    assert not layout_problems(inventory), "\n".join(layout_problems(inventory))
    assert layout_problems(PLANTED + PLANTED.split("\n", 3)[3]) == ["duplicate row 9.1", "duplicate row 9.2",
                                                                    "duplicate row 9.3", "duplicate row 9.4"]


def test_every_row_has_a_status_and_says_where_it_is_checked(inventory):
    assert not row_problems(inventory), "\n".join(row_problems(inventory))
    assert [p.split(":")[0] for p in row_problems(PLANTED)] == ["9.1", "9.2"]


def test_every_named_test_function_exists(inventory):
    assert not missing_functions(inventory), "the inventory names tests that do not exist:\n" + "\n".join(
        missing_functions(inventory))
    assert missing_functions(PLANTED) == ["9.3: claims/test_eq8_hermite_coefficients.py::test_no_such_test"]


def test_every_claims_test_function_has_a_row(inventory):
    named = {(path, name) for _, path, name, _ in references(inventory)}
    modules = sorted(str(module.relative_to(ROOT)) for module in (ROOT / "claims").rglob("test_*.py"))
    unnamed = [f"{path}::{name}" for path in modules for name in sorted(defined_tests(path))
               if (path, name) not in named]
    assert not unnamed, "claims tests without a row in docs/inventory.md:\n" + "\n".join(unnamed)


@pytest.mark.slow  # one pytest collection of the named claims modules in a subprocess: a few seconds (torch import)
def test_every_named_parametrization_is_collected(inventory):
    text = inventory + PLANTED
    assert missing_parametrizations(text) == [
        "claims/test_lemma5_3_khatri_rao_bound.py::test_khatri_rao_lower_bound[7]"], (
        "the inventory names parametrizations that pytest does not collect (only the planted [7] may be missing):\n"
        + "\n".join(missing_parametrizations(text)))
