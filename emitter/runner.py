"""Runs scenarios: lazy render, seeded perturbations, delays, concurrency, delivery; yields outcomes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from emitter.deliver import Clock, Delivery, Sender, Sleep
from emitter.errors import EmitterError, UsageError
from emitter.outcomes import (
    AttemptFinished,
    EventFinished,
    EventRef,
    Outcome,
    RunFinished,
    RunResult,
    RunStarted,
)
from emitter.plan import render_scenario
from emitter.render import Renderer
from emitter.scenario import Scenario

_HIGH_WATER = 512
_LOW_WATER = 64


@dataclass(frozen=True)
class RunPlan:
    """What to send: scenarios rendered with one seed and `now`; `skip` holds indexes already delivered."""

    scenarios: tuple[Scenario, ...]
    seed: int
    now: dt.datetime
    fmt: str | None = None
    skip: frozenset[int] = frozenset()
    sources: tuple[str, ...] = ()

    @property
    def planned(self) -> int:
        return planned_count(self.scenarios) - len(self.skip)


@dataclass(frozen=True)
class Timing:
    """When and how many at once: speed factor (0 = no waiting), concurrency, seeded perturbations."""

    speed: float = 1.0
    concurrency: int = 1
    shuffle_window: int = 0
    reverse_window: int = 0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise UsageError(f"speed must be >= 0, got {self.speed:g}", location="--speed",
                             hint="use 1 for real time, 2 for twice as fast, 0 for no waiting")
        if self.concurrency < 1:
            raise UsageError(f"concurrency must be >= 1, got {self.concurrency}", location="--concurrency",
                             hint="use 1 to send strictly one after another")
        if self.shuffle_window > 1 and self.reverse_window > 1:
            raise UsageError("--shuffle-window and --reverse-window exclude each other",
                             location="--reverse-window", hint="pick one reordering per run")
        if min(self.shuffle_window, self.reverse_window) < 0 or self.jitter < 0:
            raise UsageError("windows and jitter must not be negative", location="--shuffle-window",
                             hint="use e.g. --shuffle-window 4 --jitter 200ms")


def planned_count(scenarios: Iterable[Scenario]) -> int:
    """How many sends the scenarios make (repeats times duplicates), without rendering them."""
    return sum(step.repeat * step.duplicate for scenario in scenarios for step in scenario.steps)


def perturbation_rng(seed: int) -> random.Random:
    """Independent of the render seed's stream, so perturbing never changes the payloads."""
    return random.Random(f"{seed}:perturb")


def expand(plan: RunPlan, renderer: Renderer | None = None) -> Iterator[Delivery]:
    """Every send in plan order, rendered lazily; duplicates follow their original with no wait."""
    renderer = renderer or Renderer()
    index = 0
    for scenario in plan.scenarios:
        for event in render_scenario(scenario, seed=plan.seed, now=plan.now, fmt=plan.fmt, renderer=renderer):
            step = event.step
            for copy in range(step.duplicate):
                ref = EventRef(index, scenario.name, event.seq, step.name, event.label, event.event_type,
                               copy, step.duplicate)
                yield Delivery(ref, event.body, event.payload, step.expect, step.sign,
                               event.delay if copy == 0 else 0.0)
                index += 1


def _windows(items: Iterator[Delivery], size: int) -> Iterator[list[Delivery]]:
    while window := list(itertools.islice(items, size)):
        yield window


def perturb(deliveries: Iterable[Delivery], timing: Timing, rng: random.Random) -> Iterator[Delivery]:
    """Reorder within windows (the waits stay in their positions) and add jitter, streaming."""
    items = iter(deliveries)
    size = max(timing.shuffle_window, timing.reverse_window)
    windows = _windows(items, size) if size > 1 else ([item] for item in items)
    for window in windows:
        waits = [d.wait for d in window]
        if timing.shuffle_window > 1:
            rng.shuffle(window)
        elif timing.reverse_window > 1:
            window.reverse()
        for delivery, wait in zip(window, waits, strict=True):
            extra = rng.uniform(0.0, timing.jitter) if timing.jitter > 0 else 0.0
            changed = extra or wait != delivery.wait
            yield dataclasses.replace(delivery, wait=wait + extra) if changed else delivery


def schedule(plan: RunPlan, timing: Timing, renderer: Renderer | None = None) -> Iterator[Delivery]:
    """The run's sends in sending order with their waits; the same seed gives the same sequence."""
    ordered = perturb(expand(plan, renderer), timing, perturbation_rng(plan.seed))
    return (d for d in ordered if d.ref.index not in plan.skip) if plan.skip else ordered


Progress = AttemptFinished | EventFinished


def _interrupted(ref: EventRef, attempts: int) -> EventFinished:
    return EventFinished(ref, "failed", "interrupted before an answer", attempts, None, 0.0, 0.0, "", "")


class Runner:
    """Drives one run. `run()` is an async iterator of outcomes; `stop()` ends scheduling gracefully."""

    def __init__(
        self,
        plan: RunPlan,
        sender: Sender,
        timing: Timing | None = None,
        *,
        renderer: Renderer | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        deliveries: Callable[[], Iterator[Delivery]] | None = None,
    ):
        self.plan = plan
        self.sender = sender
        self.timing = timing or Timing()
        self.renderer = renderer
        self.clock = clock
        self.sleep = sleep
        self._deliveries = deliveries or (lambda: schedule(self.plan, self.timing, self.renderer))
        self._stop = asyncio.Event()
        self._drained = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._error: str | None = None
        self._interrupted = False
        self._crash: BaseException | None = None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Schedule nothing more; sends in flight finish or time out."""
        self._stop.set()

    def abort(self) -> None:
        """Stop and cancel sends in flight; they finish as failed ('interrupted')."""
        self._stop.set()
        for task in list(self._in_flight):
            self._interrupted = True
            task.cancel()

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds` unless stopped first; True when the wait completed."""
        if self._stop.is_set():
            return False
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return not self._stop.is_set()

    async def _deliver(self, delivery: Delivery, queue: asyncio.Queue[Progress | None]) -> None:
        attempts = 0
        try:
            async for outcome in self.sender.send(delivery):
                if isinstance(outcome, AttemptFinished):
                    attempts = outcome.attempt
                queue.put_nowait(outcome)
        except asyncio.CancelledError:
            queue.put_nowait(_interrupted(delivery.ref, attempts))
        except Exception as exc:  # a bug: re-raised by run() once the other sends finish
            self._crash = self._crash or exc
            self._stop.set()

    async def _schedule(self, queue: asyncio.Queue[Progress | None]) -> None:
        timing = self.timing
        previous = self.clock()
        try:
            for delivery in self._deliveries():
                if self._stop.is_set():
                    self._interrupted = True
                    break
                if timing.speed > 0 and delivery.wait > 0:
                    remaining = previous + delivery.wait / timing.speed - self.clock()
                    if remaining > 0 and not await self._pause(remaining):
                        self._interrupted = True
                        break
                while len(self._in_flight) >= timing.concurrency:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                if queue.qsize() > _HIGH_WATER:
                    self._drained.clear()
                    await self._drained.wait()
                if self._stop.is_set():
                    self._interrupted = True
                    break
                task = asyncio.create_task(self._deliver(delivery, queue))
                self._in_flight.add(task)
                # a task cancelled before it ran sent nothing: it counts as not sent
                task.add_done_callback(self._in_flight.discard)
                previous = self.clock()
        except EmitterError as exc:
            self._error = str(exc)
        except asyncio.CancelledError:
            for task in self._in_flight:
                task.cancel()
            raise
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            queue.put_nowait(None)

    async def run(self) -> AsyncIterator[Outcome]:
        """Outcomes as they happen: RunStarted, AttemptFinished..., EventFinished..., RunFinished."""
        plan = self.plan
        yield RunStarted(
            seed=plan.seed,
            now=plan.now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            scenarios=plan.sources or tuple(s.path for s in plan.scenarios),
            format=plan.fmt,
            target=self.sender.target,
            planned=plan.planned,
            resumed=len(plan.skip),
        )
        started = self.clock()
        counts = {"delivered": 0, "unexpected": 0, "failed": 0}
        attempts = 0
        queue: asyncio.Queue[Progress | None] = asyncio.Queue()
        scheduler = asyncio.create_task(self._schedule(queue))
        try:
            while (item := await queue.get()) is not None:
                if queue.qsize() < _LOW_WATER:
                    self._drained.set()
                if isinstance(item, AttemptFinished):
                    attempts += 1
                elif isinstance(item, EventFinished):
                    counts[item.result] += 1
                yield item
        finally:
            if not scheduler.done():
                scheduler.cancel()
                await asyncio.gather(scheduler, return_exceptions=True)
        await scheduler
        if self._crash is not None:
            raise self._crash
        result = RunResult(plan.planned, counts["delivered"], counts["unexpected"], counts["failed"],
                           attempts, self.clock() - started,
                           interrupted=self._interrupted and self._error is None, error=self._error)
        yield RunFinished(result)

