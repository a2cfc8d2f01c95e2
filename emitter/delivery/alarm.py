"""A wait until a deadline on the event loop's clock that a stop can cut short: one timer, one future."""

from __future__ import annotations

import asyncio


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
