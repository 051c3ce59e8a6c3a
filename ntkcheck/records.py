"""The outcome of one check: a Verdict and a Record, and their JSON form.

A Record is what a claim check produces and what the claims table and ``--claims-json`` show. It is
plain data (no numpy inside after construction) so that it travels through pytest's
``report.user_properties`` unchanged under pytest-xdist.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
import numbers

import numpy as np

RECORD_PROPERTY = "ntkcheck_record"  # the user_properties key under which a serialized Record travels
PAPER, BEYOND = "paper", "beyond"  # Record.section: a claim of the paper, or a question beyond it (claims/beyond/)


class Verdict(str, enum.Enum):
    """The verdict of a check."""

    PASS = "PASS"
    """The data support the claim at the stated tolerance and confidence."""
    FAIL = "FAIL"
    """The data reject the claim (e.g. the whole confidence interval lies outside the tolerance band)."""
    INCONCLUSIVE = "INCONCLUSIVE"
    """The budget is too small to decide; the message says how many trials would decide."""
    ERRATUM = "ERRATUM"
    """A printed formula that failed as documented by ``@pytest.mark.erratum`` (a strict xfail)."""


class ErratumStatus(str, enum.Enum):
    """What the run of an ``@pytest.mark.erratum`` test showed. Only ERRATUM keeps the run green."""

    ERRATUM = "ERRATUM"
    """Its check FAILed, as documented: a strict xfail; the record's verdict becomes ERRATUM."""
    INCONCLUSIVE = "INCONCLUSIVE"
    """Its check was INCONCLUSIVE: the budget does not show the erratum. A failure of the run."""
    CRASHED = "CRASHED"
    """It raised something other than the FAIL of its check (or its setup failed). A failure of the run."""
    NO_RECORD = "NO RECORD"
    """It ended without recording a check. A failure of the run (XPASS(strict))."""
    HOLDS = "HOLDS"
    """Every check it recorded PASSed: the printed form holds here. A failure of the run (XPASS(strict))."""


def jsonable(value):
    """``value`` with numpy scalars/arrays turned into Python numbers/lists and non-finite floats into
    the strings "inf", "-inf", "nan" (strict JSON has no such numbers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot serialize a {type(value).__name__} into a claims record")


@dataclasses.dataclass
class Record:
    """One check's outcome.

    name, kind: what was checked and how (identity / inequality / scaling / band / probability).
    measured, expected: short human strings for the table (e.g. "slope 1.02 [0.97, 1.07]", "1 +- 0.15").
    tolerance, reason: the tolerance (a number, or a short string when several) and its one-line reason.
    resolution: what the check can detect at the budget used (e.g. "detects |slope - 1| > 0.31").
    numbers: every number behind the verdict (JSON-able). message: the failure/diagnostic text.
    claim, test, seed, profile: filled by the pytest plugin (paper reference, node id, derived seed, profile).
    erratum: for an ERRATUM record, the text of its ``@pytest.mark.erratum`` (what is printed, what was measured).
    section: "paper" (a claim of the paper) or "beyond" (a test under claims/beyond/: an exploratory question
    beyond the paper, shown apart as "consistent" / "refuted" and never counted with the paper's verdicts).
    """

    name: str
    kind: str
    measured: str
    expected: str
    tolerance: object
    reason: str
    verdict: Verdict
    resolution: str
    numbers: dict
    message: str
    claim: str | None = None
    test: str | None = None
    seed: int | None = None
    profile: str | None = None
    index: int = 0  # position among the records of its test (keeps the table order under xdist)
    erratum: str | None = None
    section: str = "paper"

    def __post_init__(self):
        self.verdict = Verdict(self.verdict)
        self.numbers = jsonable(self.numbers)
        self.tolerance = jsonable(self.tolerance)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_dict(self) -> dict:
        return jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Record":
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "Record":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "Record":
        return dataclasses.replace(self, **changes)


# Bump when a field of the run document changes meaning (docs/claims_framework.md). 2: seeds derive from
# the rootdir-independent test identity (plugin.claim_identity), so every record's numbers changed.
SCHEMA_VERSION = 2
_PACKAGES = ("numpy", "scipy", "torch", "pytest", "ntkcheck")


def environment() -> dict:
    """Package versions and machine description (read from package metadata: nothing is imported)."""
    import importlib.metadata
    import os
    import platform

    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {"versions": {"python": platform.python_version(), **{p: version(p) for p in _PACKAGES}},
            "machine": {"platform": platform.platform(), "machine": platform.machine(),
                        "processor": platform.processor(), "cpu_count": os.cpu_count()}}


def run_document(records, *, profile: str, base_seed: int, started: str, tests: dict) -> dict:
    """The ``--claims-json`` document (schema in docs/claims_framework.md). ``tests``: node id ->
    {"outcome", "duration"}. Records are sorted by (test, index) so that a serial and an xdist run of
    the same seed give the same list."""
    ordered = sorted(records, key=lambda r: (r.test or "", r.index))
    counts = {v.value: sum(r.verdict is v for r in ordered) for v in Verdict}
    document = {"schema_version": SCHEMA_VERSION, "started": started, "profile": profile,
                "base_seed": base_seed, **environment(), "summary": counts,
                "tests": jsonable(tests), "records": [r.to_dict() for r in ordered]}
    by_section = summary_by_section([r.to_dict() for r in ordered])
    if by_section is not None:
        document["summary_by_section"] = by_section
    return document


def summary_by_section(records: list[dict]) -> dict | None:
    """The optional ``summary_by_section`` key of a document: verdict counts of the paper's records and of the
    beyond-the-paper ones apart, from record dicts (a record without ``section`` is the paper's); None when no
    record is beyond the paper (the key is then left out)."""
    sections = [r.get("section", PAPER) for r in records]
    if BEYOND not in sections:
        return None
    return {section: {v.value: sum(r["verdict"] == v.value and s == section for r, s in zip(records, sections))
                      for v in Verdict}
            for section in (PAPER, BEYOND)}
