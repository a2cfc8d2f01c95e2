"""Payload paths as the docs print them (`data.fileInfo[0].status`): parse, set, unset; ids of a payload."""

from __future__ import annotations

import re
from typing import Any

from emitter.errors import ScenarioError, did_you_mean

_TOKEN = re.compile(r"""\.?([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[["']([^"']*)["']\]""")

PathPart = str | int


def parse_path(path: str) -> tuple[PathPart, ...]:
    """Split a payload path into keys and list indexes; raise ScenarioError if malformed."""
    parts: list[PathPart] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or (position == 0 and path.startswith(".")):
            raise ScenarioError(
                f"bad payload path '{path}' at character {position + 1}",
                hint='write paths like data.fileInfo[0].status or data["odd.key"]',
            )
        key, index, quoted = match.groups()
        if key is not None and position > 0 and not match.group().startswith("."):
            raise ScenarioError(
                f"bad payload path '{path}' at character {position + 1}: a key needs a '.' before it",
                hint="write paths like data.fileInfo[0].status",
            )
        parts.append(int(index) if index is not None else (quoted if quoted is not None else key))
        position = match.end()
    if not parts:
        raise ScenarioError("empty payload path", hint="write paths like data.fileId")
    return tuple(parts)


def _walk(payload: Any, parts: tuple[PathPart, ...], path: str) -> Any:
    node = payload
    for depth, part in enumerate(parts):
        prefix = _format(parts[: depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ScenarioError(f"path '{path}': '{_format(parts[:depth])}' is not a list")
            if not -len(node) <= part < len(node):
                raise ScenarioError(f"path '{path}': index {part} is out of range ({len(node)} items)")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ScenarioError(f"path '{path}': '{_format(parts[:depth])}' is not an object")
            if part not in node:
                suggestion = did_you_mean(part, node)
                raise ScenarioError(
                    f"path '{path}': '{prefix}' is not in the payload",
                    hint=suggestion or f"keys there: {', '.join(map(str, node)) or '(none)'}",
                )
            node = node[part]
    return node


def _format(parts: tuple[PathPart, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def set_path(payload: Any, path: str, value: Any) -> None:
    """Set the value at `path`; the parent must exist, the last key may be new."""
    parts = parse_path(path)
    parent = _walk(payload, parts[:-1], path)
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(parent, list):
            raise ScenarioError(f"path '{path}': '{_format(parts[:-1])}' is not a list")
        if last == len(parent):
            parent.append(value)
            return
        _walk(payload, parts, path)
        parent[last] = value
    else:
        if not isinstance(parent, dict):
            raise ScenarioError(f"path '{path}': '{_format(parts[:-1])}' is not an object")
        parent[last] = value


def unset_path(payload: Any, path: str) -> None:
    """Remove the key or list item at `path`; it must exist."""
    parts = parse_path(path)
    _walk(payload, parts, path)
    parent = _walk(payload, parts[:-1], path)
    del parent[parts[-1]]


def _find_id(payload: Any, keys: tuple[str, ...]) -> str | None:
    """An id from the event's object (v2 `data`, v3 `<Xxx>Event`, first list item), if any."""
    if not isinstance(payload, dict):
        return None
    objects = [payload.get("data")]
    objects += [v for k, v in payload.items() if k != "data" and isinstance(v, dict)]
    for obj in objects:
        candidates = [obj]
        if isinstance(obj, dict):
            candidates += [v[0] for v in obj.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
            candidates += [v for v in obj.values() if isinstance(v, dict)]
        for candidate in candidates:
            if isinstance(candidate, dict):
                for key in keys:
                    value = candidate.get(key)
                    if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                        return str(value)
    return None


def file_id_of(payload: Any) -> str | None:
    """The fileId a payload is about (v2 `data.fileId`, v3 `<X>Event.FileId`, first list item)."""
    return _find_id(payload, ("fileId", "FileId", "srcFileId", "videoId"))


def task_id_of(payload: Any) -> str | None:
    """The task id of a payload (v2 `vodTaskId`, v3 `TaskId`)."""
    return _find_id(payload, ("vodTaskId", "TaskId"))
