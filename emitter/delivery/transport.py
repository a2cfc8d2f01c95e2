"""A lean HTTP/1.1 transport for httpx: keep-alive pool with O(1) checkout, asyncio protocols.

httpx stays the client API (so in-process ASGI/WSGI targets keep working through httpx's own
transports); this transport only replaces httpcore for plain `http://` targets, whose pool
rescans every connection per request and collapses at high concurrency (encode/httpx#3215).
The helpers at the end send a request through a client's transport when the client would add
nothing to it (direct_transport, post_request, send_direct): the same request and answer, without
the client's per-request machinery.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

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


TOTAL_TIMEOUT = "vod_emitter.total_timeout"
"""Request extension: seconds for the whole exchange (slot, connect, send, answer), one deadline."""


def _timeout(request: httpx.Request, name: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(name)
    return float(value) if value is not None else None


class _Deadline:
    """The time limits of one request on the loop's clock: a phase's own, capped by the total."""

    __slots__ = ("at", "request")

    def __init__(self, request: httpx.Request, loop: asyncio.AbstractEventLoop):
        self.request = request
        total = request.extensions.get(TOTAL_TIMEOUT)
        self.at = loop.time() + float(total) if total is not None else None

    def limit(self, phase: str, loop: asyncio.AbstractEventLoop) -> float | None:
        """Seconds left for `phase` (connect, read, pool), or None for no limit."""
        own = _timeout(self.request, phase)
        if self.at is None:
            return own
        left = max(self.at - loop.time(), 0.0)
        return left if own is None else min(own, left)


class FastHTTPTransport(httpx.AsyncBaseTransport):
    """http:// over a per-origin stack of idle keep-alive connections (O(1) checkout).

    Besides httpx's per-phase timeouts it honours the TOTAL_TIMEOUT extension: one deadline for
    the whole exchange, kept with the timer the exchange needs anyway.
    """

    def __init__(self, *, max_connections: int = 256, fallback: httpx.AsyncBaseTransport | None = None):
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._max = max_connections
        self._busy = 0
        self._queued: deque[asyncio.Future[None]] = deque()  # exchanges waiting for a free slot
        self._fallback = fallback
        self._connections: set[_Connection] = set()

    def keeps_total_timeout(self, url: httpx.URL) -> bool:
        """True when this transport itself serves `url` (the https fallback ignores TOTAL_TIMEOUT)."""
        return url.scheme == "http"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        loop = asyncio.get_running_loop()
        deadline = _Deadline(request, loop)
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += (name, b": ", value, b"\r\n")
        head += (b"\r\n", body)
        origin = (url.host, url.port or 80)
        if self._busy < self._max and not self._queued:
            self._busy += 1
        else:
            await self._wait_for_slot(deadline, loop)
        try:
            connection = await self._checkout(origin, deadline, loop)
            response = await self._exchange(
                connection, b"".join(head), request.method != "HEAD", deadline, loop
            )
        finally:
            self._release_slot()
        if response.keep_alive and not connection.closed:
            idle = self._idle.get(origin)
            if idle is None:
                idle = self._idle[origin] = deque()
            idle.append(connection)
        else:
            self._discard(connection)
        return httpx.Response(
            response.status,
            headers=response.headers,
            content=response.body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason},
            request=request,
        )

    async def _wait_for_slot(self, deadline: _Deadline, loop: asyncio.AbstractEventLoop) -> None:
        """Queue for a slot; a finished exchange hands its slot over (first come, first served)."""
        waiter = loop.create_future()
        self._queued.append(waiter)
        limit = deadline.limit("pool", loop)
        timer = (
            loop.call_later(limit, _expire, waiter, deadline.request, httpx.PoolTimeout)
            if limit is not None
            else None
        )
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release_slot()  # handed a slot while being cancelled: pass it on
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _release_slot(self) -> None:
        while self._queued:
            waiter = self._queued.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot changes hands; the count stays
                return
        self._busy -= 1

    async def _exchange(
        self,
        connection: _Connection,
        data: bytes,
        expect_body: bool,
        deadline: _Deadline,
        loop: asyncio.AbstractEventLoop,
    ) -> _Response:
        waiter = connection.send(data, expect_body=expect_body)
        limit = deadline.limit("read", loop)
        timer = (
            loop.call_later(limit, _expire, waiter, deadline.request, httpx.ReadTimeout)
            if limit is not None
            else None
        )
        try:
            return await waiter
        except BaseException:
            self._discard(connection)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _checkout(
        self, origin: tuple[str, int], deadline: _Deadline, loop: asyncio.AbstractEventLoop
    ) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            # connection_lost has already marked connections the server closed while idle.
            if not connection.closed:
                return connection
            self._discard(connection)
        return await self._connect(origin, deadline, loop)

    async def _connect(
        self, origin: tuple[str, int], deadline: _Deadline, loop: asyncio.AbstractEventLoop
    ) -> _Connection:
        request = deadline.request
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, origin[0], origin[1]), deadline.limit("connect", loop)
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


def _expire(waiter: asyncio.Future[Any], request: httpx.Request, error: type[httpx.TimeoutException]) -> None:
    if not waiter.done():
        what = "a free connection" if error is httpx.PoolTimeout else "the response"
        waiter.set_exception(error(f"timed out waiting for {what}", request=request))


def direct_transport(client: httpx.AsyncClient, url: httpx.URL) -> httpx.AsyncBaseTransport | None:
    """The client's transport for `url` when calling it directly sends the very same request.

    That is when the client has nothing of its own to apply per request: no auth (nor user:password
    in the URL), no event hooks, no redirects to follow, no cookies or query params to merge.
    Then the client's per-request machinery (auth flow, hooks, redirect loop, cookie jar) costs
    more than the HTTP exchange itself. None when it has something to apply, or when this httpx
    does not say which transport serves a URL; the caller then goes through the client.
    """
    hooks = client.event_hooks
    if (
        client.is_closed
        or client.auth is not None
        or hooks["request"]
        or hooks["response"]
        or client.follow_redirects
        or client.cookies
        or client.params
        or url.userinfo
        or not url.is_absolute_url
    ):
        return None
    pick = getattr(client, "_transport_for_url", None)  # httpx's own mount lookup (proxies, apps)
    transport = pick(url) if callable(pick) else None
    return transport if isinstance(transport, httpx.AsyncBaseTransport) else None


def with_host(url: httpx.URL, headers: httpx.Headers) -> httpx.Headers | None:
    """The headers httpx puts before a POST's Content-Length: Host first, then `headers`.

    None when `headers` set Host, Content-Length or Transfer-Encoding themselves (then only
    httpx.Request knows what to do).
    """
    if "host" in headers or "content-length" in headers or "transfer-encoding" in headers:
        return None
    return httpx.Headers([(b"Host", url.netloc), *headers.raw])


def post_request(
    url: httpx.URL, body: bytes, prepared: httpx.Headers, extensions: dict[str, object]
) -> httpx.Request:
    """httpx.Request("POST", url, content=body, headers=...) with `prepared` from with_host().

    The same request, header for header, without normalising every header once more.
    """
    headers = httpx.Headers(prepared)
    headers["Content-Length"] = str(len(body))
    request = httpx.Request(
        "POST", url, headers=headers, stream=httpx.ByteStream(body), extensions=extensions
    )
    request.read()
    return request


async def send_direct(
    transport: httpx.AsyncBaseTransport, request: httpx.Request, timeout: float
) -> httpx.Response:
    """What AsyncClient.send does with a request it has nothing to add to, within `timeout` in all.

    A FastHTTPTransport keeps that deadline itself (one timer, no task cancelling).
    """
    if isinstance(transport, FastHTTPTransport) and transport.keeps_total_timeout(request.url):
        request.extensions[TOTAL_TIMEOUT] = timeout
        return await _exchange_and_read(transport, request)
    return await within(timeout, _exchange_and_read(transport, request))


async def _exchange_and_read(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


_T = TypeVar("_T")

if sys.version_info >= (3, 11):

    async def within(seconds: float, call: Awaitable[_T]) -> _T:
        """`call`, cancelled after `seconds` with TimeoutError (no extra task, unlike wait_for)."""
        async with asyncio.timeout(seconds):
            return await call

else:  # pragma: no cover - Python 3.10

    async def within(seconds: float, call: Awaitable[_T]) -> _T:
        """`call`, cancelled after `seconds` with TimeoutError."""
        return await asyncio.wait_for(call, seconds)
