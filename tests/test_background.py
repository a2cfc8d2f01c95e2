"""Closing a server ends every connection task, even one that lost a cancel."""

from __future__ import annotations

import asyncio
from typing import Any

from emitter.background import close_server


async def _lost_cancel_then_idle(ended: list[str]) -> None:
    # what Python 3.11's asyncio.wait_for does when the read it waits for completes in the turn it
    # is cancelled: the data is returned and the cancel is gone; the connection then waits again
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        ended.append("first cancel lost")
    try:
        await asyncio.sleep(300)  # a kept-alive client's next request, which never comes
    finally:
        ended.append("ended")


def test_close_server_cancels_again_a_connection_that_lost_its_cancel() -> None:
    ended: list[str] = []

    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        connections: set[asyncio.Task[Any]] = {asyncio.create_task(_lost_cancel_then_idle(ended))}
        await asyncio.sleep(0)
        await asyncio.wait_for(close_server(server, connections), 5)
        assert all(task.done() for task in connections)
        assert not server.is_serving()

    asyncio.run(scenario())
    assert ended == ["first cancel lost", "ended"]
