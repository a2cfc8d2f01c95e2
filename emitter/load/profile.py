"""What a load run asks for: rate or concurrency, duration, caps, connections, processes; and parsing."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from emitter.errors import UsageError
from emitter.load.stats import format_rate

DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_DURATION = "10s"
# open model: keep-alive connections reused by every arrival; arrivals beyond them queue for one
# (their wait counts in their latency) instead of opening connection after connection
DEFAULT_CONNECTIONS = 64
MAX_CONNECTIONS = 10_000
MAX_PROCESSES = 64
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


@dataclass(frozen=True)
class LoadProfile:
    """How hard to push: an arrival rate (open model) or N senders (closed model), for how long."""

    duration: float
    rate: float | None = None
    concurrency: int | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_error_rate: float = 0.0
    connections: int | None = None
    processes: int = 1

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

        if self.connections is not None and not 1 <= self.connections <= MAX_CONNECTIONS:
            raise UsageError(
                f"{self.connections} is not between 1 and {MAX_CONNECTIONS}",
                location="--connections",
                hint=f"write e.g. --connections {DEFAULT_CONNECTIONS}",
            )
        if not 1 <= self.processes <= MAX_PROCESSES:
            raise UsageError(
                f"{self.processes} is not between 1 and {MAX_PROCESSES}",
                location="--processes",
                hint="write e.g. --processes 2 (one per core is the default)",
            )

    @property
    def model(self) -> str:
        return "open" if self.rate is not None else "closed"

    @property
    def arrivals(self) -> int:
        """Arrivals of the open model: one at t0 + i/rate for every i with i/rate < duration."""
        return math.ceil(round((self.rate or 0.0) * self.duration, 9))

    def describe(self) -> str:
        spread = f" in {self.processes} processes" if self.processes > 1 else ""
        if self.rate is not None:
            return f"open model, {format_rate(self.rate)} for {self.duration:g} s{spread}"
        return f"closed model, {self.concurrency} senders for {self.duration:g} s{spread}"

    @property
    def pool(self) -> int:
        """Connections to keep: N senders need N; the open model its --connections, within the cap."""
        if self.rate is None:
            return self.concurrency or 1
        return min(self.connections or DEFAULT_CONNECTIONS, self.max_in_flight)

    def share(self, index: int, count: int) -> LoadProfile:
        """Process `index` of `count`'s part: the rate, senders, cap and connections split evenly."""

        def part(total: int) -> int:
            return max(total // count + (index < total % count), 1)

        return replace(
            self,
            rate=self.rate / count if self.rate is not None else None,
            concurrency=part(self.concurrency) if self.concurrency is not None else None,
            max_in_flight=part(self.max_in_flight),
            connections=part(self.pool) if self.rate is not None else None,
            processes=1,
        )
