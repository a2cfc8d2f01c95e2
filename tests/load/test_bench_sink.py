"""The benchmark sink (tests/benchmarks/sink.py): one 200 per request, whatever the read boundaries."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.benchmarks.sink import SinkProtocol

REQUESTS = b"".join(
    b"POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH: %d\r\n\r\n%s" % (len(body), body)
    for body in (b"{}", b"", b"x" * 5000, b"abc")
)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)


def _answers(chunks: list[bytes]) -> bytes:
    sink, transport = SinkProtocol(), _Transport()
    sink.connection_made(transport)
    for chunk in chunks:
        buffer = sink.get_buffer(-1)
        buffer[: len(chunk)] = chunk
        sink.buffer_updated(len(chunk))
    return transport.written


@pytest.mark.parametrize("split", [1, 20, 45, 46, 47, 48, 49, 50, 2000, len(REQUESTS) - 1])
def test_every_request_is_answered_once_wherever_a_read_ends(split: int) -> None:
    assert _answers([REQUESTS[:split], REQUESTS[split:]]) == OK * 4


def test_a_byte_at_a_time_and_all_at_once_give_the_same_answers() -> None:
    one_by_one = _answers([REQUESTS[at : at + 1] for at in range(len(REQUESTS))])
    assert one_by_one == _answers([REQUESTS]) and one_by_one.count(b" 200 OK") == 4
    assert _answers([REQUESTS[:-1]]).count(b" 200 OK") == 3  # the last body is not complete yet


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_keep_alive_requests_over_loopback_are_answered(loop: str) -> None:
    async def post_three() -> list[int]:
        server = await asyncio.get_running_loop().create_server(SinkProtocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                return [(await client.post("/", content=b"x" * size)).status_code for size in (0, 10, 70_000)]
        finally:
            server.close()
            await server.wait_closed()

    run = pytest.importorskip("uvloop").run if loop == "uvloop" else asyncio.run
    assert run(asyncio.wait_for(post_three(), 10)) == [200, 200, 200]
