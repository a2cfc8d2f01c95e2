"""The whole loop in process: the app uploads and starts a task flow with the real SDK, the local VOD
calls back (pushed or pulled), and the app asks DescribeTaskDetail for the transcode URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emitter.vodapi.flows import LocalFlows
from tests.examples.vodloop.app import call, create_app, vod_client


@pytest.fixture
def app(vod_flows: LocalFlows) -> Any:
    return create_app(vod_client(vod_flows.endpoint, vod_flows.secret_id, vod_flows.secret_key))


def deliver_to(mode: str, app: Any, vod_flows: LocalFlows, serve: Callable[[Any], str]) -> None:
    client = vod_client(vod_flows.endpoint, vod_flows.secret_id, vod_flows.secret_key)
    if mode == "push":
        # what the app's operator does once: ModifyEventConfig, here through the SDK too
        call(client, "ModifyEventConfig", Mode="PUSH", NotificationUrl=f"{serve(app)}/vod/callback")
    else:
        call(client, "ModifyEventConfig", Mode="PULL")


def handle_callbacks(mode: str, web: TestClient, vod_flows: LocalFlows) -> None:
    vod_flows.settle()
    if mode == "pull":
        assert web.post("/vod/pull").json()["handled"] == ["NewFileUpload", "ProcedureStateChanged"]
        assert vod_flows.vod.queue.all_confirmed()


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_upload_ends_ready_with_the_transcode_url(
    mode: str, app: Any, vod_flows: LocalFlows, serve: Any
) -> None:
    deliver_to(mode, app, vod_flows, serve)
    web = TestClient(app)
    started = web.post("/videos", json={"name": "Launch demo"}).json()
    handle_callbacks(mode, web, vod_flows)
    video = web.get(f"/videos/{started['file_id']}").json()
    assert video["status"] == "ready", video
    task = vod_flows.library.tasks[started["task_id"]]
    results = task.detail["MediaProcessResultSet"]
    urls = [r["TranscodeTask"]["Output"]["Url"] for r in results if r["Type"] == "Transcode"]
    assert video["transcode_url"] == urls[0]
    assert video["transcode_url"].startswith("http://") and started["file_id"] in video["transcode_url"]
    finished = [c for c in vod_flows.callbacks if c.event_type == "ProcedureStateChanged"]
    assert [c.payload["ProcedureStateChangeEvent"]["TaskId"] for c in finished] == [started["task_id"]]
    assert {c.route for c in vod_flows.callbacks} == {mode}
    if mode == "push":
        assert all(c.outcome is not None and c.outcome.ok for c in vod_flows.callbacks)


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_a_failed_transcode_marks_the_video_failed(
    mode: str, app: Any, vod_flows: LocalFlows, serve: Any
) -> None:
    vod_flows.use_rules(
        {"rules": [{"action": "ProcessMediaByProcedure", "fail": 30010, "tasks": ["Transcode"]}]}
    )
    deliver_to(mode, app, vod_flows, serve)
    web = TestClient(app)
    started = web.post("/videos", json={"name": "Broken"}).json()
    handle_callbacks(mode, web, vod_flows)
    video = web.get(f"/videos/{started['file_id']}").json()
    assert (video["status"], video["err_code"], video["transcode_url"]) == ("failed", 30010, None)
