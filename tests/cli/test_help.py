"""Every command's --help prints (help texts are rich markup: a stray bracket is a crash, not a typo)."""

from __future__ import annotations

import pytest

from emitter.cli import COMMAND_MODULES
from tests.helpers import cli

COMMANDS = sorted(command for commands in COMMAND_MODULES.values() for command in commands)


@pytest.mark.parametrize("command", [*COMMANDS, "events show"])
def test_every_command_prints_its_help(command: str) -> None:
    done = cli(*command.split(), "--help", check_code=0)
    assert f"Usage: vod-emitter {command}" in " ".join(done.stdout.split())
