"""Load mode: scenarios cycled at an arrival rate (open model) or by N senders (closed), with O(1) stats."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from emitter._version import __version__
from emitter.clock import utc_stamp
from emitter.delivery.alarm import Alarm, sleep_unless_stopped
from emitter.delivery.deliver import Clock, Delivery, DeliveryOptions, Sender, Sleep, make_client
from emitter.errors import EmitterError, UsageError
from emitter.interrupts import trap
from emitter.load.profile import LoadProfile
from emitter.load.stats import (
    ERROR_KINDS,
    HISTOGRAM_EDGES,
    PERCENTILES,
    LoadStats,
    Window,
    edge_label,
    format_latency,
    format_rate,
)
from emitter.outcomes import AttemptFinished, EventFinished
from emitter.payloads.render import Renderer, default_renderer
from emitter.reports.files import OutputFile
from emitter.scenarios.loader import Scenario
from emitter.scenarios.plan import RunPlan, expand

if TYPE_CHECKING:
    from emitter.delivery.targets import Endpoint

_BURST = 256  # arrivals fired at most before answers get a turn, when the schedule runs behind
# ... and for at most this long: a long burst (each arrival renders) holds up the answers behind
# it, which piles up sends in flight until arrivals are dropped
_BURST_SECONDS = 0.0002
_STATUS_CLASSES = {status: f"{status // 100}xx" for status in range(100, 600)}
_RENDER_AHEAD = 64  # sends rendered ahead at most, while waiting for their arrivals
_RENDER_GUARD = 0.0002  # seconds kept free before an arrival is due (plus two renders)
LATE_GRACE = 1.0  # seconds past the end during which arrivals still due are sent late, not counted late
BUSY_LAG = 0.010  # a schedule lag p99 above this means this process, not the target, sets the pace


class Cycles:
    """The scenarios' sends over and over; cycle k renders with seed + k (fresh ids, replayable).

    Process p of N takes the cycles k = p, p + N, p + 2N...: together they send what one would.
    """

    def __init__(
        self,
        scenarios: tuple[Scenario, ...],
        *,
        seed: int,
        now: dt.datetime,
        fmt: str | None = None,
        renderer: Renderer | None = None,
        options: Mapping[str, Any] | None = None,
        first: int = 0,
        stride: int = 1,
        events: frozenset[str] | None = None,
    ):
        self.scenarios = scenarios
        self.events = events  # the run's event filter: unsubscribed sends are rendered, not sent
        self.seed = seed
        self.now = now
        self.fmt = fmt
        self.options = dict(options or {})
        self.renderer = renderer or default_renderer()
        self.first = first
        self.stride = stride
        self.cycles = 0

    def __iter__(self) -> Iterator[Delivery]:
        for offset in itertools.count(self.first, self.stride):
            self.cycles += 1
            plan = RunPlan(
                self.scenarios,
                self.seed + offset,
                self.now,
                self.fmt,
                options=self.options,
                events=self.events,
            )
            empty = True
            for delivery in expand(plan, self.renderer):
                if not delivery.filtered:
                    empty = False
                    yield delivery
            if empty:
                raise UsageError(
                    "the scenarios send nothing (every step filtered, or no steps)",
                    location="load",
                    hint="give a scenario with at least one step of a subscribed event type",
                )


class LoadEngine:
    """Sends on an absolute schedule (open model) or back to back from N senders (closed); never prints."""

    def __init__(
        self,
        deliveries: Iterator[Delivery],
        sender: Sender,
        profile: LoadProfile,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        self.deliveries = deliveries
        self.sender = sender
        self.profile = profile
        self.clock = clock
        self.sleep = sleep
        self.stats = LoadStats()
        self.started: float | None = None
        self.sending_ended: float | None = None
        self.finished: float | None = None
        self.interrupted = False
        self.error: str | None = None
        self._window = Window(clock())
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._crash: BaseException | None = None
        self._alarm = Alarm()
        self._ahead: deque[Delivery] = deque()
        self._ahead_error: Exception | None = None  # met while rendering ahead: raised when due
        self._render_time = 0.0

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def elapsed(self) -> float:
        """Seconds since the start, up to the end of sending."""
        if self.started is None:
            return 0.0
        return (self.sending_ended if self.sending_ended is not None else self.clock()) - self.started

    def stop(self) -> None:
        """No more arrivals; sends in flight finish or time out."""
        if not self._stop.is_set():
            self.interrupted = True
        self._stop.set()
        self._alarm.ring()

    def abort(self) -> None:
        """Stop and cancel the sends in flight (counted as interrupted)."""
        self.stop()
        for task in list(self._tasks):
            task.cancel()

    def take_window(self) -> Window:
        """What happened since the previous call, starting a new window."""
        window, self._window = self._window, Window(self.clock())
        return window

    async def run(self) -> LoadStats:
        """Send until the duration is over or stop(), wait for the sends in flight, return the totals."""
        self.started = self.clock()
        self._window = Window(self.started)
        try:
            if self.profile.rate is not None:
                await self._open(self.started, self.profile.rate)
            else:
                await self._closed(self.started, self.profile.concurrency or 1)
        except EmitterError as exc:
            self.error = str(exc)
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            raise
        finally:
            self.sending_ended = self.clock()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            self.finished = self.clock()
        if self._crash is not None:
            raise self._crash
        return self.stats

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds` unless stopped first; True when the wait completed."""
        if self._stop.is_set():
            return False
        return await sleep_unless_stopped(self.sleep, seconds, self._stop)

    async def _open(self, start: float, rate: float) -> None:
        """Arrival i is due at start + i/rate whatever the answers do; over the cap it is dropped."""
        planned = self.profile.arrivals
        end = start + self.profile.duration
        index = 0
        # on the loop's own clock: one timer per wait, and the sends of the coming arrivals rendered
        # while waiting for them (in the same order: the sent bodies stay the first N of the stream)
        real_time = self.clock is time.monotonic and self.sleep is asyncio.sleep
        while index < planned and not self._stop.is_set():
            now = self.clock()
            if now >= end + LATE_GRACE:
                self.stats.late = planned - index  # due before the end, but the generator was behind
                return
            burst = 0
            until = now + _BURST_SECONDS
            while index < planned and burst < _BURST and (due := start + index / rate) <= now:
                moment = self.clock()
                if burst and moment > until:
                    break  # answers get a turn: their latencies would include the rest of the burst
                self._arrive(moment - due)
                index += 1
                burst += 1
            if index >= planned:
                await self._pause(end - self.clock())  # the rate is over the whole duration
                return
            due = start + index / rate
            if due > self.clock():
                if real_time:
                    self._render_until(due)
                    if not await self._pause_until(due):
                        return
                elif not await self._pause(due - self.clock()):
                    return
            else:
                await asyncio.sleep(0)  # behind schedule: let answers in between bursts

    async def _pause_until(self, deadline: float) -> bool:
        """Wait until `deadline` on the loop's clock unless stopped first: one timer, one future."""
        await self._alarm.sleep_until(deadline)
        return not self._stop.is_set()

    def _render_until(self, deadline: float) -> None:
        """Render the next sends ahead while the deadline is far enough away for one more render."""
        ahead, clock = self._ahead, self.clock
        while (
            self._ahead_error is None
            and len(ahead) < _RENDER_AHEAD
            and deadline - clock() > _RENDER_GUARD + 2 * self._render_time
        ):
            started = clock()
            try:
                ahead.append(next(self.deliveries))
            except Exception as exc:  # StopIteration or a render error: raised in order, when due
                self._ahead_error = exc
                return
            self._render_time = max(clock() - started, self._render_time * 0.9)

    def _arrive(self, lag: float) -> None:
        stats = self.stats
        stats.lag.record(lag)
        if len(self._tasks) >= self.profile.max_in_flight:
            stats.dropped += 1
            return
        # rendered only when sent (or ahead of it): the sent bodies are always the first N of the stream
        delivery = self._ahead.popleft() if self._ahead else self._next_delivery()
        self._start(self._send(delivery, self._count_sent()), self._send_done)
        stats.peak_in_flight = max(stats.peak_in_flight, len(self._tasks))

    def _next_delivery(self) -> Delivery:
        if self._ahead_error is not None:
            raise self._ahead_error
        return next(self.deliveries)

    def _count_sent(self) -> int:
        """Count a send; returns the second of the run it belongs to."""
        self.stats.sent += 1
        self._window.sent += 1
        second = int(self.clock() - (self.started or 0.0))
        self.stats.second(second).sent += 1
        return second

    def _start(self, work: Coroutine[Any, Any, None], done: Callable[[asyncio.Task[None]], None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(done)

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():  # aborted in flight, or before it even started: sent, never answered
            self.stats.interrupted += 1

    async def _closed(self, start: float, senders: int) -> None:
        """N senders; each sends the next delivery as soon as its previous one is answered."""
        end = start + self.profile.duration

        async def sender() -> None:
            while not self._stop.is_set() and self.clock() < end:
                try:
                    delivery = next(self.deliveries)
                except EmitterError as exc:
                    self.error = self.error or str(exc)
                    self._stop.set()
                    return
                second = self._count_sent()
                try:
                    await self._send(delivery, second, together=True)
                except asyncio.CancelledError:
                    self.stats.interrupted += 1
                    raise

        for _ in range(senders):
            self._start(sender(), self._tasks.discard)
        self.stats.peak_in_flight = senders
        await self._pause(end - self.clock())  # stop() ends it early; each sender finishes its send

    async def _send(self, delivery: Delivery, second: int, *, together: bool = False) -> None:
        """One send; `together` (closed model): the senders' requests of a loop turn are written back
        to back (the receiver is woken once for them; latency counts from the write)."""
        try:
            await self.sender.deliver(delivery, _unused, together=together)  # the delivery keeps its outcomes
        except Exception as exc:  # a bug: re-raised by run() once the other sends finish
            self._crash = self._crash or exc
            self._stop.set()
            return
        if delivery.finished is not None:
            self._record(delivery.finished, delivery.attempts[-1] if delivery.attempts else None, second)

    def _record(self, finished: EventFinished, attempt: AttemptFinished | None, second: int) -> None:
        stats = self.stats
        status = finished.status
        row = stats.second(second)
        if status is not None:
            stats.latency.record(finished.latency, row.latency, self._window.latency)
            if finished.result == "unexpected":
                row.failed += 1
                stats.unexpected += 1
            else:
                row.ok += 1
            status_class = _STATUS_CLASSES.get(status) or f"{status // 100}xx"
            stats.answered[status_class] = stats.answered.get(status_class, 0) + 1
            return
        kind = (attempt.kind if attempt else None) or "other"
        kind = "closed" if kind == "dropped" else kind if kind in ERROR_KINDS else "other"
        stats.errors[kind] += 1
        row.failed += 1
        if kind == "timeout":  # a timeout is a latency too: leaving it out would flatter the percentiles
            stats.latency.record(finished.latency, row.latency, self._window.latency)


def _unused(outcome: AttemptFinished | EventFinished) -> None:
    """Outcomes handed over as they happen: the load engine reads them off the delivery at its end."""


@dataclass(frozen=True)
class LoadReport:
    """A finished load run: what was asked, what happened, and the exit code."""

    profile: LoadProfile
    stats: LoadStats
    elapsed: float
    total: float
    interrupted: bool = False
    error: str | None = None
    cycles: int = 0
    seed: int = 0
    now: str = ""
    scenarios: tuple[str, ...] = ()
    format: str | None = None
    target: str = ""
    cpu: float = 0.0  # CPU seconds of the load process(es) from the first send to the last answer

    @property
    def achieved_rate(self) -> float:
        return self.stats.sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.error:
            return 2
        return 1 if self.over_error_budget else 0

    @property
    def over_error_budget(self) -> bool:
        stats = self.stats
        return stats.error_count > self.profile.max_error_rate * (stats.sent + stats.dropped)

    def to_json(self) -> dict[str, Any]:
        stats, profile = self.stats, self.profile
        return {
            "tool": "vod-emitter",
            "version": __version__,
            "mode": "load",
            "model": profile.model,
            "scenarios": list(self.scenarios),
            "seed": self.seed,
            "now": self.now,
            "format": self.format,
            "target": self.target,
            "target_rate": profile.rate,
            "concurrency": profile.concurrency,
            "duration_s": profile.duration,
            "max_in_flight": profile.max_in_flight if profile.rate is not None else None,
            "elapsed_s": round(self.elapsed, 3),
            "total_s": round(self.total, 3),
            "cpu_s": round(self.cpu, 3),
            "achieved_rate": round(self.achieved_rate, 2),
            "cycles": self.cycles,
            "arrivals": stats.arrivals,
            "sent": stats.sent,
            "dropped": stats.dropped,
            "late": stats.late,
            "answered": {"total": stats.answered_total, **dict(sorted(stats.answered.items()))},
            "unexpected": stats.unexpected,
            "errors": {"total": stats.failed, **stats.errors},
            "interrupted_in_flight": stats.interrupted,
            "peak_in_flight": stats.peak_in_flight,
            "latency_ms": stats.latency.to_json(),
            "histogram_ms": [
                {"le": None if edge is None else round(edge * 1000, 3), "count": count}
                for edge, count in stats.latency.rows()
            ],
            "schedule_lag_ms": stats.lag.to_json() if profile.rate is not None else None,
            "error_count": stats.error_count,
            "error_rate": round(stats.error_rate, 6),
            "max_error_rate": profile.max_error_rate,
            "interrupted": self.interrupted,
            "error": self.error,
            "exit_code": self.exit_code,
        }

    def lines(self) -> list[str]:
        """The summary for the console."""
        stats, profile = self.stats, self.profile
        latency = stats.latency
        lines = [
            f"load: {profile.describe()}; {', '.join(self.scenarios)} cycled {self.cycles} "
            f"time{'' if self.cycles == 1 else 's'} (seed {self.seed})"
        ]
        arrivals = f"arrivals {stats.arrivals}: sent {stats.sent}"
        if profile.rate is not None:
            arrivals += (
                f", dropped {stats.dropped} (overload: {profile.max_in_flight} in flight), late {stats.late}"
            )
        lines.append(arrivals)
        classes = ", ".join(f"{name} {count}" for name, count in sorted(stats.answered.items()))
        lines.append(f"answered {stats.answered_total}" + (f": {classes}" if classes else ""))
        lines.append(
            f"errors {stats.error_count}: {stats.unexpected} unexpected status, "
            f"{stats.errors['timeout']} timeouts, "
            f"{stats.failed - stats.errors['timeout']} connection errors"
            + (f", {stats.dropped} dropped" if stats.dropped else "")
            + (f"; {stats.interrupted} interrupted in flight" if stats.interrupted else "")
        )
        rate = f"rate: {format_rate(self.achieved_rate)} achieved"
        if profile.rate is not None:
            rate += f" of {format_rate(profile.rate)} target"
        lines.append(f"{rate} over {self.elapsed:.2f} s; peak {stats.peak_in_flight} in flight")
        if latency.count:
            points = ", ".join(f"p{p:g} {format_latency(latency.percentile(p))}" for p in PERCENTILES)
            lines.append(
                f"latency ({latency.count}): {points}, max {format_latency(latency.maximum)}, "
                f"mean {format_latency(latency.mean)}"
            )
            width = max(len(str(count)) for _, count in latency.rows())
            top = max(count for _, count in latency.rows())
            last = HISTOGRAM_EDGES[-1]
            for edge, count in latency.rows():
                label = f"<= {edge_label(edge)}" if edge is not None else f"> {edge_label(last)}"
                bar = "#" * math.ceil(40 * count / top) if count else ""
                lines.append(f"  {label:>9} {count:>{width}} {bar}".rstrip())
        if profile.rate is not None and stats.lag.count:
            lines.append(
                f"schedule lag: p99 {format_latency(stats.lag.percentile(99))}, "
                f"max {format_latency(stats.lag.maximum)}"
            )
        verdict = "over" if self.over_error_budget else "within"
        lines.append(
            f"error rate {stats.error_rate:.2%} "
            f"({verdict} --max-error-rate {profile.max_error_rate:.2%})"
            + ("; interrupted" if self.interrupted else "")
        )
        return lines

    def warnings(self) -> list[str]:
        """Notes on what makes the numbers less than they seem."""
        notes = []
        if self.stats.late:
            notes.append(
                f"warning: {self.stats.late} arrivals were due but not sent: this machine could not produce "
                f"{format_rate(self.profile.rate or 0)} (schedule lag max "
                f"{format_latency(self.stats.lag.maximum)}); lower --rate, or run the receiver elsewhere"
            )
        elif self.profile.rate is not None and self.stats.lag.percentile(99) > BUSY_LAG:
            notes.append(
                f"warning: arrivals left up to {format_latency(self.stats.lag.percentile(99))} late (p99): "
                "this process is near its CPU limit and the latencies include time queued here; "
                "lower --rate, or run the receiver elsewhere"
            )
        if self.error:
            notes.append(f"error: {self.error}")
        return notes


def open_json(path: Path) -> OutputFile:
    """The --json file, opened before the run so a bad path costs no sends (renamed into place at close)."""
    return OutputFile(path, "--json")


class View(Protocol):
    """What play() shows while running (emitter.cli.load_view.LiveView on the console)."""

    async def run(self) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


class _NoView:
    async def run(self) -> None:
        return None

    def note(self, text: str) -> None:
        return None

    def close(self) -> None:
        return None


async def play(
    cycles: Cycles,
    profile: LoadProfile,
    options: DeliveryOptions,
    endpoint: Endpoint | None,
    *,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    view: Callable[[LoadEngine], View] | None = None,
    ready: Callable[[], None] | None = None,
) -> LoadReport:
    """Run the load against a resolved target (None: the built-in receiver, in process); Ctrl-C stops it.

    `ready` is called once everything is set up, just before the first send (processes line up there).
    """
    from emitter.api import builtin_receiver
    from emitter.receiver.server import Receiver

    receiver: Receiver | None = None
    async with contextlib.AsyncExitStack() as stack:
        if endpoint is None:
            receiver = builtin_receiver(options, keep_records=False)
            await stack.enter_async_context(receiver)
        target = receiver.url if receiver else endpoint.name if endpoint else ""
        url = receiver.url if receiver else endpoint.url if endpoint else ""
        client = await stack.enter_async_context(
            make_client(
                timeout=options.timeout,
                concurrency=profile.pool,
                ca_bundle=ca_bundle,
                insecure=insecure,
                transport=endpoint.transport if endpoint else None,
            )
        )
        engine = LoadEngine(iter(cycles), Sender(client, target, options, url=url), profile)
        shown = view(engine) if view is not None else _NoView()
        if receiver is not None:
            shown.note(
                f"no --target: sending to the built-in receiver at {target} "
                "(in this process: it shares the CPU with the load)"
            )
        stack.enter_context(
            trap(engine.stop, engine.abort, shown.note, lambda: engine.in_flight, "no more arrivals")
        )
        if ready is not None:
            ready()
        viewer = asyncio.create_task(shown.run())
        cpu = time.process_time()
        try:
            stats = await engine.run()
            cpu = time.process_time() - cpu
        finally:
            viewer.cancel()
            await asyncio.gather(viewer, return_exceptions=True)
            shown.close()
    if receiver is not None:
        shown.note(f"built-in receiver: {receiver.summary()}")
    assert engine.finished is not None and engine.started is not None
    return LoadReport(
        profile,
        stats,
        engine.elapsed,
        engine.finished - engine.started,
        interrupted=engine.interrupted,
        error=engine.error,
        cycles=cycles.cycles,
        seed=cycles.seed,
        now=utc_stamp(cycles.now),
        scenarios=tuple(s.name for s in cycles.scenarios),
        format=cycles.fmt,
        target=target,
        cpu=cpu,
    )


def write_json(report: LoadReport, out: OutputFile) -> None:
    with out:
        json.dump(report.to_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
