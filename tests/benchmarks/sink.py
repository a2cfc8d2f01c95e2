"""The throughput benchmarks' receiver: a minimal asyncio HTTP/1.1 server that answers 200, pinned to a core.

It parses just enough (head, Content-Length) to answer keep-alive requests in order, so that it is
never the bottleneck. Run it as `python -m tests.benchmarks.sink [--core N] [--builtin]`: it prints
its URL on stdout and serves until stdin closes (the parent's death ends it too). `--builtin` runs
the built-in receiver (emitter.receiver.Receiver, records not kept) instead, for the reference figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

_HEADER_END = b"\r\n\r\n"
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class SinkProtocol(asyncio.Protocol):
    """Answers every complete request on the connection with 200, in one write per read."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.needed = -1  # bytes of the current request still to come once its head is parsed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        answers = 0
        while True:
            if self.needed < 0:
                end = buffer.find(_HEADER_END)
                if end < 0:
                    break
                head = bytes(buffer[:end]).lower()
                at = head.find(b"content-length:")
                length = 0
                if at >= 0:
                    line_end = head.find(b"\r\n", at)
                    length = int(head[at + 15 : line_end if line_end >= 0 else None])
                del buffer[: end + 4]
                self.needed = length
            if len(buffer) < self.needed:
                break
            del buffer[: self.needed]
            self.needed = -1
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(_OK * answers)


async def _serve_sink() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/", flush=True)
    await _until_stdin_closes()
    server.close()


async def _serve_builtin() -> None:
    from emitter.receiver.server import Receiver

    async with Receiver(port=0, keep_records=False) as receiver:
        print(receiver.url, flush=True)
        await _until_stdin_closes()


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark receiver on 127.0.0.1")
    parser.add_argument("--core", type=int, default=None, help="pin this process to one CPU core")
    parser.add_argument("--builtin", action="store_true", help="run the built-in receiver instead")
    args = parser.parse_args()
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    asyncio.run(_serve_builtin() if args.builtin else _serve_sink())


if __name__ == "__main__":
    main()
