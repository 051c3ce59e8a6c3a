"""The API as a type checker sees it (issue 18 item 7): ``ntkcheck/__init__.py`` exports lazily (PEP 562
``__getattr__``), which a type checker cannot follow, so it also imports every name of ``__all__`` under
``TYPE_CHECKING``. These tests run mypy (``mypy.api.run``; skipped without mypy, which is in the [test] extra) on a
snippet that uses the public API: the real signatures are revealed, not ``Any``, and wrongly typed calls are
errors. They also check the package's own modules, and keep the static imports in step with the lazy table.

mypy's cache lives in pytest's cache folder (.pytest_cache/d/mypy): a cold run analyses numpy and torch and takes
~20-30 s on the shared 2-core machine, a warm one a few seconds."""
import ast
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest

import ntkcheck

PACKAGE = Path(ntkcheck.__file__).parent
# Modules with mypy errors left in them (all false positives of Optional narrowing or of NamedTuple(*columns)
# unpacking that need the code restructured, not wrong annotations of the API); every other module of the package,
# including every new one, must be clean. Measured with mypy 2.4 (--ignore-missing-imports, default strictness):
#   calibrate (4: Optional ints/floats passed on), figure2 (6: Curve.fit is Optional until fitted),
#   limiting (4: X2 / relu_square_sum narrowed through a flag, not through `is None`), merge (3: empty dict
#   annotations), plots (2: a numpy array where matplotlib's stubs want Sequence[float]; an empty list),
#   plugin (1: pytest.fail.Exception is not a class to mypy), training (4: Trajectory(*columns) unpacking).
NOT_YET_CLEAN = {"calibrate", "figure2", "limiting", "merge", "plots", "plugin", "training"}
# Which false positives mypy finds depends on its version and on numpy's stubs (mypy 1.10 adds 17 "Cannot determine
# type" errors in checks.py, where it types a numpy expression as object): the package check runs on what the set
# was measured with, or newer. The snippet tests below run on every mypy from the floor of the [test] extra (1.10).
PACKAGE_CHECK_MEASURED = {"mypy": (2, 4), "numpy": (2, 0)}
ARGS = ["--ignore-missing-imports", "--no-error-summary", "--show-error-codes", "--hide-error-context",
        "--no-pretty"]


@pytest.fixture(scope="module")
def mypy_run(request, tmp_path_factory):
    """mypy.api.run with a persistent cache (a fresh one under -p no:cacheprovider); returns (stdout, status)."""
    api = pytest.importorskip("mypy.api", reason="mypy is in the [test] extra: pip install mypy")
    cache = (request.config.cache.mkdir("mypy") if getattr(request.config, "cache", None) is not None
             else tmp_path_factory.mktemp("mypy-cache"))

    def run(*args):
        stdout, stderr, status = api.run([*ARGS, "--cache-dir", str(cache), *args])
        assert status in (0, 1), f"mypy crashed (status {status}): {stderr}{stdout}"
        return stdout, status

    with pytest.MonkeyPatch.context() as patch:
        if "site-packages" not in PACKAGE.parts:  # a checkout: the package imported here, not an installed one
            patch.setenv("MYPYPATH", str(PACKAGE.parent))  # (mypy refuses site-packages in MYPYPATH)
        yield run


def test_static_imports_match_the_lazy_exports():
    """The ``if TYPE_CHECKING:`` block imports exactly the names of ``_EXPORTS``, each from its module."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", None)
                 == "TYPE_CHECKING")
    static = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    assert static == ntkcheck._EXPORTS
    assert sorted(["InvalidArgument", *static]) == ntkcheck.__all__


def test_the_static_imports_cost_nothing_at_run_time():
    """Importing the package still loads no engine module (the lazy exports' reason: no torch)."""
    import subprocess
    import sys

    code = "import sys, ntkcheck; print(sorted(m for m in sys.modules if m.startswith(('ntkcheck', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['ntkcheck', 'ntkcheck._validate']"


def _signature_pattern(function) -> str:
    """The parameter names of ``function`` as mypy prints them in a callable type, in order."""
    names = [p.name for p in inspect.signature(function).parameters.values() if p.name != "self"]
    return r"def \(" + r".*".join(rf"\b{re.escape(name)}: " for name in names)


REVEALED = {  # name -> what mypy must reveal: the real parameters and the return type
    "empirical_ntk": (ntkcheck.empirical_ntk, r"-> numpy\.ndarray"),
    "limiting_ntk": (ntkcheck.limiting_ntk, r"-> numpy\.ndarray"),
    "lambda_min": (ntkcheck.lambda_min, r"-> builtins\.float|-> float"),
    "ReLUNet": (ntkcheck.ReLUNet, r"-> ntkcheck\.network\.ReLUNet"),
}

SNIPPET = '''\
import numpy as np
import torch

import ntkcheck

{reveals}
net = ntkcheck.ReLUNet((3, 16, 16, 1), seed=0, device=torch.device("cpu"))
x = ntkcheck.sample_data("gaussian", n=8, d=3, seed=0)
kernel = ntkcheck.empirical_ntk(net, x)
value: float = ntkcheck.lambda_min(kernel, psd=True) + ntkcheck.lambda_min(ntkcheck.limiting_ntk(x, depth=3))
ntkcheck.lambda_min("x", 3)  # WRONG: psd is keyword-only (and a bool)
ntkcheck.empirical_ntk(net, x, per_layr=True)  # WRONG: no such keyword
ntkcheck.ReLUNet((3, 16, 1), init=3)  # WRONG: init is a str
ntkcheck.no_such_function()  # WRONG: not exported
'''


@pytest.fixture(scope="module")
def snippet_report(mypy_run, tmp_path_factory):
    """mypy's lines on the snippet, by line number (errors of the package's own modules are not reported here:
    --follow-imports=silent)."""
    reveals = "\n".join(f"reveal_type(ntkcheck.{name})" for name in ntkcheck.__all__)
    path = tmp_path_factory.mktemp("typing") / "use_api.py"
    source = SNIPPET.format(reveals=reveals)
    path.write_text(source)
    stdout, _ = mypy_run("--follow-imports=silent", str(path))
    by_line = {}
    for line in stdout.splitlines():
        match = re.match(rf"{re.escape(str(path))}:(\d+): (\w+): (.*)", line)
        if match is None:  # older mypy adds notes such as 'ntkcheck/ntk.py:32: note: "empirical_ntk" defined here'
            assert ": note: " in line, f"a line of mypy not about the snippet: {line}"
            continue
        by_line.setdefault(int(match[1]), []).append((match[2], match[3]))
    return source.splitlines(), by_line


@pytest.mark.slow  # mypy on the snippet: ~25 s cold (numpy and torch analysed), a few seconds warm
def test_every_export_is_seen_with_its_type(snippet_report):
    lines, by_line = snippet_report
    revealed = {}
    for number, text in enumerate(lines, 1):
        if text.startswith("reveal_type("):
            (kind, message), = by_line[number]
            assert kind == "note" and message.startswith("Revealed type is ")
            revealed[text[len("reveal_type(ntkcheck."):-1]] = message.removeprefix("Revealed type is ").strip('"')
    assert sorted(revealed) == ntkcheck.__all__
    anys = [name for name, kind in revealed.items() if kind == "Any"]
    assert not anys, f"exports a type checker sees as Any: {anys}"
    for name, (function, returns) in REVEALED.items():
        assert re.search(_signature_pattern(function), revealed[name]), (name, revealed[name])
        assert re.search(returns, revealed[name]), (name, revealed[name])
    # device takes a torch.device too (issue 18 item 7), and the annotation says so
    device = r"device: ((builtins\.)?str \| torch\.|Union\[(builtins\.)?str, torch\.)"  # mypy 2.4 | mypy 1.10
    assert re.search(device, revealed["ReLUNet"]), revealed["ReLUNet"]


@pytest.mark.slow
def test_wrong_calls_are_errors_and_right_ones_are_not(snippet_report):
    lines, by_line = snippet_report
    errors = {number: [m for kind, m in by_line.get(number, []) if kind == "error"]
              for number in range(1, len(lines) + 1)}
    wrong = {number for number, text in enumerate(lines, 1) if "# WRONG" in text}
    assert {number for number, found in errors.items() if found} == wrong, by_line
    expected = {"lambda_min(\"x\"": r"Too many positional arguments", "per_layr": r"Unexpected keyword argument "
                r"\"per_layr\"", "init=3": r"incompatible type \"int\"; expected \"str\"",
                "no_such_function": r"has no attribute \"no_such_function\""}
    for number in wrong:
        fragment = next(f for f in expected if f in lines[number - 1])
        assert any(re.search(expected[fragment], m) for m in errors[number]), (lines[number - 1], errors[number])


def _modules():
    return sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]))


@pytest.mark.slow  # mypy on the package: ~20 s cold
def test_the_package_type_checks(mypy_run):
    """No mypy errors in the package's modules, less NOT_YET_CLEAN (the others are analysed, not reported)."""
    from importlib.metadata import version

    for name, measured in PACKAGE_CHECK_MEASURED.items():
        found = tuple(int(part) for part in re.findall(r"\d+", version(name))[:2])
        if found < measured:
            pytest.skip(f"NOT_YET_CLEAN was measured with {name} >= {'.'.join(map(str, measured))}, "
                        f"this is {version(name)}")
    assert NOT_YET_CLEAN <= set(_modules()), "a module of NOT_YET_CLEAN is gone: drop it from the set"
    checked = ["ntkcheck", *(f"ntkcheck.{m}" for m in _modules() if m not in NOT_YET_CLEAN and m != "__main__")]
    stdout, status = mypy_run("--follow-imports=silent", *(arg for m in checked for arg in ("-m", m)))
    assert status == 0, f"mypy errors in modules that must be clean:\n{stdout}"
    assert (PACKAGE / "py.typed").is_file()  # PEP 561: the marker that makes a checker read our annotations
