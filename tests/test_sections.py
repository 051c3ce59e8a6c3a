"""The `section` contract (issue 16, docs/claims_framework.md): records of tests under claims/beyond/ carry
section "beyond"; the claims table prints them in their own section, "Beyond the paper: consistent / refuted",
and the summary line and the JSON count them apart from the paper's verdicts."""
import json

import pytest

from ntkcheck import plugin, table
from ntkcheck.records import BEYOND, PAPER, Record, Verdict, run_document

pytest_plugins = ["pytester"]

PAPER_MODULE = '''
import pytest
from ntkcheck import checks

@pytest.mark.claim("Theorem 3.2")
def test_paper(claim):
    claim.record(checks.identity([1.0], [1.0], rtol=0, name="paper check", reason="synthetic"))
'''
BEYOND_MODULE = '''
import pytest
from ntkcheck import checks

pytestmark = pytest.mark.claim("Beyond: biases")

def test_consistent(claim):
    claim.record(checks.identity([1.0], [1.0], rtol=0, name="conjecture holds", reason="synthetic"))

@pytest.mark.erratum("conjectured 1, measured 2")
def test_refuted(claim):
    claim.record(checks.identity([2.0], [1.0], rtol=0, name="conjecture refuted", reason="synthetic"))
'''


def record(name, verdict, section):
    return Record(name=name, kind="identity", measured="m", expected="e", tolerance=0, reason="r",
                  verdict=verdict, resolution="res", numbers={}, message="msg", test=f"t::{name}", section=section)


@pytest.mark.parametrize("path, section", [
    ("/repo/claims/beyond/test_biases.py", BEYOND),
    ("claims/beyond/sub/test_x.py", BEYOND),
    ("/venv/lib/python3.11/site-packages/ntkcheck_claims/beyond/test_beyond_biases.py", BEYOND),
    ("/repo/claims/test_thm3_2.py", PAPER),
    ("/repo/beyond/test_x.py", PAPER),
    ("/repo/tests/claims_beyond.py", PAPER),
])
def test_section_of_a_path(path, section):
    assert plugin.section_of(path) == section


def test_records_default_to_the_paper_section_and_old_records_load():
    old = record("a", Verdict.PASS, PAPER).to_dict()
    del old["section"]
    assert Record.from_dict(old).section == PAPER


def test_table_puts_beyond_records_apart_with_their_own_verdict_words():
    records = [record("p1", Verdict.PASS, PAPER), record("b1", Verdict.PASS, BEYOND),
               record("b2", Verdict.ERRATUM, BEYOND), record("p2", Verdict.ERRATUM, PAPER)]
    lines = table.format_table(records)
    title = lines.index(table.BEYOND_TITLE)
    assert title > 0 and lines[title - 1] == ""
    assert all("b1" not in line and "b2" not in line for line in lines[:title])
    assert all("p1" not in line and "p2" not in line for line in lines[title:])
    assert "consistent" in next(line for line in lines if "b1" in line)
    assert "refuted" in next(line for line in lines if "b2" in line)
    assert "ERRATUM" in next(line for line in lines if "p2" in line)
    assert table.summary_line(records) == ("2 claims checks: 1 PASS, 1 ERRATUM; beyond the paper: 2 checks: "
                                           "1 consistent, 1 refuted")


def test_only_beyond_records():
    records = [record("b1", Verdict.PASS, BEYOND)]
    assert table.format_table(records)[0] == table.BEYOND_TITLE
    assert table.summary_line(records) == "beyond the paper: 1 checks: 1 consistent"


def test_table_without_beyond_records_is_unchanged():
    records = [record("p1", Verdict.PASS, PAPER)]
    assert table.BEYOND_TITLE not in table.format_table(records)
    assert table.summary_line(records) == "1 claims checks: 1 PASS"


def test_run_document_counts_sections_apart():
    records = [record("p1", Verdict.PASS, PAPER), record("b1", Verdict.ERRATUM, BEYOND)]
    document = run_document(records, profile="smoke", base_seed=0, started="now", tests={})
    assert document["summary_by_section"][PAPER]["PASS"] == 1
    assert document["summary_by_section"][BEYOND]["ERRATUM"] == 1 and document["summary_by_section"][PAPER]["ERRATUM"] == 0
    assert {r["name"]: r["section"] for r in document["records"]} == {"p1": PAPER, "b1": BEYOND}
    assert "summary_by_section" not in run_document(records[:1], profile="smoke", base_seed=0, started="now", tests={})


def test_plugin_marks_records_of_claims_beyond(pytester):
    pytester.makepyfile(**{"claims/test_paper": PAPER_MODULE, "claims/beyond/test_question": BEYOND_MODULE})
    path = pytester.path / "claims.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-json", str(path), "claims")
    result.assert_outcomes(passed=2, xfailed=1)
    sections = {r["name"]: r["section"] for r in json.loads(path.read_text())["records"]}
    assert sections == {"paper check": PAPER, "conjecture holds": BEYOND, "conjecture refuted": BEYOND}
    output = result.stdout.str()
    assert table.BEYOND_TITLE in output
    assert output.index("paper check") < output.index(table.BEYOND_TITLE) < output.index("conjecture holds")
    assert "1 claims checks: 1 PASS; beyond the paper: 2 checks: 1 consistent, 1 refuted" in output
