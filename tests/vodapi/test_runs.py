"""`run --mode pull` and play_pull: pullable events, hand-outs and confirms reported, deadlines fail."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models
from tencentcloud.vod.v20180717.vod_client import VodClient
from typer.testing import CliRunner

from emitter.api import plan_run
from emitter.cli import app
from emitter.delivery.runner import Timing
from emitter.outcomes import AttemptFinished, Outcome
from emitter.request import RunRequest
from emitter.vodapi.account import Account
from emitter.vodapi.runs import play_pull
from emitter.vodapi.server import VodApiServer

KEYS = ("AKIDrunTest", "runTestKey")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def consume(endpoint: str, seconds: float, confirm: bool = True) -> list[str]:
    """A PULL consumer as applications write it; returns what it saw (event types and errors)."""
    http = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10)
    client = VodClient(Credential(*KEYS), "", ClientProfile(httpProfile=http))
    seen: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            events = client.PullEvents(models.PullEventsRequest()).EventSet or []
            if events and confirm:
                request = models.ConfirmEventsRequest()
                request.EventHandles = [event.EventHandle for event in events]
                client.ConfirmEvents(request)
            seen += [event.EventType for event in events]
        except TencentCloudSDKException as exc:
            seen.append(exc.code)
            time.sleep(0.05)
    return seen


def test_run_mode_pull_ends_when_every_event_is_confirmed(tmp_path: Path) -> None:
    port = free_port()
    seen: list[str] = []
    consumer = threading.Thread(target=lambda: seen.extend(consume(f"127.0.0.1:{port}", 4.0)))
    report = tmp_path / "pull.json"
    args = ["run", "happy-path", "--mode", "pull", "--api-port", str(port), "--format", "v3",
            "--secret-id", KEYS[0], "--secret-key", KEYS[1], "--seed", "4", "--speed", "0",
            "--pull-deadline", "20s", "--report", str(report)]  # fmt: skip
    time.sleep(0)  # the consumer starts once the command runs: its first pulls may find no server
    consumer.start()
    result = CliRunner().invoke(app, args)
    consumer.join(10)
    assert result.exit_code == 0, result.output
    rows = json.loads(report.read_text())["events"]
    assert [row["result"] for row in rows] == ["delivered"] * 4
    assert all(row["history"][0].startswith("handed ") for row in rows)
    assert all("pullable +" in row["reason"] and "confirmed +" in row["reason"] for row in rows)
    in_order = sorted(rows, key=lambda row: row["index"])
    assert [t for t in seen if not t.startswith("Client")] == [row["event_type"] for row in in_order]


def test_nothing_becomes_pullable_after_the_deadline() -> None:
    # delete's second step waits 500 ms (speed 1): past the 200 ms deadline it is never queued
    result = CliRunner().invoke(
        app, ["run", "delete", "--mode", "pull", "-f", "v3", "--pull-deadline", "200ms"]
    )
    assert result.exit_code == 1, result.output
    assert "1 not sent" in result.output


def test_run_mode_pull_fails_events_never_confirmed_by_the_deadline() -> None:
    args = ["run", "delete", "--mode", "pull", "--format", "v3", "--speed", "0",
            "--pull-deadline", "300ms"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "never handed out before the run's deadline" in result.output


def test_a_pull_run_resumes_from_its_journal(tmp_path: Path) -> None:
    journal = tmp_path / "pull.jsonl"
    first = ["run", "delete", "--mode", "pull", "-f", "v3", "--speed", "0", "--pull-deadline", "200ms",
             "--journal", str(journal)]  # fmt: skip
    assert CliRunner().invoke(app, first).exit_code == 1
    again = ["run", "--resume", str(journal), "--mode", "pull", "--pull-deadline", "200ms"]
    resumed = CliRunner().invoke(app, again)
    assert resumed.exit_code == 1, resumed.output  # nothing pulled either time, but no usage error
    assert "never handed out" in resumed.output


def test_run_mode_pull_refuses_a_target_half_a_key_pair_and_cdnetworks(tmp_path: Path) -> None:
    runner = CliRunner()
    cdnetworks = tmp_path / "c.yaml"
    cdnetworks.write_text("version: 1\nname: c\nformat: cdnetworks\nsteps:\n  - event: upload\n")
    with_target = runner.invoke(app, ["run", "delete", "--mode", "pull", "-f", "v3", "-t", "http://x/"])
    assert with_target.exit_code == 2 and "--target" in with_target.output
    half = runner.invoke(app, ["run", "delete", "--mode", "pull", "-f", "v3", "--secret-id", "AKIDx"])
    assert half.exit_code == 2 and "--secret-key" in half.output
    cdn = runner.invoke(app, ["run", str(cdnetworks), "--mode", "pull"])
    assert cdn.exit_code == 2 and "--format" in cdn.output


FAULTY = """\
version: 1
name: pull-faults
format: v3
steps:
  - event: delete
    name: twice
    pull: {duplicate: true}
  - event: delete
    name: late-confirm
    pull: {confirm_expires: true, internal_errors: 1}
"""


def test_scenario_pull_faults_reach_the_consumer(tmp_path: Path) -> None:
    scenario = tmp_path / "faulty.yaml"
    scenario.write_text(FAULTY)
    plan = plan_run([str(scenario)], RunRequest(seed=2))
    account = Account(*KEYS, format="v3", hold=0.05)
    outcomes: list[Outcome] = []
    seen: list[str] = []

    async def main() -> Any:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def started(server: VodApiServer) -> None:
            ready.set_result(server.endpoint)

        run = asyncio.create_task(
            play_pull(
                plan,
                account,
                timing=Timing(speed=0),
                deadline=8.0,
                on_outcome=outcomes.append,
                on_ready=started,
            )
        )
        endpoint = await ready
        consumer = asyncio.to_thread(consume, endpoint, 1.5)
        pulled, seen_now = await asyncio.gather(run, consumer)
        seen.extend(seen_now)
        return pulled

    pulled = asyncio.run(main())
    assert pulled.result.exit_code == 0
    assert seen.count("InternalError") == 1
    assert seen.count("InvalidParameterValue") == 1  # the confirm that expired (then confirmed again)
    twice, late = pulled.events
    assert [m.step for m in twice.history if m.step in ("handed", "duplicated")] == ["handed", "duplicated"]
    assert [m.step for m in late.history].count("confirm-expired") == 1
    attempts = [o for o in outcomes if isinstance(o, AttemptFinished)]
    assert sum(1 for a in attempts if a.ref.step == "twice") == 2
