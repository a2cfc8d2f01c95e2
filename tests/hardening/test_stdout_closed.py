"""stdout's reader going away (`vod-emitter ... | head -1`): quiet; a printing command exits 141,
a run goes on and its report holds every send (console script: a real pipe closed by its reader)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SCRIPT, TIMEOUT, environment


def closed_stdout(*args: str) -> tuple[int, str]:
    """Run the console script with a stdout pipe whose reader is gone before anything is written."""
    process = subprocess.Popen(
        [str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(), text=True
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    return process.wait(TIMEOUT), stderr


@pytest.mark.parametrize("args", [("render", "happy-path", "--seed", "1"), ("events",)])
def test_a_printing_command_stops_quietly_with_141(args: tuple[str, ...]) -> None:
    code, stderr = closed_stdout(*args)
    assert code == 141  # 128 + SIGPIPE, as cat or grep in the same place; not 1 ("a delivery failed")
    assert "Traceback" not in stderr and "Broken pipe" not in stderr and "error" not in stderr


def test_a_run_goes_on_and_reports_every_send(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, stderr = closed_stdout("run", "happy-path", "--speed", "0", "--seed", "1", "--report", str(report))
    assert code == 0, stderr  # the run's own exit code
    assert "Traceback" not in stderr and "Unhandled exception" not in stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"]["delivered"] == data["summary"]["planned"] == len(data["events"]) == 4
