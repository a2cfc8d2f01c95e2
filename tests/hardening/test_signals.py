"""SIGINT and SIGTERM at random moments of run and load: complete reports, a closed journal, exact resume."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from emitter import interrupts
from emitter.receiver.server import Receiver

SCRIPT = Path(sys.executable).parent / "vod-emitter"
NOW = "2024-05-01T12:00:00Z"
TIMEOUT = 60
# 12 sends spread over ~1.2 s at --speed 1: a signal at a random moment lands before, during or between sends
SCENARIO = "version: 1\nsteps:\n  - event: upload\n    repeat: 6\n    delay: 100ms\n" + (
    "  - event: delete\n    repeat: 6\n    delay: 100ms\n"
)
PLANNED = 12


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOD_EMITTER_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def wait_until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_trap_stops_on_the_first_signal_and_aborts_on_the_second() -> None:
    calls: list[str] = []
    saved = {signum: signal.getsignal(signum) for signum in interrupts.SIGNALS}

    async def main() -> None:
        with interrupts.trap(
            lambda: calls.append("stop"), lambda: calls.append("abort"), calls.append, lambda: 3
        ):
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(0.05)

    try:
        asyncio.run(main())
        assert calls[0].startswith("interrupted by SIGTERM: sending nothing more; waiting for 3 in flight")
        assert calls[1:] == ["stop", "abort"]
        assert interrupts.exit_code(130) == 143 and interrupts.exit_code(1) == 1
        os.kill(os.getpid(), signal.SIGINT)  # during teardown: noted, not raised
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        interrupts.reset()
    assert interrupts.exit_code(130) == 130


def _check_run_files(report: Path, junit: Path, journal: Path) -> set[int]:
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    assert summary is None or summary["planned"] == PLANNED
    ET.parse(junit)
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert records[0]["type"] == "run" and records[-1]["type"] == "end"
    return {r["index"] for r in records if r["type"] == "event" and r["result"] == "delivered"}


@pytest.mark.parametrize("round_", range(4))
def test_run_interrupted_at_a_random_moment_resumes_exactly(tmp_path: Path, round_: int) -> None:
    chance = random.Random(round_)
    signum = (signal.SIGTERM, signal.SIGINT)[round_ % 2]
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    report, junit, journal = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "run.jsonl"
    with Receiver().running_in_thread() as receiver:
        args = ["--target", receiver.url, "--seed", "5", "--now", NOW]
        process = subprocess.Popen(
            [
                str(SCRIPT),
                "run",
                str(path),
                *args,
                "--journal",
                str(journal),
                "--report",
                str(report),
                "--junit",
                str(junit),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        try:
            wait_until(lambda: journal.exists())
            time.sleep(chance.uniform(0.0, 0.8))
            process.send_signal(signum)
            if round_ >= 2:
                time.sleep(chance.uniform(0.0, 0.05))
                process.send_signal(signum)  # a second one, during the stop or the teardown
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            process.kill()
        assert "Traceback" not in err
        expected = {signal.SIGTERM: 143, signal.SIGINT: 130}[signum]
        assert process.returncode in (expected, 0), err  # 0: it finished before the signal
        delivered = _check_run_files(report, junit, journal)
        before = len(receiver.records)
        done = subprocess.run(
            [str(SCRIPT), "run", "--resume", str(journal), "--speed", "0", "--target", receiver.url],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=environment(),
        )
        assert done.returncode == 0, done.stderr
        resent = len(receiver.records) - before
        assert resent == PLANNED - len(delivered)  # exactly the undelivered, nothing lost, nothing twice
        bodies = {r.body for r in receiver.records}
        rendered = subprocess.run(
            [str(SCRIPT), "render", str(path), "--seed", "5", "--now", NOW],
            capture_output=True,
            timeout=TIMEOUT,
            env=environment(),
        ).stdout.splitlines()
        assert bodies == set(rendered)  # every planned event reached the receiver


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_load_interrupted_writes_its_json_and_exits_with_the_signal_code(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "load.json"
    with Receiver(keep_records=False).running_in_thread() as receiver:
        process = subprocess.Popen(
            [
                str(SCRIPT),
                "load",
                "happy-path",
                "--target",
                receiver.url,
                "--rate",
                "50",
                "--duration",
                "20s",
                "--json",
                str(out),
                "--seed",
                "3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        try:
            wait_until(lambda: receiver.received >= 5)
            time.sleep(random.Random(signum).uniform(0.0, 0.3))
            process.send_signal(signum)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            process.kill()
        received = receiver.received
    assert "Traceback" not in err
    assert process.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["interrupted"] is True
    # nothing lost: every answer counted reached the receiver, every request it got was a counted send
    assert data["answered"]["total"] <= received <= data["sent"]
    assert data["sent"] == data["answered"]["total"] + data["errors"]["total"] + data["interrupted_in_flight"]
