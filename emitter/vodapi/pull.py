"""The reliable-callback (PULL) queue and its actions: PullEvents long poll, ConfirmEvents, re-delivery."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from emitter.outcomes import EventRef
from emitter.payloads.render import encode_payload
from emitter.vodapi.actions import ApiContext, ApiError, register
from emitter.vodapi.faults import PullFaults
from emitter.vodapi.protocol import optional_int, optional_str, required_str_list

MAX_EVENTS = 16  # PullEvents returns at most 16 events; ConfirmEvents takes at most 16 handles
CONFIRM_WINDOW = 30.0  # a handle must be confirmed within 30 s, else the event is handed out again
HOLD = 5.0  # PullEvents holds the request at most 5 s when nothing is waiting
RETENTION = 4 * 24 * 3600.0  # events nobody pulls are kept up to 4 days
MAX_QUEUED = 1_000_000

Clock = Callable[[], float]
Step = Literal[
    "queued", "handed", "confirmed", "redelivered", "duplicated", "confirm-expired", "slow-pull",
    "internal-error", "retention-expired",
]  # fmt: skip


@dataclass(frozen=True)
class Moment:
    """One line of an event's PULL history: when (account clock), what, which handle and attempt."""

    at: float
    step: Step
    handle: str | None = None
    attempt: int = 0
    note: str = ""


@dataclass
class QueuedEvent:
    """One event in the queue, with everything that happened to it."""

    id: int
    body: bytes  # the event as JSON: a queue of a million events holds bytes, not a million dict trees
    event_type: str
    available_at: float
    ref: EventRef | None = None
    faults: PullFaults = field(default_factory=PullFaults)
    attempts: int = 0
    last_handed_at: float | None = None
    confirmed_at: float | None = None
    history: list[Moment] = field(default_factory=list)
    _duplicate_pending: bool = False
    _confirm_expire_pending: bool = False
    _errors_left: int = 0
    _delay_pending: bool = False

    @property
    def payload(self) -> dict[str, Any]:
        """The event as a JSON object (read from its body at each hand-out)."""
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def settled(self) -> bool:
        """Confirmed, and no duplicate hand-out (a fault) still to come."""
        return self.confirmed and not self._duplicate_pending

    def due_at(self) -> float:
        """When a pull may hand it out (next): when it became pullable, or 30 s after the last hand-out."""
        if self.last_handed_at is None:
            return self.available_at
        if self._duplicate_pending:
            return self.last_handed_at
        return self.last_handed_at + CONFIRM_WINDOW


@dataclass(frozen=True)
class Handout:
    handle: str
    event: QueuedEvent
    at: float
    attempt: int


class PullQueue:
    """Events waiting to be pulled; a fresh handle for every hand-out; re-delivery after 30 s.

    `clock` is the account's wall clock (tests move it); `hold` is how long an empty pull waits
    in real seconds (the service's 5 s). Safe to use from one event loop.
    """

    def __init__(self, *, clock: Clock = time.time, seed: int = 0, hold: float = HOLD):
        self.clock = clock
        self.hold = hold
        self.events: list[QueuedEvent] = []
        self._handles: dict[str, Handout] = {}
        self._rng = random.Random(f"{seed}:pull-handles")
        self._changed: asyncio.Event | None = None
        self._watchers: dict[int, asyncio.Event] = {}
        # (due, id, event) of every event that may still be handed out; a stale item (its event's
        # due time moved, or it was confirmed) is dropped when it surfaces: a pull costs O(16 log n)
        self._due: list[tuple[float, int, int, QueuedEvent]] = []
        self._serial = itertools.count()  # keeps two items of one event from ever comparing events
        self._pulls = 0

    # --- feeding ------------------------------------------------------------------------------

    def put(
        self,
        payload: dict[str, Any],
        *,
        delay: float = 0.0,
        ref: EventRef | None = None,
        faults: PullFaults | None = None,
        body: bytes | None = None,
    ) -> QueuedEvent:
        """Queue one event, pullable `delay` seconds from now (account clock); `body`: the payload's
        JSON when the caller has it already."""
        if len(self.events) >= MAX_QUEUED:
            raise ApiError("LimitExceeded", f"The local PULL queue holds at most {MAX_QUEUED} events.")
        now = self.clock()
        faults = faults or PullFaults()
        event_type = payload.get("EventType", payload.get("eventType"))
        entry = QueuedEvent(
            id=len(self.events),
            # a copy of exact size: orjson's bytes keep the capacity they grew to (16 KiB for 5 KiB)
            body=bytes(memoryview(encode_payload(payload) if body is None else body)),
            event_type=event_type if isinstance(event_type, str) else "unknown",
            available_at=now + max(delay, 0.0),
            ref=ref,
            faults=faults,
            _confirm_expire_pending=faults.confirm_expires,
            _errors_left=faults.internal_errors,
            _delay_pending=faults.pull_delay > 0,
        )
        entry.history.append(Moment(entry.available_at, "queued"))
        self.events.append(entry)
        self._push(entry)
        self.poke()
        return entry

    def _push(self, entry: QueuedEvent) -> None:
        heapq.heappush(self._due, (entry.due_at(), entry.id, next(self._serial), entry))

    def poke(self) -> None:
        """Wake waiting pulls (after a put, or after a test moved the clock)."""
        if self._changed is not None:
            self._changed.set()

    def _moved(self, entry: QueuedEvent) -> None:
        """Something happened to an event: wake whoever follows its history (run reports)."""
        watcher = self._watchers.pop(entry.id, None)
        if watcher is not None:
            watcher.set()

    async def wait_for_history(self, entry: QueuedEvent, timeout: float) -> None:
        """Until the event's history grows, or `timeout` real seconds pass."""
        watcher = self._watchers.setdefault(entry.id, asyncio.Event())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(watcher.wait(), max(timeout, 0.0))

    # --- state --------------------------------------------------------------------------------

    @property
    def pending(self) -> list[QueuedEvent]:
        return [e for e in self.events if not e.confirmed and not self._expired(e)]

    def all_confirmed(self) -> bool:
        return all(e.confirmed for e in self.events)

    def _expired(self, entry: QueuedEvent, now: float | None = None) -> bool:
        return (self.clock() if now is None else now) >= entry.available_at + RETENTION

    def _handle(self) -> str:
        while True:
            handle = f"{self._rng.getrandbits(128):032x}"
            if handle not in self._handles:
                return handle

    # --- the two actions ----------------------------------------------------------------------

    def _surface(self, now: float) -> QueuedEvent | None:
        """The next event due by `now` off the heap (dropping stale items and expired events)."""
        while self._due and self._due[0][0] <= now:
            due, _, _, entry = heapq.heappop(self._due)
            if entry.settled or due != entry.due_at():
                continue
            if self._expired(entry, now):
                entry.history.append(Moment(now, "retention-expired"))
                self._moved(entry)
                continue
            return entry
        return None

    def _take(self, now: float, limit: int) -> tuple[list[Handout], float]:
        """Hand out what is due (oldest first); with it, how late to answer (a slow-pull fault)."""
        due: list[QueuedEvent] = []
        while len(due) < limit and (entry := self._surface(now)) is not None:
            if entry not in due:  # an event has one live heap item; this guards the invariant
                due.append(entry)
        failing = [e for e in due if e._errors_left > 0]
        if failing:
            for entry in due:
                self._push(entry)  # still due, unchanged
            for entry in failing:
                entry._errors_left -= 1
                entry.history.append(Moment(now, "internal-error"))
                self._moved(entry)
            raise ApiError("InternalError", "Internal error (a fault the scenario asked for); pull again.")
        late = 0.0
        handouts = []
        for entry in due:
            if entry._delay_pending:
                entry._delay_pending = False
                late = max(late, entry.faults.pull_delay)
                entry.history.append(Moment(now, "slow-pull", note=f"{entry.faults.pull_delay:g} s"))
            if entry.attempts == 0 and entry.faults.duplicate:
                entry._duplicate_pending = True
                step: Step = "handed"
            elif entry._duplicate_pending:
                entry._duplicate_pending = False
                step = "duplicated"
            else:
                step = "handed" if entry.attempts == 0 else "redelivered"
            entry.attempts += 1
            entry.last_handed_at = now
            handout = Handout(self._handle(), entry, now, entry.attempts)
            self._handles[handout.handle] = handout
            entry.history.append(Moment(now, step, handout.handle, entry.attempts))
            self._push(entry)  # re-delivery (or duplicate)
            self._moved(entry)
            handouts.append(handout)
        return handouts, late

    def _next_due_in(self, now: float) -> float | None:
        while self._due:
            due, _, _, entry = self._due[0]
            if entry.settled or due != entry.due_at():
                heapq.heappop(self._due)
                continue
            return max(due - now, 0.0)
        return None

    async def pull(self, *, limit: int = MAX_EVENTS, hold: float | None = None) -> list[Handout]:
        """PullEvents: what is due now, else wait up to `hold` real seconds for something; [] if nothing."""
        if self._changed is None:
            self._changed = asyncio.Event()
        self._pulls += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.hold if hold is None else hold)
        while True:
            self._changed.clear()
            handouts, late = self._take(self.clock(), limit)
            if handouts:
                if late > 0:
                    await asyncio.sleep(late)
                return handouts
            left = deadline - loop.time()
            if left <= 0:
                return []
            next_due = self._next_due_in(self.clock())
            wait = left if next_due is None else min(left, max(next_due, 0.001))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)

    def confirm(self, handles: list[str]) -> list[QueuedEvent]:
        """ConfirmEvents. An unknown handle fails the whole call (nothing confirmed); an expired one
        (older than 30 s, or a confirm_expires fault) fails after the others are confirmed, and its
        event is due again at once (its 30 s are over). Both are InvalidParameterValue.
        """
        now = self.clock()
        for handle in handles:
            if handle not in self._handles:
                raise ApiError("InvalidParameterValue", f"The EventHandle `{handle}` does not exist.")
        confirmed: list[QueuedEvent] = []
        expired: ApiError | None = None
        for handle in dict.fromkeys(handles):
            handout = self._handles[handle]
            entry = handout.event
            if entry.confirmed:
                continue  # confirming twice (or a duplicate's handle) is harmless
            age = now - handout.at
            fault = entry._confirm_expire_pending
            if fault or age > CONFIRM_WINDOW:
                entry._confirm_expire_pending = False
                note = "fault" if fault and age <= CONFIRM_WINDOW else f"{age:.0f} s"
                entry.history.append(Moment(now, "confirm-expired", handle, handout.attempt, note))
                self._moved(entry)
                if handout.at == entry.last_handed_at and now - handout.at < CONFIRM_WINDOW:
                    entry.last_handed_at = now - CONFIRM_WINDOW  # its window is over: due again now
                    self._push(entry)
                expired = expired or ApiError(
                    "InvalidParameterValue",
                    f"The EventHandle `{handle}` has expired: it was handed out {age:.0f} s ago, "
                    f"confirm within {CONFIRM_WINDOW:.0f} s.",
                )
                continue
            entry.confirmed_at = now
            entry.history.append(Moment(now, "confirmed", handle, handout.attempt))
            self._moved(entry)
            confirmed.append(entry)
        self.poke()
        if expired is not None:
            raise expired
        return confirmed

    @property
    def pulls(self) -> int:
        return self._pulls


def _common(params: dict[str, Any]) -> None:
    optional_str(params, "ExtInfo")
    optional_int(params, "SubAppId")


async def pull_events(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
    _common(params)
    handouts = await ctx.queue.pull()
    return {"EventSet": [{"EventHandle": h.handle, **h.event.payload} for h in handouts]}


async def confirm_events(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
    _common(params)
    handles = required_str_list(params, "EventHandles", limit=MAX_EVENTS)
    ctx.queue.confirm(handles)
    return {}


register("PullEvents", pull_events)
register("ConfirmEvents", confirm_events)
