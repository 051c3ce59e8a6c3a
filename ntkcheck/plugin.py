"""pytest plugin of ntkcheck (registered through the ``pytest11`` entry point): hooks only.

Options ``--claims-profile`` / ``--claims-seed`` / ``--claims-json``, the markers ``claim`` and
``erratum``, the ``claim`` fixture, and the claims table / JSON at the end of the run. Records travel
from the test to the reporting side through ``report.user_properties`` (as JSON text), so the plugin
works unchanged under pytest-xdist: workers run tests, the controller collects records and reports.
The statistics live in :mod:`ntkcheck.checks`, the table in :mod:`ntkcheck.table`.
"""
from __future__ import annotations

import collections
import datetime
import json
import os
from pathlib import Path

import numpy as np
import pytest

from ntkcheck import profiles, seeding, table
from ntkcheck._validate import InvalidArgument
from ntkcheck.records import RECORD_PROPERTY, Record, Verdict, run_document

_SETTINGS = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("ntkcheck", "ntkcheck claims checks")
    group.addoption("--claims-profile", default=None, choices=profiles.PROFILES,
                    help=f"budget of the claims checks (default {profiles.DEFAULT_PROFILE}, or the "
                         f"{profiles.PROFILE_ENV_VAR} environment variable)")
    group.addoption("--claims-seed", type=int, default=0, help="base seed of every claim check (default 0)")
    group.addoption("--claims-json", default=None, metavar="PATH",
                    help="write every claims record, the run settings and the environment to PATH")


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
    config.stash[_SETTINGS] = {"profile": profile, "base_seed": base_seed}
    if not hasattr(config, "workerinput"):  # an xdist worker only runs tests; the controller reports
        config.pluginmanager.register(ClaimsRecorder(config), "ntkcheck-claims-recorder")


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("erratum")
        if marker is None:
            continue
        if not marker.args or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.erratum needs a description "
                                    "(what the paper prints and what was measured)")
        item.add_marker(pytest.mark.xfail(strict=True, reason=f"erratum: {marker.args[0]}"))


class Claim:
    """The ``claim`` fixture: the profile, the seeds and the record sink of one test."""

    def __init__(self, item, profile: str, base_seed: int):
        self._item = item
        self.profile = profile
        self.base_seed = base_seed
        self.seed = seeding.derive_seed(base_seed, item.nodeid)
        self.rng = np.random.default_rng(self.seed)
        marker = item.get_closest_marker("claim")
        self.ref = marker.args[0] if marker is not None and marker.args else None
        self.records: list[Record] = []

    def seed_for(self, *keys) -> int:
        """A seed for one sub-stream of this test (e.g. ``seed_for("trial", 3)``)."""
        return seeding.derive_seed(self.base_seed, self._item.nodeid, *keys)

    def pick(self, mapping):
        """The value of ``mapping`` (keyed by profile name) for the active profile."""
        return profiles.pick(mapping, self.profile)

    @property
    def replay(self) -> str:
        return (f"pytest '{self._item.nodeid}' --claims-seed {self.base_seed} "
                f"--claims-profile {self.profile}")

    def record(self, rec: Record) -> Record:
        """Add ``rec`` to the claims table / JSON; fail the test unless its verdict is PASS."""
        if not isinstance(rec, Record):
            raise InvalidArgument(f"claim.record expects a Record from ntkcheck.checks, got {type(rec).__name__}")
        rec = rec.replace(claim=self.ref, test=self._item.nodeid, seed=self.seed, profile=self.profile,
                          index=len(self.records))
        self.records.append(rec)
        self._item.user_properties.append((RECORD_PROPERTY, rec.to_json()))
        if not rec.passed:
            pytest.fail(f"{rec.message}\nClaim: {self.ref or '-'}; profile {self.profile}; seed {self.seed} "
                        f"(from base seed {self.base_seed} and the node id).\nReplay: {self.replay}",
                        pytrace=False)
        return rec


@pytest.fixture
def claim(request) -> Claim:
    settings = request.config.stash[_SETTINGS]
    return Claim(request.node, settings["profile"], settings["base_seed"])


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
        self.tests: dict = collections.defaultdict(lambda: {"outcome": None, "duration": 0.0})

    def pytest_runtest_logreport(self, report):
        test = self.tests[report.nodeid]
        test["duration"] += report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            test["outcome"] = _outcome(report)
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == RECORD_PROPERTY:
                rec = Record.from_json(value)
                if hasattr(report, "wasxfail") and report.skipped and not rec.passed:
                    rec = rec.replace(verdict=Verdict.ERRATUM)  # failed as the erratum marker documents
                self.records.append(rec)

    def _sorted(self) -> list[Record]:
        return sorted(self.records, key=lambda r: (r.test or "", r.index))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.records:
            return
        terminalreporter.write_sep("=", "ntkcheck claims table")
        for line in table.format_table(self._sorted()):
            terminalreporter.write_line(line)
        settings = self.config.stash[_SETTINGS]
        terminalreporter.write_line(f"{table.summary_line(self.records)} (profile {settings['profile']}, "
                                    f"base seed {settings['base_seed']})")

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("claims_json")
        if path is None:
            return
        settings = self.config.stash[_SETTINGS]
        document = run_document(self.records, profile=settings["profile"], base_seed=settings["base_seed"],
                                started=self.started, tests=dict(self.tests))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
