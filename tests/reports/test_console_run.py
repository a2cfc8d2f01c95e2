"""A clearer run: the format header, the receiver's answer under a failure, the built-in receiver's label."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from emitter.cli import app
from emitter.reports.files import format_header

NOW = "2024-05-01T12:00:00Z"


def test_a_failure_shows_what_the_receiver_answered_apart_from_what_was_sent(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    unset = "unset: [ProcedureStateChangeEvent.MediaProcessResultSet]"
    scenario.write_text(f"version: 1\nsteps:\n  - event: procedure\n    {unset}\n")
    target = "app:tests.fuzz.receivers:iterates_missing_list"
    done = CliRunner().invoke(
        app, ["run", str(scenario), "-f", "v3", "--speed", "0", "-t", target, "--now", NOW]
    )
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    reason = next(i for i, line in enumerate(lines) if line.startswith("#0 procedure: status 500"))
    assert lines[reason + 1].startswith("    answered: in-process app raised KeyError")
    assert format_header("v3") in done.stderr


def test_the_header_names_the_format_and_how_to_switch() -> None:
    assert format_header("v2") == "format v2 (legacy); --format v3 for accounts registered after 2019"
    assert "--format v3" in format_header(None)
    runner = CliRunner()
    done = runner.invoke(app, ["run", "clip", "-f", "v2", "--speed", "0", "--seed", "1", "--now", NOW])
    assert done.exit_code == 0, done.output
    assert format_header("v2") in done.stderr
    received = [line for line in done.stdout.splitlines() if " -> 200" in line]
    assert len(received) == 2 and all(line.endswith("  [built-in receiver]") for line in received)
