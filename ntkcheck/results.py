"""The one reader of ``--claims-json`` documents: :func:`load_results` (used by ``ntkcheck compare``,
``report``, ``calibrate --from-json`` and ``merge``).

It checks the schema of docs/claims_framework.md once, here, so that the commands can index the document
without guarding every key: a file that is missing, binary, truncated, of another ``schema_version``, or
whose records lack a field, carry an unknown verdict or a non-number where a number belongs, raises
:class:`~ntkcheck.InvalidArgument` with one line naming the file, the place (``records[3].verdict``) and
what was expected. The CLI prints that line and exits with status 2.

A small hand-written validator rather than jsonschema: the rules are a few dozen lines, the error names
the place in the document's own words, and the verdict half of the package stays free of extra
dependencies. Keys that are not listed are allowed (optional additions such as a record's ``section``);
readers take them with ``.get(key, default)``. Cost: one pass over the document.
"""
from __future__ import annotations

import json
from pathlib import Path

from ntkcheck._validate import InvalidArgument
from ntkcheck.records import SCHEMA_VERSION, Verdict

VERDICTS = tuple(v.value for v in Verdict)
_NON_FINITE = ("inf", "-inf", "nan")  # how the strict-JSON file spells non-finite floats (records.jsonable)

# Top-level keys and their types (None: the value may be null).
DOCUMENT_FIELDS = {"schema_version": (int,), "started": (str,), "profile": (str,), "base_seed": (int, None),
                   "versions": (dict,), "machine": (dict,), "summary": (dict,), "tests": (dict,),
                   "records": (list,)}
RECORD_FIELDS = {"name": (str,), "kind": (str,), "claim": (str, None), "test": (str,), "index": (int,),
                 "seed": (int, None), "profile": (str, None), "measured": (str,), "expected": (str,),
                 "reason": (str,), "verdict": (str,), "resolution": (str,), "message": (str,),
                 "numbers": (dict,), "erratum": (str, None)}
TEST_FIELDS = {"outcome": (str, None), "duration": (float,)}
# The numbers each kind's readers use (compare's MOVED lines, calibrate's spreads); numbers or "inf"/"nan".
KIND_NUMBERS = {"scaling": ("slope", "tol", "expected", "lower", "upper"),
                "band": ("min_ratio", "max_ratio", "drift_tol"),
                "probability": ("rate",),
                "identity": ("max_rel_error", "rtol", "atol"),
                "inequality": ("min_rel_margin", "rtol", "atol")}
DRIFT_NUMBERS = ("slope", "lower", "upper")


class _Invalid(Exception):
    """A schema violation at ``where`` (internal: turned into one InvalidArgument line)."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where} {problem}")


def _type_name(value) -> str:
    return "null" if value is None else {dict: "object", list: "array", str: "string", bool: "boolean",
                                         int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _matches(value, allowed) -> bool:
    if value is None:
        return None in allowed
    if isinstance(value, bool):  # JSON true is not an integer here
        return False
    if float in allowed and isinstance(value, (int, float)):
        return True
    return any(t is not None and isinstance(value, t) for t in allowed)


def _fields(obj, fields: dict, where: str) -> None:
    for key, allowed in fields.items():
        if key not in obj:
            raise _Invalid(f"{where}.{key}" if where else key, "is missing")
        if not _matches(obj[key], allowed):
            expected = " or ".join("null" if t is None else _type_name(t()) for t in allowed)
            raise _Invalid(f"{where}.{key}" if where else key,
                           f"must be {expected}, got {_type_name(obj[key])} {_short(obj[key])}")


def _short(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else ""
    return text if len(text) <= 40 else text[:37] + "..."


def _number(obj: dict, key: str, where: str) -> None:
    if key not in obj:
        raise _Invalid(f"{where}.{key}", "is missing")
    value = obj[key]
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or value in _NON_FINITE):
        raise _Invalid(f"{where}.{key}", f"must be a number (or \"inf\"/\"-inf\"/\"nan\"), got "
                                         f"{_type_name(value)} {_short(value)}")


def _record(record, where: str) -> None:
    if not isinstance(record, dict):
        raise _Invalid(where, f"must be an object, got {_type_name(record)}")
    _fields(record, RECORD_FIELDS, where)
    if record["verdict"] not in VERDICTS:
        raise _Invalid(f"{where}.verdict", f"is {record['verdict']!r}, expected one of {', '.join(VERDICTS)}")
    if record["index"] < 0:
        raise _Invalid(f"{where}.index", f"must be >= 0, got {record['index']}")
    numbers, at = record["numbers"], f"{where}.numbers"
    for key in KIND_NUMBERS.get(record["kind"], ()):  # an unknown kind: no numbers read, none required
        _number(numbers, key, at)
    if record["kind"] == "band":
        band = numbers.get("band")
        if not (isinstance(band, list) and len(band) == 2):
            raise _Invalid(f"{at}.band", f"must be a [lo, hi] array, got {_type_name(band)} {_short(band)}")
        for i in range(2):
            _number({str(i): band[i]}, str(i), f"{at}.band")
        drift = numbers.get("drift", {})
        if not isinstance(drift, dict):
            raise _Invalid(f"{at}.drift", f"must be an object, got {_type_name(drift)}")
        for param, entry in drift.items():
            if not isinstance(entry, dict):
                raise _Invalid(f"{at}.drift.{param}", f"must be an object, got {_type_name(entry)}")
            for key in DRIFT_NUMBERS:
                _number(entry, key, f"{at}.drift.{param}")


def _validate(document) -> None:
    if not isinstance(document, dict):
        raise _Invalid("the document", f"must be a JSON object, got {_type_name(document)}")
    if "schema_version" not in document:
        raise _Invalid("schema_version", "is missing: not a claims document (written by pytest --claims-json)")
    if document["schema_version"] != SCHEMA_VERSION:
        raise _Invalid("schema_version", f"is {_short(document['schema_version'])}; this ntkcheck reads "
                                         f"schema_version {SCHEMA_VERSION} (rerun the claims to get one)")
    _fields(document, DOCUMENT_FIELDS, "")
    for nodeid, test in document["tests"].items():
        where = f"tests[{nodeid!r}]"
        if not isinstance(test, dict):
            raise _Invalid(where, f"must be an object, got {_type_name(test)}")
        _fields(test, TEST_FIELDS, where)
    for i, record in enumerate(document["records"]):
        _record(record, f"records[{i}]")
    seeds = document.get("base_seeds")  # a --claims-seeds (calibration) document
    if seeds is not None and not (isinstance(seeds, list) and seeds
                                  and all(_matches(s, (int,)) and s >= 0 for s in seeds)):
        raise _Invalid("base_seeds", f"must be a non-empty array of integers >= 0, got {_short(seeds) or 'an array'}")


def validate(document, source: str = "claims document") -> dict:
    """``document`` (a parsed ``--claims-json``) if it follows the schema, else InvalidArgument naming
    ``source`` and the first violation in one line."""
    try:
        _validate(document)
    except _Invalid as exc:
        raise InvalidArgument(f"{source}: {exc} (schema: docs/claims_framework.md)") from None
    return document


def _reject_constant(name):  # NaN / Infinity literals: not strict JSON, never written by the plugin
    raise ValueError(f"non-standard JSON constant {name}")


def load_results(path) -> dict:
    """Read and validate the ``--claims-json`` document at ``path`` (schema_version SCHEMA_VERSION).

    Raises InvalidArgument, one line naming the file: missing or unreadable, a directory, not UTF-8 text
    (a binary file), not JSON (e.g. truncated), or not following the schema (another schema_version, a
    missing field, a field of the wrong type, an unknown verdict). Returns the document as parsed."""
    path = Path(path)
    name = repr(str(path))
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InvalidArgument(f"claims JSON {name} does not exist") from None
    except IsADirectoryError:
        raise InvalidArgument(f"claims JSON {name} is a directory, expected a file") from None
    except OSError as exc:
        raise InvalidArgument(f"cannot read claims JSON {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"claims JSON {name} is not UTF-8 text (a binary file?): byte "
                              f"{exc.object[exc.start]:#04x} at offset {exc.start}") from None
    if not text.strip():
        raise InvalidArgument(f"claims JSON {name} is empty")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # at the end of the text, or a string that never closes: the file stops early
        hint = " (truncated?)" if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated") else ""
        raise InvalidArgument(f"claims JSON {name} is not valid JSON{hint}: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument(f"claims JSON {name} is not valid JSON: {exc}") from None
    return validate(document, f"claims JSON {name}")

