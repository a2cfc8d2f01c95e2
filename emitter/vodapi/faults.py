"""PULL faults a scenario step asks for (`pull:`): duplicate, confirm_expires, delay, internal_errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emitter.clock import parse_duration
from emitter.errors import ScenarioError, hint_with_suggestion

FAULT_KEYS = ("duplicate", "confirm_expires", "delay", "internal_errors")
MAX_PULL_DELAY = 10.0  # an SDK's recommended client timeout; a later answer would look like a dead server
MAX_INTERNAL_ERRORS = 100


@dataclass(frozen=True)
class PullFaults:
    """What goes wrong for one event on purpose when it is pulled.

    `duplicate`: handed out a second time by the next pull (even after a confirm).
    `confirm_expires`: the first confirm of its handle is answered as expired.
    `pull_delay`: the pull that hands it out first answers this many seconds late.
    `internal_errors`: the first N pulls that would hand it out answer InternalError instead.
    """

    duplicate: bool = False
    confirm_expires: bool = False
    pull_delay: float = 0.0
    internal_errors: int = 0

    def __bool__(self) -> bool:
        return self.duplicate or self.confirm_expires or self.pull_delay > 0 or self.internal_errors > 0


def parse_pull_faults(raw: Any, *, location: str | None = None) -> PullFaults | None:
    """`pull: {duplicate: true, confirm_expires: true, delay: 2s, internal_errors: 1}` (all optional)."""
    if raw is None:
        return None
    hint = "write e.g. pull: {duplicate: true, delay: 2s}"
    if not isinstance(raw, dict):
        raise ScenarioError("pull takes a mapping of faults", location=location, hint=hint)
    for key in raw:
        if key not in FAULT_KEYS:
            raise ScenarioError(
                f"unknown PULL fault '{key}'",
                location=location,
                hint=hint_with_suggestion(str(key), FAULT_KEYS, f"faults are {', '.join(FAULT_KEYS)}"),
            )
    for key in ("duplicate", "confirm_expires"):
        if not isinstance(raw.get(key, False), bool):
            raise ScenarioError(f"pull.{key} is true or false", location=location, hint=hint)
    delay = parse_duration(raw.get("delay", 0), location=location)
    if delay > MAX_PULL_DELAY:
        raise ScenarioError(
            f"pull.delay {delay:g} s is over {MAX_PULL_DELAY:g} s", location=location, hint=hint
        )
    errors = raw.get("internal_errors", 0)
    if isinstance(errors, bool) or not isinstance(errors, int) or not 0 <= errors <= MAX_INTERNAL_ERRORS:
        raise ScenarioError(
            f"pull.internal_errors is a count from 0 to {MAX_INTERNAL_ERRORS}", location=location, hint=hint
        )
    return PullFaults(raw.get("duplicate", False), raw.get("confirm_expires", False), delay, errors)
