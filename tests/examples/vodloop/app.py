"""An app on the official SDK: upload -> ProcessMediaByProcedure -> callback -> DescribeTaskDetail.

It keeps, per video, the task it started and, once the task flow finishes, the transcode URL
that DescribeTaskDetail reports (or the failing sub-task's error code). Callbacks come pushed to
POST /vod/callback or pulled by POST /vod/pull (PullEvents, then ConfirmEvents).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models
from tencentcloud.vod.v20180717.vod_client import VodClient


@dataclass
class Video:
    file_id: str
    name: str
    task_id: str
    status: str = "processing"  # processing, ready, failed
    transcode_url: str | None = None
    err_code: int = 0


def vod_client(endpoint: str, secret_id: str, secret_key: str, region: str = "ap-guangzhou") -> VodClient:
    """The SDK client as an app configures it; `endpoint` is the local VOD (host:port, http)."""
    http = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10)
    return VodClient(Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http))


def call(client: VodClient, action: str, **params: Any) -> Any:
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def create_app(client: VodClient, procedure: str = "LongVideoPreset") -> FastAPI:
    app = FastAPI()
    videos: dict[str, Video] = {}
    lock = threading.Lock()
    app.state.videos = videos

    def on_event(event_type: str, task_id: str | None) -> str:
        # like many receivers: read EventType and TaskId only, then ask VOD for the details
        if event_type != "ProcedureStateChanged" or not task_id:
            return event_type
        detail = call(client, "DescribeTaskDetail", TaskId=task_id)
        task = detail.ProcedureTask
        if detail.Status != "FINISH" or task is None:
            return event_type
        with lock:
            video = next((v for v in videos.values() if v.task_id == task_id), None)
            if video is None:
                return event_type
            for result in task.MediaProcessResultSet or []:
                if result.Type != "Transcode" or result.TranscodeTask is None:
                    continue
                if result.TranscodeTask.Status == "FAIL":
                    video.status, video.err_code = "failed", result.TranscodeTask.ErrCode
                    return event_type
                if result.TranscodeTask.Output is not None and video.transcode_url is None:
                    video.transcode_url = result.TranscodeTask.Output.Url
            video.status = "ready" if video.transcode_url else "failed"
        return event_type

    @app.post("/videos")
    def upload(payload: dict[str, Any]) -> dict[str, Any]:
        # the media bytes would go to COS between ApplyUpload and CommitUpload
        applied = call(client, "ApplyUpload", MediaType="mp4", MediaName=payload["name"])
        committed = call(client, "CommitUpload", VodSessionKey=applied.VodSessionKey)
        # hold the lock until the task is recorded: its callback may arrive before we return
        with lock:
            started = call(
                client, "ProcessMediaByProcedure", FileId=committed.FileId, ProcedureName=procedure
            )
            videos[committed.FileId] = Video(committed.FileId, payload["name"], started.TaskId)
        return {"file_id": committed.FileId, "task_id": started.TaskId}

    @app.get("/videos/{file_id}")
    def show(file_id: str) -> JSONResponse:
        video = videos.get(file_id)
        if video is None:
            return JSONResponse({"error": "no such video"}, status_code=404)
        return JSONResponse(vars(video))

    @app.post("/vod/callback")
    async def pushed(request: Request) -> JSONResponse:
        try:
            event = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        body = event.get("ProcedureStateChangeEvent") or event.get("data") or {}  # v3, else v2
        event_type = event.get("EventType") or event.get("eventType") or ""
        task_id = body.get("TaskId") or body.get("vodTaskId")
        # the SDK blocks: call it off the event loop, as FastAPI does for plain `def` routes
        return JSONResponse({"received": await run_in_threadpool(on_event, event_type, task_id)})

    @app.post("/vod/pull")
    def pulled() -> dict[str, Any]:
        events = call(client, "PullEvents").EventSet or []
        handled = [
            on_event(event.EventType, getattr(event.ProcedureStateChangeEvent, "TaskId", None))
            for event in events
        ]
        if events:
            call(client, "ConfirmEvents", EventHandles=[event.EventHandle for event in events])
        return {"handled": handled}

    return app
