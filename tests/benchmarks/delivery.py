"""Delivery throughput to a local receiver at several concurrencies, against plain client loops.

The receiver runs in its own process pinned to one core (a minimal asyncio server answering
200, see sink.py), the client side on the other core. At each concurrency, time-boxed rounds
alternate between:

- ours: the emitter's engine (Runner + Sender + make_client) delivering happy-path flows with
  fresh rendering (one seeded session per flow, every body rendered as it is sent), on the event
  loop the tool runs on (emitter.eventloop: uvloop where installed);
- a plain `httpx.AsyncClient` loop and an `aiohttp` loop posting the same bodies pre-rendered, on
  asyncio's own loop, as `asyncio.run` gives them. At concurrency 32 the aiohttp loop also runs on
  uvloop, for reference (no target: it shows how much of the lead is the loop's).

The best round of each is kept. At concurrency 32, Locust's FastHttpUser (one process, 32 users
posting the same bodies without waiting) is a peer too, when locust is installed (the `bench`
extra). A raw asyncio client shows the receiver's headroom, and one figure is taken against the
built-in receiver (h11, conformance checks) for reference.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import httpx

from emitter import eventloop
from emitter.delivery.deliver import DeliveryOptions, Sender, make_client
from emitter.delivery.runner import Runner, Timing
from emitter.outcomes import EventFinished
from emitter.payloads.render import Renderer
from emitter.scenarios.loader import Scenario, load_scenario
from emitter.scenarios.plan import RunPlan, expand
from tests.benchmarks.common import CLIENT_CORE, NOW, Row, receiver_process, two_cores

CONCURRENCIES = (1, 8, 32, 128)
FLOWS = 15_000  # happy-path flows (4 events each) in a plan: more than any round gets through
PRERENDERED = 2_000  # flows whose bodies the plain loops post, over and over
HTTPX_RATIO_TARGET = 2.5  # at concurrency 8
PEER_RATIO_TARGET = 1.0  # at concurrency 32: the aiohttp loop and Locust's FastHttpUser
LOCUST_CONCURRENCY = 32
HEADERS = {"Content-Type": "application/json", "User-Agent": "bench"}

Round = Callable[[str, int, float], Coroutine[Any, Any, float]]
Loop = Callable[[Coroutine[Any, Any, float]], float]  # runs a round: asyncio.run, or ours


def _flows(renderer: Renderer) -> Scenario:
    return load_scenario("happy-path", renderer.catalog)


def prerendered(renderer: Renderer) -> list[bytes]:
    plan = RunPlan((_flows(renderer),) * PRERENDERED, 1, NOW)
    return [delivery.body for delivery in expand(plan, renderer)]


def ours(renderer: Renderer) -> Round:
    seeds = itertools.count(100)

    async def one_round(url: str, concurrency: int, seconds: float) -> float:
        plan = RunPlan((_flows(renderer),) * FLOWS, next(seeds), NOW)
        async with make_client(concurrency=concurrency) as client:
            runner = Runner(
                plan,
                Sender(client, url, DeliveryOptions()),
                Timing(speed=0, concurrency=concurrency),
                renderer=renderer,
            )
            started = time.perf_counter()
            stop = asyncio.get_running_loop().call_later(seconds, runner.stop)
            delivered = 0
            async for outcome in runner.run():
                if isinstance(outcome, EventFinished):
                    delivered += outcome.ok
            elapsed = time.perf_counter() - started
            stop.cancel()
        return delivered / elapsed

    return one_round


async def _workers(
    concurrency: int, seconds: float, post: Callable[[bytes], Awaitable[bool]], bodies: Iterator[bytes]
) -> float:
    delivered = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal delivered
        while time.perf_counter() < deadline:
            ok = await post(next(bodies))  # not `delivered += await ...`: that reads before awaiting
            delivered += ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return delivered / (time.perf_counter() - started)


def plain_httpx(bodies: list[bytes]) -> Round:
    async def one_round(url: str, concurrency: int, seconds: float) -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=5.0) as client:

            async def post(body: bytes) -> bool:
                response = await client.post(url, content=body, headers=HEADERS)
                return response.is_success

            return await _workers(concurrency, seconds, post, itertools.cycle(bodies))

    return one_round


def plain_aiohttp(bodies: list[bytes]) -> Round:
    import aiohttp

    async def one_round(url: str, concurrency: int, seconds: float) -> float:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(body: bytes) -> bool:
                async with session.post(url, data=body, headers=HEADERS) as response:
                    await response.read()
                    return response.status == 200

            return await _workers(concurrency, seconds, post, itertools.cycle(bodies))

    return one_round


class _RawClient(asyncio.Protocol):
    """One keep-alive connection posting a request and reading its (bodiless) answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done() and b"\r\n\r\n" in self.buffer:
            self.buffer.clear()  # the sink answers 200 with an empty body, one answer per request
            self.waiter.set_result(None)

    async def post(self, request: bytes) -> bool:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        await self.waiter
        return True


def raw_asyncio(bodies: list[bytes]) -> Round:
    async def one_round(url: str, concurrency: int, seconds: float) -> float:
        target = httpx.URL(url)
        host, port = target.host, target.port or 80
        head = (
            f"POST {target.raw_path.decode()} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        )
        requests = [f"{head}{len(body)}\r\n\r\n".encode() + body for body in bodies]
        loop = asyncio.get_running_loop()
        connections = [(await loop.create_connection(_RawClient, host, port))[1] for _ in range(concurrency)]
        pending = itertools.cycle(requests)
        delivered = 0
        deadline = time.perf_counter() + seconds

        async def worker(connection: _RawClient) -> None:
            nonlocal delivered
            while time.perf_counter() < deadline:
                ok = await connection.post(next(pending))
                delivered += ok

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        elapsed = time.perf_counter() - started
        for connection in connections:
            assert connection.transport is not None
            connection.transport.close()
        return delivered / elapsed

    return one_round


LOCUSTFILE = """
import itertools, os

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

with open(os.environ["PEER_BODIES"], "rb") as file:
    BODIES = itertools.cycle(file.read().split(b"\\n"))
HEADERS = {"Content-Type": "application/json", "User-Agent": "bench"}


class Peer(FastHttpUser):
    wait_time = constant(0)

    @task
    def post(self):
        self.client.post("", data=next(BODIES), headers=HEADERS)
"""


def locust_peer(url: str, bodies: list[bytes], users: int, seconds: float) -> float | None:
    """Locust FastHttpUser in one process (pinned to the client core): requests/s, None without locust.

    The rate is taken between the first and the last request, so Locust's start-up is left out.
    """
    if importlib.util.find_spec("locust") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        locustfile, data = os.path.join(folder, "peer.py"), os.path.join(folder, "bodies")
        with open(locustfile, "w", encoding="utf-8") as file:
            file.write(LOCUSTFILE)
        with open(data, "wb") as file:
            file.write(b"\n".join(bodies))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env["PEER_BODIES"] = data
        command = [
            sys.executable, "-m", "locust", "-f", locustfile, "--headless", "-u", str(users),
            "-r", str(users * 100), "-t", f"{max(seconds, 2.0):g}s", "--host", url, "--json",
            "--stop-timeout", "2", "--exit-code-on-error", "0", "--loglevel", "ERROR",
        ]  # fmt: skip
        if two_cores() and shutil.which("taskset"):
            command = ["taskset", "-c", str(CLIENT_CORE), *command]
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=folder, timeout=seconds + 60, check=False
        )
    try:
        stats = json.loads(done.stdout)
        requests = sum(entry["num_requests"] - entry["num_failures"] for entry in stats)
        span = max(entry["last_request_timestamp"] for entry in stats) - min(e["start_time"] for e in stats)
    except (ValueError, KeyError, TypeError):
        return None
    return requests / span if span > 0 else None


def best_of(
    rounds: dict[str, Round],
    url: str,
    concurrency: int,
    seconds: float,
    repeats: int,
    loops: dict[str, Loop] | None = None,
) -> dict[str, float]:
    """Alternate the contenders `repeats` times; keep each one's best round (after a warm-up).

    Each runs on its loop in `loops` (default: asyncio.run); ours on the tool's own."""
    loops = {"ours": eventloop.run, **(loops or {})}
    for name, contender in rounds.items():
        loops.get(name, asyncio.run)(contender(url, concurrency, min(0.2, seconds)))
    best = dict.fromkeys(rounds, 0.0)
    for _ in range(repeats):
        for name, contender in rounds.items():
            measured = loops.get(name, asyncio.run)(contender(url, concurrency, seconds))
            best[name] = max(best[name], measured)
    return best


def _at_concurrency(fixed: int, contender: Round) -> Round:
    """The contender's round at a fixed concurrency, whatever the others' round asks for."""

    async def one_round(url: str, concurrency: int, seconds: float) -> float:
        return await contender(url, fixed, seconds)

    return one_round


def _uvloop_run(coroutine: Coroutine[Any, Any, float]) -> float:
    import uvloop

    return uvloop.run(coroutine)


def run(seconds: float = 1.0, repeats: int = 3, concurrencies: tuple[int, ...] = CONCURRENCIES) -> list[Row]:
    renderer = Renderer()
    bodies = prerendered(renderer)
    contenders = {"ours": ours(renderer), "httpx": plain_httpx(bodies), "aiohttp": plain_aiohttp(bodies)}
    rows: list[Row] = []
    ours_at: dict[int, float] = {}
    ours_at_8_beside: dict[int, float] = {}  # ours at concurrency 8, in rounds between those at `key`
    with receiver_process() as url:
        for concurrency in concurrencies:
            rounds = dict(contenders)
            if concurrency > 8 and 8 in concurrencies:
                # the no-collapse rows compare rounds taken side by side, not minutes apart on a
                # machine whose load moves
                rounds["ours at 8"] = _at_concurrency(8, contenders["ours"])
            best = best_of(rounds, url, concurrency, seconds, repeats, {"ours at 8": eventloop.run})
            ours_at[concurrency] = best["ours"]
            if "ours at 8" in best:
                ours_at_8_beside[concurrency] = best["ours at 8"]
            name = f"fresh rendering, concurrency {concurrency}"

            def against(
                peer: float, peer_name: str, name: str = name, ours: float = best["ours"], **extra: Any
            ) -> Row:
                """Ours at this concurrency against a peer's figure."""
                return Row("delivery", name, "events/s", ours, peer, peer_name, "higher", **extra)

            rows.append(
                against(
                    best["httpx"],
                    "plain httpx loop",
                    ratio_target=HTTPX_RATIO_TARGET if concurrency == 8 else None,
                )
            )
            rows.append(
                against(
                    best["aiohttp"],
                    "plain aiohttp loop",
                    ratio_target=PEER_RATIO_TARGET if concurrency == 32 else None,
                )
            )
            if concurrency == LOCUST_CONCURRENCY and eventloop.chosen_loop() == "uvloop":
                on_uvloop = best_of(
                    {"aiohttp": contenders["aiohttp"]},
                    url,
                    concurrency,
                    seconds,
                    repeats,
                    {"aiohttp": _uvloop_run},
                )
                rows.append(
                    against(
                        on_uvloop["aiohttp"],
                        "plain aiohttp loop on uvloop",
                        note="reference: the same loop as ours",
                    )
                )
            if concurrency == LOCUST_CONCURRENCY:
                peer = locust_peer(url, bodies, concurrency, seconds * 3)
                if peer is not None:
                    rows.append(
                        against(peer, "Locust FastHttpUser, one process", ratio_target=PEER_RATIO_TARGET)
                    )
        for concurrency, beside in ours_at_8_beside.items():
            rows.append(
                Row(
                    "delivery",
                    f"no collapse: concurrency {concurrency} vs 8",
                    "events/s",
                    ours_at[concurrency],
                    beside,
                    "ours at concurrency 8, rounds in between",
                    "higher",
                    ratio_target=1.0,
                )
            )
        widest = max(concurrencies)
        raw = best_of({"raw": raw_asyncio(bodies)}, url, 32, seconds, 1)["raw"]
        rows.append(
            Row(
                "delivery",
                "receiver headroom (raw asyncio client, concurrency 32)",
                "requests/s",
                raw,
                ours_at.get(32, ours_at[widest]),
                "ours at concurrency 32",
                "higher",
                note="the sink is not the bottleneck while this ratio is well above 1",
            )
        )
    with receiver_process(builtin=True) as url:
        best = best_of({"ours": contenders["ours"], "httpx": contenders["httpx"]}, url, 8, seconds, repeats)
        rows.append(
            Row(
                "delivery",
                "to the built-in receiver, concurrency 8",
                "events/s",
                best["ours"],
                best["httpx"],
                "plain httpx loop",
                "higher",
                note="reference: h11 + conformance checks",
            )
        )
    return rows


if __name__ == "__main__":
    from tests.benchmarks.common import pin_self

    pin_self()
    for row in run():
        print(
            f"{row.name:<60} {row.value:>10,.0f} {row.baseline:>10,.0f} ({row.baseline_name})"
            f"  x{row.ratio:.2f}"
        )
