"""Delay accuracy of the scheduler while it delivers: how late each send is against its delay.

A generated scenario mixes bursts (sends with no delay, at full speed) with sends that wait a
few milliseconds, delivered at real time (speed 1) and concurrency 8 to the pinned sink. Each
send's start is recorded by wrapping the Sender; a send's lateness is its start minus (the
previous send's start + its delay). The baseline is the timer itself: asyncio.sleep of the same
delays on an idle loop.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from emitter import eventloop
from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.delivery.runner import Runner, Timing, schedule
from emitter.outcomes import AttemptFinished, EventFinished
from emitter.payloads.render import Renderer
from emitter.scenarios.loader import parse_scenario
from emitter.scenarios.plan import RunPlan
from tests.benchmarks.common import NOW, Row, quantile, receiver_process

P99_TARGET_MS = 3.0
DELAYS_MS = (1, 2, 3, 5, 4, 2)
CYCLES = 70  # each: a burst of 6 sends, then one send after each delay


def scenario_text(cycles: int = CYCLES) -> str:
    steps = []
    for cycle in range(cycles):
        steps.append(f"  - name: burst-{cycle}\n    event: upload\n    repeat: 6\n")
        for index, delay in enumerate(DELAYS_MS):
            event = ("procedure", "transcode", "snapshot")[index % 3]
            steps.append(f"  - name: wait-{cycle}-{index}\n    event: {event}\n    delay: {delay}ms\n")
    return "version: 1\nsteps:\n" + "".join(steps)


class TimedSender(Sender):
    """A Sender that notes when each send starts (on the runner's clock)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started: dict[int, float] = {}

    async def deliver(
        self,
        delivery: Delivery,
        emit: Callable[[AttemptFinished | EventFinished], object],
        *,
        together: bool = False,
    ) -> None:
        self.started[delivery.ref.index] = time.monotonic()
        await super().deliver(delivery, emit, together=together)


async def _deliver(plan: RunPlan, renderer: Renderer, url: str) -> list[float]:
    timing = Timing(speed=1.0, concurrency=8)
    async with make_client(concurrency=timing.concurrency) as client:
        sender = TimedSender(client, url, DeliveryOptions())
        runner = Runner(plan, sender, timing, renderer=renderer)
        delivered = 0
        async for outcome in runner.run():
            if isinstance(outcome, EventFinished):
                delivered += outcome.ok
    order = list(schedule(plan, timing, renderer))
    assert delivered == len(order), f"delivered {delivered} of {len(order)}"
    lateness = []
    for previous, current in itertools.pairwise(order):
        if current.wait > 0:
            expected = sender.started[previous.ref.index] + current.wait / timing.speed
            lateness.append(sender.started[current.ref.index] - expected)
    return lateness


async def _idle_timer(delays: list[float]) -> list[float]:
    lateness = []
    for delay in delays:
        started = time.monotonic()
        await asyncio.sleep(delay)
        lateness.append(time.monotonic() - started - delay)
    return lateness


def run() -> list[Row]:
    renderer = Renderer()
    plan = RunPlan((parse_scenario(scenario_text(), "delays.yaml", renderer.catalog),), 7, NOW)
    with receiver_process() as url:
        warm_up = parse_scenario(scenario_text(3), "warm.yaml", renderer.catalog)
        eventloop.run(_deliver(RunPlan((warm_up,), 1, NOW), renderer, url), waits=True)
        ours = eventloop.run(_deliver(plan, renderer, url), waits=True)  # the loop `run` waits on
    idle = asyncio.run(_idle_timer([ms / 1000 for ms in DELAYS_MS] * CYCLES))
    note = f"{len(ours)} delayed sends among bursts, concurrency 8, speed 1"
    return [
        Row(
            "delays",
            "send lateness p99 while delivering",
            "ms",
            1000 * quantile(ours, 0.99),
            1000 * quantile(idle, 0.99),
            "asyncio.sleep p99, idle loop",
            "lower",
            value_target=P99_TARGET_MS,
            note=note,
        ),
        Row(
            "delays",
            "send lateness median while delivering",
            "ms",
            1000 * quantile(ours, 0.5),
            1000 * quantile(idle, 0.5),
            "asyncio.sleep median, idle loop",
            "lower",
            note=note,
        ),
    ]


if __name__ == "__main__":
    from tests.benchmarks.common import pin_self

    pin_self()
    for row in run():
        print(f"{row.name:<45} {row.value:8.3f} ms  baseline {row.baseline:8.3f} ms  x{row.ratio:.2f}")
