"""One emulated VOD account: keys, format, event config, PULL queue, and publishing callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, Signing, make_client
from emitter.outcomes import EventFinished, EventRef
from emitter.payloads.render import Renderer, default_renderer, encode_payload
from emitter.vodapi.actions import ApiError
from emitter.vodapi.config import EventConfig
from emitter.vodapi.faults import PullFaults
from emitter.vodapi.pull import PullQueue, QueuedEvent

Clock = Callable[[], float]
RATE_LIMIT = 100  # requests per second and action, the service's limit for the PULL actions
ACTION_LIMITS = {"ModifyEventConfig": 20}
FORMATS = ("v3", "v2")


@dataclass
class Callback:
    """One published callback: where it went (queued, pushed, skipped) and, for a push, how it ended."""

    seq: int
    event_type: str
    payload: dict[str, Any]
    source: str
    at: float
    route: Literal["pull", "push", "skipped"]
    reason: str = ""
    entry: QueuedEvent | None = None
    outcome: EventFinished | None = None


@dataclass
class Account:
    """The state behind one endpoint, shared by every request; `clock` is Unix seconds (injectable)."""

    secret_id: str
    secret_key: str
    format: str = "v3"
    seed: int = 0
    clock: Clock = time.time
    config: EventConfig = field(default_factory=EventConfig)
    rate_limit: int | None = RATE_LIMIT
    hold: float | None = None
    push_timeout: float = 5.0
    ticker: Clock = time.monotonic  # what the rate limit counts seconds with
    renderer_: Renderer | None = None
    state: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    queue: PullQueue = field(init=False)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        self.queue = PullQueue(clock=self.clock, seed=self.seed)
        if self.hold is not None:
            self.queue.hold = self.hold
        self._ids = random.Random(f"{self.seed}:request-ids")
        self._recent: dict[str, deque[float]] = {}
        self._client: httpx.AsyncClient | None = None
        self._pushes: set[asyncio.Task[None]] = set()

    @property
    def keys(self) -> dict[str, str]:
        return {self.secret_id: self.secret_key}

    @property
    def renderer(self) -> Renderer:
        if self.renderer_ is None:
            self.renderer_ = default_renderer()
        return self.renderer_

    def request_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def admit(self, action: str, now: float) -> None:
        """RequestLimitExceeded past the action's limit in the last second (`now`: a monotonic clock)."""
        if self.rate_limit is None:
            return
        limit = min(ACTION_LIMITS.get(action, self.rate_limit), self.rate_limit)
        recent = self._recent.setdefault(action, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= limit:
            raise ApiError(
                "RequestLimitExceeded",
                f"The request rate of {action} exceeds the limit of {limit} per second.",
            )
        recent.append(now)

    # --- publishing ---------------------------------------------------------------------------

    async def publish(
        self,
        payload: dict[str, Any],
        *,
        delay: float = 0.0,
        source: str = "api",
        ref: EventRef | None = None,
        faults: PullFaults | None = None,
    ) -> Callback:
        """Notify one event as the config says: queue it (PULL), POST it (PUSH), or skip it."""
        event_type = payload.get("EventType", payload.get("eventType"))
        kind = event_type if isinstance(event_type, str) else "unknown"
        config = self.config
        callback = Callback(len(self.callbacks), kind, payload, source, self.clock(), "skipped")
        self.callbacks.append(callback)
        if not config.notifies(kind):
            callback.reason = f"{kind} is switched OFF in the event config"
        elif config.mode == "PULL":
            callback.route = "pull"
            callback.entry = self.queue.put(payload, delay=delay, ref=ref, faults=faults)
        elif config.notification_url:
            callback.route = "push"
            task = asyncio.create_task(self._push(callback, config, delay, ref))
            self._pushes.add(task)
            task.add_done_callback(self._pushes.discard)
        else:
            callback.reason = "Mode is PUSH and NotificationUrl is empty"
        return callback

    async def _push(
        self, callback: Callback, config: EventConfig, delay: float, ref: EventRef | None
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if self._client is None:
            self._client = make_client(timeout=self.push_timeout)
        signing = Signing(config.sign_key) if config.sign_key else None
        options = DeliveryOptions(timeout=self.push_timeout, signing=signing)
        sender = Sender(self._client, config.notification_url, options, wall=self.clock)
        ref = ref or EventRef(callback.seq, "api", callback.seq, callback.source, callback.event_type,
                              callback.event_type)  # fmt: skip
        delivery = Delivery(ref, encode_payload(callback.payload), callback.payload)
        async for outcome in sender.send(delivery):
            if isinstance(outcome, EventFinished):
                callback.outcome = outcome

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every push started so far has ended (TimeoutError after `timeout` seconds)."""
        if self._pushes:
            await asyncio.wait_for(asyncio.gather(*self._pushes, return_exceptions=True), timeout)

    async def aclose(self) -> None:
        """Cancel pushes still waiting and close the push client."""
        for task in list(self._pushes):
            task.cancel()
        if self._pushes:
            await asyncio.gather(*self._pushes, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
