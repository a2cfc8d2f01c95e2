"""Typed outcome events a run yields (started, attempt, event finished, run finished) and its result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Result = Literal["delivered", "unexpected", "failed", "filtered"]
FILTERED_REASON = "not subscribed (--events / subscribe:)"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class EventRef:
    """Which send this is: its place in the plan (`index`, stable across perturbations and resumes)."""

    index: int
    scenario: str
    seq: int
    step: str
    label: str
    event_type: str
    copy: int = 0
    copies: int = 1

    @property
    def name(self) -> str:
        suffix = f" (copy {self.copy + 1}/{self.copies})" if self.copies > 1 else ""
        return f"{self.label}{suffix}"


@dataclass(frozen=True)
class RunStarted:
    seed: int
    now: str
    scenarios: tuple[str, ...]
    format: str | None
    target: str
    planned: int
    resumed: int = 0
    events: tuple[str, ...] | None = None  # the run's event filter (EventTypes), None: none over subscribe:


@dataclass(frozen=True)
class AttemptFinished:
    """One HTTP send: a status, or the error that prevented one; `retry_in` is set when another follows."""

    ref: EventRef
    attempt: int
    status: int | None
    error: str | None
    latency: float
    retry_in: float | None = None
    kind: str | None = None  # why there is no status: timeout, connect, tls, dropped, other

    @property
    def note(self) -> str | int:
        """This attempt in a few characters: its status, or the first words of its error."""
        if self.status is not None:
            return self.status
        return (self.error or "error").split(":")[0].split(" (")[0]


@dataclass(frozen=True)
class EventFinished:
    """The end of one send with all its attempts: delivered (answer accepted), unexpected, failed, or
    filtered (its EventType is not among the run's subscribed ones: not sent, not a failure)."""

    ref: EventRef
    result: Result
    reason: str
    attempts: int
    status: int | None
    latency: float
    elapsed: float
    request: str
    response: str

    @property
    def ok(self) -> bool:
        return self.result == "delivered"

    @property
    def filtered(self) -> bool:
        return self.result == "filtered"

    @property
    def problem(self) -> bool:
        """Unexpected or failed: what makes a run fail (filtered is not)."""
        return self.result in ("unexpected", "failed")


@dataclass(frozen=True)
class RunResult:
    """Totals of a run; `exit_code` is what the command line returns."""

    planned: int
    delivered: int = 0
    unexpected: int = 0
    failed: int = 0
    attempts: int = 0
    duration: float = 0.0
    interrupted: bool = False
    error: str | None = None
    filtered: int = 0  # not subscribed: planned, not sent, not a failure

    @property
    def finished(self) -> int:
        return self.delivered + self.unexpected + self.failed + self.filtered

    @property
    def not_sent(self) -> int:
        return max(self.planned - self.finished, 0)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.error:
            return 2
        return 0 if self.unexpected == self.failed == 0 and self.not_sent == 0 else 1

    def summary(self) -> str:
        parts = [f"{self.finished} of {self.planned} sends: {self.delivered} delivered"]
        if self.unexpected:
            parts.append(f"{self.unexpected} unexpected status")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.filtered:
            parts.append(f"{self.filtered} filtered (not subscribed)")
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        text = ", ".join(parts) + f" ({plural(self.attempts, 'attempt')}, {self.duration:.2f} s)"
        if self.interrupted:
            text += "; interrupted"
        return text


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Outcome = RunStarted | AttemptFinished | EventFinished | RunFinished
