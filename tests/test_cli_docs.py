"""docs/cli.md names every option of every ``ntkcheck`` command (as its ``--help`` lists them) and every pytest
option of the plugin: a new option without its documentation fails here."""
import re
from pathlib import Path

import pytest

from ntkcheck import cli

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "cli.md").read_text()


def _options(command: str) -> list[list[str]]:
    """The spellings of each option of ``command`` (e.g. ['-n', '--workers']), --help left out."""
    parser = cli.build_parser([command])
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return [action.option_strings for action in sub._actions if action.option_strings and action.dest != "help"]


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_every_command_option_is_documented(command):
    assert f"ntkcheck {command}" in DOC
    missing = [spellings for spellings in _options(command)
               if not any(re.search(rf"`[^`]*{re.escape(option)}\b", DOC) for option in spellings)]
    assert not missing, f"docs/cli.md does not name these options of `ntkcheck {command}`: {missing}"


def test_every_plugin_option_is_documented():
    options = re.findall(r'addoption\(\s*"(--[a-z-]+)"', (ROOT / "ntkcheck" / "plugin.py").read_text())
    assert "--claims-threads" in options
    missing = [option for option in options if f"`{option}" not in DOC]
    assert not missing, f"docs/cli.md does not document these pytest options: {missing}"
