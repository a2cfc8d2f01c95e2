"""Delivery benchmark (not a test): emitter events/s vs a plain httpx loop, same receiver, same run.

The receiver is the built-in one, started in a separate process on 127.0.0.1 so that it does not
share the sender's event loop. For each concurrency, the emitter (lazy render + Runner + Sender,
no waiting) and a plain `httpx.AsyncClient` loop posting the same pre-rendered bodies run in
alternation for a few rounds; the best round of each is reported with the ratio.

    /work/venv/bin/python bench/delivery.py [--events 2000] [--rounds 3] [--concurrency 1 32]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import httpx

from emitter.deliver import DeliveryOptions, Sender, make_client
from emitter.outcomes import EventFinished
from emitter.render import Renderer
from emitter.runner import Runner, RunPlan, Timing, expand
from emitter.scenario import parse_scenario

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
RECEIVER = """
import asyncio, sys
from emitter.receiver import Receiver

async def main():
    async with Receiver(port=0) as receiver:
        print(receiver.url, flush=True)
        while True:
            await asyncio.sleep(1)
            receiver.records.clear()  # keep the receiver's memory flat over long runs

asyncio.run(main())
"""


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"the receiver did not start: {url!r}")
    return process, url


async def emitter_round(plan: RunPlan, url: str, concurrency: int, renderer: Renderer) -> tuple[float, int]:
    async with make_client(concurrency=concurrency) as client:
        timing = Timing(speed=0, concurrency=concurrency)
        runner = Runner(plan, Sender(client, url, DeliveryOptions()), timing, renderer=renderer)
        started = time.perf_counter()
        delivered = 0
        async for outcome in runner.run():
            if isinstance(outcome, EventFinished) and outcome.ok:
                delivered += 1
        return time.perf_counter() - started, delivered


async def plain_round(bodies: list[bytes], url: str, concurrency: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=5.0) as client:
        queue = iter(bodies)
        delivered = 0

        async def worker() -> None:
            nonlocal delivered
            for body in queue:
                response = await client.post(url, content=body, headers=headers)
                delivered += response.is_success

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()

    renderer = Renderer()
    text = f"version: 1\nsteps:\n  - event: upload\n    repeat: {args.events}\n"
    plan = RunPlan((parse_scenario(text, "bench.yaml", renderer.catalog),), 1, NOW)
    bodies = [delivery.body for delivery in expand(plan, renderer)]  # the plain loop's pre-rendered input
    process, url = start_receiver()
    print(f"{args.events} events per round, {args.rounds} rounds, receiver {url} (separate process)")
    print(f"{'concurrency':>11}  {'emitter ev/s':>12}  {'plain httpx ev/s':>16}  {'ratio':>6}")
    try:
        for concurrency in args.concurrency:
            asyncio.run(plain_round(bodies[:200], url, concurrency))  # warm-up: connections, caches
            best_emitter = best_plain = 0.0
            for _ in range(args.rounds):
                seconds, delivered = asyncio.run(emitter_round(plan, url, concurrency, renderer))
                assert delivered == args.events, f"emitter delivered {delivered} of {args.events}"
                best_emitter = max(best_emitter, args.events / seconds)
                seconds, delivered = asyncio.run(plain_round(bodies, url, concurrency))
                assert delivered == args.events, f"plain loop delivered {delivered} of {args.events}"
                best_plain = max(best_plain, args.events / seconds)
            ratio = best_emitter / best_plain
            print(f"{concurrency:>11}  {best_emitter:>12.0f}  {best_plain:>16.0f}  {ratio:>6.2f}")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
