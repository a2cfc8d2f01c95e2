"""The PULL queue with a test clock: long poll, delays, re-delivery, retention, and the PULL faults."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from emitter.vodapi import ApiError
from emitter.vodapi.faults import PullFaults
from emitter.vodapi.local import ManualClock
from emitter.vodapi.pull import RETENTION, PullQueue


def event(n: int) -> dict[str, Any]:
    return {"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": [f"f{n}"]}}


def ids(handouts: list[Any]) -> list[str]:
    return [h.event.payload["FileDeleteEvent"]["FileIdSet"][0] for h in handouts]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_delays_make_events_pullable_later_in_order() -> None:
    clock = ManualClock(1000.0)
    queue = PullQueue(clock=clock, hold=0.0)

    async def scenario() -> list[list[str]]:
        queue.put(event(1))
        queue.put(event(2), delay=10)
        queue.put(event(3), delay=5)
        first = ids(await queue.pull())
        clock.advance(5)
        second = ids(await queue.pull())
        clock.advance(5)
        third = ids(await queue.pull())
        return [first, second, third]

    assert run(scenario()) == [["f1"], ["f3"], ["f2"]]


def test_long_poll_answers_when_an_event_arrives() -> None:
    queue = PullQueue(clock=ManualClock(), hold=5.0)

    async def scenario() -> list[str]:
        waiting = asyncio.create_task(queue.pull())
        await asyncio.sleep(0.01)
        assert not waiting.done()  # nothing yet: the pull is held
        queue.put(event(7))
        return ids(await asyncio.wait_for(waiting, 2.0))

    assert run(scenario()) == ["f7"]


def test_an_empty_pull_is_held_then_answers_nothing() -> None:
    queue = PullQueue(clock=ManualClock(), hold=0.05)
    assert run(queue.pull()) == []


def test_redelivery_is_at_least_once_with_fresh_handles_and_attempts() -> None:
    clock = ManualClock()
    queue = PullQueue(clock=clock, hold=0.0)

    async def scenario() -> None:
        queue.put(event(1))
        first = await queue.pull()
        clock.advance(30.5)
        second = await queue.pull()
        assert [h.attempt for h in first + second] == [1, 2]
        assert first[0].handle != second[0].handle
        with pytest.raises(ApiError, match="expired"):
            queue.confirm([first[0].handle])
        queue.confirm([second[0].handle])
        clock.advance(60)
        assert await queue.pull() == []
        steps = [m.step for m in queue.events[0].history]
        assert steps == ["queued", "handed", "redelivered", "confirm-expired", "confirmed"]

    run(scenario())


def test_retention_drops_events_after_four_days() -> None:
    clock = ManualClock()
    queue = PullQueue(clock=clock, hold=0.0)

    async def scenario() -> list[Any]:
        queue.put(event(1))
        clock.advance(RETENTION + 1)
        return await queue.pull()

    assert run(scenario()) == []
    assert queue.events[0].history[-1].step == "retention-expired"
    assert queue.pending == []


def test_fault_duplicate_hands_out_twice_even_after_confirming() -> None:
    queue = PullQueue(clock=ManualClock(), hold=0.0)

    async def scenario() -> None:
        queue.put(event(1), faults=PullFaults(duplicate=True))
        first = await queue.pull()
        queue.confirm([first[0].handle])
        second = await queue.pull()
        assert ids(second) == ["f1"] and second[0].handle != first[0].handle
        queue.confirm([second[0].handle])  # confirming the copy is fine
        assert await queue.pull() == []

    run(scenario())
    assert [m.step for m in queue.events[0].history].count("duplicated") == 1


def test_fault_confirm_expires_once() -> None:
    queue = PullQueue(clock=ManualClock(), hold=0.0)

    async def scenario() -> None:
        queue.put(event(1), faults=PullFaults(confirm_expires=True))
        handout = (await queue.pull())[0]
        with pytest.raises(ApiError) as error:
            queue.confirm([handout.handle])
        assert error.value.code == "InvalidParameterValue"
        queue.confirm([handout.handle])  # the consumer's retry succeeds

    run(scenario())
    assert queue.all_confirmed()


def test_fault_internal_error_then_success() -> None:
    queue = PullQueue(clock=ManualClock(), hold=0.0)

    async def scenario() -> list[str]:
        queue.put(event(1), faults=PullFaults(internal_errors=2))
        for _ in range(2):
            with pytest.raises(ApiError) as error:
                await queue.pull()
            assert error.value.code == "InternalError"
        return ids(await queue.pull())

    assert run(scenario()) == ["f1"]


def test_fault_slow_pull_answers_late_once() -> None:
    queue = PullQueue(clock=ManualClock(), hold=0.0)

    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        queue.put(event(1), faults=PullFaults(pull_delay=0.2))
        started = loop.time()
        await queue.pull()
        return [loop.time() - started]

    assert run(scenario())[0] >= 0.2
    assert [m.step for m in queue.events[0].history][:3] == ["queued", "slow-pull", "handed"]


def test_a_late_confirm_without_a_pull_between_hands_out_once_more() -> None:
    clock = ManualClock()
    queue = PullQueue(clock=clock, hold=0.0)

    async def scenario() -> list[int]:
        queue.put(event(1))
        first = await queue.pull()
        clock.advance(31)
        with pytest.raises(ApiError):
            queue.confirm([first[0].handle])
        again = await queue.pull()
        return [h.attempt for h in again] + [len(await queue.pull())]

    assert run(scenario()) == [2, 0]


def test_many_events_drain_in_order_16_at_a_time() -> None:
    clock = ManualClock()
    queue = PullQueue(clock=clock, hold=0.0)

    async def scenario() -> list[str]:
        for n in range(40):
            queue.put(event(n), delay=(40 - n) * 0.001)  # queued last, due first
        clock.advance(1)
        seen: list[str] = []
        for _ in range(4):
            batch = await queue.pull()
            assert len(batch) <= 16
            queue.confirm([h.handle for h in batch])
            seen += ids(batch)
        return seen

    assert run(scenario()) == [f"f{n}" for n in reversed(range(40))]


def test_queued_events_are_kept_as_their_json_not_as_dict_trees() -> None:
    # a queue of 100,000 transcodes held 1.27 GB as dicts; its bodies are a tenth of that
    import copy
    import tracemalloc

    import emitter

    template = emitter.render_event("procedure", fmt="v3", seed=1)
    queue = PullQueue(clock=ManualClock(0.0), hold=0.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            queue.put(copy.deepcopy(template))  # the caller lets go of each payload
        kept = (tracemalloc.get_traced_memory()[0] - before) / 200
    finally:
        tracemalloc.stop()
    body = queue.events[0].body
    assert kept < 2 * len(body) + 1024  # the body and the entry's own fields, no dict tree
    handed = queue.events[-1].payload
    assert handed == template and list(handed) == list(template)
    assert handed is not queue.events[-1].payload  # read afresh: a consumer's changes never stick
