"""`load --processes N`: N load processes, each with its share of the load, merged into one report.

Why our own processes rather than Locust's --processes: the summary (merged histograms, one
verdict, one exit code), the schedule (process p sends cycles p, p + N...: together exactly what
one process would) and the CLI stay the same with one process or many, with no extra dependency.
Locust remains the path across machines (emitter.locust).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emitter import eventloop
from emitter.clock import utc_stamp
from emitter.delivery.deliver import DeliveryOptions
from emitter.interrupts import Interrupted
from emitter.load.engine import Cycles, LoadReport, play
from emitter.load.profile import LoadProfile
from emitter.load.stats import LoadStats

READY_TIMEOUT = 120.0  # seconds a process waits for the others to be set up


def default_processes() -> int:
    """One per core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def child_cores(count: int, allowed: set[int] | frozenset[int] | None) -> list[int | None]:
    """The core each of `count` processes is pinned to: a core of its own from the allowed set, or
    None (not pinned) with fewer than two cores, more processes than cores, or no affinity API.

    Pinned, a process keeps its caches and is never moved onto a sibling's core: 2 closed-model
    processes spent about 8% less CPU per event pinned (median of 18 interleaved pairs). With more
    processes than cores the scheduler balances better than a fixed assignment could (3 on 2
    cores: one core would carry two). The parent's allowed set (taskset, cgroups) is kept.
    """
    if allowed is None or len(allowed) < 2 or count > len(allowed):
        return [None] * count
    cores: list[int | None] = [*sorted(allowed)[:count]]
    return cores


def _allowed_cores() -> set[int] | None:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


@dataclass(frozen=True)
class LoadJob:
    """Everything a load process needs, as plain values (it is sent to freshly spawned processes)."""

    scenarios: tuple[str, ...]
    seed: int
    now: dt.datetime
    fmt: str | None
    profile: LoadProfile
    delivery: DeliveryOptions
    target: str
    ca_bundle: Path | None = None
    insecure: bool = False
    options: tuple[tuple[str, Any], ...] = ()  # format options (a plain tuple: it is pickled)
    events: tuple[str, ...] | None = None  # the event filter's EventTypes


def _process(job: LoadJob, index: int, count: int, barrier: Any, results: Any) -> None:
    """One load process: its own renderer and client, its share of the rate and of the cycles."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # out of the terminal's group: Ctrl-C reaches the parent, which passes it on once
    try:
        from emitter.api import plan_run
        from emitter.delivery.targets import resolve_target
        from emitter.payloads.render import Renderer
        from emitter.request import RunRequest

        renderer = Renderer()
        request = RunRequest(
            target=job.target,
            seed=job.seed,
            now=job.now,
            fmt=job.fmt,
            options=dict(job.options),
            delivery=job.delivery,
            ca_bundle=job.ca_bundle,
            insecure=job.insecure,
            events=job.events,
        )
        plan = plan_run(list(job.scenarios), request, renderer=renderer)
        cycles = Cycles(
            plan.scenarios,
            seed=plan.seed,
            now=plan.now,
            fmt=plan.fmt,
            renderer=renderer,
            options=plan.options,
            first=index,
            stride=count,
            events=plan.events,
        )
        report = eventloop.run(
            play(
                cycles,
                job.profile.share(index, count),
                job.delivery,
                resolve_target(job.target),
                ca_bundle=job.ca_bundle,
                insecure=job.insecure,
                ready=lambda: barrier.wait(READY_TIMEOUT),
            )
        )
        results.put((index, report))
    except BaseException as exc:  # reported by the parent as the run's error, never a traceback
        barrier.abort()
        results.put((index, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__))


def play_processes(
    job: LoadJob, count: int, *, note: Callable[[str], None] = lambda text: None
) -> LoadReport:
    """Run `count` load processes to the end (Ctrl-C reaches each: they stop and report) and merge them."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_process, args=(job, index, count, barrier, results), daemon=True)
        for index in range(count)
    ]
    # the closed model only: its processes each go at their own pace, while the open model's split
    # the rate evenly, and one sharing its core with something else (a local receiver) must be
    # free to move rather than fall behind while its sibling's core has time to spare
    closed = job.profile.rate is None
    cores = child_cores(count, _allowed_cores()) if closed else [None] * count
    for process, core in zip(processes, cores, strict=True):
        process.start()
        if core is not None and process.pid is not None:
            # from its start (its imports run there too); a speed-up only: a process that ended
            # already is reported below, and a core taken away meanwhile (cgroups) leaves it unpinned
            with contextlib.suppress(OSError):
                os.sched_setaffinity(process.pid, {core})
    note(f"load: {count} processes, each {job.profile.share(0, count).describe()}; no live view")
    reports: dict[int, LoadReport] = {}
    errors: list[str] = []
    interrupted = False
    while len(reports) + len(errors) < count:
        try:
            index, result = results.get(timeout=0.5)
        except queue.Empty:
            if not any(process.is_alive() for process in processes) and results.empty():
                errors.append("a load process ended without a report")
                break
            continue
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Interrupted): passed on to every process
            if not interrupted:
                note(
                    "interrupted: no more arrivals; waiting for the sends in flight "
                    "(Ctrl-C again to abort them)"
                )
            interrupted = True
            passed_on = signal.SIGTERM if isinstance(exc, Interrupted) else signal.SIGINT
            for process in processes:
                if process.is_alive() and process.pid is not None:
                    os.kill(process.pid, passed_on)
            continue
        if isinstance(result, LoadReport):
            reports[index] = result
        else:
            errors.append(f"load process {index + 1}: {result}")
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return merge_reports(job, list(reports.values()), errors=errors, interrupted=interrupted)


def merge_reports(
    job: LoadJob,
    reports: list[LoadReport],
    *,
    errors: tuple[str, ...] | list[str] = (),
    interrupted: bool = False,
) -> LoadReport:
    """One report from the processes' reports: totals and histograms added, the longest span kept."""
    stats = LoadStats()
    for report in reports:
        stats.merge(report.stats)
    first_error = next((report.error for report in reports if report.error), None)
    return LoadReport(
        job.profile,
        stats,
        max((report.elapsed for report in reports), default=0.0),
        max((report.total for report in reports), default=0.0),
        interrupted=interrupted or any(report.interrupted for report in reports),
        error="; ".join(errors) if errors else first_error,
        cycles=sum(report.cycles for report in reports),
        seed=reports[0].seed if reports else job.seed,
        now=reports[0].now if reports else utc_stamp(job.now),
        scenarios=reports[0].scenarios if reports else job.scenarios,
        format=job.fmt,
        target=reports[0].target if reports else job.target,
        cpu=sum(report.cpu for report in reports),
    )
