"""Load across processes: shares of a profile, interleaved cycles, merged histograms and reports."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import random
import threading

import pytest

from emitter.delivery.deliver import DeliveryOptions
from emitter.errors import UsageError
from emitter.load.engine import Cycles, LoadReport
from emitter.load.processes import LoadJob, child_cores, merge_reports, play_processes
from emitter.load.profile import DEFAULT_CONNECTIONS, LoadProfile
from emitter.load.stats import LatencyHistogram, LoadStats
from emitter.payloads.render import Renderer
from emitter.receiver.server import Receiver
from emitter.scenarios.loader import load_scenario
from tests.helpers import wait_until

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_merged_histograms_equal_one_histogram_of_every_sample() -> None:
    draw = random.Random(5)
    samples = [draw.lognormvariate(-6, 1.5) for _ in range(3000)]
    whole, parts = LatencyHistogram(), [LatencyHistogram() for _ in range(3)]
    for index, seconds in enumerate(samples):
        whole.record(seconds)
        parts[index % 3].record(seconds)
    merged = LatencyHistogram()
    for part in parts:
        merged.merge(part)
    assert merged.to_json() == whole.to_json() and merged.rows() == whole.rows()


@pytest.mark.parametrize("count", [2, 3, 7])
def test_shares_add_up_to_the_whole(count: int) -> None:
    open_model = LoadProfile(duration=10, rate=5000, max_in_flight=1000, connections=100, processes=count)
    shares = [open_model.share(index, count) for index in range(count)]
    assert sum(share.rate or 0 for share in shares) == pytest.approx(5000)
    assert sum(share.max_in_flight for share in shares) == 1000
    assert sum(share.pool for share in shares) == 100
    assert all(share.processes == 1 and share.duration == 10 for share in shares)
    closed = LoadProfile(duration=1, concurrency=32, processes=count)
    assert sum(closed.share(index, count).concurrency or 0 for index in range(count)) == 32


def test_the_open_model_keeps_its_own_pool_within_the_cap() -> None:
    assert LoadProfile(duration=1, rate=10).pool == DEFAULT_CONNECTIONS
    assert LoadProfile(duration=1, rate=10, max_in_flight=8).pool == 8
    assert LoadProfile(duration=1, rate=10, connections=200).pool == 200
    assert LoadProfile(duration=1, concurrency=5).pool == 5
    with pytest.raises(UsageError, match="--processes"):
        LoadProfile(duration=1, rate=10, processes=0)
    with pytest.raises(UsageError, match="--connections"):
        LoadProfile(duration=1, rate=10, connections=0)


def test_processes_take_interleaved_cycles_that_together_are_one_processs() -> None:
    renderer = Renderer()
    delete = load_scenario("delete", renderer.catalog)
    per_cycle = len(delete.steps)

    def bodies(cycles: Cycles, count: int) -> list[bytes]:
        return [d.body for d in itertools.islice(iter(cycles), count * per_cycle)]

    one = bodies(Cycles((delete,), seed=9, now=NOW, renderer=renderer), 4)
    shares = [
        bodies(Cycles((delete,), seed=9, now=NOW, renderer=renderer, first=p, stride=2), 2) for p in (0, 1)
    ]
    in_order = [
        body for k in range(4) for body in shares[k % 2][(k // 2) * per_cycle : (k // 2 + 1) * per_cycle]
    ]
    assert in_order == one


def _report(
    sent: int, latencies: list[float], elapsed: float, *, error: str | None = None, cpu: float = 0.0
) -> LoadReport:
    stats = LoadStats(sent=sent, answered={"2xx": sent})
    for seconds in latencies:
        stats.latency.record(seconds)
    profile = LoadProfile(duration=1, rate=sent)
    return LoadReport(profile, stats, elapsed, elapsed + 0.1, error=error, cycles=sent, seed=4, cpu=cpu)


def test_one_report_and_one_verdict_from_the_processes() -> None:
    job = LoadJob(
        ("delete",), 4, NOW, None, LoadProfile(duration=1, rate=30, processes=2), DeliveryOptions(), ""
    )
    merged = merge_reports(
        job, [_report(10, [0.001] * 10, 1.0, cpu=0.25), _report(20, [0.003] * 20, 1.2, cpu=0.5)]
    )
    assert merged.cpu == 0.75 and merged.to_json()["cpu_s"] == 0.75  # the processes' CPU, added up
    assert merged.stats.sent == 30 and merged.stats.answered == {"2xx": 30} and merged.cycles == 30
    assert merged.stats.latency.count == 30 and merged.elapsed == 1.2 and merged.exit_code == 0
    assert merged.to_json()["target_rate"] == 30 and "in 2 processes" in merged.lines()[0]
    failed = merge_reports(job, [_report(10, [], 1.0)], errors=["load process 2: OSError: boom"])
    assert failed.exit_code == 2 and "process 2" in (failed.error or "")


def test_processes_are_pinned_to_distinct_allowed_cores_while_there_are_enough() -> None:
    assert child_cores(2, {0, 1}) == [0, 1]
    assert child_cores(2, frozenset({5, 2, 9})) == [2, 5]  # within the parent's set (taskset, cgroups)
    assert child_cores(3, {0, 1, 2, 3}) == [0, 1, 2]
    assert child_cores(3, {0, 1}) == [None] * 3  # more processes than cores: left to the scheduler
    assert child_cores(3, {4}) == [None] * 3  # one core: nothing to choose
    assert child_cores(2, None) == [None, None]  # no affinity API (macOS, Windows)


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores"
)
def test_each_closed_model_process_runs_on_a_core_of_its_own(receiver: Receiver) -> None:
    allowed = os.sched_getaffinity(0)
    job = LoadJob(
        ("delete",),
        3,
        NOW,
        None,
        LoadProfile(duration=1, concurrency=2, processes=2),
        DeliveryOptions(),
        receiver.url,
    )
    reports: list[LoadReport] = []
    run = threading.Thread(target=lambda: reports.append(play_processes(job, 2)))
    run.start()
    seen: list[set[int]] = []

    def pinned() -> bool:
        seen[:] = [os.sched_getaffinity(child.pid or 0) for child in multiprocessing.active_children()]
        return len(seen) == 2 and all(len(cores) == 1 for cores in seen)

    try:
        wait_until(pinned, seconds=30)
    finally:
        run.join(timeout=60)
    assert seen[0] != seen[1] and seen[0] | seen[1] <= allowed
    merged = reports[0].stats
    assert merged.sent > 0 and merged.answered == {"2xx": merged.sent} and merged.peak_in_flight == 2
    assert receiver.received == merged.sent and reports[0].exit_code == 0
    assert 0 < reports[0].cpu < 60  # what the two processes spent sending, reported back
