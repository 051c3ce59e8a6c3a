"""pytest plugin of ntkcheck (registered through the ``pytest11`` entry point): hooks only.

Options ``--claims-profile`` / ``--claims-seed`` / ``--claims-json`` / ``--claims-seeds`` (calibration:
one copy of each claim test per base seed, see :mod:`ntkcheck.calibrate`), the markers ``claim`` and
``erratum``, the ``claim`` fixture, and the claims table / JSON at the end of the run. Records travel
from the test to the reporting side through ``report.user_properties`` (as JSON text), so the plugin
works unchanged under pytest-xdist: workers run tests, the controller collects records and reports.
The statistics live in :mod:`ntkcheck.checks`, the table in :mod:`ntkcheck.table`.
"""
from __future__ import annotations

import collections
import datetime
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from ntkcheck import profiles, seeding, shards, table, threads
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import BEYOND, PAPER, RECORD_PROPERTY, ErratumStatus, Record, Verdict, run_document

_SETTINGS = pytest.StashKey[dict]()
_THREADS = pytest.StashKey[threads.ThreadLimits]()
# Calibration (--claims-seeds): each claim test is collected once per base seed, through an indirect
# parametrization of the fixture below. The copy's id is appended last, so stripping it gives back the
# node id of a plain run, from which the seeds derive: copy `t[claims_seed=7]` == `t` under --claims-seed 7.
BASE_SEED_FIXTURE = "claims_base_seed"
_COPY_ID = re.compile(r"^(?P<test>.*?)(?:\[|-)claims_seed=(?P<seed>\d+)\]$")
# user_properties keys: the erratum text of a marked test (on every report of it), and what its run showed
ERRATUM_PROPERTY = "ntkcheck_erratum"
ERRATUM_STATUS_PROPERTY = "ntkcheck_erratum_status"
ERRATUM_SECTION = "ntkcheck erratum"  # the report section that says why an erratum test failed the run


class CheckNotPassed(pytest.fail.Exception):
    """Raised by ``claim.record`` for a record whose verdict is not PASS (a ``pytest.fail``: the message,
    no traceback). The two subclasses keep apart what an erratum test may and may not end with."""


class ClaimFailure(CheckNotPassed):
    """The check FAILed: the data reject the claim. The only way an ``@pytest.mark.erratum`` test xfails
    (the marker becomes ``xfail(strict=True, raises=ClaimFailure)``)."""


class ClaimInconclusive(CheckNotPassed):
    """The check is INCONCLUSIVE: the budget does not decide. A test fails with it; an erratum test too,
    since an undecided printed form does not show the erratum."""


def pytest_addoption(parser):
    group = parser.getgroup("ntkcheck", "ntkcheck claims checks")
    group.addoption("--claims-profile", default=None, choices=profiles.PROFILES,
                    help=f"budget of the claims checks (default {profiles.DEFAULT_PROFILE}, or the "
                         f"{profiles.PROFILE_ENV_VAR} environment variable)")
    group.addoption("--claims-seed", type=int, default=0, help="base seed of every claim check (default 0)")
    group.addoption("--claims-json", default=None, metavar="PATH",
                    help="write every claims record, the run settings and the environment to PATH")
    group.addoption("--claims-seeds", default=None, metavar="SEEDS",
                    help="calibration: run every claim test once per base seed in SEEDS ('0-19' or "
                         "'0,3,7'); under pytest-xdist the (test, seed) copies are spread over the workers")
    group.addoption("--claims-title", default=None, metavar="TITLE",
                    help="the title of the claims' paper, for the JSON (key 'title') and the report "
                         "(default: the ini value claims_title)")
    parser.addini("claims_title", default="", help="the title of the claims' paper (see --claims-title)")
    group.addoption("--claims-threads", default=None, metavar="N",
                    help=f"BLAS/OpenMP threads of torch, numpy and scipy in each test process (each xdist worker) "
                         f"of a run that holds claim tests: N >= 1 or '{threads.AUTO}' (the libraries' defaults); "
                         f"default {threads.DEFAULT_THREADS} (fast on a shared machine, docs/performance.md), or the "
                         "ini value claims_threads")
    parser.addini("claims_threads", default=None,
                  help=f"default of --claims-threads (N >= 1 or '{threads.AUTO}')")


def parse_seeds(text: str) -> tuple[int, ...]:
    """The base seeds of ``--claims-seeds``: 'A-B' (inclusive range) or 'S1,S2,...' (non-negative)."""
    try:
        if re.fullmatch(r"\d+-\d+", text.strip()):
            first, last = map(int, text.split("-"))
            seeds = tuple(range(first, last + 1))
        else:
            seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise InvalidArgument(f"--claims-seeds must be a range 'A-B' with A <= B or distinct seeds "
                              f"'S1,S2,...', all >= 0, got {text!r}")
    return seeds


def calibration_id(seed: int) -> str:
    """The id a ``--claims-seeds`` copy of a test gets for base seed ``seed``."""
    return f"claims_seed={seed}"


def split_copy_id(nodeid: str) -> tuple[str, int | None]:
    """(the node id of a plain run, the base seed) of a ``--claims-seeds`` copy; (nodeid, None) otherwise."""
    match = _COPY_ID.match(nodeid)
    if match is None:
        return nodeid, None
    test = match["test"] + ("]" if "[" in match["test"].rpartition("::")[2] else "")
    return test, int(match["seed"])


def claim_identity(path, nodeid: str) -> str:
    """The rootdir-independent identity of a test, from which its seeds derive: the module's path relative
    to its claims folder (the outermost package holding it, whose own name is dropped, so the repository's
    ``claims/`` and the installed ``ntkcheck_claims/`` agree; or, outside any package, the module's own
    folder), then the rest of the node id (class, name, parametrization). E.g.
    ``test_eq8_hermite_coefficients.py::test_slow_decay[3]`` or ``beyond/test_x.py::test_y``. A node id is
    relative to pytest's rootdir, which a user's own claims folder does not pin: the identity does not
    depend on it, so a file gives the same numbers wherever it is run from."""
    path = Path(path)
    top = path.parent
    while (top / "__init__.py").is_file():
        top = top.parent
    parts = path.relative_to(top).parts
    module = "/".join(parts[1:] if len(parts) > 1 else parts)
    _, sep, rest = nodeid.partition("::")
    return f"{module}{sep}{rest}"


def pytest_configure(config):
    config.addinivalue_line("markers", "claim(ref): the paper reference a test checks, e.g. 'Theorem 3.2'")
    config.addinivalue_line("markers", "erratum(text): a printed formula that fails numerically (what the "
                                       "paper prints, what was measured); the test becomes a strict xfail")
    try:
        profile = profiles.resolve_profile(config.getoption("claims_profile"), os.environ)
    except InvalidArgument as exc:
        raise pytest.UsageError(str(exc)) from None
    base_seed = config.getoption("claims_seed")
    if base_seed < 0:
        raise pytest.UsageError(f"--claims-seed must be >= 0, got {base_seed}")
    seeds = config.getoption("claims_seeds")
    try:
        seeds = None if seeds is None else parse_seeds(seeds)
    except InvalidArgument as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SETTINGS] = {"profile": profile, "base_seed": base_seed, "seeds": seeds}
    shards.register(config)  # what the run collected: the `collection` key, for `ntkcheck merge`
    chosen = config.getoption("claims_threads") or config.getini("claims_threads")
    try:
        limit = threads.parse_threads(chosen) if chosen else threads.DEFAULT_THREADS
    except InvalidArgument as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_THREADS] = threads.ThreadLimits(limit)
    if not hasattr(config, "workerinput"):  # an xdist worker only runs tests; the controller reports
        config.pluginmanager.register(ClaimsRecorder(config), "ntkcheck-claims-recorder")


@pytest.hookimpl(trylast=True)  # after the @parametrize marks, so that the copy's id comes last
def pytest_generate_tests(metafunc):
    seeds = metafunc.config.stash[_SETTINGS]["seeds"]
    if seeds is not None and BASE_SEED_FIXTURE in metafunc.fixturenames:
        metafunc.parametrize(BASE_SEED_FIXTURE, seeds, indirect=True, ids=calibration_id)


def pytest_collection_finish(session):
    """Limit the thread pools of this process (an xdist worker collects too) once the test modules, and so torch
    and numpy, are loaded, and only in a run that holds claim tests: a plain test suite of a project that
    merely has ntkcheck installed keeps the libraries' defaults."""
    limits = session.config.stash[_THREADS]
    if not any("claim" in getattr(item, "fixturenames", ()) for item in session.items):
        limits.threads = None
    if limits.threads is not None and importlib.util.find_spec("threadpoolctl") is None:
        pytest.exit("the claims run limits its thread pools with threadpoolctl, a dependency of ntkcheck that is not "
                    "installed: pip install threadpoolctl (or pass --claims-threads auto)", pytest.ExitCode.USAGE_ERROR)
    limits.apply()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.config.stash[_THREADS].apply()  # ~1 ms: also covers a library loaded since (threadpoolctl sees loaded ones)


def pytest_unconfigure(config):
    if _THREADS in config.stash:
        config.stash[_THREADS].restore()


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("erratum")
        if marker is None:
            continue
        if not marker.args or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.erratum needs a description "
                                    "(what the paper prints and what was measured)")
        # raises=: only the FAIL of its check is the documented failure; a crash or an INCONCLUSIVE fails the run
        item.add_marker(pytest.mark.xfail(strict=True, raises=ClaimFailure, reason=f"erratum: {marker.args[0]}"))
        item.user_properties.append((ERRATUM_PROPERTY, marker.args[0]))


def _records_of(report) -> list[Record]:
    return [Record.from_json(value) for key, value in report.user_properties if key == RECORD_PROPERTY]


def erratum_status(report, excinfo) -> tuple[ErratumStatus, str]:
    """What the run of an erratum test showed, from its call report (or failed setup report) and the
    exception it ended with: (status, what to do; empty for a documented erratum)."""
    records = _records_of(report)
    failed_as_documented = excinfo is not None and isinstance(excinfo.value, ClaimFailure)  # also under --runxfail
    if (hasattr(report, "wasxfail") and report.skipped) or failed_as_documented:
        return ErratumStatus.ERRATUM, ""
    if excinfo is not None and isinstance(excinfo.value, ClaimInconclusive):
        rec = records[-1]
        return ErratumStatus.INCONCLUSIVE, (
            f"Its check {rec.name!r} is INCONCLUSIVE, not FAIL: the erratum is not shown at this budget "
            f"(profile {rec.profile}). Give it the trials that decide: {rec.numbers.get('to_decide', 'more trials')}, "
            "in the module's budget for that profile, with the reason.")
    if excinfo is not None:
        return ErratumStatus.CRASHED, (
            f"It raised {excinfo.exconly(tryshort=True)[:200]}, "
            f"{'after ' + str(len(records)) + ' passing record(s)' if records else 'before recording anything'}"
            ", not the FAIL of its check: a crash is a crash. Fix the test; an erratum test xfails only "
            "through claim.record of a FAIL verdict.")
    if not records:
        return ErratumStatus.NO_RECORD, (
            "It recorded no check: an erratum test must measure the printed form and hand the check to "
            "claim.record, whose FAIL is the documented failure.")
    return ErratumStatus.HOLDS, (
        f"Every check PASSed ({len(records)}): the printed form holds at this budget. If it does, drop the "
        "@pytest.mark.erratum marker and the README's erratum; if not, the check cannot fail.")


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: sees the outcome after pytest's xfail handling
def pytest_runtest_makereport(item, call):
    report = yield
    erratum = item.get_closest_marker("erratum") is not None
    if erratum and (call.when == "call" or (call.when == "setup" and report.failed)):
        status, advice = erratum_status(report, call.excinfo)
        report.user_properties.append((ERRATUM_STATUS_PROPERTY, status.value))
        if advice:
            report.sections.append((ERRATUM_SECTION, f"An erratum test must fail by the FAIL of its check, "
                                    f"and this one did not ({status.value}). {advice}"))
    return report


class Claim:
    """The ``claim`` fixture: the profile, the seeds and the record sink of one test."""

    def __init__(self, item, profile: str, base_seed: int):
        self._item = item
        self._nodeid = split_copy_id(item.nodeid)[0]  # a calibration copy draws what a plain run draws
        self.identity = claim_identity(item.path, self._nodeid)  # the seeds' key: no rootdir in it
        self.profile = profile
        self.base_seed = base_seed
        self.seed = seeding.derive_seed(base_seed, self.identity)
        self.rng = np.random.default_rng(self.seed)
        marker = item.get_closest_marker("claim")
        self.ref = marker.args[0] if marker is not None and marker.args else None
        self.records: list[Record] = []

    def seed_for(self, *keys) -> int:
        """A seed for one sub-stream of this test (e.g. ``seed_for("trial", 3)``)."""
        return seeding.derive_seed(self.base_seed, self.identity, *keys)

    def pick(self, mapping):
        """The value of ``mapping`` (keyed by profile name) for the active profile."""
        return profiles.pick(mapping, self.profile)

    @property
    def replay(self) -> str:
        return (f"pytest '{self._nodeid}' --claims-seed {self.base_seed} "
                f"--claims-profile {self.profile}")

    def record(self, rec: Record) -> Record:
        """Add ``rec`` to the claims table / JSON; fail the test unless its verdict is PASS (raising
        ``ClaimFailure`` for FAIL, ``ClaimInconclusive`` for INCONCLUSIVE)."""
        if not isinstance(rec, Record):
            raise InvalidArgument(f"claim.record expects a Record from ntkcheck.checks, got {type(rec).__name__}")
        rec = rec.replace(claim=self.ref, test=self._item.nodeid, seed=self.seed, profile=self.profile,
                          index=len(self.records), section=section_of(self._item.path))
        self.records.append(rec)
        self._item.user_properties.append((RECORD_PROPERTY, rec.to_json()))
        if not rec.passed:
            raised = ClaimFailure if rec.verdict is Verdict.FAIL else ClaimInconclusive
            raise raised(f"{rec.message}\nClaim: {self.ref or '-'}; profile {self.profile}; seed {self.seed} "
                         f"(from base seed {self.base_seed} and the test identity {self.identity!r}).\nReplay: {self.replay}",
                         pytrace=False)
        return rec


def section_of(path) -> str:
    """The Record.section of a test module: "beyond" under a claims/beyond/ folder (ntkcheck_claims/beyond/ in
    the wheel), else "paper"."""
    parts = Path(path).parts
    beyond = any(parts[i:i + 2] in (("claims", "beyond"), ("ntkcheck_claims", "beyond")) for i in range(len(parts) - 1))
    return BEYOND if beyond else PAPER


@pytest.fixture
def claims_base_seed(request) -> int:
    """The base seed of this test: ``--claims-seed``, or the copy's seed under ``--claims-seeds``."""
    return getattr(request, "param", request.config.stash[_SETTINGS]["base_seed"])


@pytest.fixture
def claim(request, claims_base_seed) -> Claim:
    return Claim(request.node, request.config.stash[_SETTINGS]["profile"], claims_base_seed)


def _outcome(report) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    return report.outcome


class ClaimsRecorder:
    """Controller-side collector: records from the reports, then the table and the JSON."""

    def __init__(self, config):
        self.config = config
        self.started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.records: list[Record] = []
        self.tests: dict = collections.defaultdict(
            lambda: {"outcome": None, "duration": 0.0, "erratum": None, "erratum_status": None})
        self.erratum_problems: dict[str, str] = {}  # node id -> what to do, for errata that did not FAIL

    def pytest_runtest_logreport(self, report):
        test = self.tests[report.nodeid]
        test["duration"] += report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            test["outcome"] = _outcome(report)
        for key, value in report.user_properties:
            if key == ERRATUM_PROPERTY:
                test["erratum"] = value
            elif key == ERRATUM_STATUS_PROPERTY:
                test["erratum_status"] = value
                advice = [content for section, content in report.sections if section == ERRATUM_SECTION]
                if advice:
                    self.erratum_problems[report.nodeid] = advice[0]
        if report.when != "call":
            return
        for rec in _records_of(report):
            if test["erratum_status"] == ErratumStatus.ERRATUM.value and not rec.passed:
                rec = rec.replace(verdict=Verdict.ERRATUM, erratum=test["erratum"])  # failed as documented
            self.records.append(rec)

    def _sorted(self) -> list[Record]:
        return sorted(self.records, key=lambda r: (r.test or "", r.index))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.records and not self.erratum_problems:
            return
        settings = self.config.stash[_SETTINGS]
        if settings["seeds"] is not None:  # one row per seed would drown the reader: `ntkcheck calibrate`
            terminalreporter.write_line(f"{table.summary_line(self.records)} (profile {settings['profile']}, "
                                        f"{len(settings['seeds'])} base seeds; per-claim pass rates: "
                                        "ntkcheck calibrate)")
            return
        terminalreporter.write_sep("=", "ntkcheck claims table")
        for line in table.format_table(self._sorted()):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"{table.summary_line(self.records)} (profile {settings['profile']}, "
                                    f"base seed {settings['base_seed']})")
        if self.erratum_problems:
            terminalreporter.write_sep("-", f"{len(self.erratum_problems)} erratum test(s) did not fail by the "
                                            "FAIL of their check (failures of the run)")
            for nodeid, problem in sorted(self.erratum_problems.items()):
                terminalreporter.write_line(f"{nodeid}: {problem}")

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("claims_json")
        if path is None:
            return
        settings = self.config.stash[_SETTINGS]
        calibrating = settings["seeds"] is not None
        document = run_document(self.records, profile=settings["profile"],
                                base_seed=None if calibrating else settings["base_seed"],
                                started=self.started, tests=dict(self.tests))
        if calibrating:  # each record's test id ends in [claims_seed=S]: split_copy_id
            document["base_seeds"] = list(settings["seeds"])
        title = self.config.getoption("claims_title") or self.config.getini("claims_title")
        if title:  # the report's heading: the claims' own paper
            document["title"] = title
        if shards.collection(self.config) is not None:  # optional key (docs/claims_framework.md)
            document["collection"] = shards.collection(self.config)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
