"""Reading what to import: single bodies, JSON arrays or lines, receiver journals, PULL responses."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emitter.errors import UsageError
from emitter.inputs import read_limited
from emitter.scenarios.loader import MAX_NUMBER_DIGITS

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_BODIES = 10_000
_LINE = re.compile(rb"[^\r\n]+")  # what bytes.splitlines() splits, without a list of them


@dataclass(frozen=True)
class Recorded:
    """One body to reproduce: its bytes, its JSON value (None when not JSON), when it arrived."""

    body: bytes
    payload: Any
    arrived_at: float | None
    source: str


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a double")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:  # a scenario could not hold it as a number
        raise ValueError(f"{len(text)} digits")
    return int(text)


def _parse(body: bytes) -> Any:
    """The body's JSON value, or None when it is not strict JSON or not a scenario's (NaN, 1e400,
    an integer over 30 digits, nested deeper than Python parses): such a body is kept as its
    text, as sent."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded_int)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _from_journal(record: dict[str, Any], source: str) -> Recorded:
    if "body_base64" in record:
        try:
            body = base64.b64decode(str(record["body_base64"]), validate=True)
        except ValueError:  # binascii.Error
            raise UsageError(
                "body_base64 is not base64",
                location=source,
                hint="pass the journal as 'receive --journal' wrote it",
            ) from None
    else:
        body = str(record.get("body", "")).encode("utf-8")
    arrived = record.get("arrived_at")
    stamp = float(arrived) if isinstance(arrived, int | float) and not isinstance(arrived, bool) else None
    return Recorded(body, _parse(body), stamp, source)


def _is_journal_line(value: Any) -> bool:
    return isinstance(value, dict) and "arrived_at" in value and ("body" in value or "body_base64" in value)


def _unwrap(value: Any, source: str, raw: bytes | None) -> Iterable[Recorded]:
    """A JSON value -> the bodies in it (PULL responses hold several)."""
    if _is_journal_line(value):
        yield _from_journal(value, source)
        return
    if isinstance(value, dict):
        response = value.get("Response")
        if isinstance(response, dict) and isinstance(response.get("EventSet"), list):  # v3 PullEvents
            for index, event in enumerate(response["EventSet"]):
                if isinstance(event, dict):
                    body = {k: v for k, v in event.items() if k != "EventHandle"}
                    yield _recorded(body, f"{source}[EventSet {index}]")
            return
        if isinstance(value.get("eventList"), list) and "data" not in value:  # v2 PullEvent
            for index, item in enumerate(value["eventList"]):
                content = item.get("eventContent") if isinstance(item, dict) else None
                if isinstance(content, dict):
                    yield _recorded(content, f"{source}[eventList {index}]")
            return
    yield Recorded(raw, value, None, source) if raw is not None else _recorded(value, source)


def _recorded(payload: Any, source: str) -> Recorded:
    return Recorded(json.dumps(payload, ensure_ascii=False).encode("utf-8"), payload, None, source)


def read_file(path: Path, limit: int = MAX_BODIES) -> list[Recorded]:
    """Every body in one file: a JSON document (body, array of bodies, PULL response) or JSON lines.

    JSON lines are read one at a time and stop past `limit` bodies: 64 MiB of tiny lines would
    otherwise be millions of objects (gigabytes) before the count is checked.
    """
    try:
        data = read_limited(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise UsageError(
            f"cannot read: {exc.strerror or exc}", location=str(path), hint="check the path"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(
            f"larger than {MAX_FILE_BYTES // 2**20} MiB",
            location=str(path),
            hint="split the journal (e.g. with split -l) and import the parts",
        )
    source = path.name
    whole = _parse(data)
    if whole is not None or not data.strip():
        if isinstance(whole, list):
            found = [r for i, item in enumerate(whole) for r in _unwrap(item, f"{source}[{i}]", None)]
        elif whole is None:
            raise UsageError("the file is empty", location=str(path), hint="pass files holding bodies")
        else:
            found = list(_unwrap(whole, source, data))
        if len(found) > limit:
            raise _too_many(path)
        return found
    lines = (line for match in _LINE.finditer(data) if (line := match.group()).strip())
    found = []
    for number, line in enumerate(lines, 1):
        value = _parse(line)
        if value is None:
            if number == 1 and next(lines, None) is None:  # one body that is not JSON: kept as a raw body
                return [Recorded(data, None, None, source)]
            raise UsageError(
                f"line {number} is not JSON",
                location=str(path),
                hint="pass a JSON body, a JSON array, JSON lines or a receiver journal",
            )
        found.extend(_unwrap(value, f"{source}:{number}", line))
        if len(found) > limit:
            raise _too_many(path)
    return found


def _too_many(path: Path) -> UsageError:
    return UsageError(
        f"more than {MAX_BODIES} bodies", location=str(path), hint="import a part of the recording at a time"
    )


def read_inputs(paths: Iterable[Path]) -> list[Recorded]:
    """The bodies of every file, in order (journals in arrival order), at most MAX_BODIES."""
    found: list[Recorded] = []
    for path in paths:
        found.extend(read_file(Path(path), MAX_BODIES - len(found)))
    if not found:
        raise UsageError("no bodies found", hint="pass JSON bodies, JSON lines or a receiver journal")
    return found
