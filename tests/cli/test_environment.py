"""Options from the environment (click's auto_envvar_prefix): the same names as ever, named by --help."""

from __future__ import annotations

import json

import typer.main

from emitter.cli import app
from tests.helpers import cli

NOW = "2024-05-01T12:00:00Z"

# Every variable the hand-written envvar= of earlier versions read; each must still work.
KNOWN = [
    "VOD_EMITTER_BACKOFF",
    "VOD_EMITTER_BACKOFF_FACTOR",
    "VOD_EMITTER_CA_BUNDLE",
    "VOD_EMITTER_CONCURRENCY",
    "VOD_EMITTER_ENVELOPE",
    "VOD_EMITTER_FORMAT",
    "VOD_EMITTER_HEADER",
    "VOD_EMITTER_INSECURE",
    "VOD_EMITTER_JITTER",
    "VOD_EMITTER_JOURNAL",
    "VOD_EMITTER_JUNIT",
    "VOD_EMITTER_LOAD_CONCURRENCY",
    "VOD_EMITTER_LOAD_DURATION",
    "VOD_EMITTER_LOAD_JSON",
    "VOD_EMITTER_LOAD_MAX_ERROR_RATE",
    "VOD_EMITTER_LOAD_MAX_IN_FLIGHT",
    "VOD_EMITTER_LOAD_RATE",
    "VOD_EMITTER_NOW",
    "VOD_EMITTER_OPTION",
    "VOD_EMITTER_OUT",
    "VOD_EMITTER_PARAM",
    "VOD_EMITTER_RECEIVE_BODY",
    "VOD_EMITTER_RECEIVE_DELAY",
    "VOD_EMITTER_RECEIVE_DROP",
    "VOD_EMITTER_RECEIVE_DROP_FIRST",
    "VOD_EMITTER_RECEIVE_FAIL_FIRST",
    "VOD_EMITTER_RECEIVE_FAIL_STATUS",
    "VOD_EMITTER_RECEIVE_HOST",
    "VOD_EMITTER_RECEIVE_JOURNAL",
    "VOD_EMITTER_RECEIVE_PORT",
    "VOD_EMITTER_RECEIVE_QUIET",
    "VOD_EMITTER_RECEIVE_SIGN_STATUS",
    "VOD_EMITTER_RECEIVE_STATUS",
    "VOD_EMITTER_RECEIVE_VERBOSE",
    "VOD_EMITTER_REPORT",
    "VOD_EMITTER_RESUME",
    "VOD_EMITTER_RETRIES",
    "VOD_EMITTER_RETRY_ON_CONNECT_ERROR",
    "VOD_EMITTER_RETRY_ON_STATUS",
    "VOD_EMITTER_REVERSE_WINDOW",
    "VOD_EMITTER_SEED",
    "VOD_EMITTER_SET",
    "VOD_EMITTER_SHUFFLE_WINDOW",
    "VOD_EMITTER_SIGN_CASE",
    "VOD_EMITTER_SIGN_IN",
    "VOD_EMITTER_SIGN_KEY",
    "VOD_EMITTER_SIGN_TTL",
    "VOD_EMITTER_SPEED",
    "VOD_EMITTER_TARGET",
    "VOD_EMITTER_TIMEOUT",
    "VOD_EMITTER_UNSET",
]


def _variables() -> set[str]:
    """The variable each option of each command reads (explicit, else its command's prefix)."""
    found: set[str] = set()

    def walk(group: object) -> None:
        for command in getattr(group, "commands", {}).values():
            walk(command)
            prefix = (command.context_settings or {}).get("auto_envvar_prefix")
            for param in command.params:
                if param.param_type_name == "option" and param.name not in ("help",):
                    envvar = param.envvar or (f"{prefix}_{param.name.upper()}" if prefix else None)
                    found.update([envvar] if isinstance(envvar, str) else envvar or ())

    walk(typer.main.get_command(app))
    return found


def test_every_variable_of_earlier_versions_is_still_read() -> None:
    assert set(KNOWN) <= _variables()


def test_help_names_the_variables() -> None:
    shown = cli("run", "--help", check_code=0, env={"COLUMNS": "200"}).stdout
    for name in ("VOD_EMITTER_TARGET", "VOD_EMITTER_SEED", "VOD_EMITTER_FORMAT", "VOD_EMITTER_SIGN_KEY"):
        assert name in shown
    assert "VOD_EMITTER_RECEIVE_PORT" in cli("receive", "--help", check_code=0, env={"COLUMNS": "200"}).stdout


def test_a_repeatable_option_holds_one_value_per_line_spaces_kept() -> None:
    env = {"VOD_EMITTER_SET": "data.fileName=My Video\ndata.status=-1", "VOD_EMITTER_SEED": "3"}
    done = cli("render", "upload", "--now", NOW, check_code=0, env=env)
    payload = json.loads(done.stdout)
    assert payload["data"]["fileName"] == "My Video" and payload["data"]["status"] == -1
    assert done.stderr.startswith("seed 3 ")
    flags = cli("render", "upload", "--now", NOW, "--seed", "3", "--set", "data.fileName=My Video").stdout
    assert json.loads(flags)["data"]["fileName"] == "My Video"


def test_shell_completion_can_be_installed() -> None:
    assert "--install-completion" in cli("--help", check_code=0).stdout
