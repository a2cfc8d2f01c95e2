"""PULL through the real SDK: PullEvents+ConfirmEvents round trips and events per second, against 100 req/s.

The local VOD API runs in its own process pinned to core 0 (`python -m tests.benchmarks.pullapi
--serve N` queues N copies of a rendered v3 event and serves until its stdin closes); this
process is the consumer, the tencentcloud `VodClient` over one keep-alive connection, pulling
16 events and confirming them. The baseline is the service's own rate limit, 100 requests per
second per action: a ratio above 1 means the emulator is never the consumer's bottleneck where the
real service would not be. With the limit on, the same loop shows what a consumer sees past it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Any

from tests.benchmarks.common import RECEIVER_CORE, Row, serving_process, two_cores

KEYS = ("AKIDbench", "benchKey")
LIMIT = 100
QUEUED = 200_000


def api_process(*, queued: int, limited: bool) -> contextlib.AbstractContextManager[str]:
    """The local VOD API in its own process: yields its endpoint (host:port)."""
    command = [sys.executable, "-m", "tests.benchmarks.pullapi", "--serve", str(queued)]
    if limited:
        command.append("--limited")
    return serving_process(command, address_prefix="127.0.0.1:", what="the local VOD API")


def _client(endpoint: str) -> Any:
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717.vod_client import VodClient

    http = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10)
    return VodClient(Credential(*KEYS), "", ClientProfile(httpProfile=http))


def consume(endpoint: str, seconds: float) -> tuple[float, float, int]:
    """(round trips per second, events per second, refused requests) of a pull-confirm loop."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.vod.v20180717 import models

    client = _client(endpoint)
    client.PullEvents(models.PullEventsRequest())  # warm up: connection, imports
    trips = events = refused = 0
    started = time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        try:
            batch = client.PullEvents(models.PullEventsRequest()).EventSet or []
            if batch:
                confirm = models.ConfirmEventsRequest()
                confirm.EventHandles = [event.EventHandle for event in batch]
                client.ConfirmEvents(confirm)
        except TencentCloudSDKException as exc:
            if exc.code != "RequestLimitExceeded":
                raise
            refused += 1
            continue
        trips += 1
        events += len(batch)
    elapsed = time.perf_counter() - started
    return trips / elapsed, events / elapsed, refused


def calls(endpoint: str, seconds: float) -> float:
    """DescribeEventConfig per second: the SDK's and the endpoint's floor, no events moved."""
    from tencentcloud.vod.v20180717 import models

    client = _client(endpoint)
    client.DescribeEventConfig(models.DescribeEventConfigRequest())
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.DescribeEventConfig(models.DescribeEventConfigRequest())
        count += 1
    return count / (time.perf_counter() - started)


def run(seconds: float = 2.0) -> list[Row]:
    with api_process(queued=QUEUED, limited=False) as endpoint:
        floor = calls(endpoint, seconds / 2)
        trips, events, _ = consume(endpoint, seconds)
    with api_process(queued=QUEUED, limited=True) as endpoint:
        limited_trips, limited_events, refused = consume(endpoint, seconds)
    note = "tencentcloud VodClient, 16 events per pull, one connection; server on its own core"
    return [
        Row("pull", "SDK calls/s, DescribeEventConfig, limit lifted", "calls/s", floor, LIMIT,
            "service limit 100 req/s", "higher", note="the floor: one request, no events"),
        Row("pull", "PullEvents+ConfirmEvents round trips/s, limit lifted", "trips/s", trips, LIMIT,
            "service limit 100 req/s", "higher", note=note),
        Row("pull", "events pulled and confirmed/s, limit lifted", "events/s", events, LIMIT * 16,
            "100 pulls/s x 16", "higher", note=note),
        Row("pull", "round trips/s with the 100 req/s limit on", "trips/s", limited_trips, LIMIT,
            "service limit 100 req/s", "lower", value_target=LIMIT * 1.05,
            note=f"{refused} RequestLimitExceeded in {seconds:g} s; {limited_events:,.0f} events/s"),
    ]  # fmt: skip


def serve(queued: int, limited: bool) -> None:
    """Serve a queue of `queued` events until stdin closes (the benchmark's server process)."""
    import asyncio

    from emitter.api import render_event
    from emitter.vodapi.account import Account
    from emitter.vodapi.server import VodApiServer

    if two_cores():
        os.sched_setaffinity(0, {RECEIVER_CORE})
    payload = render_event("transcode", fmt="v3", seed=1)
    account = Account(*KEYS, rate_limit=LIMIT if limited else None, hold=0.5)

    async def main() -> None:
        for _ in range(queued):
            account.queue.put(payload)
        async with VodApiServer(account) as server:
            print(server.endpoint, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, required=True)
    parser.add_argument("--limited", action="store_true")
    arguments = parser.parse_args()
    serve(arguments.serve, arguments.limited)
