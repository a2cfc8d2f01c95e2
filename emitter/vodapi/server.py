"""The local VOD API endpoint: HTTP/1.1 on 127.0.0.1 (asyncio + h11); API 3.0 at /, legacy v2 PULL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

from emitter.background import MAX_CONNECTIONS, ServedInThread, close_server
from emitter.delivery.transport import within
from emitter.vodapi import legacy
from emitter.vodapi.account import Account
from emitter.vodapi.actions import ApiContext, ApiError, handler_for, load_actions
from emitter.vodapi.protocol import MAX_BODY, envelope, error_envelope, optional_int, parse_call

DEFAULT_HOST = "127.0.0.1"
READ_CHUNK = 65536
LEGACY_PATH = "/v2/index.php"
IDLE_TIMEOUT = 300.0  # seconds a connection may wait for its next request (SDK clients keep them alive)
REQUEST_TIMEOUT = 10.0  # seconds for a request's head and body once its first byte arrived (slowloris)


@dataclass(frozen=True)
class ApiRequest:
    """One answered request, as the endpoint's log keeps it."""

    at: float
    action: str
    request_id: str
    error: str | None
    note: str = ""

    def console_line(self) -> str:
        stamp = dt.datetime.fromtimestamp(self.at).strftime("%H:%M:%S.%f")[:-3]
        outcome = f"-> {self.error}" if self.error else "-> ok"
        return "  ".join(part for part in (stamp, self.action or "(no action)", outcome, self.note) if part)


class _Close(Exception):
    """The request cannot be read (too large or too slow): answer `status` once and close."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class VodApiServer(ServedInThread):
    """Serves the account's API: `async with VodApiServer(account) as server:` (`server.endpoint`)."""

    THREAD = ("vod-emitter-api", "the VOD API")

    def __init__(
        self,
        account: Account,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        max_log: int = 10_000,
        on_request: Callable[[ApiRequest], None] | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ):
        self.account = account
        self.on_request = on_request
        self.host = host
        self.port = port
        self.max_log = max_log
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.refused_connections = 0
        self.log: list[ApiRequest] = []
        self.errors: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:PORT`: what an SDK's HttpProfile(endpoint=...) takes."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}/"

    async def start(self) -> None:
        if self._server is not None:
            return
        load_actions()
        self.loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=READ_CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        await close_server(server, self._connections)
        await self.account.aclose()

    # --- HTTP ---------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admitted(writer):
            return
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=READ_CHUNK)
        try:
            while True:
                try:
                    received = await self._read(conn, reader)
                except (h11.RemoteProtocolError, _Close) as exc:
                    status = exc.status if isinstance(exc, _Close) else exc.error_status_hint
                    await self._write(conn, writer, status, b"", close=True)
                    break
                if received is None:
                    break
                request, body = received
                status, content = await self._answer(request, body)
                await self._write(conn, writer, status, content)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (ConnectionError, asyncio.CancelledError, h11.LocalProtocolError):
            pass
        except Exception as exc:  # a bug here must cost one connection, not the endpoint
            self.errors.append(exc)
        finally:
            self.let_go(writer)

    async def _read(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[h11.Request, bytes] | None:
        loop = asyncio.get_running_loop()
        request: h11.Request | None = None
        body = bytearray()
        # set by the request's first byte (already here when it came with the previous request)
        deadline = loop.time() + self.request_timeout if conn.trailing_data[0] else None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                wait = self.idle_timeout if deadline is None else deadline - loop.time()
                try:
                    data = await within(max(wait, 0.0), reader.read(READ_CHUNK))
                except (asyncio.TimeoutError, TimeoutError):
                    if deadline is None:
                        return None  # an idle connection is closed, not kept forever
                    raise _Close(408) from None  # a request dripping in is not waited for either
                if deadline is None:
                    deadline = loop.time() + self.request_timeout
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    raise _Close(413)
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return request, bytes(body)
            else:
                return None

    async def _write(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        content: bytes,
        close: bool = False,
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        # exactly "application/json": the Python SDK only reads errors under that Content-Type
        headers = [("content-type", "application/json"), ("content-length", str(len(content)))]
        if close:
            headers.append(("connection", "close"))
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        if content:
            writer.write(conn.send(h11.Data(data=content)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    async def _answer(self, request: h11.Request, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, body): always 200 and an envelope, as the service answers API errors."""
        account = self.account
        target = urlsplit(request.target.decode("latin-1"))
        method = request.method.decode("ascii", "replace").upper()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        if target.path == LEGACY_PATH:
            try:
                return 200, await legacy.answer(account, method, target.query, headers, body)
            except Exception as exc:  # a bug: the legacy caller sees code 6000, never a traceback
                self.errors.append(exc)
                return 200, b'{"code":6000,"message":"internal error","codeDesc":"InternalError"}'
        request_id = account.request_id()
        action = headers.get("x-tc-action", "")
        note = ""
        try:
            if method not in ("POST", "GET"):
                raise ApiError("UnsupportedProtocol", f"The HTTP method {method} is not supported; use POST.")
            call = parse_call(
                method=method,
                path=target.path or "/",
                query=target.query,
                headers=headers,
                body=body,
                keys=account.keys,
                now=account.clock(),
            )
            account.admit(call.action, account.ticker())
            handler = handler_for(call.action)
            context = ApiContext(
                account, call.action, call.region, request_id, optional_int(call.params, "SubAppId")
            )
            fields = await handler(context, call.params)
            content = envelope(fields, request_id)
            error: str | None = None
            if isinstance(fields.get("EventSet"), list):
                note = f"{len(fields['EventSet'])} events"
        except ApiError as exc:
            content, error, note = error_envelope(exc, request_id), exc.code, exc.message
        except Exception as exc:  # a handler's bug: the caller sees InternalError, never a traceback
            self.errors.append(exc)
            failure = ApiError("InternalError", f"Internal error ({type(exc).__name__}).")
            content, error = error_envelope(failure, request_id), failure.code
        logged = ApiRequest(account.clock(), action, request_id, error, note)
        if len(self.log) < self.max_log:
            self.log.append(logged)
        if self.on_request is not None:
            self.on_request(logged)
        return 200, content
