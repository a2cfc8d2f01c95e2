"""A wait until a deadline on the event loop's clock that a stop can cut short: one timer, one future."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def wake(waiter: asyncio.Future[None] | None) -> None:
    """Resolve a waiter that is still pending (a no-op for None or one already woken)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class Alarm:
    """Sleeps until an absolute deadline (loop.time()); `ring()` ends the sleep early."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_at(deadline, wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def ring(self) -> None:
        wake(self._waiter)


async def sleep_unless_stopped(
    sleep: Callable[[float], Awaitable[None]], seconds: float, stop: asyncio.Event
) -> bool:
    """Wait `seconds` with an injected sleep (a fake clock's in tests) unless `stop` is set first;
    True when the wait completed."""
    sleeper = asyncio.ensure_future(sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return not stop.is_set()
