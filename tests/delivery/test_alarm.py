"""The alarm: a wait until a deadline on the loop's clock that a ring ends early."""

from __future__ import annotations

import asyncio

from emitter.delivery.alarm import Alarm, wake


def test_sleeps_until_the_deadline() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.05
        await Alarm().sleep_until(deadline)
        return loop.time(), deadline

    woke, deadline = asyncio.run(main())
    assert woke >= deadline


def test_ring_ends_the_sleep_early() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        alarm = Alarm()
        start = loop.time()
        loop.call_later(0.01, alarm.ring)
        await asyncio.wait_for(alarm.sleep_until(start + 30), timeout=5)  # TimeoutError if the ring is lost
        return loop.time() - start

    assert asyncio.run(main()) < 5


def test_ring_without_a_sleeper_and_wake_of_a_done_waiter_do_nothing() -> None:
    async def main() -> None:
        Alarm().ring()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake(waiter)
        wake(waiter)
        wake(None)
        assert waiter.done()

    asyncio.run(main())
