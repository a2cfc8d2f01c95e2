"""The library API: public names, render/run/send, in-process ASGI/WSGI targets, and parity with the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

import emitter
from emitter.api import CompletedRun, DeliveryFailed, Emitter, plan_send
from emitter.delivery.targets import AppTarget, app_interface, load_app, resolve_target
from emitter.errors import EmitterError, ScenarioError, UsageError
from emitter.outcomes import AttemptFinished, EventFinished, RunFinished, RunStarted
from emitter.request import RunRequest
from tests.helpers import cli, console_script

NOW = "2024-05-01T12:00:00Z"
SCRIPT = Path(sys.executable).parent / "vod-emitter"

PUBLIC = [
    "AppTarget",
    "AttemptFinished",
    "Behaviour",
    "CompletedRun",
    "DeliveryFailed",
    "DeliveryOptions",
    "Emitter",
    "EmitterError",
    "EventFinished",
    "EventRef",
    "Outcome",
    "ReceivedRequest",
    "Receiver",
    "RenderedEvent",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "Scenario",
    "SentEvent",
    "Signing",
    "Timing",
    "load_scenario",
    "render_event",
    "render_scenario",
    "run",
    "run_async",
    "scenario_names",
    "send",
    "send_async",
]


def test_the_public_names_are_exactly_these() -> None:
    assert emitter.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(emitter, name) is not None
    with pytest.raises(AttributeError):
        emitter.not_a_name  # noqa: B018


def test_importing_the_package_stays_cheap() -> None:
    code = "import sys, emitter; print(sorted(m for m in sys.modules if m.startswith(('emitter.', 'httpx'))))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "['emitter._version']"


# --- apps under test ------------------------------------------------------------------------


def fastapi_app(seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/hooks/vod")
    async def hook(payload: dict[str, Any]) -> dict[str, str]:  # malformed JSON: FastAPI answers 422
        seen.append(payload)
        return {"got": payload.get("eventType") or payload.get("EventType")}

    @app.post("/slow")
    async def slow(request: Request) -> dict[str, str]:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append({"cancelled": True})
            raise
        return {}

    @app.post("/boom")
    async def boom(request: Request) -> dict[str, str]:
        raise KeyError("data")

    return app


def flask_app(seen: list[dict[str, Any]], release: threading.Event | None = None) -> Flask:
    app = Flask(__name__)

    @app.post("/hooks/vod")
    def hook() -> tuple[str, int]:
        seen.append(json.loads(flask_request.get_data()))
        return "ok", 200

    @app.post("/slow")
    def slow() -> tuple[str, int]:
        assert release is not None
        release.wait(30)
        return "late", 200

    return app


def test_app_interfaces_are_detected() -> None:
    async def asgi(scope: Any, receive: Any, send: Any) -> None: ...

    def wsgi(environ: Any, start_response: Any) -> list[bytes]:
        return []

    assert app_interface(FastAPI()) == app_interface(asgi) == "asgi"
    assert app_interface(Flask(__name__)) == app_interface(wsgi) == "wsgi"
    for not_an_app in (FastAPI, 42, "app", lambda: None, print):
        assert app_interface(not_an_app) is None


def test_a_scenario_runs_in_process_through_an_asgi_app() -> None:
    seen: list[dict[str, Any]] = []
    target = AppTarget(fastapi_app(seen), "/hooks/vod")
    done = emitter.run("happy-path", target=target, seed=3, now=NOW, speed=0)
    assert done.ok and done.exit_code == 0 and done.result.delivered == 4
    assert seen == done.payloads
    assert [e.ref.step for e in done.events] == ["upload", "flow-started", "flow-finished", "transcode"]
    assert [e.status for e in done.events] == [200] * 4
    assert done.events[0].response == '{"got":"NewFileUpload"}'
    assert isinstance(done.outcomes[0], RunStarted) and isinstance(done.outcomes[-1], RunFinished)
    assert len(done.attempts) == 4 and all(isinstance(a, AttemptFinished) for a in done.attempts)
    assert done.file_ids == [seen[0]["data"]["fileId"]]
    assert done.target == "in-process ASGI FastAPI at /hooks/vod" and done.scenarios == ("happy-path",)


def test_a_wsgi_app_gets_the_same_bodies_as_an_asgi_app() -> None:
    through_flask: list[dict[str, Any]] = []
    through_fastapi: list[dict[str, Any]] = []
    keywords: dict[str, Any] = {"seed": 9, "now": NOW, "speed": 0, "fmt": "v3"}
    flask_target = AppTarget(flask_app(through_flask), "hooks/vod")
    fastapi_target = AppTarget(fastapi_app(through_fastapi), "/hooks/vod")
    flask_run = emitter.run("transcode-fail-30010", target=flask_target, **keywords)
    fastapi_run = emitter.run("transcode-fail-30010", target=fastapi_target, **keywords)
    assert flask_run.ok and fastapi_run.ok
    assert through_flask == through_fastapi == flask_run.payloads
    assert flask_run.of_type("TranscodeComplete")[0].payload["TranscodeCompleteEvent"]["ErrCode"] == 30010


def test_a_slow_asgi_app_times_out_like_a_slow_server() -> None:
    seen: list[dict[str, Any]] = []
    done = emitter.send("upload", target=AppTarget(fastapi_app(seen), "/slow"), timeout=0.05)
    [event] = done.events
    assert event.result == "failed" and event.reason == "timeout: no answer within 0.05 s"
    assert [a.error for a in done.attempts] == ["timeout: no answer within 0.05 s"] * 3  # 2 retries, as VOD
    assert seen == [{"cancelled": True}] * 3  # the app saw the client give up
    assert done.exit_code == 1


def test_a_slow_wsgi_app_times_out_too() -> None:
    release = threading.Event()
    try:
        done = emitter.send(
            "upload",
            target=AppTarget(flask_app([], release), "/slow"),
            timeout=0.05,
            delivery=emitter.DeliveryOptions(retries=0),
        )
    finally:
        release.set()
    assert [a.error for a in done.attempts] == ["timeout: no answer within 0.05 s"]


def test_an_exception_in_the_app_is_a_500_that_names_it() -> None:
    done = emitter.send("upload", target=AppTarget(fastapi_app([]), "/boom"))
    [event] = done.events
    assert event.result == "unexpected" and event.status == 500
    assert event.response == "in-process app raised KeyError: 'data'"


def test_without_a_target_a_builtin_receiver_is_started_for_the_run() -> None:
    done = emitter.run("concat-failure", seed=1, now=NOW, speed=0)
    assert done.ok and done.target.startswith("http://127.0.0.1:")
    assert [r.body for r in done.received] == [s.body for s in done.sent]
    assert done.received[0].event_type == "ConcatComplete"


def test_a_running_receiver_is_a_target(vod_receiver: emitter.Receiver) -> None:
    done = emitter.send("delete", target=vod_receiver, params={"status": "fail"})
    assert done.ok and vod_receiver.records[0].body == done.sent[0].body


def test_send_takes_params_overrides_raw_bodies_and_expectations() -> None:
    seen: list[dict[str, Any]] = []
    target = AppTarget(fastapi_app(seen), "/hooks/vod")
    done = emitter.send(
        "upload",
        target=target,
        params={"file_name": "Demo"},
        set={"data.fileId": 42},
        unset=["data.coverUrl"],
        seed=5,
        now=NOW,
    )
    assert seen[0]["data"]["fileName"] == "Demo" and seen[0]["data"]["fileId"] == 42
    assert "coverUrl" not in seen[0]["data"]
    assert done.sent[0].payload == seen[0]
    refused = emitter.send("upload", target=target, body="{not json", expect="4xx")
    assert refused.ok and refused.events[0].status == 422 and refused.sent[0].body == b"{not json"


def test_check_raises_a_readable_delivery_failure() -> None:
    with pytest.raises(DeliveryFailed) as caught:
        emitter.run(
            "happy-path", target=AppTarget(fastapi_app([]), "/boom"), seed=2, now=NOW, speed=0, check=True
        )
    report = str(caught.value).splitlines()
    assert report[0] == (
        "happy-path -> in-process ASGI FastAPI at /boom: 4 of 4 sends: 0 delivered, "
        f"4 unexpected status (4 attempts, {caught.value.run.result.duration:.2f} s); "
        "seed 2, now 2024-05-01T12:00:00Z"
    )
    assert report[1] == "#0 happy-path/upload NewFileUpload: unexpected: status 500, expected 2xx"
    assert report[2:5] == [
        "    attempts: 1 (500)",
        f"    request:  {caught.value.run.events[0].request}",
        "    response: 500 in-process app raised KeyError: 'data'",
    ]
    assert isinstance(caught.value, AssertionError) and len(report) == 1 + 4 * 4


def test_async_forms_run_the_app_on_the_running_loop() -> None:
    seen: list[dict[str, Any]] = []
    target = AppTarget(fastapi_app(seen), "/hooks/vod")

    async def main() -> tuple[CompletedRun, CompletedRun, CompletedRun]:
        ran = await emitter.run_async("concat-success", target=target, speed=0)
        sent = await emitter.send_async("clip", target=target)
        nested = emitter.run("delete", target=target, speed=0)  # sync form inside a loop: a worker thread
        return ran, sent, nested

    ran, sent, nested = asyncio.run(main())
    assert ran.ok and sent.ok and nested.ok
    assert [p["eventType"] for p in seen] == ["ConcatComplete", "ClipComplete", "FileDeleted", "FileDeleted"]


def test_an_emitter_keeps_defaults_and_its_runs() -> None:
    seen: list[dict[str, Any]] = []
    target = AppTarget(fastapi_app(seen), "/hooks/vod")
    hooks = Emitter(target, seed=11, now=NOW, speed=0, fmt="v3", check=True)
    first = hooks.run("concat-failure")
    second = hooks.send("upload", fmt="v2")
    assert [r.seed for r in hooks.runs] == [11, 11] and hooks.runs == [first, second]
    assert "EventType" in seen[0] and seen[1]["eventType"] == "NewFileUpload"
    assert [e.body for e in hooks.render("concat-failure")] == [s.body for s in first.sent]
    assert hooks.render_event("upload", fmt="v2", seed=11) == second.sent[0].payload
    with pytest.raises(DeliveryFailed):
        hooks.send("upload", target=AppTarget(fastapi_app([]), "/boom"))
    assert not hooks.send("upload", target=AppTarget(fastapi_app([]), "/boom"), check=False).ok


def test_rendering_matches_the_cli_byte_for_byte() -> None:
    printed = cli("render", "happy-path", "--seed", "4", "--now", NOW, "-f", "v3", check_code=0).stdout
    rendered = [line.encode() for line in printed.splitlines()]
    assert [e.body for e in emitter.render_scenario("happy-path", seed=4, now=NOW, fmt="v3")] == rendered
    args = [
        "render",
        "concat",
        "--seed",
        "4",
        "--now",
        NOW,
        "-p",
        "status=fail",
        "--set",
        "data.vodTaskId=T1",
    ]
    single = cli(*args, check_code=0).stdout
    payload = emitter.render_event(
        "concat", params={"status": "fail"}, set={"data.vodTaskId": "T1"}, seed=4, now=NOW
    )
    assert json.loads(single) == payload


def test_loading_and_naming_scenarios() -> None:
    assert "transcode-fail-30009" in emitter.scenario_names()
    assert [s.name for s in emitter.load_scenario("happy-path").steps][-1] == "transcode"
    with pytest.raises(ScenarioError, match="did you mean 'happy-path'"):
        emitter.load_scenario("happy-pth")


def test_a_v3_only_event_is_sent_in_v3_by_default() -> None:
    plan = plan_send("edit", RunRequest(seed=1))
    assert plan.scenarios[0].format == "v3"


# --- targets: app specs and their errors ----------------------------------------------------

APP_MODULE = """
from flask import Flask
from fastapi import FastAPI

asgi = FastAPI()
wsgi = Flask(__name__)
number = 42


@asgi.post("/cb")
async def cb() -> dict:
    return {}


@wsgi.post("/cb")
def wcb():
    return "ok"
"""


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "vod_hooks_under_test.py").write_text(APP_MODULE)
    (tmp_path / "vod_hooks_broken.py").write_text("raise RuntimeError('no database')\n")
    (tmp_path / "vod_hooks_needy.py").write_text("import vod_not_installed_anywhere\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("vod_hooks_under_test", "vod_hooks_broken", "vod_hooks_needy"):
        sys.modules.pop(name, None)


def test_app_specs_resolve_to_in_process_endpoints(app_module: Path) -> None:
    asgi = resolve_target("app:vod_hooks_under_test:asgi/cb")
    wsgi = resolve_target("app:vod_hooks_under_test:wsgi")
    assert (asgi.name, asgi.url) == ("app:vod_hooks_under_test:asgi/cb", "http://testserver/cb")
    assert (wsgi.name, wsgi.url) == ("app:vod_hooks_under_test:wsgi", "http://testserver/")
    assert load_app("app:vod_hooks_under_test:asgi").interface == "asgi"
    assert load_app("app:vod_hooks_under_test:wsgi").interface == "wsgi"
    assert emitter.send("upload", target="app:vod_hooks_under_test:wsgi/cb").ok


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "app:vod_hooks_under_test",
            "target: 'app:vod_hooks_under_test' is not app:MODULE:ATTRIBUTE; write e.g.",
        ),
        ("app::asgi", "target: 'app::asgi' is not app:MODULE:ATTRIBUTE"),
        (
            "app:vod_hooks_missing:app",
            "target: cannot import 'vod_hooks_missing': no module named "
            "'vod_hooks_missing'; check the module path",
        ),
        (
            "app:vod_hooks_needy:app",
            "target: importing 'vod_hooks_needy' failed: No module named "
            "'vod_not_installed_anywhere'; install what the module needs",
        ),
        (
            "app:vod_hooks_broken:app",
            "target: importing 'vod_hooks_broken' raised RuntimeError: no database; fix the module",
        ),
        (
            "app:vod_hooks_under_test:asgii",
            "target: 'vod_hooks_under_test' has no attribute 'asgii'; did you mean 'asgi'?",
        ),
        (
            "app:vod_hooks_under_test:number",
            "target: 'vod_hooks_under_test:number' (int object) is not an ASGI or WSGI app; point at the app",
        ),
        (
            "app:vod_hooks_under_test:FastAPI",
            "target: 'vod_hooks_under_test:FastAPI' (class) is not an ASGI or WSGI app",
        ),
        ("htp:/nowhere", "target: 'htp:/nowhere' is not an http:// or https:// URL"),
    ],
)
def test_bad_targets_are_one_line_usage_errors(app_module: Path, spec: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_target(spec)
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text and caught.value.exit_code == 2


def test_an_object_that_is_not_an_app_is_refused() -> None:
    with pytest.raises(EmitterError, match=r"^target: the target \(int object\) is not an ASGI or WSGI app"):
        emitter.send("upload", target=42)


# --- the CLI runs through the same API ------------------------------------------------------


RECORDING_MODULE = """
import json
import os

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/vod")
async def vod(request: Request):
    body = await request.body()
    with open(os.environ.get("SINK", "sink.jsonl"), "ab") as sink:
        sink.write(body + b"\\n")
    return {"received": len(body)}
"""


def test_the_cli_and_the_api_produce_the_same_outcomes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vod_recording_app.py").write_text(RECORDING_MODULE)
    report = tmp_path / "report.json"
    done = console_script(
        "run",
        "happy-path",
        "--target",
        "app:vod_recording_app:app/vod",
        "--seed",
        "21",
        "--now",
        NOW,
        "--speed",
        "0",
        "--report",
        str(report),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cli_bodies = (tmp_path / "sink.jsonl").read_bytes().splitlines()
    cli_rows = json.loads(report.read_text())["events"]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SINK", str(tmp_path / "api-sink.jsonl"))
    try:
        api_run = emitter.run("happy-path", target="app:vod_recording_app:app/vod", seed=21, now=NOW, speed=0)
    finally:
        sys.modules.pop("vod_recording_app", None)
    api_bodies = (tmp_path / "api-sink.jsonl").read_bytes().splitlines()
    assert api_bodies == cli_bodies == [s.body for s in api_run.sent]
    assert [
        (
            r["index"],
            r["step"],
            r["event_type"],
            r["result"],
            r["status"],
            r["attempts"],
            r["request"],
            r["response"],
        )
        for r in cli_rows
    ] == [
        (e.ref.index, e.ref.step, e.ref.event_type, e.result, e.status, e.attempts, e.request, e.response)
        for e in api_run.events
    ]
    assert json.loads(report.read_text())["target"] == api_run.target == "app:vod_recording_app:app/vod"


def test_the_cli_reports_a_bad_app_target_in_one_line(tmp_path: Path) -> None:
    done = cli("send", "upload", "--target", "app:nowhere_to_be_found:app", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --target: cannot import 'nowhere_to_be_found': no module named 'nowhere_to_be_found'; "
        "check the module path (imported from the current directory too)"
    ]


def test_the_cli_times_out_a_slow_in_process_app(tmp_path: Path) -> None:
    (tmp_path / "vod_slow_app.py").write_text(
        "import asyncio\n\nasync def app(scope, receive, send):\n    await asyncio.sleep(30)\n"
    )
    done = cli(
        "send",
        "upload",
        "--target",
        "app:vod_slow_app:app",
        "--timeout",
        "50ms",
        "--retries",
        "1",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "#0 upload: timeout: no answer within 0.05 s" in done.stdout
    assert "1 failed (2 attempts" in done.stdout


def test_events_finished_are_the_cli_outcome_type() -> None:
    done = emitter.send("upload", target=AppTarget(fastapi_app([]), "/hooks/vod"))
    assert all(isinstance(e, EventFinished) for e in done.events) and done.sent[0].delivered
