"""The sender against misbehaving receivers on loopback: leftovers, idle close, huge body, drip, reset."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import struct
from collections.abc import Awaitable, Callable

import httpx
import pytest

from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.delivery.transport import MAX_RESPONSE_BYTES, FastHTTPTransport, direct_transport
from emitter.outcomes import EventFinished, EventRef

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def delivery(index: int) -> Delivery:
    body = json.dumps({"n": index}).encode()
    return Delivery(EventRef(index, "s", index, "upload", "upload", "NewFileUpload"), body, {"n": index})


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


class FaultServer:
    """A loopback server whose handler gets each connection and its number (from 0)."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.connections = 0
        self.bodies: list[bytes] = []

    async def __aenter__(self) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            number = self.connections
            self.connections += 1
            try:
                await self.handler(reader, writer, number)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


async def send_all(
    url: str, count: int, timeout: float = 2.0, *, together: bool = False
) -> list[EventFinished]:
    """Send one after another; `together`: each written at the next loop turn, as bulk sends are."""
    async with make_client(timeout=timeout) as client:
        assert isinstance(direct_transport(client, httpx.URL(url)), FastHTTPTransport)  # the custom transport
        sender = Sender(client, url, DeliveryOptions(timeout=timeout, retries=0))
        finished = []
        for index in range(count):
            outcomes: list[object] = []
            await sender.deliver(delivery(index), outcomes.append, together=together)
            finished += [outcome for outcome in outcomes if isinstance(outcome, EventFinished)]
        return finished


TOGETHER = pytest.mark.parametrize("together", [False, True], ids=["written-at-once", "written-together"])


def run(coroutine: Awaitable[list[EventFinished]]) -> list[EventFinished]:
    return asyncio.run(asyncio.wait_for(coroutine, 30))  # type: ignore[arg-type]


@TOGETHER
def test_bytes_left_over_after_a_response_are_not_the_next_answer(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while True:
            server.bodies.append(await read_request(reader))
            writer.write(OK + b"HTTP/1.1 500 Junk\r\nContent-Length: 0\r\n\r\n")  # one answer too many
            await writer.drain()

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 3, together=together)

    finished = run(scenario())
    assert [(f.result, f.status) for f in finished] == [("delivered", 200)] * 3
    assert len(server.bodies) == 3 and server.connections == 3  # a connection with leftovers is not reused


@TOGETHER
def test_a_keep_alive_connection_closed_as_the_request_arrives_is_retried_once(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        server.bodies.append(await read_request(reader))
        writer.write(OK)  # keep-alive by default in HTTP/1.1 ...
        await writer.drain()
        server.bodies.append(await read_request(reader))  # ... but the idle timer fires as the next arrives

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 3, together=together)

    finished = run(scenario())
    assert [f.result for f in finished] == ["delivered"] * 3  # at --speed 0 nothing is lost
    assert [f.attempts for f in finished] == [1, 1, 1]  # the stale connection is not an attempt
    assert {json.loads(b)["n"] for b in server.bodies} == {0, 1, 2}


@TOGETHER
def test_a_dropped_first_request_is_not_retried_silently(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        server.bodies.append(await read_request(reader))  # a fresh connection closed unanswered: a real drop

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 1, together=together)

    finished = run(scenario())
    assert (finished[0].result, len(server.bodies)) == ("failed", 1)
    assert "connection dropped" in finished[0].reason


@TOGETHER
def test_a_huge_response_body_is_read_only_as_far_as_the_report_needs(together: bool) -> None:
    total = 64 * 1024 * 1024
    written: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < total:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        finally:
            written.append(sent)

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 2, together=together)

    finished = run(scenario())
    assert [f.result for f in finished] == ["delivered", "delivered"]
    assert finished[0].response.startswith("xxx")
    assert all(sent < total // 4 for sent in written)  # the sender stopped reading early
    assert server.connections == 2


def test_a_body_read_through_httpx_is_bounded_too() -> None:
    big = b"y" * (MAX_RESPONSE_BYTES * 4)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big)

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            sender = Sender(client, "http://127.0.0.1:9/", DeliveryOptions())
            return await sender._post(b"{}", {}, {})

    response = asyncio.run(scenario())
    assert len(response.content) == MAX_RESPONSE_BYTES


@TOGETHER
def test_a_slow_drip_answer_times_out(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 1, timeout=0.5, together=together)

    finished = run(scenario())
    assert finished[0].result == "failed" and finished[0].reason.startswith("timeout")


@TOGETHER
def test_a_reset_connection_is_a_dropped_send(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 2, together=together)

    finished = run(scenario())
    assert [f.result for f in finished] == ["failed", "failed"]
    assert all("connection dropped" in f.reason for f in finished)


def _answer_each_with(extra: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while True:
            await read_request(reader)
            writer.write(OK + extra)  # one write: the answer and what follows arrive together
            await writer.drain()

    return handler


@TOGETHER
def test_the_start_of_a_second_answer_or_junk_after_an_answer_is_not_kept_for_the_next(
    together: bool,
) -> None:
    for extra in (b"HTTP/1.1 2", b"junk that is not HTTP"):
        server = FaultServer(_answer_each_with(extra))

        async def scenario(server: FaultServer = server) -> list[EventFinished]:
            async with server as url:
                return await send_all(url, 3, together=together)

        finished = run(scenario())
        assert [(f.result, f.status, f.response) for f in finished] == [("delivered", 200, "ok")] * 3
        assert server.connections == 3


@TOGETHER
def test_an_endless_response_head_is_a_dropped_send(together: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):  # 200 x 1 KiB header lines: no end of head in sight
            writer.write(b"X-Filler: " + b"f" * 1024 + b"\r\n")
            await writer.drain()

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 1, together=together)

    finished = run(scenario())
    assert finished[0].result == "failed" and "connection dropped" in finished[0].reason
    assert "head over" in finished[0].reason


@TOGETHER
def test_a_compressed_answer_is_reported_decoded(together: bool) -> None:
    packed = gzip.compress(b'{"code": 0, "message": "received"}')
    answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(answer + packed)
        await writer.drain()

    server = FaultServer(handler)

    async def scenario() -> list[EventFinished]:
        async with server as url:
            return await send_all(url, 1, together=together)

    assert run(scenario())[0].response == '{"code": 0, "message": "received"}'
