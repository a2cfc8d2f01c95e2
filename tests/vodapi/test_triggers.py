"""Scenario steps that wait for the app's own call (`on: ProcessMedia`) and carry the ids it returned."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from emitter.errors import ScenarioError
from emitter.scenarios.loader import parse_scenario
from tests.helpers import cli
from tests.vodapi.test_flows import Harness

SCENARIO = """
version: 1
name: app-driven
steps:
  - event: procedure          # before any on: step, emitted when the scenario starts
    name: earlier
  - event: procedure
    name: started
    on: ProcessMedia
    state: PROCESSING
  - event: procedure
    name: done
    delay: 10ms
    status: fail
    task_err_code: 30010
    tasks: [Transcode]
"""


def test_on_steps_wait_for_the_call_and_use_its_ids() -> None:
    h = Harness()
    file_id = h.upload("watched")
    h.published.clear()

    async def play() -> None:
        await h.flows.play(parse_scenario(SCENARIO, "app.yaml"))
        await h.flows.drain(5)

    asyncio.run(play())
    assert len(h.published) == 1 and h.published[0]["ProcedureStateChangeEvent"]["FileId"] != file_id
    assert h.flows.triggers is not None and h.flows.triggers.left == 1

    request = {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}}
    task_id = h.call("ProcessMedia", FileId=file_id, **request)["TaskId"]
    events = [p["ProcedureStateChangeEvent"] for p in h.published[1:]]
    assert [(e["TaskId"], e["FileId"], e["Status"]) for e in events] == [
        (task_id, file_id, "PROCESSING"),
        (task_id, file_id, "FINISH"),
    ]
    assert events[1]["FileName"] == "watched"
    assert events[1]["MediaProcessResultSet"][0]["TranscodeTask"]["ErrCode"] == 30010
    assert h.flows.triggers.left == 0
    assert h.library.tasks[task_id].status == "FINISH"  # the call's own work still happened

    again = h.call("ProcessMedia", FileId=file_id, **request)["TaskId"]  # no group left: the usual flow
    assert [p["ProcedureStateChangeEvent"]["TaskId"] for p in h.published[3:]] == [again]


def test_on_names_an_action_that_starts_work() -> None:
    text = "version: 1\nsteps:\n  - event: procedure\n    on: ProcesMedia\n"
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(text, "app.yaml")
    assert str(raised.value).startswith("app.yaml:4: 'on' must name")
    assert "did you mean 'ProcessMedia'" in str(raised.value)
    assert parse_scenario(text.replace("ProcesMedia", "PullUpload"), "app.yaml").steps[0].on == "PullUpload"


def test_a_push_run_refuses_a_step_that_waits_for_an_api_call(tmp_path: Path) -> None:
    scenario = tmp_path / "app.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    done = cli("run", str(scenario), "--speed", "0", check_code=2)
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert f"{scenario}:" in line and "'started' waits for the app's ProcessMedia call" in line
    assert f"vod-emitter api --scenario {scenario}" in line
