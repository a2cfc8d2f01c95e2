"""The throughput benchmarks' receiver: a minimal asyncio HTTP/1.1 server that answers 200, pinned to a core.

It parses just enough (head, Content-Length) to answer keep-alive requests in order, so that it is
never the bottleneck, and runs on uvloop where installed: where the sink shares a core with the load
(`load --processes 2`), every microsecond it spends is taken from the load (on asyncio's loop it
spent ~34 us of CPU per request there, on uvloop ~27).

Run it as `python -m tests.benchmarks.sink [--core N] [--builtin]`: it prints its URL on stdout and
serves until stdin closes (the parent's death ends it too). `--builtin` runs the built-in receiver
(emitter.receiver.Receiver, records not kept, on asyncio's loop as `receive` runs it) instead, for
the reference figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import cast

_HEADER_END = b"\r\n\r\n"
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_READ_SIZE = 256 * 1024  # what asyncio reads at most at once


class SinkProtocol(asyncio.BufferedProtocol):
    """Answers every complete request on the connection with 200, in one write per read.

    Reads go into one buffer kept for the connection (recv_into): asyncio's plain protocols receive
    into a fresh 256 KiB bytes object per read, which cost this sink two page faults and about
    20 us of kernel time per request. Bodies are counted off, never copied; only heads are kept.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray(_READ_SIZE)
        self.view = memoryview(self.received)
        self.head = bytearray()  # the start of a head that a read ended in the middle of
        self.needed = -1  # body bytes of the current request still to come; -1: reading its head

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport's

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        data, at, answers = self.received, 0, 0
        while at < nbytes:
            if self.needed < 0:
                if self.head:  # a head split across reads: finish it in `head`
                    searched = max(len(self.head) - 3, 0)
                    self.head += self.view[at:nbytes]
                    end = self.head.find(_HEADER_END, searched)
                    if end < 0:
                        break
                    self.needed = _content_length(bytes(self.head[:end]))
                    at = nbytes - (len(self.head) - end - 4)
                    self.head.clear()
                else:
                    end = data.find(_HEADER_END, at, nbytes)
                    if end < 0:
                        self.head += self.view[at:nbytes]
                        break
                    self.needed = _content_length(bytes(self.view[at:end]))
                    at = end + 4
            taken = min(self.needed, nbytes - at)
            at += taken
            self.needed -= taken
            if self.needed == 0:
                self.needed = -1
                answers += 1
        if answers and self.transport is not None:
            self.transport.write(_OK * answers)


def _content_length(head: bytes) -> int:
    head = head.lower()
    at = head.find(b"content-length:")
    if at < 0:
        return 0
    line_end = head.find(b"\r\n", at)
    return int(head[at + 15 : line_end if line_end >= 0 else None])


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
    if args.builtin:
        asyncio.run(_serve_builtin())  # the loop `vod-emitter receive` runs on
        return
    try:
        import uvloop
    except ImportError:  # an optional speed-up (no uvloop on Windows): the same sink, a little dearer
        asyncio.run(_serve_sink())
    else:
        uvloop.run(_serve_sink())


if __name__ == "__main__":
    main()
