"""Time as vod-emitter reads and writes it: ISO 8601 moments in UTC, and durations (250ms, 1m30s)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from emitter.errors import ScenarioError, UsageError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_DURATION = 86_400.0  # seconds: a delay, a timeout or a wait of more than a day is a mistake
# A run's `now`: its payloads hold times up to a year around it, as Unix seconds and as dates,
# which must stay after 1970 and within datetime's year 9999.
EARLIEST = dt.datetime(1971, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9998, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def utc_stamp(moment: dt.datetime) -> str:
    """`2024-05-01T12:00:00Z`: to the second, in UTC."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> dt.datetime:
    """Now, in UTC, to the second (what a run uses when no `now` is given)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def parse_moment(value: dt.datetime | str | None, *, location: str | None = "now") -> dt.datetime:
    """An aware datetime from ISO 8601 text (`Z` accepted) or a datetime; naive means UTC; None is now."""
    if value is None:
        return utc_now()
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"{value!r} is not an ISO 8601 time",
                location=location,
                hint="write e.g. 2024-05-01T12:00:00Z",
            ) from None
    if not isinstance(moment, dt.datetime):
        raise UsageError(
            f"{moment!r} ({type(moment).__name__}) is not a moment",
            location=location,
            hint="give an ISO 8601 text (2024-05-01T12:00:00Z) or a datetime",
        )
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if not EARLIEST <= moment <= LATEST:
        raise UsageError(
            f"{moment.isoformat()} is out of range",
            location=location,
            hint=f"give a moment from {utc_stamp(EARLIEST)} to {utc_stamp(LATEST)}",
        )
    return moment


def parse_duration(
    value: Any,
    *,
    location: str | None = None,
    text_numbers: bool = False,
    positive: bool = False,
    maximum: float = MAX_DURATION,
) -> float:
    """Seconds from `250ms`, `2s`, `1m30s`, `1h`, or a number of seconds: finite, at most `maximum`.

    `text_numbers` also reads `"5"` and `"0.2"` as seconds (command-line values are text; in a
    scenario a quoted number is a mistake). `positive` refuses 0.
    """
    if isinstance(value, bool):
        value = "invalid"
    text = str(value).strip().replace(" ", "")
    if isinstance(value, int | float) and value >= 0:
        seconds = float(value) if value < 1e300 else math.inf  # no OverflowError from a huge int
    elif text_numbers and isinstance(value, str) and _NUMBER.fullmatch(text):
        seconds = float(text)
    else:
        position, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if not text or position != len(text):
            raise ScenarioError(
                f"bad duration {value!r}",
                location=location,
                hint="write durations like 250ms, 2s, 1m30s or a number of seconds",
            )
    if positive and seconds <= 0:
        raise UsageError(f"{value!r} must be more than 0", location=location, hint="write e.g. 5 or 200ms")
    if not math.isfinite(seconds) or seconds > maximum:
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise ScenarioError(
            f"duration {shown} is over the limit of {maximum:g} s",
            location=location,
            hint=f"give a finite duration of at most {maximum:g} s",
        )
    return seconds
