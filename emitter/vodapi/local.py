"""LocalVod: the local VOD API started in process (a thread) for tests and scripts; keys and a test clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import string
import threading
import time
from collections.abc import Coroutine, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from emitter.vodapi.account import Account, Callback
from emitter.vodapi.config import EventConfig
from emitter.vodapi.faults import PullFaults
from emitter.vodapi.pull import PullQueue, QueuedEvent
from emitter.vodapi.server import VodApiServer

T = TypeVar("T")
ID_ENV = "VOD_EMITTER_SECRET_ID"
KEY_ENV = "VOD_EMITTER_SECRET_KEY"
_ALPHABET = string.ascii_letters + string.digits


def local_keys(secret_id: str | None = None, secret_key: str | None = None) -> tuple[str, str]:
    """The given pair, else the environment's (VOD_EMITTER_SECRET_ID/KEY), else a fresh local pair."""
    secret_id = (
        secret_id
        or os.environ.get(ID_ENV)
        or "AKIDlocal" + "".join(secrets.choice(_ALPHABET) for _ in range(27))
    )
    secret_key = (
        secret_key or os.environ.get(KEY_ENV) or "".join(secrets.choice(_ALPHABET) for _ in range(32))
    )
    return secret_id, secret_key


class ManualClock:
    """A wall clock that only moves when told: `clock.advance(31)` (thread-safe)."""

    def __init__(self, start: float | None = None):
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now


class LocalVod(AbstractContextManager["LocalVod"]):
    """The local VOD API in a background thread: `with LocalVod() as vod: VodClient(... vod.endpoint ...)`.

    `clock` (e.g. a ManualClock) drives the 30 s confirm window, re-delivery and retention;
    `hold` is how long an empty PullEvents waits (real seconds; the service's 5 s by default).
    `rate_limit=None` lifts the 100 req/s limit.
    """

    def __init__(
        self,
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        port: int = 0,
        format: str = "v3",
        seed: int = 0,
        clock: Any = time.time,
        hold: float | None = None,
        rate_limit: int | None = 100,
        config: EventConfig | None = None,
    ):
        secret_id, secret_key = local_keys(secret_id, secret_key)
        self.account = Account(
            secret_id,
            secret_key,
            format=format,
            seed=seed,
            clock=clock,
            rate_limit=rate_limit,
            hold=hold,
            config=config or EventConfig(),
        )
        self.server = VodApiServer(self.account, port=port)
        self._running: AbstractContextManager[VodApiServer] | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LocalVod:
        if self._running is None:
            running = self.server.running_in_thread()
            running.__enter__()
            self._running = running
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.__exit__(None, None, None)

    def __enter__(self) -> LocalVod:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what tests read ----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:PORT`, for HttpProfile(endpoint=...) with protocol "http"."""
        return self.server.endpoint

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def secret_id(self) -> str:
        return self.account.secret_id

    @property
    def secret_key(self) -> str:
        return self.account.secret_key

    @property
    def queue(self) -> PullQueue:
        return self.account.queue

    @property
    def callbacks(self) -> list[Callback]:
        """Every callback published so far (queued for PULL, pushed, or skipped by the config)."""
        return self.account.callbacks

    @property
    def config(self) -> EventConfig:
        return self.account.config

    def _on_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        loop = self.server.loop
        if self._running is None or loop is None:
            coroutine.close()
            raise RuntimeError("the local VOD API is not started: use `with LocalVod() as vod:`")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    def publish(
        self, payload: dict[str, Any], *, delay: float = 0.0, faults: PullFaults | None = None
    ) -> Callback:
        """Publish one callback as the API's own flows do (the event config decides where it goes)."""
        return self._on_loop(self.account.publish(payload, delay=delay, source="local", faults=faults))

    def queue_scenario(
        self, scenario: str | Path, *, seed: int | None = None, now: dt.datetime | None = None
    ) -> list[QueuedEvent]:
        """Render a scenario in the account's format and queue every event for pulling now."""
        from emitter.api import render_scenario

        events = render_scenario(scenario, seed=seed if seed is not None else self.account.seed,
                                 now=now, fmt=self.account.format)  # fmt: skip
        payloads: Sequence[Any] = [event.payload for event in events]
        return self._on_loop(self._queue_all(payloads))

    async def _queue_all(self, payloads: Sequence[Any]) -> list[QueuedEvent]:
        entries = []
        for payload in payloads:
            if not isinstance(payload, dict):
                raise ValueError("a scenario step with a raw 'body:' cannot be pulled")
            entries.append(self.account.queue.put(payload))
        return entries

    @property
    def clock(self) -> Any:
        return self.account.clock

    def advance(self, seconds: float) -> None:
        """Move a ManualClock forward and wake waiting pulls (re-delivery, expiry, retention)."""
        if not isinstance(self.account.clock, ManualClock):
            raise TypeError("advance() needs LocalVod(clock=ManualClock())")
        self.account.clock.advance(seconds)
        self.poke()

    def poke(self) -> None:
        """Wake waiting pulls after moving a test clock."""
        if self.server.loop is not None:
            self.server.loop.call_soon_threadsafe(self.account.queue.poke)

    def sdk_client(
        self, *, secret_key: str | None = None, region: str = "ap-guangzhou", timeout: int = 10
    ) -> Any:
        """A `tencentcloud` VodClient pointed at this endpoint (needs tencentcloud-sdk-python-vod)."""
        from tencentcloud.common.credential import Credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.vod.v20180717.vod_client import VodClient

        http = HttpProfile(protocol="http", endpoint=self.endpoint, reqTimeout=timeout)
        credential = Credential(self.secret_id, secret_key or self.secret_key)
        return VodClient(credential, region, ClientProfile(httpProfile=http))
