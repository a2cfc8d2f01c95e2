"""`vod-emitter load` against the sink: the open model at a rate (vs hey, optional), --processes 2 vs 1,
and an in-process run against a plain ASGITransport loop.

Each load run is the console script in its own process (the sink pinned to core 0, the load to core
1, or to both cores for --processes 2, where it shares core 0 with the sink), reading its --json.
hey (Debian package `hey`) is an optional peer: without it, its rows are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks.common import CLIENT_CORE, NOW, Row, receiver_process, two_cores

SCRIPT = Path(sys.executable).parent / "vod-emitter"
RATE = 5000  # arrivals per second, the figure
DURATION = 10.0
PROCESSES_CONCURRENCY = 32
ACHIEVED_TARGET = 0.99
HEY_P99_TARGET = 2.0
PROCESSES_TARGET = 1.7
PROCESSES_ROUNDS = 2
IN_PROCESS_TARGET = 1.5


def _pinned(command: list[str], cores: set[int] | None) -> list[str]:
    if cores is None or not two_cores() or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", ",".join(map(str, sorted(cores))), *command]


def load_json(url: str, args: list[str], *, cores: set[int] | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "load.json"
        command = [
            str(SCRIPT),
            "load",
            "happy-path",
            "--target",
            url,
            "--seed",
            "1",
            "--json",
            str(out),
            *args,
        ]
        subprocess.run(_pinned(command, cores), capture_output=True, timeout=DURATION * 6 + 60, check=False)
        return dict(json.loads(out.read_text()))


def hey(url: str, rate: float, seconds: float, body: bytes) -> dict[str, float] | None:
    """hey at `rate` (50 workers, rate/50 each): requests/s and p99 in ms, or None without hey."""
    if shutil.which("hey") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        command = ["hey", "-z", f"{seconds:g}s", "-c", "50", "-q", f"{rate / 50:g}", "-m", "POST"]
        command += ["-T", "application/json", "-D", file.name, url]
        done = subprocess.run(
            _pinned(command, {CLIENT_CORE}), capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    rate_match = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    p99_match = re.search(r"99%+ in ([\d.]+) secs", done.stdout)
    if rate_match is None or p99_match is None:
        return None
    return {"rate": float(rate_match.group(1)), "p99_ms": float(p99_match.group(1)) * 1000}


def open_model(url: str, rate: float, seconds: float) -> list[Row]:
    args = ["--rate", f"{rate:g}/s", "--duration", f"{seconds:g}s", "--processes", "1"]
    ours = load_json(url, args, cores={1})
    rows = [
        Row(
            "load",
            f"open model {rate:g}/s for {seconds:g} s: achieved",
            "events/s",
            ours["achieved_rate"],
            rate,
            "target rate",
            "higher",
            ratio_target=ACHIEVED_TARGET,
            note=f"dropped {ours['dropped']}, late {ours['late']}",
        ),
        Row(
            "load",
            f"open model {rate:g}/s: dropped + late arrivals",
            "arrivals",
            ours["dropped"] + ours["late"],
            ours["arrivals"],
            "arrivals",
            "lower",
            value_target=0,
        ),
    ]
    spread = load_json(url, [*args[:-1], "2"], cores={0, 1})
    rows.append(
        Row(
            "load",
            f"open model {rate:g}/s, --processes 2: achieved",
            "events/s",
            spread["achieved_rate"],
            rate,
            "target rate",
            "higher",
            note=f"dropped {spread['dropped']}, late {spread['late']}, p99 {spread['latency_ms']['p99']} ms",
        )
    )
    body = subprocess.run(
        [str(SCRIPT), "render", "upload", "--seed", "1"], capture_output=True, check=False
    ).stdout
    peer = hey(url, rate, seconds, body)
    if peer is not None:
        rows.append(
            Row(
                "load",
                f"open model {rate:g}/s: p99 latency",
                "ms",
                ours["latency_ms"]["p99"],
                peer["p99_ms"],
                f"hey at {peer['rate']:,.0f}/s",
                "lower",
                ratio_target=HEY_P99_TARGET,
            )
        )
    return rows


def processes(url: str, seconds: float, rounds: int = PROCESSES_ROUNDS) -> list[Row]:
    """--processes 2 against one process, each the best of `rounds` interleaved runs (a busy moment
    of a shared machine spoils one run, not the figure), with what bounds the ratio: CPU per event
    of the load (its --json cpu_s) and of the sink. Two cores give 2 CPU seconds a second to two
    processes and the sink together, so 2 processes reach at most 2 / (c2 + s2) events/s, and one
    CPU-bound process 1 / c1: the ratio is at most 2 * c1 / (c2 + s2), lower the faster the load."""
    closed = ["--concurrency", str(PROCESSES_CONCURRENCY), "--duration", f"{seconds:g}s"]
    sink = _sink_cpu()
    best: dict[int, tuple[dict[str, Any], float]] = {}  # processes: (best run's --json, sink CPU s)
    for _ in range(rounds):
        for count, cores in ((1, {1}), (2, {0, 1})):
            sink_before = sink() if sink else 0.0
            run = load_json(url, [*closed, "--processes", str(count)], cores=cores)
            sink_spent = sink() - sink_before if sink else 0.0
            if count not in best or run["achieved_rate"] > best[count][0]["achieved_rate"]:
                best[count] = (run, sink_spent)
    (one, sink_one), (two, sink_two) = best[1], best[2]
    note = "2 cores in all: the second process shares core 0 with the sink"
    if rounds > 1:
        note += f"; best of {rounds} interleaved runs each"
    if sink is not None and one.get("cpu_s") and two.get("cpu_s"):
        c1, c2 = (run["cpu_s"] / run["sent"] * 1e6 for run in (one, two))
        s1, s2 = sink_one / one["sent"] * 1e6, sink_two / two["sent"] * 1e6
        note += (
            f"; CPU per event: one process {c1:.0f} us (busy {one['cpu_s'] / one['elapsed_s']:.0%}, sink "
            f"{s1:.0f} us), two {c2:.0f} us + sink {s2:.0f} us: at most 2 x {c1:.0f} / ({c2:.0f} + {s2:.0f}) "
            f"= {2 * c1 / (c2 + s2):.2f}x"
        )
    return [
        Row(
            "load",
            f"--processes 2, closed model, {PROCESSES_CONCURRENCY} senders",
            "events/s",
            two["achieved_rate"],
            one["achieved_rate"],
            "one process",
            "higher",
            ratio_target=PROCESSES_TARGET,
            note=note,
        )
    ]


def _sink_cpu() -> Callable[[], float] | None:
    """A reader of the sink's CPU seconds (the sink is this process's child), or None without psutil."""
    try:
        import psutil  # installed with locust (the bench extra); only for this note
    except ImportError:
        return None
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if "tests.benchmarks.sink" in child.cmdline():
                sink = child
                return lambda: sum(sink.cpu_times()[:2])
    return None


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def in_process(repeats: int = 20, rounds: int = 9) -> list[Row]:
    """run('happy-path', target=app) against posting the same bodies through ASGITransport (CPU time):
    the best of short interleaved rounds, so that a busy moment of a shared machine spoils few."""
    import emitter

    def ours() -> None:
        emitter.run("happy-path", target=_app, seed=1, now=NOW, speed=0)

    bodies = [sent.body for sent in emitter.run("happy-path", target=_app, seed=1, now=NOW, speed=0).sent]

    def plain() -> None:
        async def post_all() -> None:
            transport = httpx.ASGITransport(app=_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                for body in bodies:
                    await client.post("/", content=body, headers={"Content-Type": "application/json"})

        asyncio.run(post_all())

    def cost(work: Any) -> float:
        work()
        start = time.process_time()
        for _ in range(repeats):
            work()
        return (time.process_time() - start) / repeats * 1000

    best_ours = best_plain = float("inf")
    for _ in range(rounds):
        best_ours = min(best_ours, cost(ours))
        best_plain = min(best_plain, cost(plain))
    return [
        Row(
            "load",
            "in process: run('happy-path', target=app)",
            "ms CPU",
            best_ours,
            best_plain,
            "plain ASGITransport loop, same bodies",
            "lower",
            ratio_target=IN_PROCESS_TARGET,
            note=f"best of {rounds} interleaved rounds of {repeats} runs",
        )
    ]


def run(seconds: float = DURATION, rate: float = RATE, rounds: int = PROCESSES_ROUNDS) -> list[Row]:
    rows = in_process()
    with receiver_process() as url:
        rows += open_model(url, rate, seconds)
        rows += processes(url, min(seconds, 5.0), rounds)
    return rows


if __name__ == "__main__":
    for row in run(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else DURATION):
        print(f"{row.name:<60} {row.value:>10,.2f} {row.baseline:>10,.2f}  x{row.ratio:.2f}  {row.note}")
