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
import weakref
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

import h11
import httpx

MAX_RESPONSE_BYTES = 64 * 1024
"""The prefix of a response body kept for the report; the rest is not read (the connection closes)."""
MAX_HEAD_BYTES = 64 * 1024


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


class StaleConnection(httpx.RemoteProtocolError):
    """A kept-alive connection the server had closed: nothing was answered, so the request may go again."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; h11 frames each request and its response.

    A connection is reused only when h11 says both sides are done and no byte is left over:
    bytes after a response (a broken server, or a second response) would otherwise be read as
    the answer to the next request.
    """

    def __init__(self, max_body: int = MAX_RESPONSE_BYTES) -> None:
        self.transport: asyncio.Transport | None = None
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.waiter: asyncio.Future[_Response] | None = None
        self.closed = False
        self.used = False  # served an exchange before this one (a stale one may be retried)
        self.answered = False  # a byte of the current exchange's answer arrived
        self.max_body = max_body
        self._head: h11.Response | None = None
        self._body = bytearray()
        self._eof = False

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        self.answered = True
        self.h11.receive_data(data)
        self._next_events()

    def eof_received(self) -> bool | None:
        # an answer framed by the end of the connection ends here; anything else is a disconnect
        if self.answered and self.waiter is not None and not self.waiter.done():
            self._eof = True
            self.h11.receive_data(b"")
            self._next_events()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if not self.answered:
            error: httpx.RemoteProtocolError = (StaleConnection if self.used else httpx.RemoteProtocolError)(
                "Server disconnected without sending a response."
            )
        else:
            error = httpx.RemoteProtocolError("Server disconnected in the middle of a response.")
        waiter.set_exception(error)

    # one exchange -------------------------------------------------------------------------
    def send(self, request: h11.Request, body: bytes) -> asyncio.Future[_Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.answered = False
        self._head = None
        self._body = bytearray()
        try:
            data = self.h11.send(request)
            if body:
                data += self.h11.send(h11.Data(data=body))
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            self.waiter.set_exception(httpx.LocalProtocolError(str(exc)))
            self.close()
            return self.waiter
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _next_events(self) -> None:
        waiter = self.waiter
        assert waiter is not None
        while not waiter.done():
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                message = (
                    "Server disconnected in the middle of a response."
                    if self._eof
                    else f"Malformed response: {exc}"
                )
                waiter.set_exception(httpx.RemoteProtocolError(message))
                self.close()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                self._head = event
            elif isinstance(event, h11.Data):
                room = self.max_body - len(self._body)
                self._body += event.data[:room]
                if len(event.data) > room:  # enough for the report: the rest is not read
                    self._finish(keep_alive=False)
            elif isinstance(event, h11.EndOfMessage):
                self._finish(keep_alive=True)
            elif isinstance(event, h11.ConnectionClosed):
                waiter.set_exception(
                    httpx.RemoteProtocolError("Server disconnected without sending a response.")
                )
            # InformationalResponse (100 Continue): wait for the final one

    def _finish(self, *, keep_alive: bool) -> None:
        assert self.waiter is not None and self._head is not None
        connection = self.h11
        reusable = (
            keep_alive
            and connection.our_state is h11.DONE
            and connection.their_state is h11.DONE
            and not connection.trailing_data[0]
        )
        if reusable:
            connection.start_next_cycle()
        head = self._head
        headers = [(bytes(name), bytes(value)) for name, value in head.headers.raw_items()]
        self.waiter.set_result(
            _Response(head.status_code, bytes(head.reason), headers, bytes(self._body), reusable)
        )
        if not reusable:
            self.close()


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
        try:
            head = h11.Request(method=request.method, target=url.raw_path, headers=request.headers.raw)
        except h11.LocalProtocolError as exc:  # a header that would split the request
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        origin = (url.host, url.port or 80)
        if self._busy < self._max and not self._queued:
            self._busy += 1
        else:
            await self._wait_for_slot(deadline, loop)
        try:
            connection = await self._checkout(origin, deadline, loop)
            try:
                response = await self._exchange(connection, head, body, deadline, loop)
            except StaleConnection:
                # the server closed a kept-alive connection as we sent: nothing was answered, send again
                connection = await self._connect(origin, deadline, loop)
                response = await self._exchange(connection, head, body, deadline, loop)
        finally:
            self._release_slot()
        if response.keep_alive and not connection.closed:
            connection.used = True
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
        head: h11.Request,
        body: bytes,
        deadline: _Deadline,
        loop: asyncio.AbstractEventLoop,
    ) -> _Response:
        waiter = connection.send(head, body)
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
    more than the HTTP exchange itself. None when it has something to apply, or when it was not
    noted (serves_every_url) which transport serves every URL; the caller then goes through the client.
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
    return _DIRECT.get(client)


_DIRECT: weakref.WeakKeyDictionary[httpx.AsyncClient, httpx.AsyncBaseTransport] = weakref.WeakKeyDictionary()


def serves_every_url(client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """Remember that `client` sends every request through `transport` (built with it, no proxy mounts).

    direct_transport() answers from this note instead of asking httpx which transport serves a URL
    (that lookup is private to httpx).
    """
    _DIRECT[client] = transport
    return client


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
    if isinstance(response.stream, httpx.ByteStream):  # already in memory, already bounded (ours)
        await response.aread()
        await response.aclose()
        return response
    return await bounded(response)


async def bounded(response: httpx.Response, limit: int = MAX_RESPONSE_BYTES) -> httpx.Response:
    """The response with at most `limit` bytes of its body read; the rest is left unread (closed)."""
    prefix = bytearray()
    try:
        if response.is_stream_consumed:  # a transport that read it already (httpx.MockTransport)
            prefix += response.content[:limit]
        else:
            async for chunk in response.aiter_raw():
                prefix += chunk[: limit - len(prefix)]
                if len(prefix) >= limit:
                    break
    finally:
        await response.aclose()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(prefix),
        extensions=response.extensions,
        request=response.request,
    )


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
