"""The built-in receiver: records callbacks on 127.0.0.1, checks them, and misbehaves on demand."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import h11

from emitter.background import MAX_CONNECTIONS, ServedInThread, close_server
from emitter.delivery.signing import PLACEMENTS, verify
from emitter.delivery.transport import within
from emitter.outcomes import plural
from emitter.payloads.catalog import Catalog, load_catalog
from emitter.payloads.conformance import Checker, checker_for
from emitter.payloads.paths import file_id_of, task_id_of

DEFAULT_HOST = "127.0.0.1"
MAX_BODY = 16 * 1024 * 1024
READ_CHUNK = 65536
REQUEST_TIMEOUT = 10.0  # seconds for a request's head and body to arrive once it started (slowloris)
IDLE_TIMEOUT = 30.0  # seconds a connection may wait for its next request
SIGN_FIELD = "Sign"
TIME_FIELD = "T"


@dataclass(frozen=True)
class Behaviour:
    """How the receiver answers: requests are numbered from 0 in arrival order.

    Request n is dropped (connection closed, no answer) when `drop_all` or n < drop_first;
    otherwise it is answered after `delay` seconds, with `fail_status` when
    n < drop_first + fail_first, else `status`. A bad signature answers the receiver's
    `sign_status` instead (the dropping still comes first).
    """

    status: int = 200
    fail_first: int = 0
    fail_status: int = 500
    delay: float = 0.0
    drop_first: int = 0
    drop_all: bool = False
    body: bytes = b""

    def drops(self, index: int) -> bool:
        return self.drop_all or index < self.drop_first

    def status_for(self, index: int) -> int:
        return self.fail_status if index < self.drop_first + self.fail_first else self.status

    def describe(self) -> str:
        """A short phrase for the console, e.g. 'answers 200' or 'drops the first 2, then 503'."""
        if self.drop_all:
            return "drops every connection"
        parts = []
        if self.drop_first:
            parts.append(f"drops the first {self.drop_first}")
        if self.fail_first:
            parts.append(f"answers {self.fail_status} to the next {self.fail_first}")
        parts.append(("then " if parts else "answers ") + str(self.status))
        if self.delay:
            parts.append(f"after {self.delay:g} s")
        return ", ".join(parts)


@dataclass
class ReceivedRequest:
    """One request as the receiver saw it, what it found wrong, and what it answered.

    `status` is None while the answer is pending (a delay) and for dropped requests;
    `problems` lists the body's (and the request's) non-conformance, `signature_problem`
    the reason a signature was rejected (only when the receiver has a sign key).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: list[tuple[str, str]]
    body: bytes
    payload: Any
    arrived_at: float
    format: str
    event_type: str | None
    problems: list[str]
    signature_problem: str | None = None
    status: int | None = None
    seq: int = 0
    answered_at: float | None = None
    dropped: bool = False
    client: str = ""

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def conforms(self) -> bool:
        return not self.problems

    @property
    def file_id(self) -> str | None:
        return file_id_of(self.payload)

    @property
    def task_id(self) -> str | None:
        return task_id_of(self.payload)

    def to_json(self) -> dict[str, Any]:
        """The journal line: everything recorded; the body as text, or base64 when not UTF-8."""
        record: dict[str, Any] = {
            "seq": self.seq,
            "arrived_at": self.arrived_at,
            "answered_at": self.answered_at,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [list(pair) for pair in self.headers],
        }
        try:
            record["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(self.body).decode("ascii")
        record.update(
            format=self.format,
            event_type=self.event_type,
            problems=self.problems,
            signature_problem=self.signature_problem,
            status=self.status,
            dropped=self.dropped,
        )
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ReceivedRequest:
        """Rebuild a request from a journal line (the payload is parsed again from the body)."""
        if "body_base64" in record:
            body = base64.b64decode(record["body_base64"])
        else:
            body = str(record.get("body", "")).encode("utf-8")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        return cls(
            method=record["method"],
            path=record["path"],
            query=dict(record.get("query") or {}),
            headers=[(str(k), str(v)) for k, v in record.get("headers") or ()],
            body=body,
            payload=payload,
            arrived_at=float(record["arrived_at"]),
            format=record.get("format", "unknown"),
            event_type=record.get("event_type"),
            problems=list(record.get("problems") or ()),
            signature_problem=record.get("signature_problem"),
            status=record.get("status"),
            seq=int(record.get("seq", 0)),
            answered_at=record.get("answered_at"),
            dropped=bool(record.get("dropped", False)),
            client=str(record.get("client", "")),
        )

    def body_excerpt(self, limit: int) -> str:
        """The body as text on one line, cut to `limit` characters."""
        text = self.body[: limit * 4].decode("utf-8", "replace").replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def console_line(self) -> str:
        """One line: time, seq, event type, ids, what was answered, what is wrong."""
        stamp = dt.datetime.fromtimestamp(self.arrived_at).strftime("%H:%M:%S.%f")[:-3]
        what = self.event_type or _claimed_event(self.payload) or f"{self.method} {self.path}"
        parts = [stamp, f"#{self.seq}", what]
        if self.format not in ("v2", "unknown"):
            parts.append(f"({self.format})")
        if self.file_id:
            parts.append(f"fileId={self.file_id}")
        if self.task_id:
            parts.append(f"taskId={self.task_id}")
        parts.append("dropped" if self.dropped else f"-> {self.status}")
        if self.signature_problem:
            parts.append(f"signature: {self.signature_problem}")
        if self.problems:
            count = len(self.problems)
            parts.append(f"{plural(count, 'problem')}: " + "; ".join(self.problems))
        else:
            parts.append("ok")
        return "  ".join(parts)


def _claimed_event(payload: Any) -> str | None:
    """The event name a body claims when the catalog does not know it (shown with a '?')."""
    if isinstance(payload, dict):
        for key in ("eventType", "EventType"):
            if isinstance(payload.get(key), str):
                return f"{payload[key]}?"
    return None


def load_journal(path: Path) -> list[ReceivedRequest]:
    """Read a receiver journal (JSON lines) back into records."""
    with path.open(encoding="utf-8") as lines:
        return [ReceivedRequest.from_json(json.loads(line)) for line in lines if line.strip()]


def _signature_values(
    placement: str, payload: Any, query: dict[str, str], headers: list[tuple[str, str]]
) -> tuple[object, object]:
    if placement == "query":
        return query.get(TIME_FIELD), query.get(SIGN_FIELD)
    if placement == "header":
        found = {k.lower(): v for k, v in headers}
        return found.get(TIME_FIELD.lower()), found.get(SIGN_FIELD.lower())
    if isinstance(payload, dict):
        return payload.get(TIME_FIELD), payload.get(SIGN_FIELD)
    return None, None


class _Drop(Exception):
    """Close the connection without answering."""


class _Refused(Exception):
    """A request the receiver cannot take: answered with `status` and the reason, then closed."""

    def __init__(self, status: int, reason: str, request: h11.Request | None = None, body: bytes = b""):
        super().__init__(reason)
        self.status, self.reason, self.request, self.body = status, reason, request, body


class Receiver(ServedInThread):
    """An HTTP/1.1 server (asyncio + h11) that records, checks and answers VOD callbacks.

    Use `async with Receiver(...) as r:` (or `await start()` / `await stop()`), or from
    synchronous code `with Receiver(...).running_in_thread() as r:`. `r.url` is where to send.
    """

    THREAD = ("vod-emitter-receiver", "the receiver")

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        behaviour: Behaviour | None = None,
        sign_key: str | None = None,
        sign_in: str = "body",
        sign_status: int = 401,
        journal: Path | None = None,
        on_request: Callable[[ReceivedRequest], None] | None = None,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.time,
        max_body: int = MAX_BODY,
        keep_records: bool | int = True,
        request_timeout: float = REQUEST_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ):
        if sign_in not in PLACEMENTS:
            raise ValueError(f"sign_in must be one of {', '.join(PLACEMENTS)}, not {sign_in!r}")
        self.host = host
        self.port = port
        self.behaviour = behaviour or Behaviour()
        self.sign_key = sign_key or None
        self.sign_in = sign_in
        self.sign_status = sign_status
        self.journal = journal
        self.on_request = on_request
        self.clock = clock
        self.max_body = max_body
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.refused_connections = 0
        # True keeps every record, False none (counts only: flat memory for long runs), N the first N
        self.keep_records = keep_records
        self.records: list[ReceivedRequest] = []
        self.errors: list[BaseException] = []
        self._catalog = catalog
        self._checker: Checker | None = None
        self._server: asyncio.Server | None = None
        self._url: str | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._journal_file: IO[str] | None = None
        self.journal_error: OSError | None = None  # the first failed journal write: it stopped there
        self._arrived = 0
        self._completed = 0
        self._counts = {"non_conforming": 0, "bad_signature": 0, "dropped": 0}
        self._changed = threading.Condition()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where to send, once started (it stays readable after stop, for reports)."""
        if self._url is None:
            raise RuntimeError("the receiver is not started")
        return self._url

    @property
    def received(self) -> int:
        """How many requests arrived since start (or the last clear), kept or not."""
        return self._arrived

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Load the catalog, open the journal, and listen (port 0 picks a free port)."""
        if self._server is not None:
            return
        self._checker = checker_for(self._catalog or load_catalog())
        if self.journal is not None:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            self._journal_file = self.journal.open("a", encoding="utf-8")
        try:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, backlog=1024, limit=READ_CHUNK
            )
        except BaseException:
            self._close_journal()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        """Stop listening, abort open connections (pending delays included), close the journal."""
        server, self._server = self._server, None
        if server is None:
            return
        await close_server(server, self._connections)
        self._close_journal()

    def _close_journal(self) -> None:
        if self._journal_file is not None:
            try:
                self._journal_file.close()
            except OSError as exc:
                self.journal_error = self.journal_error or exc
            self._journal_file = None

    def _journal_failed(self, exc: OSError) -> None:
        """Keep the first journal error (for whoever started the receiver) and stop journaling."""
        self.journal_error = self.journal_error or exc
        file, self._journal_file = self._journal_file, None
        with contextlib.suppress(OSError):
            if file is not None:
                file.close()

    # --- records ---------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the records and restart the request count (so fail/drop-first apply again)."""
        with self._changed:
            self.records.clear()
            self._arrived = 0
            self._completed = 0
            self._counts = dict.fromkeys(self._counts, 0)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Block until `count` requests are answered or dropped; TimeoutError otherwise.

        For synchronous callers (the receiver running in a thread); in a coroutine use
        `await wait_for_async(...)` so the event loop keeps serving.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._completed < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"the receiver got {self._completed} of {count} requests in {timeout:g} s"
                    )
                self._changed.wait(left)
            return list(self.records)

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """`wait_for` for coroutines running on the receiver's own loop."""
        deadline = time.monotonic() + timeout
        while self._completed < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the receiver got {self._completed} of {count} requests in {timeout:g} s")
            await asyncio.sleep(0.005)
        return list(self.records)

    def summary(self) -> str:
        """One line: how many requests, how many did not conform, signatures, drops."""
        with self._changed:
            total, counts = self._arrived, dict(self._counts)
        parts = [plural(total, "request"), f"{counts['non_conforming']} non-conforming"]
        if self.sign_key:
            bad = counts["bad_signature"]
            parts.append(plural(bad, "bad signature"))
        if counts["dropped"]:
            parts.append(f"{counts['dropped']} dropped")
        return ", ".join(parts)

    # --- HTTP ------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admitted(writer):
            return
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=READ_CHUNK)
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        try:
            while True:
                try:
                    received = await self._read_request(conn, reader, writer)
                    if received is None:
                        break
                    await self._answer(conn, writer, *received, client)
                except _Refused as refused:
                    self._refuse(refused, client)
                    await self._send_error(conn, writer, refused.status, refused.reason)
                    break
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (_Drop, ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:  # a bug here must cost one connection, not the server
            self.errors.append(exc)
        finally:
            self.let_go(writer)

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[h11.Request, bytes] | None:
        """The next request, or None when the client is done (or idle too long); _Refused for the rest."""
        loop = asyncio.get_running_loop()
        request: h11.Request | None = None
        body = bytearray()
        # set by the request's first byte (already here when it came with the previous request)
        deadline = loop.time() + self.request_timeout if conn.trailing_data[0] else None
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Refused(exc.error_status_hint, f"bad request: {exc}", request, bytes(body)) from None
            if event is h11.NEED_DATA:
                wait = self.idle_timeout if deadline is None else deadline - loop.time()
                try:
                    data = await within(max(wait, 0.0), reader.read(READ_CHUNK))
                except (asyncio.TimeoutError, TimeoutError):
                    if deadline is None:
                        return None  # idle: close quietly
                    seconds = f"{self.request_timeout:g} s"
                    raise _Refused(
                        408, f"request not complete within {seconds}", request, bytes(body)
                    ) from None
                if deadline is None:
                    deadline = loop.time() + self.request_timeout
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
                self._check_framing(request)
                if conn.they_are_waiting_for_100_continue:
                    writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    raise _Refused(413, f"body over {self.max_body} bytes", request, bytes(body[:READ_CHUNK]))
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return request, bytes(body)
            else:  # ConnectionClosed (PAUSED cannot happen: a cycle ends before the next read)
                return None

    def _check_framing(self, request: h11.Request) -> None:
        """Refuse what could smuggle a request past a proxy, and bodies announced over the limit."""
        if request.method == b"CONNECT":  # a 2xx would switch the connection to a tunnel
            raise _Refused(405, "CONNECT asks for a tunnel, not a callback", request)
        names = {name.lower() for name, _ in request.headers}
        if b"content-length" in names and b"transfer-encoding" in names:
            raise _Refused(400, "Content-Length and Transfer-Encoding together (request smuggling)", request)
        length = next((value for name, value in request.headers if name.lower() == b"content-length"), None)
        if length is not None and (len(length) > 18 or int(length) > self.max_body):
            shown = length.decode("ascii")[:20]
            raise _Refused(413, f"body of {shown} bytes is over {self.max_body}", request)

    def _refuse(self, refused: _Refused, client: str) -> None:
        """Record a request the receiver refused (when it got far enough to be one)."""
        request = refused.request
        target = request.target.decode("latin-1") if request is not None else ""
        split = urlsplit(target)
        record = ReceivedRequest(
            method=request.method.decode("ascii", "replace") if request is not None else "",
            path=split.path or "/",
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
            if request
            else [],
            body=refused.body,
            payload=None,
            arrived_at=self.clock(),
            format="unknown",
            event_type=None,
            problems=[refused.reason],
            status=refused.status,
            client=client,
        )
        record.answered_at = record.arrived_at
        self._count(record)
        self._complete(record)

    async def _send_error(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, text: str
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        content = f"{text}\n".encode()
        headers = [
            ("content-type", "text/plain"),
            ("content-length", str(len(content))),
            ("connection", "close"),
        ]
        try:
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
            writer.write(conn.send(h11.Data(data=content)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
        except (h11.LocalProtocolError, ConnectionError):
            pass

    def _inspect(self, request: h11.Request, body: bytes, client: str, arrived: float) -> ReceivedRequest:
        assert self._checker is not None
        target = request.target.decode("latin-1")
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
        conformance = self._checker.check(body)
        problems = list(conformance.problems)
        method = request.method.decode("ascii", "replace")
        if method != "POST":
            problems.insert(0, f"method {method}: VOD sends callbacks with POST")
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        media_type = (content_type or "").split(";")[0].strip().lower()
        if body and media_type != "application/json":
            problems.insert(0, f"Content-Type {content_type or '(none)'}: expected application/json")
        signature_problem = None
        if self.sign_key:
            t, sign = _signature_values(self.sign_in, conformance.payload, query, headers)
            reason = verify(self.sign_key, t, sign, int(self.clock()))
            signature_problem = f"{reason} (in {self.sign_in})" if reason else None
        return ReceivedRequest(
            method=method,
            path=split.path or "/",
            query=query,
            headers=headers,
            body=body,
            payload=conformance.payload,
            arrived_at=arrived,
            format=conformance.format,
            event_type=conformance.event_type,
            problems=problems,
            signature_problem=signature_problem,
            client=client,
        )

    async def _answer(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        body: bytes,
        client: str,
    ) -> None:
        behaviour = self.behaviour
        try:
            record = self._inspect(request, body, client, self.clock())
        except RecursionError:  # JSON nested deeper than Python parses: recorded and answered 400
            raise _Refused(400, "body is JSON nested too deeply to read", request, body) from None
        self._count(record)
        if behaviour.drops(record.seq):
            record.dropped = True
            self._complete(record)
            raise _Drop
        if behaviour.delay > 0:
            await asyncio.sleep(behaviour.delay)
        status = self.sign_status if record.signature_problem else behaviour.status_for(record.seq)
        record.status = status
        record.answered_at = self.clock()
        self._complete(record)
        content = behaviour.body
        headers = [("content-length", str(len(content))), ("server", "vod-emitter")]
        if content:
            kind = "application/json" if content.lstrip()[:1] in (b"{", b"[") else "text/plain"
            headers.append(("content-type", kind))
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        if content:
            writer.write(conn.send(h11.Data(data=content)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    def _count(self, record: ReceivedRequest) -> None:
        """Number the request, count it, keep it (as far as keep_records says)."""
        with self._changed:
            record.seq = self._arrived
            self._arrived += 1
            self._counts["non_conforming"] += bool(record.problems)
            self._counts["bad_signature"] += bool(record.signature_problem)
            keep = self.keep_records
            if keep is True or (keep is not False and len(self.records) < keep):
                self.records.append(record)

    def _complete(self, record: ReceivedRequest) -> None:
        """Journal, callback and waiters: all done before the sender can see the answer."""
        if self._journal_file is not None:
            try:
                self._journal_file.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                self._journal_file.flush()
            except OSError as exc:  # a full disk: the journal stops, the answers go on
                self._journal_failed(exc)
        if self.on_request is not None:
            try:
                self.on_request(record)
            except Exception as exc:  # a failing callback must not kill the server
                self.errors.append(exc)
        with self._changed:
            self._completed += 1
            self._counts["dropped"] += record.dropped
            self._changed.notify_all()


async def wait_for_signal() -> None:
    """Wait for SIGINT or SIGTERM (Ctrl-C); where the loop cannot trap them, until cancelled."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    trapped = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # Windows or not the main thread: KeyboardInterrupt reaches the caller
        trapped.append(signum)
    try:
        await stop.wait()
    finally:
        for signum in trapped:
            loop.remove_signal_handler(signum)
