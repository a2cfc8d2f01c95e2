"""Load mode: scenarios cycled at an arrival rate (open model) or by N senders (closed), with O(1) stats."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emitter._version import __version__
from emitter.clock import utc_stamp
from emitter.delivery.deliver import Clock, Delivery, DeliveryOptions, Sender, Sleep, make_client
from emitter.delivery.runner import RunPlan, expand
from emitter.errors import EmitterError, UsageError
from emitter.interrupts import trap
from emitter.outcomes import AttemptFinished, EventFinished
from emitter.payloads.render import Renderer, default_renderer
from emitter.reports.files import OutputFile
from emitter.scenarios.loader import Scenario

if TYPE_CHECKING:
    from emitter.delivery.targets import Endpoint

DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_DURATION = "10s"
# upper bounds of the summary's histogram rows, in seconds; one more row holds what is over
HISTOGRAM_EDGES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
PERCENTILES = (50.0, 90.0, 99.0)
ERROR_KINDS = ("timeout", "connect", "closed", "tls", "other")
_SUB_BUCKETS = 128  # log buckets per power of two: under 0.4 % error on any percentile
_BURST = 256  # arrivals fired at most before answers get a turn, when the schedule runs behind
LATE_GRACE = 1.0  # seconds past the end during which arrivals still due are sent late, not counted late
BUSY_LAG = 0.010  # a schedule lag p99 above this means this process, not the target, sets the pace
_RATE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:/(s|sec|m|min|h))?")
_PER_SECOND = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_FRACTION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(%?)")


def parse_rate(text: str, *, location: str = "--rate") -> float:
    """Arrivals per second from `500/s`, `500` (per second), `30000/m`, `10/h`."""
    match = _RATE.fullmatch(text.strip().replace(" ", "").lower())
    if match is None:
        raise UsageError(
            f"{text!r} is not a rate",
            location=location,
            hint=f"write e.g. {location} 500/s, {location} 500 or {location} 30000/m",
        )
    rate = float(match.group(1)) / _PER_SECOND[match.group(2) or "s"]
    if rate <= 0:
        raise UsageError(
            f"{text!r} must be more than 0", location=location, hint=f"write e.g. {location} 100/s"
        )
    return rate


def parse_fraction(text: str, *, location: str = "--max-error-rate") -> float:
    """A share from `0`, `0.01` or `1%`, between 0 and 1."""
    match = _FRACTION.fullmatch(text.strip().replace(" ", ""))
    value = float(match.group(1)) / (100 if match.group(2) else 1) if match else -1.0
    if not 0 <= value <= 1:
        raise UsageError(
            f"{text!r} is not a share between 0 and 1",
            location=location,
            hint=f"write e.g. {location} 0.01 or {location} 1%",
        )
    return value


def format_rate(rate: float) -> str:
    return f"{rate:.0f}/s" if rate >= 100 else f"{rate:.3g}/s"


def format_latency(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    millis = seconds * 1000
    return f"{millis:.0f} ms" if millis >= 100 else f"{millis:.1f} ms" if millis >= 10 else f"{millis:.2f} ms"


def _edge_label(edge: float) -> str:
    return f"{edge:g} s" if edge >= 1 else f"{edge * 1000:g} ms"


class LatencyHistogram:
    """Latencies in O(1) memory: log buckets (HDR-like) for percentiles, fixed buckets for the summary."""

    __slots__ = ("buckets", "count", "fixed", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.fixed = [0] * (len(HISTOGRAM_EDGES) + 1)
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0

    def record(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        micros = seconds * 1e6
        if micros < 1:
            index = 0
        else:
            mantissa, exponent = math.frexp(micros)  # micros = mantissa * 2**exponent, mantissa in [0.5, 1)
            index = exponent * _SUB_BUCKETS + int((mantissa - 0.5) * 2 * _SUB_BUCKETS)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.fixed[bisect_left(HISTOGRAM_EDGES, seconds)] += 1
        self.count += 1
        self.total += seconds
        self.minimum = min(self.minimum, seconds)
        self.maximum = max(self.maximum, seconds)

    @staticmethod
    def _middle(index: int) -> float:
        """Seconds in the middle of a log bucket."""
        if index == 0:
            return 0.0
        exponent, sub = divmod(index, _SUB_BUCKETS)
        width = 2.0**exponent / (2 * _SUB_BUCKETS)
        low = 2.0 ** (exponent - 1) + sub * width
        return (low + width / 2) / 1e6

    def percentile(self, percent: float) -> float:
        """The latency at or under which `percent` % of the samples lie (0 when there are none)."""
        if not self.count:
            return 0.0
        if percent >= 100:
            return self.maximum
        rank = max(math.ceil(percent / 100 * self.count), 1)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(max(self._middle(index), self.minimum), self.maximum)
        return self.maximum

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def rows(self) -> list[tuple[float | None, int]]:
        """(upper bound in seconds, or None for the rest; count) for the summary's histogram."""
        return [*zip(HISTOGRAM_EDGES, self.fixed, strict=False), (None, self.fixed[-1])]

    def to_json(self) -> dict[str, Any]:
        def ms(seconds: float) -> float:
            return round(seconds * 1000, 3)

        return {
            "count": self.count,
            **{f"p{p:g}": ms(self.percentile(p)) for p in (*PERCENTILES, 99.9)},
            "min": ms(self.minimum if self.count else 0.0),
            "max": ms(self.maximum),
            "mean": ms(self.mean),
        }


@dataclass(frozen=True)
class LoadProfile:
    """How hard to push: an arrival rate (open model) or N senders (closed model), for how long."""

    duration: float
    rate: float | None = None
    concurrency: int | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_error_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.rate is not None and self.concurrency is not None:
            raise UsageError(
                "--rate and --concurrency exclude each other",
                location="--concurrency",
                hint="use --rate N/s for an arrival rate (open model) "
                "or --concurrency N for N senders (closed model)",
            )
        if self.rate is None and self.concurrency is None:
            raise UsageError(
                "no load given",
                location="load",
                hint="add --rate N/s (open model) or --concurrency N (closed model)",
            )
        if self.duration <= 0:
            raise UsageError(
                f"{self.duration:g} s must be more than 0",
                location="--duration",
                hint="write e.g. --duration 60s or --duration 1m30s",
            )
        if self.concurrency is not None and self.concurrency < 1:
            raise UsageError(
                f"{self.concurrency} must be at least 1",
                location="--concurrency",
                hint="write e.g. --concurrency 8",
            )
        if self.max_in_flight < 1:
            raise UsageError(
                f"{self.max_in_flight} must be at least 1",
                location="--max-in-flight",
                hint=f"write e.g. --max-in-flight {DEFAULT_MAX_IN_FLIGHT}",
            )

    @property
    def model(self) -> str:
        return "open" if self.rate is not None else "closed"

    @property
    def arrivals(self) -> int:
        """Arrivals of the open model: one at t0 + i/rate for every i with i/rate < duration."""
        return math.ceil(round((self.rate or 0.0) * self.duration, 9))

    def describe(self) -> str:
        if self.rate is not None:
            return f"open model, {format_rate(self.rate)} for {self.duration:g} s"
        return f"closed model, {self.concurrency} senders for {self.duration:g} s"


class Cycles:
    """The scenarios' sends over and over; cycle k renders with seed + k (fresh ids, replayable)."""

    def __init__(
        self,
        scenarios: tuple[Scenario, ...],
        *,
        seed: int,
        now: dt.datetime,
        fmt: str | None = None,
        renderer: Renderer | None = None,
        options: Mapping[str, Any] | None = None,
    ):
        self.scenarios = scenarios
        self.seed = seed
        self.now = now
        self.fmt = fmt
        self.options = dict(options or {})
        self.renderer = renderer or default_renderer()
        self.cycles = 0

    def __iter__(self) -> Iterator[Delivery]:
        for offset in itertools.count():
            self.cycles = offset + 1
            plan = RunPlan(self.scenarios, self.seed + offset, self.now, self.fmt, options=self.options)
            empty = True
            for delivery in expand(plan, self.renderer):
                empty = False
                yield delivery
            if empty:
                raise UsageError(
                    "the scenarios send nothing",
                    location="load",
                    hint="give a scenario with at least one step",
                )


@dataclass
class LoadStats:
    """Running totals; `sent` = answered + errors + interrupted once every send has finished."""

    sent: int = 0
    dropped: int = 0
    late: int = 0
    answered: dict[str, int] = field(default_factory=dict)
    unexpected: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    interrupted: int = 0
    peak_in_flight: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    lag: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def answered_total(self) -> int:
        return sum(self.answered.values())

    @property
    def failed(self) -> int:
        """Sends without an answer: timeouts and connection errors."""
        return sum(self.errors.values())

    @property
    def arrivals(self) -> int:
        return self.sent + self.dropped + self.late

    @property
    def error_count(self) -> int:
        """What the error rate counts: unexpected statuses, sends without an answer, dropped arrivals."""
        return self.unexpected + self.failed + self.dropped

    @property
    def error_rate(self) -> float:
        decided = self.sent + self.dropped
        return self.error_count / decided if decided else 0.0


@dataclass
class Window:
    """What happened since the last look, for the live view."""

    started: float
    sent: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


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
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return not self._stop.is_set()

    async def _open(self, start: float, rate: float) -> None:
        """Arrival i is due at start + i/rate whatever the answers do; over the cap it is dropped."""
        planned = self.profile.arrivals
        end = start + self.profile.duration
        index = 0
        while index < planned and not self._stop.is_set():
            now = self.clock()
            if now >= end + LATE_GRACE:
                self.stats.late = planned - index  # due before the end, but the generator was behind
                return
            burst = 0
            while index < planned and burst < _BURST and (due := start + index / rate) <= now:
                self._arrive(self.clock() - due)
                index += 1
                burst += 1
            if index >= planned:
                await self._pause(end - self.clock())  # the rate is over the whole duration
                return
            wait = start + index / rate - self.clock()
            if wait > 0:
                if not await self._pause(wait):
                    return
            else:
                await asyncio.sleep(0)  # behind schedule: let answers in between bursts

    def _arrive(self, lag: float) -> None:
        stats = self.stats
        stats.lag.record(lag)
        if len(self._tasks) >= self.profile.max_in_flight:
            stats.dropped += 1
            return
        # rendered only when sent: the sent bodies are always the first N of the seed's stream
        delivery = next(self.deliveries)
        self._count_sent()
        self._start(self._send(delivery), self._send_done)
        stats.peak_in_flight = max(stats.peak_in_flight, len(self._tasks))

    def _count_sent(self) -> None:
        self.stats.sent += 1
        self._window.sent += 1

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
                self._count_sent()
                try:
                    await self._send(delivery)
                except asyncio.CancelledError:
                    self.stats.interrupted += 1
                    raise

        for _ in range(senders):
            self._start(sender(), self._tasks.discard)
        self.stats.peak_in_flight = senders
        await self._pause(end - self.clock())  # stop() ends it early; each sender finishes its send

    async def _send(self, delivery: Delivery) -> None:
        attempt: AttemptFinished | None = None
        finished: EventFinished | None = None
        try:
            async for outcome in self.sender.send(delivery):
                if isinstance(outcome, AttemptFinished):
                    attempt = outcome
                else:
                    finished = outcome
        except Exception as exc:  # a bug: re-raised by run() once the other sends finish
            self._crash = self._crash or exc
            self._stop.set()
            return
        if finished is not None:
            self._record(finished, attempt)

    def _record(self, finished: EventFinished, attempt: AttemptFinished | None) -> None:
        stats = self.stats
        status = finished.status
        if status is not None:
            status_class = f"{status // 100}xx"
            stats.answered[status_class] = stats.answered.get(status_class, 0) + 1
            stats.unexpected += finished.result == "unexpected"
            stats.latency.record(finished.latency)
            self._window.latency.record(finished.latency)
            return
        kind = (attempt.kind if attempt else None) or "other"
        kind = "closed" if kind == "dropped" else kind if kind in ERROR_KINDS else "other"
        stats.errors[kind] += 1
        if kind == "timeout":  # a timeout is a latency too: leaving it out would flatter the percentiles
            stats.latency.record(finished.latency)
            self._window.latency.record(finished.latency)


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
                label = f"<= {_edge_label(edge)}" if edge is not None else f"> {_edge_label(last)}"
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


class LiveView:
    """Progress on stderr: a rich Live on a terminal, else one plain line per interval."""

    def __init__(
        self,
        engine: LoadEngine,
        *,
        live: bool | None = None,
        interval: float | None = None,
        console: Any = None,
    ):
        from rich.console import Console

        self.engine = engine
        self.console = console or Console(stderr=True, highlight=False)
        self.live_mode = self.console.is_terminal if live is None else live
        self.interval = interval or (0.5 if self.live_mode else 1.0)
        self._live: Any = None

    def parts(self, window: Window, now: float) -> tuple[str, str, str]:
        """(progress and rate, latency of the window's answers, totals) for one look."""
        engine, stats, profile = self.engine, self.engine.stats, self.engine.profile
        span = max(now - window.started, 1e-9)
        latency = window.latency
        rate = f"{engine.elapsed:5.1f}/{profile.duration:g} s  sent {format_rate(window.sent / span)}"
        if profile.rate is not None:
            rate += f" (target {format_rate(profile.rate)})"
        points = (
            (
                " ".join(f"p{p:g} {format_latency(latency.percentile(p))}" for p in PERCENTILES)
                + f" max {format_latency(latency.maximum)}"
            )
            if latency.count
            else "no answers"
        )
        classes = " ".join(f"{name} {count}" for name, count in sorted(stats.answered.items()))
        totals = f"{classes + '  ' if classes else ''}errors {stats.error_count}"
        totals += f" (dropped {stats.dropped})" if stats.dropped else ""
        return f"{rate}  in flight {engine.in_flight}", points, totals

    def line(self, window: Window, now: float) -> str:
        return "  ".join(self.parts(window, now))

    def show(self) -> None:
        window = self.engine.take_window()
        if not self.live_mode:
            self.console.print(
                self.line(window, self.engine.clock()), markup=False, highlight=False, soft_wrap=True
            )
            return
        from rich.live import Live
        from rich.text import Text

        progress, points, totals = self.parts(window, self.engine.clock())
        text = Text(f"{progress}\n        latency {points}\n        {totals}")
        if self._live is None:
            self._live = Live(text, console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(text, refresh=True)

    async def run(self) -> None:
        started = time.monotonic()
        for tick in itertools.count(1):
            await asyncio.sleep(max(started + tick * self.interval - time.monotonic(), 0))
            self.show()

    def note(self, text: str) -> None:
        """A plain line on stderr (above the live view when there is one)."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def open_json(path: Path) -> OutputFile:
    """The --json file, opened before the run so a bad path costs no sends (renamed into place at close)."""
    return OutputFile(path, "--json")


async def play(
    cycles: Cycles,
    profile: LoadProfile,
    options: DeliveryOptions,
    endpoint: Endpoint | None,
    *,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    live: bool | None = None,
    console: Any = None,
) -> LoadReport:
    """Run the load against a resolved target (None: the built-in receiver, in process); Ctrl-C stops it."""
    from emitter.api import builtin_receiver
    from emitter.receiver.server import Receiver

    receiver: Receiver | None = None
    async with contextlib.AsyncExitStack() as stack:
        if endpoint is None:
            receiver = builtin_receiver(options, keep_records=False)
            await stack.enter_async_context(receiver)
        target = receiver.url if receiver else endpoint.name if endpoint else ""
        url = receiver.url if receiver else endpoint.url if endpoint else ""
        pool = profile.max_in_flight if profile.rate is not None else profile.concurrency or 1
        client = await stack.enter_async_context(
            make_client(
                timeout=options.timeout,
                concurrency=pool,
                ca_bundle=ca_bundle,
                insecure=insecure,
                transport=endpoint.transport if endpoint else None,
            )
        )
        engine = LoadEngine(iter(cycles), Sender(client, target, options, url=url), profile)
        view = LiveView(engine, live=live, console=console)
        if receiver is not None:
            view.note(
                f"no --target: sending to the built-in receiver at {target} "
                "(in this process: it shares the CPU with the load)"
            )
        stack.enter_context(
            trap(engine.stop, engine.abort, view.note, lambda: engine.in_flight, "no more arrivals")
        )
        viewer = asyncio.create_task(view.run())
        try:
            stats = await engine.run()
        finally:
            viewer.cancel()
            await asyncio.gather(viewer, return_exceptions=True)
            view.close()
    if receiver is not None:
        view.note(f"built-in receiver: {receiver.summary()}")
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
    )


def write_json(report: LoadReport, out: OutputFile) -> None:
    with out:
        json.dump(report.to_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
