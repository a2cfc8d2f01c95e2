"""Runs a plan: seeded perturbations, delays, concurrency, delivery; yields outcomes."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from emitter.clock import utc_stamp
from emitter.delivery.alarm import Alarm, sleep_unless_stopped, wake
from emitter.delivery.deliver import Clock, Delivery, Sender, Sleep
from emitter.errors import EmitterError, UsageError
from emitter.outcomes import (
    FILTERED_REASON,
    AttemptFinished,
    EventFinished,
    EventRef,
    Outcome,
    RunFinished,
    RunResult,
    RunStarted,
)
from emitter.payloads.render import Renderer
from emitter.scenarios.plan import RunPlan, expand

_HIGH_WATER = 512
_LOW_WATER = 64
# Render ahead while waiting for a send, but stop this long (plus one render) before it is due.
_RENDER_GUARD = 0.002
_LOOKAHEAD = 256
# The consumer yields to the loop after this many outcomes in a row (or two per send in flight, when
# more: what the sends answered in one loop turn hand over), so timers are not held up.
_CONSUMER_SLICE = 64
# When nothing waits (speed 0): sends rendered in one go (rendering in runs is faster).
_BATCH = 16


@dataclass(frozen=True)
class Timing:
    """When and how many at once: speed factor (0 = no waiting), concurrency, seeded perturbations."""

    speed: float = 1.0
    concurrency: int = 1
    shuffle_window: int = 0
    reverse_window: int = 0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not self.speed >= 0:
            raise UsageError(
                f"speed must be >= 0, got {self.speed:g}",
                location="speed",
                hint="use 1 for real time, 2 for twice as fast, 0 for no waiting",
            )
        if self.concurrency < 1:
            raise UsageError(
                f"concurrency must be >= 1, got {self.concurrency}",
                location="concurrency",
                hint="use 1 to send strictly one after another",
            )
        if self.shuffle_window > 1 and self.reverse_window > 1:
            raise UsageError(
                "a shuffle window and a reverse window exclude each other",
                location="reverse_window",
                hint="pick one reordering per run",
            )
        if min(self.shuffle_window, self.reverse_window) < 0 or not self.jitter >= 0:
            raise UsageError(
                "windows and jitter must not be negative",
                location="jitter"
                if not self.jitter >= 0
                else "shuffle_window"
                if self.shuffle_window < 0
                else "reverse_window",
                hint="use e.g. a window of 4 and a jitter of 0.2 s",
            )


def perturbation_rng(seed: int) -> random.Random:
    """Independent of the render seed's stream, so perturbing never changes the payloads."""
    return random.Random(f"{seed}:perturb")


def _perturb_steps(
    deliveries: Iterable[Delivery], timing: Timing, rng: random.Random, skip: frozenset[int] = frozenset()
) -> Iterator[Delivery | None]:
    """perturb() one pulled delivery per step: None while a window fills, so each step renders once."""
    items = iter(deliveries)
    if max(timing.shuffle_window, timing.reverse_window) <= 1 and not timing.jitter > 0:
        # nothing to perturb: each delivery as it comes, with no window (nor generator) per send
        return items if not skip else (None if d.ref.index in skip else d for d in items)
    return _windows(items, timing, rng, skip)


def _windows(
    items: Iterator[Delivery], timing: Timing, rng: random.Random, skip: frozenset[int]
) -> Iterator[Delivery | None]:
    size = max(timing.shuffle_window, timing.reverse_window)
    jitter = timing.jitter
    while True:
        window: list[Delivery] = []
        for delivery in items:
            window.append(delivery)
            if len(window) >= size:
                break
            yield None
        if not window:
            return
        waits = [d.wait for d in window]
        if timing.shuffle_window > 1:
            rng.shuffle(window)
        elif timing.reverse_window > 1:
            window.reverse()
        for delivery, wait in zip(window, waits, strict=True):
            extra = rng.uniform(0.0, jitter) if jitter > 0 else 0.0
            changed = extra or wait != delivery.wait
            if changed:
                delivery = dataclasses.replace(delivery, wait=wait + extra)
            yield None if skip and delivery.ref.index in skip else delivery


def schedule(plan: RunPlan, timing: Timing, renderer: Renderer | None = None) -> Iterator[Delivery]:
    """The run's sends in sending order with their waits; the same seed gives the same sequence."""
    return (d for d in schedule_steps(plan, timing, renderer) if d is not None)


def schedule_steps(
    plan: RunPlan, timing: Timing, renderer: Renderer | None = None
) -> Iterator[Delivery | None]:
    """schedule() in steps of at most one render each; None is a step that released no send."""
    return _perturb_steps(expand(plan, renderer), timing, perturbation_rng(plan.seed), plan.skip)


Progress = AttemptFinished | EventFinished


async def _each_outcome(sender: Sender, delivery: Delivery, emit: Callable[[Progress], object]) -> None:
    """Sender.deliver() for a sender that only yields its outcomes."""
    async for outcome in sender.send(delivery):
        delivery.record(outcome)
        emit(outcome)


def _filtered(ref: EventRef) -> EventFinished:
    return EventFinished(ref, "filtered", FILTERED_REASON, 0, None, 0.0, 0.0, "", "")


def _interrupted(ref: EventRef, attempts: int) -> EventFinished:
    return EventFinished(ref, "failed", "interrupted before an answer", attempts, None, 0.0, 0.0, "", "")


class Runner:
    """Drives one run. `run()` is an async iterator of outcomes; `stop()` ends scheduling gracefully.

    A wait counts from the previous send (scaled by the speed). While it waits, the runner renders
    the next sends ahead, one event at a time, until the send is nearly due, so that rendering (a
    whole shuffle window, say) does not make it late. Without waits (speed 0), `concurrency`
    workers each send one delivery after another, rendering a few at a time when none is ready:
    no task, timer or slot per send.
    """

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
        freeze_gc: bool = False,
    ):
        self.plan = plan
        self.sender = sender
        self.timing = timing or Timing()
        self.renderer = renderer
        self.clock = clock
        self.sleep = sleep
        self.freeze_gc = freeze_gc
        self._steps: Callable[[], Iterator[Delivery | None]] = deliveries or (
            lambda: schedule_steps(self.plan, self.timing, self.renderer)
        )
        self._stop = asyncio.Event()
        self._drained = asyncio.Event()
        self._backlogged = False  # a producer waits for _drained
        self._in_flight: set[asyncio.Task[None]] = set()  # a task per send, or the workers (speed 0)
        self._unpaced_mode = False
        self._sending = 0  # sends in flight in the workers
        self._slot: asyncio.Future[None] | None = None
        self._alarm = Alarm()
        self._error: str | None = None
        self._interrupted = False
        self._crash: BaseException | None = None
        # a Sender records and hands over its outcomes without an async generator; other senders
        # (PULL) only yield them
        self._delivers = isinstance(sender, Sender)

    @property
    def in_flight(self) -> int:
        return self._sending if self._unpaced_mode else len(self._in_flight)

    def stop(self) -> None:
        """Schedule nothing more; sends in flight finish or time out."""
        self._stop.set()
        self._alarm.ring()
        wake(self._slot)

    def interrupt(self) -> None:
        """stop(), and the run counts as interrupted (a signal) even when every send had started."""
        self._interrupted = True
        self.stop()

    def abort(self) -> None:
        """Stop and cancel sends in flight; they finish as failed ('interrupted')."""
        self.stop()
        for task in list(self._in_flight):
            self._interrupted = True
            task.cancel()

    async def _pause_until(self, deadline: float) -> bool:
        """Wait until `deadline` (on the runner's clock) unless stopped first; True when it was reached."""
        if self._stop.is_set():
            return False
        if self.sleep is not asyncio.sleep or self.clock is not time.monotonic:
            return await self._pause(deadline - self.clock())
        await self._alarm.sleep_until(deadline)  # the loop's clock is monotonic, as the runner's
        return not self._stop.is_set()

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds` with the injected sleep unless stopped first; True when the wait completed."""
        return await sleep_unless_stopped(self.sleep, seconds, self._stop)

    async def _deliver(self, delivery: Delivery, queue: _Outcomes, *, together: bool = False) -> None:
        """One send; `together` (at speed 0): the sends of a loop turn are written back to back."""
        try:
            if self._delivers:
                await self.sender.deliver(delivery, queue.put_nowait, together=together)
            else:
                await _each_outcome(self.sender, delivery, queue.put_nowait)
        except asyncio.CancelledError:
            attempts = delivery.attempts[-1].attempt if delivery.attempts else 0
            interrupted = _interrupted(delivery.ref, attempts)
            delivery.record(interrupted)
            queue.put_nowait(interrupted)
        except Exception as exc:  # a bug: re-raised by run() once the other sends finish
            self._crash = self._crash or exc
            self.stop()

    def _finished(self, task: asyncio.Task[None]) -> None:
        # a task cancelled before it ran sent nothing: it counts as not sent
        self._in_flight.discard(task)
        if len(self._in_flight) < self.timing.concurrency:
            wake(self._slot)

    async def _until_drained(self) -> None:
        """Wait until the consumer has caught up with the outcomes (below the low water mark)."""
        self._drained.clear()
        self._backlogged = True
        await self._drained.wait()

    async def _schedule(self, queue: _Outcomes) -> None:
        ahead = _Lookahead(self._steps(), self.clock, timed=self.timing.speed > 0)
        try:
            if self.timing.speed > 0:
                await self._paced(ahead, queue)
            else:
                await self._unpaced(ahead, queue)
        except EmitterError as exc:
            self._error = str(exc)
        except asyncio.CancelledError:
            for task in self._in_flight:
                task.cancel()
            raise
        finally:
            self._slot = None
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            queue.put_nowait(None)

    def _skip_filtered(self, delivery: Delivery, queue: _Outcomes) -> bool:
        """Report a send whose EventType is not subscribed (neither waited for nor queued); True if so."""
        if not delivery.filtered:
            return False
        outcome = _filtered(delivery.ref)
        delivery.record(outcome)
        queue.put_nowait(outcome)
        return True

    async def _unpaced(self, ahead: _Lookahead, queue: _Outcomes) -> None:
        """No waits: `concurrency` workers, each starting the next send as soon as its previous one
        ends (no task per send). Sends start in plan order; they render a few at a time."""
        concurrency = self.timing.concurrency
        batch = min(_BATCH, concurrency)

        backlog = 2 * concurrency  # outcomes waiting: a send answered at once (in process)

        ready = ahead.ready
        stop = self._stop

        async def worker() -> None:
            while (delivery := ready.popleft() if ready else ahead.next(batch)) is not None:
                if stop.is_set():
                    self._interrupted = True
                    return
                if delivery.filtered:
                    self._skip_filtered(delivery, queue)
                    continue
                if len(queue.items) > _HIGH_WATER:
                    await self._until_drained()
                    if self._stop.is_set():
                        self._interrupted = True
                        return
                self._sending += 1
                try:
                    await self._deliver(delivery, queue, together=True)
                finally:
                    self._sending -= 1
                if len(queue.items) >= backlog:
                    await asyncio.sleep(0)  # sends answered without waiting (in process) let the consumer in

        async def guarded() -> None:
            try:
                await worker()
            except EmitterError as exc:  # rendering failed: the sends in flight finish, no more start
                self._error = self._error or str(exc)
                self.stop()
            except Exception as exc:  # a bug: re-raised by run() once the other sends finish
                self._crash = self._crash or exc
                self.stop()

        self._unpaced_mode = True
        for _ in range(self.timing.concurrency):
            self._in_flight.add(asyncio.create_task(guarded()))
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _paced(self, ahead: _Lookahead, queue: _Outcomes) -> None:
        """Waits between sends: one task per send, started when its wait is over and a slot is free."""
        timing = self.timing
        previous = self.clock()
        started = 0
        while (delivery := ahead.next()) is not None:
            if self._stop.is_set():
                self._interrupted = True
                break
            if self._skip_filtered(delivery, queue):
                continue
            if delivery.wait > 0:
                deadline = previous + delivery.wait / timing.speed
                ahead.fill_until(deadline)
                if deadline > self.clock() and not await self._pause_until(deadline):
                    self._interrupted = True
                    break
            if len(self._in_flight) >= timing.concurrency and not self._stop.is_set():
                self._slot = asyncio.get_running_loop().create_future()
                await self._slot
            if len(queue.items) > _HIGH_WATER:
                await self._until_drained()
            if self._stop.is_set():
                self._interrupted = True
                break
            task = asyncio.create_task(self._deliver(delivery, queue))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
            previous = self.clock()
            started += 1
            if started % _BATCH == 0:
                await asyncio.sleep(0)  # let the sends start (and answers in) before rendering more

    async def run(self) -> AsyncIterator[Outcome]:
        """Outcomes as they happen: RunStarted, AttemptFinished..., EventFinished..., RunFinished."""
        plan = self.plan
        planned = plan.planned
        yield RunStarted(
            seed=plan.seed,
            now=utc_stamp(plan.now),
            scenarios=plan.scenario_sources,
            format=plan.fmt,
            target=self.sender.target,
            planned=planned,
            resumed=len(plan.skip),
            events=tuple(sorted(plan.events)) if plan.events is not None else None,
        )
        started = self.clock()
        counts = {"delivered": 0, "unexpected": 0, "failed": 0, "filtered": 0}
        attempts = 0
        queue = _Outcomes()
        scheduler = asyncio.create_task(self._schedule(queue))
        in_a_row = 0
        # a slice shorter than a turn's outcomes would make the workers wait for the consumer (backlog)
        consumer_slice = max(_CONSUMER_SLICE, 2 * self.timing.concurrency)
        # What exists before the run outlives it: the cyclic GC need not scan it again and again
        # while the run allocates (at full speed, collections cost more than the sends). Undone
        # when the run ends. Process-wide, so only the CLI, which owns its process, asks for it.
        if self.freeze_gc:
            gc.freeze()
        items = queue.items
        try:
            while True:
                if not items:
                    in_a_row = 0
                    await queue.wait()
                elif in_a_row >= consumer_slice:
                    in_a_row = 0
                    await asyncio.sleep(0)  # let due timers and answers in between
                item = items.popleft()
                if item is None:
                    break
                in_a_row += 1
                if self._backlogged and len(items) < _LOW_WATER:
                    self._backlogged = False
                    self._drained.set()
                if isinstance(item, AttemptFinished):
                    attempts += 1
                elif isinstance(item, EventFinished):
                    counts[item.result] += 1
                yield item
        finally:
            if self.freeze_gc:
                gc.unfreeze()
            if not scheduler.done():
                scheduler.cancel()
                await asyncio.gather(scheduler, return_exceptions=True)
        await scheduler
        if self._crash is not None:
            raise self._crash
        result = RunResult(
            planned,
            counts["delivered"],
            counts["unexpected"],
            counts["failed"],
            attempts,
            self.clock() - started,
            interrupted=self._interrupted and self._error is None,
            error=self._error,
            filtered=counts["filtered"],
        )
        yield RunFinished(result)


class _Outcomes:
    """The outcomes on their way from the sends to run()'s consumer (None ends them): a FIFO whose
    consumer waits only when it is empty (lighter than asyncio.Queue, which awaits every get)."""

    def __init__(self) -> None:
        self.items: deque[Progress | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Progress | None) -> None:
        self.items.append(item)
        if self._waiter is not None:
            wake(self._waiter)
            self._waiter = None  # woken once: the items that follow find the consumer due already

    def get_nowait(self) -> Progress | None:
        return self.items.popleft()

    async def wait(self) -> None:
        """Until something is put (at once when something is there already)."""
        while not self.items:
            self._waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None


class _Lookahead:
    """The sends in order from steps of at most one render each, rendered ahead on demand.

    An error while rendering ahead is kept and raised where it happened in the order, after the
    sends before it, as if nothing had been rendered ahead.
    """

    def __init__(self, steps: Iterator[Delivery | None], clock: Clock, *, timed: bool = True):
        self.steps = steps
        self.clock = clock
        self.timed = timed  # the step time is kept (fill_until needs it)
        self.ready: deque[Delivery] = deque()
        self.done = False
        self.error: Exception | None = None
        self.step_time = 0.0

    def _step(self) -> None:
        clock = self.clock
        started = clock() if self.timed else 0.0
        try:
            item = next(self.steps)
        except StopIteration:
            self.done = True
            return
        except Exception as exc:  # re-raised in order by next()
            self.error, self.done = exc, True
            return
        if self.timed:
            self.step_time = max(clock() - started, self.step_time * 0.9)
        if item is not None:
            self.ready.append(item)

    def next(self, batch: int = 1) -> Delivery | None:
        """The next send (rendering as much as it takes, up to `batch` ahead), or None at the end."""
        if not self.ready:
            while len(self.ready) < batch and not self.done:
                self._step()
        if self.ready:
            return self.ready.popleft()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return None

    def fill_until(self, deadline: float) -> None:
        """Render ahead while the deadline is far enough away for one more render."""
        clock = self.clock
        while (
            not self.done
            and len(self.ready) < _LOOKAHEAD
            and deadline - clock() > _RENDER_GUARD + 2 * self.step_time
        ):
            self._step()
