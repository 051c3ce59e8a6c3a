"""The ``ntkcheck`` command (also ``python -m ntkcheck``): verify | figure2 | report | compare | calibrate
| merge.

Each command is an ``add_arguments(parser)`` / ``run(args) -> int`` pair living in its own module and
imported only when that command is chosen, so ``ntkcheck report`` never loads torch, and a missing or
broken optional module breaks its own command with one line instead of the whole CLI.

Conventions: ``--help`` on every command; a user mistake (bad option, missing file, unreadable JSON)
prints one line ``ntkcheck CMD: error: ...`` to stderr and exits with 2, never a traceback; ``verify``
exits with pytest's status, so CI can gate on it.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import ntkcheck
from ntkcheck._validate import InvalidArgument, as_seed
from ntkcheck.profiles import DEFAULT_PROFILE, PROFILES

USAGE_ERROR = 2  # argparse's and pytest's exit status for a usage error
PROG = "ntkcheck"


class UsageError(Exception):
    """A user mistake: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line (the usage stays one ``--help`` away)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _verify_arguments(parser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                        help=f"budget of the claims run (default {DEFAULT_PROFILE})")
    parser.add_argument("--seed", type=int, default=0, help="base seed of every claim check (default 0)")
    parser.add_argument("--out", type=Path, default=Path("ntkcheck-report"), metavar="DIR",
                        help="folder for claims.json and the report (default ./ntkcheck-report)")
    parser.add_argument("--claims", type=Path, default=None, metavar="DIR",
                        help="the claims folder to run (default ./claims when there is one, as in the repository "
                             "root, else the claims installed with the package, ntkcheck_claims)")
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="extra pytest arguments after '--', e.g. '-- -n 2 -x'")


def _verify(args) -> int:
    """Run ``pytest CLAIMS --claims-profile P --claims-seed S --claims-json OUT/claims.json``, then build
    the report from the JSON. Returns pytest's exit status (the suite's verdict)."""
    seed = as_seed(args.seed, "--seed")
    missing = [name for name in VERIFY_NEEDS if importlib.util.find_spec(name) is None]
    if missing:  # before any work: the report at the end needs matplotlib, the claims pytest and hypothesis
        raise UsageError(f"{PROG} verify: error: needs {', '.join(missing)} (not installed in {sys.executable}): "
                         "pip install 'ntkcheck[claims]'")
    args.claims = _claims_folder(args.claims)
    results = args.out / "claims.json"
    results.unlink(missing_ok=True)  # a stale file must not pass for this run's results
    command = [sys.executable, "-m", "pytest", str(args.claims), "--claims-profile", args.profile,
               "--claims-seed", str(seed), "--claims-json", str(results), *args.pytest_args]
    print("running: " + " ".join(command), flush=True)
    status = subprocess.call(command)
    if not results.is_file():
        print(f"{PROG} verify: pytest exited with status {status} and wrote no {results}; no report",
              file=sys.stderr)
        return status or USAGE_ERROR
    from ntkcheck import report

    files = report.build_report(report.load_results(results), args.out)
    print(f"claims: {results}; report: {files.html} (and {files.markdown.name}); pytest exit status {status}")
    return status


VERIFY_NEEDS = ("pytest", "hypothesis", "matplotlib")  # the extra [claims]
# command -> (optional packages it needs, the extra that installs them); checked before the command does any work,
# so that a missing one is one line, not a traceback after a whole sweep (verify checks its own, above)
NEEDS = {"figure2": (("matplotlib",), "plots"), "report": (("matplotlib",), "plots")}


def check_needs(name: str) -> None:
    """A UsageError naming the command, the first optional package it needs that does not import, and the pip
    command that installs it. Imports them (matplotlib: ~0.1 s), so that a broken install is caught too."""
    packages, extra = NEEDS.get(name, ((), None))
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError as exc:
            why = (f"not installed in {sys.executable}" if isinstance(exc, ModuleNotFoundError)
                   and exc.name == package else f"it does not import: {exc}")
            raise UsageError(f"{PROG} {name}: error: needs {package} ({why}): "
                             f"pip install 'ntkcheck[{extra}]'") from None


def _claims_folder(chosen: Path | None) -> Path:
    """--claims, or ./claims, or the installed claims package (ntkcheck_claims)."""
    from ntkcheck import shipped

    if chosen is not None:
        if not chosen.is_dir():
            raise UsageError(f"{PROG} verify: error: claims folder {str(chosen)!r} not found")
        return chosen
    installed = shipped.claims_folder()
    if Path("claims").is_dir() or installed is None:
        if not Path("claims").is_dir():
            raise UsageError(f"{PROG} verify: error: no ./claims folder and no installed {shipped.CLAIMS_PACKAGE} "
                             "package (pass --claims DIR, or install the ntkcheck wheel)")
        return Path("claims")
    return installed


# name -> (module holding add_arguments/run, or None for verify above; one-line help)
COMMANDS = {
    "verify": (None, "run the paper's claims (pytest claims/), write the JSON and build the report"),
    "figure2": ("ntkcheck.figure2", "reproduce Figure 2 (both panels): PNG, SVG, CSV and JSON"),
    "report": ("ntkcheck.report", "build the HTML and Markdown report of a claims JSON"),
    "compare": ("ntkcheck.compare", "what changed between two claims JSON runs (regressions, moved numbers)"),
    "calibrate": ("ntkcheck.calibrate", "false-fail rate of the claims across base seeds"),
    "merge": ("ntkcheck.merge", "join the claims JSONs of a sharded run (or calibration blocks) into one"),
}


def _load(name: str):
    """(add_arguments, run) of a command; a missing module is a one-line error for that command only."""
    module_name = COMMANDS[name][0]
    if module_name is None:
        return _verify_arguments, _verify
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{PROG} {name}: error: this command is unavailable ({exc})") from None
    return module.add_arguments, module.run


def _chosen(argv: list[str]) -> str | None:
    """The command named in argv (the first word that is not an option), if it is a known one."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser, with the options of the chosen command only (the others stay unimported)."""
    parser = _Parser(prog=PROG, description="Executable checks of Nguyen, Mondelli & Montufar (ICML 2021): "
                                            "the smallest eigenvalue of the NTK of deep ReLU nets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {ntkcheck.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=_Parser)
    for name, (_, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if name == _chosen(argv):
            add_arguments, run = _load(name)
            add_arguments(sub)
            sub.set_defaults(run=run)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``ntkcheck`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = build_parser(argv).parse_args(argv)
        check_needs(args.command)
        return args.run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(exc, file=sys.stderr)
    except (InvalidArgument, OSError) as exc:  # bad values, unreadable/unwritable paths
        print(f"{PROG} {_chosen(argv) or ''}: error: {exc}".replace(" :", ":"), file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return USAGE_ERROR
