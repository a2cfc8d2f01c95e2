"""The example receivers' domain code: what VOD callbacks (v2 or v3) say happened to which video."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class MalformedCallback(ValueError):
    """A body that is JSON but not a VOD callback (the receivers answer 400)."""


@dataclass
class Videos:
    """What the callbacks told us, by fileId and task id."""

    uploaded: dict[str, str] = field(default_factory=dict)  # fileId -> name
    transcoded: dict[str, list[str]] = field(default_factory=dict)  # fileId -> play URLs
    transcode_failed: dict[str, int] = field(default_factory=dict)  # fileId -> errCode
    flows: dict[str, str] = field(default_factory=dict)  # task-flow id -> PROCESSING / FINISH
    flow_failures: dict[str, dict[str, int]] = field(default_factory=dict)  # task-flow id -> {task: errCode}
    concatenated: dict[str, list[str]] = field(default_factory=dict)  # concat task id -> output fileIds
    concat_failed: dict[str, list[int]] = field(default_factory=dict)  # concat task id -> errCodes
    ignored: list[str] = field(default_factory=list)  # event types this app does not handle

    def handle(self, payload: Any) -> str:
        """Record one callback; returns its event type. v2 says `eventType`, v3 says `EventType`."""
        if not isinstance(payload, dict):
            raise MalformedCallback("the body is not a JSON object")
        if isinstance(payload.get("eventType"), str):
            event_type, event, v3 = payload["eventType"], payload.get("data"), False
        elif isinstance(payload.get("EventType"), str):
            # v3 carries the event in its one object-valued key, e.g. FileUploadEvent
            objects = [v for k, v in payload.items() if k.endswith("Event") and isinstance(v, dict)]
            event_type, event, v3 = payload["EventType"], objects[0] if objects else None, True
        else:
            raise MalformedCallback("no eventType (v2) or EventType (v3)")
        handler = HANDLERS.get(event_type)
        if handler is None:
            self.ignored.append(event_type)
            return event_type
        if not isinstance(event, dict):
            raise MalformedCallback(f"{event_type} without its event object")
        try:
            handler(self, event, v3)
        except (KeyError, TypeError, IndexError) as exc:
            raise MalformedCallback(f"{event_type}: missing or wrong field {exc}") from None
        return event_type

    def on_upload(self, event: dict[str, Any], v3: bool) -> None:
        if v3:
            self.uploaded[event["FileId"]] = event["MediaBasicInfo"]["Name"]
        else:
            self.uploaded[event["fileId"]] = event.get("fileName", "")

    def on_task_flow(self, event: dict[str, Any], v3: bool) -> None:
        task_id = event["TaskId" if v3 else "vodTaskId"]
        self.flows[task_id] = event["Status" if v3 else "status"]
        failures = {}
        if v3:
            for result in event.get("MediaProcessResultSet") or []:
                task = result.get(f"{result['Type']}Task") or {}
                if task.get("ErrCode"):
                    failures[result["Type"]] = task["ErrCode"]
        else:
            for task in event.get("processTaskList") or []:
                if task.get("errCode"):
                    failures[task["taskType"]] = task["errCode"]
        if failures:
            self.flow_failures[task_id] = failures

    def on_transcode(self, event: dict[str, Any], v3: bool) -> None:
        file_id = event["FileId" if v3 else "fileId"]
        code = event["ErrCode" if v3 else "status"]
        if code:
            self.transcode_failed[file_id] = code
            return
        plays = event.get("PlayInfoSet" if v3 else "playSet") or []
        self.transcoded[file_id] = [play["Url" if v3 else "url"] for play in plays]

    def on_concat(self, event: dict[str, Any], v3: bool) -> None:
        task_id = event["TaskId" if v3 else "vodTaskId"]
        outputs = event["FileInfoSet" if v3 else "fileInfo"]
        codes = [output["ErrCode" if v3 else "status"] for output in outputs]
        if any(codes):
            self.concat_failed[task_id] = codes
        else:
            self.concatenated[task_id] = [output["FileId" if v3 else "fileId"] for output in outputs]


HANDLERS: dict[str, Callable[[Videos, dict[str, Any], bool], None]] = {
    "NewFileUpload": Videos.on_upload,
    "ProcedureStateChanged": Videos.on_task_flow,
    "TranscodeComplete": Videos.on_transcode,
    "ConcatComplete": Videos.on_concat,
}
