"""FastHTTPTransport against real loopback servers: keep-alive, framing, errors, timeouts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from emitter.delivery.transport import FastHTTPTransport
from emitter.receiver.server import Behaviour, Receiver


def run(coroutine: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 20))  # type: ignore[arg-type]


def client(**kwargs: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=FastHTTPTransport(), timeout=httpx.Timeout(kwargs.get("timeout", 5.0)))


def test_posts_reuse_one_keep_alive_connection() -> None:
    async def scenario() -> None:
        async with Receiver() as receiver, client() as http:
            for index in range(5):
                response = await http.post(receiver.url, json={"n": index, "text": "动物"})
                assert response.status_code == 200
            bodies = [r.payload for r in receiver.records]
            assert bodies == [{"n": i, "text": "动物"} for i in range(5)]
            assert len({r.client for r in receiver.records}) == 1
            assert receiver.records[0].header("content-type") == "application/json"

    run(scenario())


def test_concurrent_requests_each_get_their_own_answer() -> None:
    async def scenario() -> None:
        async with Receiver(behaviour=Behaviour(status=202)) as receiver, client() as http:
            responses = await asyncio.gather(*(http.post(receiver.url, content=b"{}") for _ in range(50)))
            assert [r.status_code for r in responses] == [202] * 50
            assert len(receiver.records) == 50

    run(scenario())


async def _serve(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hook?x=1"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            200,
            b"abcde",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, b"ok"),
        (b"HTTP/1.0 503 Busy\r\n\r\nuntil close", 503, b"until close"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
    ],
)
def test_response_framing(answer: bytes, status: int, body: bytes) -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server, client() as http:
            response = await http.post(url, content=b'{"a":1}', headers={"X-Test": "1"})
            assert (response.status_code, response.content) == (status, body)
        assert seen[0].startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
        assert b"\r\nx-test: 1\r\n" in seen[0].lower() and seen[0].endswith(b'{"a":1}')

    run(scenario())


def test_connection_refused_is_a_connect_error() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    async def scenario() -> None:
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.post(f"http://127.0.0.1:{port}/", content=b"{}")

    run(scenario())


def test_slow_answer_is_a_read_timeout_and_the_connection_is_not_reused() -> None:
    async def scenario() -> None:
        async with Receiver(behaviour=Behaviour(delay=0.5)) as receiver, client(timeout=0.1) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(receiver.url, content=b"{}")
            receiver.behaviour = Behaviour()
            assert (await http.post(receiver.url, content=b"{}")).status_code == 200
            assert receiver.records[0].client != receiver.records[1].client

    run(scenario())


def test_dropped_connection_is_a_protocol_error_not_a_silent_retry() -> None:
    async def scenario() -> None:
        async with Receiver(behaviour=Behaviour(drop_first=1)) as receiver, client() as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(receiver.url, content=b"{}")
            assert len(receiver.records) == 1
            assert (await http.post(receiver.url, content=b"{}")).status_code == 200

    run(scenario())


def test_server_closing_idle_connection_is_noticed_before_reuse() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server, client() as http:
            for _ in range(3):
                assert (await http.post(url, content=b"{}")).status_code == 200
                await asyncio.sleep(0.05)

    run(scenario())


def test_https_goes_to_the_fallback_transport() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200)

    async def scenario() -> None:
        transport = FastHTTPTransport(fallback=httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport) as http:
            assert (await http.post("https://example.invalid/x", content=b"{}")).status_code == 200
        assert calls == ["https://example.invalid/x"]

    run(scenario())
