"""A lean HTTP/1.1 transport for httpx: keep-alive pool with O(1) checkout, asyncio protocols.

httpx stays the client API (so in-process ASGI/WSGI targets keep working through httpx's own
transports); this transport only replaces httpcore for plain `http://` targets, whose pool
rescans every connection per request and collapses at high concurrency (encode/httpx#3215).
"""

from __future__ import annotations

import asyncio
from collections import deque

import httpx

_HEADER_END = b"\r\n\r\n"
_NO_BODY_STATUSES = frozenset((204, 304))


class _Response:
    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
    ):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses exactly one response per request it sends."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[_Response] | None = None
        self.closed = False
        self.used = False
        self._head: tuple[int, bytes, list[tuple[bytes, bytes]], bool] | None = None
        self._length: int | None = None
        self._chunked = False
        self._until_close = False
        self._expect_body = True

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._until_close:
            status, reason, headers, _ = self._head
            waiter.set_result(_Response(status, reason, headers, bytes(self.buffer), False))
            return
        message = "Server disconnected without sending a response."
        if self._head is not None or self.buffer:
            message = "Server disconnected in the middle of a response."
        waiter.set_exception(httpx.RemoteProtocolError(message))

    # one exchange -------------------------------------------------------------------------
    def send(self, data: bytes, *, expect_body: bool) -> asyncio.Future[_Response]:
        assert self.transport is not None
        self.used = True
        self._head = None
        self._length = None
        self._chunked = self._until_close = False
        self._expect_body = expect_body
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        if self.buffer:
            self._parse()
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> None:
        assert self.waiter is not None
        try:
            if self._head is None and not self._parse_head():
                return
            self._parse_body()
        except httpx.RemoteProtocolError as exc:
            self.waiter.set_exception(exc)
            self.close()

    def _parse_head(self) -> bool:
        end = self.buffer.find(_HEADER_END)
        if end < 0:
            if len(self.buffer) > 65536:
                raise httpx.RemoteProtocolError("Response headers are too long.")
            return False
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        del self.buffer[: end + 4]
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise httpx.RemoteProtocolError(f"Malformed response status line: {lines[0][:80]!r}")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"Malformed response header: {line[:80]!r}")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.isdigit():
                    raise httpx.RemoteProtocolError(f"Bad Content-Length: {value[:40]!r}")
                self._length = int(value)
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True
            elif lowered == b"connection":
                token = value.lower()
                keep_alive = b"close" not in token and (keep_alive or b"keep-alive" in token)
        if 100 <= status < 200:
            return self._parse_head() if self.buffer else False
        if not self._expect_body or status in _NO_BODY_STATUSES:
            self._length, self._chunked = 0, False
        elif self._length is None and not self._chunked:
            self._until_close, keep_alive = True, False
        self._head = (status, reason, headers, keep_alive)
        return True

    def _parse_body(self) -> None:
        assert self._head is not None and self.waiter is not None
        status, reason, headers, keep_alive = self._head
        if self._until_close:
            return
        if self._chunked:
            body = self._take_chunked()
            if body is None:
                return
        else:
            assert self._length is not None
            if len(self.buffer) < self._length:
                return
            body = bytes(self.buffer[: self._length])
            del self.buffer[: self._length]
        self.waiter.set_result(_Response(status, reason, headers, body, keep_alive))

    def _take_chunked(self) -> bytes | None:
        body = bytearray()
        position = 0
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"Bad chunk size: {size_text[:20]!r}") from None
            start = line_end + 2
            if size == 0:
                trailer_end = buffer.find(b"\r\n", start)
                while trailer_end > start:
                    start = trailer_end + 2
                    trailer_end = buffer.find(b"\r\n", start)
                if trailer_end < 0:
                    return None
                del buffer[: trailer_end + 2]
                return bytes(body)
            if len(buffer) < start + size + 2:
                return None
            body += buffer[start : start + size]
            position = start + size + 2


def _timeout(request: httpx.Request, name: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(name)
    return float(value) if value is not None else None


class FastHTTPTransport(httpx.AsyncBaseTransport):
    """http:// over a per-origin stack of idle keep-alive connections (O(1) checkout)."""

    def __init__(self, *, max_connections: int = 256, fallback: httpx.AsyncBaseTransport | None = None):
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._open = 0
        self._max = max_connections
        self._slots: asyncio.Semaphore | None = None
        self._fallback = fallback
        self._connections: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max)
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        data = b"".join(head) + body
        expect_body = request.method != "HEAD"
        origin = (url.host, url.port or 80)
        async with self._slots:
            connection = await self._checkout(origin, request)
            response = await self._exchange(connection, data, expect_body, request)
        if response.keep_alive and not connection.closed:
            self._idle.setdefault(origin, deque()).append(connection)
        else:
            self._discard(connection)
        return httpx.Response(
            response.status,
            headers=response.headers,
            content=response.body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason},
            request=request,
        )

    async def _exchange(
        self, connection: _Connection, data: bytes, expect_body: bool, request: httpx.Request
    ) -> _Response:
        waiter = connection.send(data, expect_body=expect_body)
        read_timeout = _timeout(request, "read")
        timer = None
        if read_timeout is not None:
            timer = asyncio.get_running_loop().call_later(read_timeout, _expire, waiter, request)
        try:
            return await waiter
        except BaseException:
            self._discard(connection)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _checkout(self, origin: tuple[str, int], request: httpx.Request) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            # connection_lost has already marked connections the server closed while idle.
            if not connection.closed:
                return connection
            self._discard(connection)
        return await self._connect(origin, request)

    async def _connect(self, origin: tuple[str, int], request: httpx.Request) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, origin[0], origin[1]), _timeout(request, "connect")
            )
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(
                f"connect to {origin[0]}:{origin[1]} timed out", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        self._connections.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._connections.discard(connection)

    async def aclose(self) -> None:
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()


def _expire(waiter: asyncio.Future[_Response], request: httpx.Request) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("timed out waiting for the response", request=request))
