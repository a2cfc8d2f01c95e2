"""Receivers with the bugs fuzzing must find, and their fixed versions (WSGI apps, in process)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


def _event(environ: dict[str, Any]) -> dict[str, Any]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(size))
    return body if isinstance(body, dict) else {}


def _ok(start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']


def _bad_request(start_response: StartResponse) -> Iterable[bytes]:
    start_response("400 Bad Request", [("Content-Type", "text/plain")])
    return [b"unreadable"]


def _flow(environ: dict[str, Any]) -> dict[str, Any] | None:
    try:
        body = _event(environ)
    except ValueError:
        return None
    flow = body.get("ProcedureStateChangeEvent")
    return flow if isinstance(flow, dict) else {}


def indexes_output(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Bug: reads each transcode sub-task's Output without checking it is there."""
    flow = _flow(environ)
    if flow is None:
        return _bad_request(start_response)
    for task in flow.get("MediaProcessResultSet") or []:
        if isinstance(task, dict) and task.get("Type") == "Transcode":
            task["TranscodeTask"]["Output"]["Url"]
    return _ok(start_response)


def indexes_output_fixed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    flow = _flow(environ)
    if flow is None:
        return _bad_request(start_response)
    for task in flow.get("MediaProcessResultSet") or []:
        if isinstance(task, dict) and task.get("Type") == "Transcode":
            output = (task.get("TranscodeTask") or {}).get("Output") or {}
            output.get("Url") if isinstance(output, dict) else None
    return _ok(start_response)


def iterates_missing_list(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Bug: iterates the task flow's result list, which a body may lack (or carry as null)."""
    flow = _flow(environ)
    if flow is None:
        return _bad_request(start_response)
    if flow:
        for _task in flow["MediaProcessResultSet"]:
            pass
    return _ok(start_response)


def iterates_missing_list_fixed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    flow = _flow(environ)
    if flow is None:
        return _bad_request(start_response)
    for _task in flow.get("MediaProcessResultSet") or []:
        pass
    return _ok(start_response)
