"""Print pip constraints pinning every declared dependency to its floor: the runtime dependencies and the
extras named on the command line (default: test) of pyproject.toml, `name>=X` -> `name==X`.

Used by the minimum-versions job (.github/workflows/ci.yml): `pip install -e ".[test]" -c constraints.txt`
installs exactly the floors, and the tests of the library then show that the floors are true. A declared
dependency without a `>=` floor is an error (it would leave the job free to pick any version).
Usage: python .ci/minimum_constraints.py [EXTRA ...] > constraints.txt
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)\s*(?:;.*)?$")


def floors(extras=("test",), pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{distribution name (lower case): floor version} of the dependencies and the given extras."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    out = {}
    for requirement in requirements:
        match = FLOOR.match(requirement)
        if match is None:
            raise SystemExit(f"{pyproject}: {requirement!r} has no single '>=' floor")
        out[match[1].lower()] = match[2]
    return out


def main(argv: list[str]) -> int:
    for name, version in sorted(floors(tuple(argv) or ("test",)).items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
