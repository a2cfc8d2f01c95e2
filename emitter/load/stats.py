"""Load statistics: an O(1)-memory latency histogram (mergeable across processes) and running totals."""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

# upper bounds of the summary's histogram rows, in seconds; one more row holds what is over
HISTOGRAM_EDGES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
PERCENTILES = (50.0, 90.0, 99.0)
ERROR_KINDS = ("timeout", "connect", "closed", "tls", "other")
MAX_SECONDS = 3_600  # per-second rows kept for the HTML report; later sends count in the last one
_SUB_BUCKETS = 128  # log buckets per power of two: under 0.4 % error on any percentile


def format_rate(rate: float) -> str:
    return f"{rate:.0f}/s" if rate >= 100 else f"{rate:.3g}/s"


def format_latency(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    millis = seconds * 1000
    return f"{millis:.0f} ms" if millis >= 100 else f"{millis:.1f} ms" if millis >= 10 else f"{millis:.2f} ms"


def edge_label(edge: float) -> str:
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

    def record(self, seconds: float, *also: LatencyHistogram) -> None:
        """Count one latency here (and in `also`: the bucket is found once for all of them)."""
        if seconds < 0.0:
            seconds = 0.0
        micros = seconds * 1e6
        if micros < 1:
            index = 0
        else:
            mantissa, exponent = math.frexp(micros)  # micros = mantissa * 2**exponent, mantissa in [0.5, 1)
            index = exponent * _SUB_BUCKETS + int((mantissa - 0.5) * 2 * _SUB_BUCKETS)
        row = bisect_left(HISTOGRAM_EDGES, seconds)
        self._add(index, row, seconds)
        for other in also:
            other._add(index, row, seconds)

    def _add(self, index: int, row: int, seconds: float) -> None:
        buckets = self.buckets
        buckets[index] = buckets.get(index, 0) + 1
        self.fixed[row] += 1
        self.count += 1
        self.total += seconds
        if seconds < self.minimum:
            self.minimum = seconds
        if seconds > self.maximum:
            self.maximum = seconds

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

    def merge(self, other: LatencyHistogram) -> None:
        """Add another histogram's samples (another process's): the same buckets, so exact."""
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        self.fixed = [mine + theirs for mine, theirs in zip(self.fixed, other.fixed, strict=True)]
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

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


@dataclass
class Second:
    """One second of the run, by send time: what was sent, how it ended, its latencies."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def merge(self, other: Second) -> None:
        self.sent += other.sent
        self.ok += other.ok
        self.failed += other.failed
        self.latency.merge(other.latency)


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
    seconds: list[Second] = field(default_factory=list)

    def second(self, index: int) -> Second:
        """The row of second `index` of the run (bounded: past MAX_SECONDS, the last row)."""
        index = min(max(index, 0), MAX_SECONDS - 1)
        while len(self.seconds) <= index:
            self.seconds.append(Second())
        return self.seconds[index]

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

    def merge(self, other: LoadStats) -> None:
        """Add another process's totals; peak in flight adds up too (an upper bound of the joint peak)."""
        for name in ("sent", "dropped", "late", "unexpected", "interrupted", "peak_in_flight"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status_class, count in other.answered.items():
            self.answered[status_class] = self.answered.get(status_class, 0) + count
        for kind, count in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + count
        self.latency.merge(other.latency)
        self.lag.merge(other.lag)
        for index, second in enumerate(other.seconds):  # processes start together (they line up)
            self.second(index).merge(second)


@dataclass
class Window:
    """What happened since the last look, for the live view."""

    started: float
    sent: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
