"""The `api` command: usage errors, and one real process the SDK talks to, stopped by SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from tencentcloud.vod.v20180717 import models
from typer.testing import CliRunner

from emitter.cli import app
from emitter.vodapi.local import LocalVod


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--secret-id", "AKIDx"], "--secret-key"),
        (["--secret-key", "k"], "--secret-id"),
        (["--format", "cdnetworks"], "--format"),
        (["--notification-url", "ftp://x"], "--notification-url"),
    ],
)
def test_usage_errors_name_the_flag(args: list[str], flag: str) -> None:
    result = CliRunner().invoke(app, ["api", "--port", "0", *args])
    assert result.exit_code == 2
    assert flag in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_api_process_serves_the_sdk_and_stops_on_sigterm() -> None:
    command = shutil.which("vod-emitter")
    assert command is not None
    env = {**os.environ, "VOD_EMITTER_SECRET_ID": "AKIDcli", "VOD_EMITTER_SECRET_KEY": "cliKey"}
    process = subprocess.Popen(
        [command, "api", "--port", "0", "--queue", "delete", "--seed", "1"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONIOENCODING": "utf-8"},
    )
    try:
        assert process.stderr is not None
        banner = [process.stderr.readline() for _ in range(5)]
        found = re.search(r"http://(127\.0\.0\.1:\d+)/", banner[0])
        assert found, banner
        local = LocalVod(secret_id="AKIDcli", secret_key="cliKey")
        local.server.port = int(found.group(1).split(":")[1])  # point the SDK helper at the process
        client = local.sdk_client()
        events = client.PullEvents(models.PullEventsRequest()).EventSet
        assert events and {event.EventType for event in events} == {"FileDeleted"}
        assert any("AKIDcli" in line for line in banner)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0
    assert "stopped: " in rest and "queued" in rest
