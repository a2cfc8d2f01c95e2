"""Shared pieces of the benchmark suite: result rows, CPU pinning, receiver processes, statistics."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
CHECKOUT = Path(__file__).resolve().parents[2]
RECEIVER_CORE = 0
CLIENT_CORE = 1


@dataclass
class Row:
    """One figure with its baseline measured in the same run; `ratio` is value / baseline.

    `better` says which way is good. Targets are optional: `ratio_target` bounds the ratio and
    `value_target` the value itself (at least when higher is better, at most when lower is).
    """

    group: str
    name: str
    unit: str
    value: float
    baseline: float
    baseline_name: str
    better: Literal["higher", "lower"]
    ratio_target: float | None = None
    value_target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    def _meets(self, measured: float, target: float) -> bool:
        return measured >= target if self.better == "higher" else measured <= target

    @property
    def met(self) -> bool | None:
        checks = [self._meets(self.ratio, self.ratio_target)] if self.ratio_target is not None else []
        if self.value_target is not None:
            checks.append(self._meets(self.value, self.value_target))
        return all(checks) if checks else None

    @property
    def target(self) -> str:
        sign = ">=" if self.better == "higher" else "<="
        parts = []
        if self.value_target is not None:
            parts.append(f"{sign}{_number(self.value_target)}")
        if self.ratio_target is not None:
            parts.append(f"{sign}{self.ratio_target:g}x")
        return " & ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "better": self.better,
            "ratio_target": self.ratio_target,
            "value_target": self.value_target,
            "target": self.target or None,
            "met": self.met,
            "note": self.note,
        }


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_value(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}"


def two_cores() -> bool:
    return hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2


def pin_self(core: int = CLIENT_CORE) -> bool:
    """Run this process (and the children it starts from now on) on one core, when there are two."""
    if not two_cores():
        return False
    os.sched_setaffinity(0, {core})
    return True


@contextlib.contextmanager
def serving_process(command: list[str], *, address_prefix: str, what: str) -> Iterator[str]:
    """A server in its own process that prints its address on one line and serves until its stdin
    closes: yields the address."""
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        if not address.startswith(address_prefix):
            raise RuntimeError(f"{what} did not start (it printed {address!r})")
        yield address
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def receiver_process(
    *, builtin: bool = False, core: int = RECEIVER_CORE
) -> contextlib.AbstractContextManager[str]:
    """A receiver in its own process pinned to `core` (the sink, or the built-in one): yields its URL."""
    command = [sys.executable, "-m", "tests.benchmarks.sink"]
    if builtin:
        command.append("--builtin")
    if two_cores():
        command += ["--core", str(core)]
    return serving_process(command, address_prefix="http://127.0.0.1:", what="the benchmark receiver")


def per_second(
    work: Callable[[], int], seconds: float, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Items per second of `work` (returns items done per call), repeated for about `seconds`.

    Pure CPU work passes `clock=time.process_time`: on a shared machine, time spent waiting for a
    core is not the work's cost, and CPU time keeps ratios steadier than wall time.
    """
    work()  # warm up (compile templates, fill caches)
    done, start = 0, clock()
    while (elapsed := clock() - start) < seconds:
        done += work()
    return done / elapsed


def quantile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (0-1) by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(fraction * len(ordered) + 0.999999)))
    return ordered[rank - 1]
