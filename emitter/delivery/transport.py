"""A lean HTTP/1.1 transport for httpx: keep-alive pool with O(1) checkout, asyncio protocols, httptools.

httpx stays the client API (so in-process ASGI/WSGI targets keep working through httpx's own
transports); this transport replaces httpcore for plain `http://` targets, whose pool rescans
every connection per request and collapses at high concurrency (encode/httpx#3215). Responses
are parsed by httptools (llhttp, in C: about 2 µs an answer where h11 took 40-90 µs). `post()`
sends request bytes a caller built itself, without an httpx.Request or httpx.Response. The helpers
at the end send a request through a client's transport when the client would add nothing to it
(direct_transport, post_request, send_direct): the same request and answer, without the client's
per-request machinery.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar, cast

import httptools
import httpx

from emitter.eventloop import timer_slack

MAX_RESPONSE_BYTES = 64 * 1024
"""The prefix of a response body kept for the report; the rest is not read (the connection closes)."""
MAX_HEAD_BYTES = 64 * 1024


class Answer:
    """A response as read off the wire: status, reason, raw headers and at most MAX_RESPONSE_BYTES of body."""

    __slots__ = ("body", "encoded", "headers", "keep_alive", "reason", "status_code", "written_at")

    def __init__(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        keep_alive: bool,
        encoded: bool = True,
    ):
        self.status_code = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.encoded = encoded  # it may name a Content-Encoding (False: known not to)
        self.written_at: float | None = None  # time.perf_counter() when its request was written later

    @property
    def content(self) -> bytes:
        """The body as httpx would give it: decoded when the answer names a Content-Encoding."""
        if not self.encoded or not any(name.lower() == b"content-encoding" for name, _ in self.headers):
            return self.body
        try:
            return httpx.Response(self.status_code, headers=self.headers, content=self.body).content
        except httpx.DecodingError:
            return self.body


class StaleConnection(httpx.RemoteProtocolError):
    """A kept-alive connection the server had closed: nothing was answered, so the request may go again."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; httptools (llhttp, in C) parses each response.

    A connection is reused only when the answer was complete, the server keeps the connection
    alive and no byte followed the answer: such bytes (a broken server, or a second response)
    would otherwise be read as the answer to the next request.
    """

    def __init__(self, max_body: int = MAX_RESPONSE_BYTES) -> None:
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.used = False  # served an exchange before this one (a stale one may be retried)
        self.written_at: float | None = None  # when a request written later was written (time.perf_counter)
        self.answered = False  # a byte of the current exchange's answer arrived
        self.max_body = max_body
        self._answer: Answer | None = None  # the current exchange's, once complete
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._head_bytes = 0
        self._in_body = False  # the head is complete
        self._framed = False  # by Content-Length or chunks (else the answer ends with the connection)
        self._encoded = False  # names a Content-Encoding

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without being its subclasses
        self.transport = cast(asyncio.Transport, transport)
        self.loop = asyncio.get_running_loop()  # once: each lookup costs a getpid() (Python < 3.12)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            # after a complete answer, bytes that are not HTTP: the answer stands, the connection goes
            self._fail(f"Malformed response: {exc}")
            self.close()
            return
        if not self._in_body and not waiter.done():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(f"Malformed response: a head over {MAX_HEAD_BYTES} bytes")
                self.close()

    def eof_received(self) -> bool | None:
        # an answer framed by the end of the connection ends here; anything else is a disconnect
        if self._in_body and not self._framed and self.waiter is not None and not self.waiter.done():
            self._finish(keep_alive=False)
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

    # httptools callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._answer is not None:  # another answer (or its start) behind the first: never reuse
            self._answer.keep_alive = False
            self.close()
            return
        self._reason = b""
        self._headers = []
        self._body = bytearray()
        self._head_bytes = 0
        self._in_body = self._framed = self._encoded = False

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_body = True
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                self._framed = True
            elif lowered == b"content-encoding":
                self._encoded = True

    def on_body(self, body: bytes) -> None:
        if self._answer is not None:
            return
        room = self.max_body - len(self._body)
        if len(body) > room:  # enough for the report: the rest is not read
            self._body += body[:room]
            self._finish(keep_alive=False)
        else:
            self._body += body

    def on_message_complete(self) -> None:
        if self._answer is not None:
            return
        if self.parser.get_status_code() < 200:  # 100 Continue and friends: the final answer follows
            return
        self._finish(keep_alive=self.parser.should_keep_alive())

    # one exchange -------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Answer]:
        """Write one whole request; the future holds its answer."""
        waiter = self.expect()
        assert self.transport is not None
        self.transport.write(data)
        return waiter

    def expect(self) -> asyncio.Future[Answer]:
        """Get ready for the answer to a request about to be written; the future holds it."""
        assert self.loop is not None
        self.waiter = waiter = self.loop.create_future()
        self.answered = False
        self._answer = None
        self._in_body = False  # the rest of the answer's state is reset as it begins (on_message_begin)
        return waiter

    def write_later(self, data: bytes) -> None:
        """Write a request expected earlier (expect()); what the transport raises fails the exchange."""
        assert self.transport is not None
        try:
            self.transport.write(data)
        except Exception as exc:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, message: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(httpx.RemoteProtocolError(message))

    def _finish(self, *, keep_alive: bool) -> None:
        assert self.waiter is not None
        self._answer = answer = Answer(
            self.parser.get_status_code(),
            self._reason,
            self._headers,
            bytes(self._body),
            keep_alive,
            self._encoded,
        )
        self.waiter.set_result(answer)
        if not keep_alive:
            self.close()


TOTAL_TIMEOUT = "vod_emitter.total_timeout"
"""Request extension: seconds for the whole exchange (slot, connect, send, answer), one deadline."""

_METHOD = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME = _METHOD
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")
_SET_BY_TRANSPORT = (b"content-length", b"transfer-encoding")


def header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """`Name: value` CRLF for each header but the framing ones (the request's length frames it).

    A LocalProtocolError when a name or value holds what would split the request.
    """
    lines: list[bytes] = []
    for name, value in headers:
        if not _NAME.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError(f"illegal header: {name!r}")
        if name.lower() not in _SET_BY_TRANSPORT:
            lines += (name, b": ", value, b"\r\n")
    return b"".join(lines)


def request_bytes(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """An HTTP/1.1 request with its whole body, framed by a Content-Length set after `headers`.

    A LocalProtocolError when the method, the target or a header would split the request.
    """
    if not _METHOD.fullmatch(method) or not target or _BAD_TARGET.search(target):
        raise httpx.LocalProtocolError(f"illegal request line: {method!r} {target!r}")
    length = b"Content-Length: %d\r\n" % len(body) if body or method in (b"POST", b"PUT", b"PATCH") else b""
    return b"%s %s HTTP/1.1\r\n%s%s\r\n%s" % (method, target, header_lines(headers), length, body)


def _timeout(request: httpx.Request, name: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(name)
    return float(value) if value is not None else None


class _Deadline:
    """The time limits of one exchange on the loop's clock: a phase's own (from the httpx request),
    capped by one total deadline; without a request, the total deadline alone."""

    __slots__ = ("at", "request")

    def __init__(self, at: float | None, request: httpx.Request | None = None):
        self.at = at
        self.request = request

    def limit(self, phase: str, loop: asyncio.AbstractEventLoop) -> float | None:
        """Seconds left for `phase` (connect, read, pool), or None for no limit."""
        own = _timeout(self.request, phase) if self.request is not None else None
        if self.at is None:
            return own
        left = max(self.at - loop.time(), 0.0)
        return left if own is None else min(own, left)


class FastHTTPTransport(httpx.AsyncBaseTransport):
    """http:// over a per-origin stack of idle keep-alive connections (O(1) checkout).

    Besides httpx's per-phase timeouts it honours the TOTAL_TIMEOUT extension: one deadline for
    the whole exchange, kept with the timer the exchange needs anyway. `post()` sends request
    bytes the caller built itself (no httpx.Request, no httpx.Response) within one deadline.
    At most `max_connections` exchanges run at once; the others queue for a slot (first come,
    first served) and reuse the connections the slots keep alive.
    """

    def __init__(self, *, max_connections: int = 256, fallback: httpx.AsyncBaseTransport | None = None):
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max = max_connections
        self._busy = 0
        self._queued: deque[asyncio.Future[None]] = deque()  # exchanges waiting for a free slot
        self._fallback = fallback
        self._connections: set[_Connection] = set()
        self._expiries = _Expiries()
        self._unwritten: list[tuple[_Connection, bytes]] = []  # post(together=True) in this loop turn

    def keeps_total_timeout(self, url: httpx.URL) -> bool:
        """True when this transport itself serves `url` (the https fallback ignores TOTAL_TIMEOUT)."""
        return url.scheme == "http"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        total = request.extensions.get(TOTAL_TIMEOUT)
        started = asyncio.get_running_loop().time()  # the total timeout counts from here
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        try:
            data = request_bytes(request.method.encode(), url.raw_path, request.headers.raw, body)
        except httpx.LocalProtocolError as exc:  # a header that would split the request
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        at = started + float(total) if total is not None else None
        answer = await self._round_trip((url.host, url.port or 80), data, at, None, request)
        return httpx.Response(
            answer.status_code,
            headers=answer.headers,
            content=answer.body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            request=request,
        )

    def post(
        self, host: str, port: int, data: bytes, timeout: float, *, together: bool = False
    ) -> Coroutine[Any, Any, Answer]:
        """Send request bytes (see request_bytes) to host:port and read the answer, within `timeout` s
        in all (waiting for a slot, connecting, answering): a TimeoutException past it.

        `together`: the request is written at the start of the next loop turn, back to back with
        the others posted so in this turn (bulk sends). A receiver on the same machine that is
        still busy with one request takes the next without being woken up: each send then costs
        the sender about half the CPU (loopback TCP across two cores: ~8 against ~17 µs).
        """
        return self._round_trip((host, port), data, None, timeout, None, together)

    async def _round_trip(
        self,
        origin: tuple[str, int],
        data: bytes,
        at: float | None,
        timeout: float | None,
        request: httpx.Request | None,
        together: bool = False,
    ) -> Answer:
        """One exchange within one deadline: `at` on the loop's clock, or `timeout` s from now."""
        idle = self._idle.get(origin)
        connection: _Connection | None = None
        if idle and not idle[-1].closed and self._busy < self._max and not self._queued:
            # the common case: a free slot and an open idle connection, on its (the running) loop
            connection = idle.pop()
            self._busy += 1
            loop = connection.loop
            assert loop is not None
        else:
            loop = asyncio.get_running_loop()
        if timeout is not None:
            at = loop.time() + timeout + timer_slack(loop)
        deadline = _Deadline(at, request)
        if connection is None:
            if self._busy < self._max and not self._queued:
                self._busy += 1
            else:
                await self._wait_for_slot(deadline, loop)
        try:
            if connection is None:
                connection = self._idle_connection(origin) or await self._connect(origin, deadline, loop)
            while True:  # one exchange, or two when a kept-alive connection turns out stale
                if together:
                    waiter = connection.expect()
                    self._write_soon(connection, data, loop)
                else:
                    waiter = connection.send(data)
                timer: asyncio.TimerHandle | None = None
                if deadline.request is not None or not self._expiries.add(deadline.at, waiter, loop):
                    limit = deadline.limit("read", loop)
                    if limit is not None:
                        timer = loop.call_later(limit, _expire, waiter, deadline.request, httpx.ReadTimeout)
                try:
                    answer = await waiter
                    if together:
                        answer.written_at = connection.written_at
                    break
                except StaleConnection:
                    # the server closed a kept-alive connection as we sent: nothing was answered, send again
                    self._discard(connection)
                    connection = await self._connect(origin, deadline, loop)
                except BaseException:
                    self._discard(connection)
                    raise
                finally:
                    if timer is not None:
                        timer.cancel()
        finally:
            if self._queued:
                self._release_slot()
            else:
                self._busy -= 1
        if answer.keep_alive and not connection.closed:
            connection.used = True
            idle = self._idle.get(origin)  # made meanwhile, maybe (or cleared by aclose)
            if idle is None:
                idle = self._idle[origin] = []
            idle.append(connection)
        else:
            self._discard(connection)
        return answer

    def _write_soon(self, connection: _Connection, data: bytes, loop: asyncio.AbstractEventLoop) -> None:
        """Write at the start of the next loop turn, with the others of this turn (post(together=True))."""
        self._unwritten.append((connection, data))
        if len(self._unwritten) == 1:
            loop.call_soon(self._write_all)

    def _write_all(self) -> None:
        unwritten, self._unwritten = self._unwritten, []
        written_at = time.perf_counter()
        for connection, data in unwritten:
            # a connection closed meanwhile (cancelled, or the client closed) has failed its exchange
            if not connection.closed:
                connection.written_at = written_at
                connection.write_later(data)

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

    def _idle_connection(self, origin: tuple[str, int]) -> _Connection | None:
        """The most recently used idle connection to `origin` that is still open, if any."""
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            # connection_lost has already marked connections the server closed while idle.
            if not connection.closed:
                return connection
            self._discard(connection)
        return None

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
        self._expiries.clear()
        if self._fallback is not None:
            await self._fallback.aclose()


class _Expiries:
    """Answer deadlines in the order they were set, with one timer for them all: O(1) per exchange.

    Exchanges of one sender share one timeout, so their deadlines come in order; one that does not
    (add() returns False) keeps a timer of its own. Answered exchanges leave from the front as
    new ones come (a slow one holds those behind it until its own deadline: at most one timeout's worth).
    """

    def __init__(self) -> None:
        self._entries: deque[tuple[float, asyncio.Future[Answer]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, at: float | None, waiter: asyncio.Future[Answer], loop: asyncio.AbstractEventLoop) -> bool:
        entries = self._entries
        while entries and entries[0][1].done():
            entries.popleft()
        if at is None or (entries and at < entries[-1][0]):
            return False
        entries.append((at, waiter))
        if self._timer is None:
            self._timer = loop.call_at(at, self._due, loop)
        return True

    def _due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        entries, now = self._entries, loop.time()
        while entries:
            at, waiter = entries[0]
            if not waiter.done():
                if at > now:
                    self._timer = loop.call_at(at, self._due, loop)
                    return
                _expire(waiter, None, httpx.ReadTimeout)
            entries.popleft()

    def clear(self) -> None:
        self._entries.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _expire(
    waiter: asyncio.Future[Any], request: httpx.Request | None, error: type[httpx.TimeoutException]
) -> None:
    if not waiter.done():
        what = "a free connection" if error is httpx.PoolTimeout else "the response"
        waiter.set_exception(error(f"timed out waiting for {what}", request=request))


def direct_transport(
    client: httpx.AsyncClient, url: httpx.URL, *, checked_url: bool = False
) -> httpx.AsyncBaseTransport | None:
    """The client's transport for `url` when calling it directly sends the very same request.

    That is when the client has nothing of its own to apply per request (adds_nothing) and the URL
    has no user:password. Then the client's per-request machinery (auth flow, hooks, redirect loop,
    cookie jar) costs more than the HTTP exchange itself. None when it has something to apply, or
    when it was not noted (serves_every_url) which transport serves every URL; the caller then goes
    through the client. `checked_url`: the caller already knows `url` is absolute and without
    user:password.
    """
    if not adds_nothing(client) or not (checked_url or (url.is_absolute_url and not url.userinfo)):
        return None
    return _DIRECT.get(client)


def adds_nothing(client: httpx.AsyncClient) -> bool:
    """True when the client, still open, would apply nothing of its own to a request: no auth, no
    event hooks, no redirects to follow, no cookies or query params to merge."""
    hooks = client.event_hooks
    return not (
        client.is_closed
        or client.auth is not None
        or hooks["request"]
        or hooks["response"]
        or client.follow_redirects
        or _has_cookies(client.cookies)
        or client.params
    )


def _has_cookies(cookies: httpx.Cookies) -> bool:
    """bool(cookies), without walking and sorting the jar's cookies at every request: a CookieJar
    keeps them in a dict of dicts, empty when it holds none (any other jar is asked as usual)."""
    stored = getattr(cookies.jar, "_cookies", None)
    return bool(stored) if type(stored) is dict else bool(cookies)


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
