"""Moments as vod-emitter writes them: ISO 8601 in UTC to the second (`2024-05-01T12:00:00Z`)."""

from __future__ import annotations

import datetime as dt


def utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
