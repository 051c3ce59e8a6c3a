"""`ntkcheck merge A.json B.json ... --out all.json`: one claims document from the JSONs of a split run.

A claims run split into K shards (``pytest claims/ --splits K --group i --claims-json shard-i.json``, one
machine each: a CI matrix, a SLURM array) or a calibration split into seed blocks (``--claims-seeds``
runs, as ``ntkcheck calibrate`` does on a Dask cluster) gives several ``--claims-json`` documents. The
merge joins them into one that ``compare``, ``report`` and ``calibrate --from-json`` read like any other,
and refuses, with one line naming the files, anything that would make the joined run differ from an
unsplit one:

* a different ``profile``, ``base_seed``, package ``versions`` or any other run-wide setting;
* an overlap: a test (node id; for a calibration, a test under one base seed) in two documents (a
  test without the ``claim`` fixture is not copied per seed: every seed block runs it, the first is kept);
* a missing test: every document records what its run collected (the ``collection`` key, written by
  :mod:`ntkcheck.shards`); the shards of one pytest-split run must be the groups 1..K of the same
  collection, and each test of it is run by one shard or deselected by all (``-m``/``-k``);
* a document without that ``collection`` (written before it existed): its completeness cannot be checked.

The merged document keeps each record and test entry as its shard wrote it (the records are sorted by
(test, index) as in any run), recomputes the summary, and lists its parts under ``merged_from``. Its
``collection`` is complete, so merged documents merge again. Exit status 0, or 2 with one line on a
refusal or an unreadable file. The verdict half of the package: no engine import.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ntkcheck._validate import InvalidArgument
from ntkcheck.plugin import split_copy_id
from ntkcheck.records import Verdict, summary_by_section
from ntkcheck.results import load_results, validate

# Keys that differ from shard to shard by design, and are joined below; every other top-level key
# (profile, base_seed, versions, schema_version, an optional title, ...) must be the same in every part.
PER_SHARD_KEYS = ("started", "machine", "summary", "summary_by_section", "tests", "records", "base_seeds",
                  "collection", "merged_from")
_SHOWN = 3  # node ids quoted in an error line


def _quote(ids) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    return ", ".join(ids[:_SHOWN]) + more


def _same_settings(parts) -> None:
    (first_name, first), rest = parts[0], parts[1:]
    calibrations = {name for name, document in parts if document.get("base_seeds")}
    if calibrations and len(calibrations) != len(parts):
        plain = next(name for name, _ in parts if name not in calibrations)
        raise InvalidArgument(f"{sorted(calibrations)[0]} is a calibration (--claims-seeds) document and {plain} "
                              "a plain run: they do not merge")
    for name, document in rest:
        for key in sorted((first.keys() | document.keys()) - set(PER_SHARD_KEYS)):
            if first.get(key) != document.get(key):
                raise InvalidArgument(f"{first_name} and {name} differ in {key!r} ({_short(first.get(key))} vs "
                                      f"{_short(document.get(key))}): shards of one run share its settings")


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _seed_free(document, nodeid) -> bool:
    """A test of a calibration that is not copied per base seed (no ``claim`` fixture): every seed block
    runs it once, the same test, so it is no overlap; the first block's entry is kept."""
    return bool(document.get("base_seeds")) and split_copy_id(nodeid)[1] is None


def _no_overlap(parts) -> None:
    owner = {}
    for name, document in parts:
        twice = [nodeid for nodeid in document["tests"] if nodeid in owner and not _seed_free(document, nodeid)]
        if twice:
            raise InvalidArgument(f"{owner[twice[0]]} and {name} overlap: {len(twice)} test(s) in both "
                                  f"({_quote(twice)}); each test must run in exactly one shard")
        owner.update(dict.fromkeys(document["tests"], name))


def _collection(name, document) -> dict:
    collection = document.get("collection")
    if not (isinstance(collection, dict) and isinstance(collection.get("collected"), list)
            and isinstance(collection.get("deselected"), list)):
        raise InvalidArgument(f"{name} does not record its collection (the 'collection' key of an ntkcheck "
                              "run with shard support): cannot check that no test is missing; rerun it")
    return collection


def _complete(parts) -> tuple[list, list]:
    """(collected, deselected on purpose) of the whole merged run; raises if a shard or test is missing."""
    runs = {}  # one pytest run (one collection) -> its parts
    for name, document in parts:
        collection = _collection(name, document)
        runs.setdefault(tuple(collection["collected"]), []).append((name, document, collection))
    collected, seen, deselected = [], set(), []
    for ids, members in runs.items():
        names = [name for name, _, _ in members]
        splits = [c.get("split") for _, _, c in members]
        if None in splits and len(members) > 1:
            raise InvalidArgument(f"{names[0]} and {names[1]} ran the same collection without pytest-split "
                                  "(--splits K --group i): they repeat each other")
        if splits[0] is not None:
            total = {s["splits"] for s in splits}
            if len(total) > 1:
                raise InvalidArgument(f"{', '.join(names)} split one collection into different numbers of "
                                      f"shards ({sorted(total)})")
            total = total.pop()
            groups = sorted(s["group"] for s in splits)
            if len(groups) != len(set(groups)):
                raise InvalidArgument(f"{', '.join(names)} hold group(s) {groups} of {total}: a group given twice")
            missing = sorted(set(range(1, total + 1)) - set(groups))
            if missing:
                raise InvalidArgument(f"shard(s) {missing} of {total} missing: {', '.join(names)} hold group(s) "
                                      f"{groups} of one --splits {total} run")
        ran = {nodeid for _, document, _ in members for nodeid in document["tests"]}
        everywhere = set.intersection(*(set(c["deselected"]) for _, _, c in members))
        lost = set(ids) - ran - everywhere
        if lost:
            raise InvalidArgument(f"{len(lost)} collected test(s) ran in none of {', '.join(names)} "
                                  f"({_quote(lost)}): a shard stopped early or is missing")
        collected += [nodeid for nodeid in ids if nodeid not in seen]  # a seed-free test: in every block
        seen.update(ids)
        deselected += sorted(everywhere)
    return collected, deselected


def merge_documents(parts: list[tuple[str, dict]]) -> dict:
    """One claims document from ``parts``, a list of (name, validated document); InvalidArgument (one
    line, naming the parts) on mismatched settings, an overlap or a missing shard or test."""
    if not parts:
        raise InvalidArgument("give at least one claims JSON to merge")
    names = [name for name, _ in parts]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"{next(n for n in names if names.count(n) > 1)} given twice")
    _same_settings(parts)
    _no_overlap(parts)
    collected, deselected = _complete(parts)
    first = parts[0][1]
    records = sorted((r for _, d in parts for r in d["records"]), key=lambda r: (r["test"], r["index"]))
    tests = {}
    for _, document in parts:
        for nodeid, test in document["tests"].items():
            tests.setdefault(nodeid, test)
    merged = {key: value for key, value in first.items() if key not in PER_SHARD_KEYS}
    merged.update({
        "started": min(d["started"] for _, d in parts),
        "machine": first["machine"],  # each part's own under merged_from
        "summary": {v.value: sum(r["verdict"] == v.value for r in records) for v in Verdict},
        "tests": dict(sorted(tests.items())),
        "records": records,
        "collection": {"collected": collected, "deselected": deselected, "split": None},
        "merged_from": [entry for name, d in parts for entry in _provenance(name, d)],
    })
    by_section = summary_by_section(records)
    if by_section is not None:
        merged["summary_by_section"] = by_section
    if first.get("base_seeds"):
        merged["base_seeds"] = sorted({s for _, d in parts for s in d["base_seeds"]})
    return validate(merged, "the merged document")


def _provenance(name, document) -> list[dict]:
    if document.get("merged_from"):  # a merged document merged again: keep its parts
        return document["merged_from"]
    return [{"file": name, "started": document["started"], "machine": document["machine"],
             "split": document["collection"].get("split"), "tests": len(document["tests"]),
             "records": len(document["records"]), "base_seeds": document.get("base_seeds")}]


def add_arguments(parser) -> None:
    """The arguments of ``ntkcheck merge`` (registered by ntkcheck.cli)."""
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("parts", nargs="+", metavar="SHARD.json",
                        help="claims JSONs of the shards (pytest --splits K --group i --claims-json ...) or "
                             "of calibration seed blocks")
    parser.add_argument("--out", required=True, type=Path, metavar="ALL.json", help="the merged claims JSON")


def run(args) -> int:
    """Merge the documents named in ``args``; 0, or 2 with one line on stderr."""
    try:
        parts = [(str(path), load_results(path)) for path in args.parts]
        merged = merge_documents(parts)
    except InvalidArgument as exc:
        print(f"ntkcheck merge: error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=1, sort_keys=True, allow_nan=False) + "\n")
    splits = [p["split"] for p in merged["merged_from"] if p["split"]]
    shape = f" (groups of --splits {splits[0]['splits']})" if splits else ""
    print(f"merged {len(parts)} claims JSON(s){shape}: {len(merged['tests'])} tests, {len(merged['records'])} "
          f"records, {len(merged['collection']['deselected'])} deselected in every part -> {args.out}")
    return 0
