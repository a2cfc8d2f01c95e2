"""The bytes sent for a payload (apart from scenarios: a single event's render needs no scenario code)."""

from __future__ import annotations

from typing import Any

from emitter.errors import ScenarioError
from emitter.payloads.render import encode_payload


def body_bytes(payload: Any, *, location: str | None = None, floats_checked: bool = False) -> bytes:
    """A raw string body is sent as is (malformed-input cases); anything else as JSON (see
    encode_payload for `floats_checked`)."""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    try:
        return encode_payload(payload, floats_checked=floats_checked)
    except ValueError as exc:  # NaN or infinity from a YAML override
        raise ScenarioError(
            f"the payload cannot be JSON: {exc}",
            location=location,
            hint="JSON has no NaN or infinity; use a number or a string",
        ) from None
