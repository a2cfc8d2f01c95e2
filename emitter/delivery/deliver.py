"""One send of one event: POST with headers, signing, timeout and retries; receiver failures are outcomes."""

from __future__ import annotations

import asyncio
import math
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from emitter._version import __version__
from emitter.clock import MAX_DURATION
from emitter.delivery.signing import CASES, DEFAULT_TTL, PLACEMENTS, Signature, make_signature
from emitter.delivery.transport import (
    Answer,
    FastHTTPTransport,
    adds_nothing,
    bounded,
    direct_transport,
    header_lines,
    post_request,
    send_direct,
    serves_every_url,
    with_host,
    within,
)
from emitter.errors import DeliveryError, UsageError
from emitter.outcomes import AttemptFinished, EventFinished, EventRef, Result
from emitter.payloads.paths import file_id_of, task_id_of
from emitter.payloads.render import encode_payload
from emitter.scenarios.loader import Expectation

DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
EXCERPT_CHARS = 120
BASE_HEADERS = {"Content-Type": "application/json", "User-Agent": f"vod-emitter/{__version__}"}

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Signing:
    """SignKey signing: where Sign/T travel, how long T is valid, and the run's default case."""

    key: str
    placement: str = "body"
    ttl: int = DEFAULT_TTL
    case: str = "valid"

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise UsageError(
                f"bad signature placement {self.placement!r}",
                location="sign_in",
                hint=f"use one of: {', '.join(PLACEMENTS)}",
            )
        if self.case not in CASES:
            raise UsageError(
                f"bad signature case {self.case!r}",
                location="sign_case",
                hint=f"use one of: {', '.join(CASES)}",
            )


MAX_RETRIES = 100


@dataclass(frozen=True)
class DeliveryOptions:
    """How every send behaves. Defaults follow the real service: 5 s timeout, 2 retries on timeout only."""

    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    retry_on_status: bool = False
    retry_on_connect_error: bool = False
    backoff: float = 0.0
    backoff_factor: float = 2.0
    headers: tuple[tuple[str, str], ...] = ()
    signing: Signing | None = None
    excerpt: int = EXCERPT_CHARS

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise UsageError(
                f"timeout must be more than 0, got {self.timeout:g}",
                location="timeout",
                hint="give seconds, e.g. 0.5",
            )
        if self.retries < 0 or not self.backoff >= 0 or not self.backoff_factor >= 1:  # NaN too
            raise UsageError(
                "retries and backoff must not be negative, and the backoff factor not below 1",
                location="retries" if self.retries < 0 else "backoff",
                hint="the real service: 2 retries, no backoff",
            )
        self._check_retries()
        for name, value in self.headers:
            check_header(str(name), str(value), location="headers")

    def _check_retries(self) -> None:
        """Retries and their waits are bounded: the waits grow as backoff × factor^n, so a few dozen
        retries would wait years (or overflow a float) before the run could end."""
        if self.retries > MAX_RETRIES:
            raise UsageError(
                f"{self.retries} retries is over the limit of {MAX_RETRIES}",
                location="retries",
                hint="the real service retries 2 times",
            )
        if self.backoff > 0 and self.retries > 1:
            # in logs: the wait itself may overflow a float
            longest = math.log(self.backoff) + (self.retries - 1) * math.log(self.backoff_factor)
            if not longest <= math.log(MAX_DURATION):  # infinity too
                raise UsageError(
                    f"the last retry would wait more than {MAX_DURATION:g} s (backoff x factor^(retries-1))",
                    location="backoff_factor",
                    hint="lower the backoff, its factor or the retries",
                )

    def backoff_before(self, attempt: int) -> float:
        """Seconds to wait before sending attempt number `attempt + 1`."""
        return self.backoff * self.backoff_factor ** (attempt - 1)


@dataclass
class Delivery:
    """One event of a run, from planning to the report: identity, body, expectation, signing case,
    its wait after the previous send, then the attempts made and how it ended.

    `finished` stays None when it was never sent (the run stopped first). The Python API calls it
    `SentEvent`:

        >>> done = send("upload", target=app, params={"file_name": "Demo"})  # doctest: +SKIP
        >>> done.sent[0].payload["data"]["fileName"], done.sent[0].file_id   # doctest: +SKIP
        ('Demo', '5284594915198092497')
    """

    ref: EventRef
    body: bytes
    payload: Any
    expect: Expectation = field(default_factory=Expectation)
    sign_case: str | None = None
    wait: float = 0.0
    filtered: bool = False  # its EventType is not subscribed: the runner reports it, sends nothing
    attempts: tuple[AttemptFinished, ...] = field(default=(), init=False, compare=False, repr=False)
    finished: EventFinished | None = field(default=None, init=False, compare=False)

    def record(self, outcome: AttemptFinished | EventFinished) -> None:
        """Keep an outcome of this event's send (the runner calls it as outcomes arrive)."""
        if isinstance(outcome, AttemptFinished):
            self.attempts += (outcome,)
        else:
            self.finished = outcome

    @property
    def event_type(self) -> str:
        return self.ref.event_type

    @property
    def delivered(self) -> bool:
        return self.finished is not None and self.finished.ok

    @property
    def file_id(self) -> str | None:
        """The fileId the payload is about (v2 `data.fileId`, v3 `<X>Event.FileId`, first list item)."""
        return file_id_of(self.payload)

    @property
    def task_id(self) -> str | None:
        return task_id_of(self.payload)

    def describe(self) -> list[str]:
        """A few lines for a failure report: the send, its attempts, request and response excerpts."""
        ref = self.ref
        head = f"#{ref.index} {ref.scenario}/{ref.name} {ref.event_type}"
        if self.finished is None:
            return [f"{head}: not sent (the run stopped first)"]
        done = self.finished
        history = ", ".join(str(attempt.note) for attempt in self.attempts)
        status = "no answer" if done.status is None else str(done.status)
        response = _one_line(done.response)
        return [
            f"{head}: {done.result}: {done.reason}" if done.reason else f"{head}: {done.result}",
            f"    attempts: {done.attempts}" + (f" ({history})" if history else ""),
            f"    request:  {_one_line(done.request)}",
            f"    response: {status}" + (f" {response}" if response else ""),
        ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_target(url: str, *, location: str = "target") -> str:
    """The target URL if it is a usable http(s) URL, else a UsageError (exit 2)."""
    hint = "write e.g. http://127.0.0.1:8000/callback"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UsageError(f"{url!r} is not a valid URL ({exc})", location=location, hint=hint) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(
            f"{url!r} is not an http:// or https:// URL with a host", location=location, hint=hint
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UsageError(f"port {parsed.port} is not from 1 to 65535", location=location, hint=hint)
    return url


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header(name: str, value: str, *, location: str = "-H") -> tuple[str, str]:
    """A header that cannot split the request: a token as name, no CR, LF or other control in the value."""
    if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_VALUE.search(value):
        shown = f"{name}: {value}"
        raise UsageError(
            f"header {shown[:60]!r} has a character HTTP forbids there (CR, LF or a control character)",
            location=location,
            hint="write one header per flag, e.g. -H 'X-Api-Key: secret'",
        )
    return name, value


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` (an extra header); a UsageError when it is not one or would smuggle another."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in ' \t"(),/;<=>?@[\\]{}'):
        raise UsageError(
            f"header {text!r} is not 'Name: value'", location="headers", hint="write e.g. 'X-Api-Key: secret'"
        )
    return check_header(name, value.strip(" \t"))


def check_tls(ca_bundle: Path | None, insecure: bool) -> None:
    """A CA bundle and `insecure` contradict each other."""
    if ca_bundle is not None and insecure:
        raise UsageError(
            "a CA bundle and insecure exclude each other",
            location="insecure",
            hint="keep the CA bundle to verify with your CA, or insecure to skip checks",
        )


class BuiltOnFirstUse(httpx.AsyncBaseTransport):
    """A transport made when a request first needs it: httpx's loads the TLS trust store (~35 ms),
    which a run to plain http:// targets never uses."""

    def __init__(self, build: Callable[[], httpx.AsyncBaseTransport]):
        self._build = build
        self._transport: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = self._build()
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()


def make_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 1,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """The one place an HTTP client is built: TLS settings, pool size, proxies from the environment."""
    check_tls(ca_bundle, insecure)
    verify: ssl.SSLContext | bool = not insecure
    if ca_bundle is not None and not insecure:
        try:
            verify = ssl.create_default_context(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                f"cannot load CA bundle {str(ca_bundle)!r}: {exc}",
                location="ca_bundle",
                hint="pass a PEM file of trusted certificates, or skip checks (insecure)",
            ) from None
    size = max(concurrency, 1)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    proxied = trust_env and _proxies_in_environment()
    if transport is None and not proxied:
        # httpx's own pool collapses at high concurrency; keep httpx for TLS (the fallback).
        transport = FastHTTPTransport(
            max_connections=size,
            fallback=BuiltOnFirstUse(
                lambda: httpx.AsyncHTTPTransport(verify=verify, limits=limits, trust_env=trust_env)
            ),
        )
    client = httpx.AsyncClient(
        # the total deadline is enforced per attempt by Sender; the pool waits as long as needed
        timeout=httpx.Timeout(timeout, pool=None),
        verify=verify,
        trust_env=trust_env,
        transport=transport,
        limits=limits,
        follow_redirects=False,
    )
    if transport is not None and not proxied:  # no proxy mounts: this transport serves every URL
        serves_every_url(client, transport)
    return client


async def _bounded_send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """client.send, reading at most a bounded prefix of the answer (a 300 MB body is not kept)."""
    return await bounded(await client.send(request, stream=True))


def _proxies_in_environment() -> bool:
    """Proxy settings httpx would honour (then httpx's own transport handles the request)."""
    names = ("http_proxy", "https_proxy", "all_proxy")
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in names)


def excerpt(data: bytes, limit: int) -> str:
    text = data[: limit * 4].decode("utf-8", "replace")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def host_port(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The chain of causes below an exception (httpx wraps httpcore wraps OSError)."""
    seen: set[int] = set()
    current = exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException, timeout: float, target: str) -> tuple[str, str]:
    """(kind, one-line reason) for an exception of one attempt; kind decides whether to retry."""
    if isinstance(exc, asyncio.TimeoutError | httpx.TimeoutException):
        phase = " (connect)" if isinstance(exc, httpx.ConnectTimeout) else ""
        return "timeout", f"timeout: no answer within {timeout:g} s{phase}"
    message = str(exc) or type(exc).__name__
    where = f" ({host_port(target)})"
    causes = list(_causes(exc))
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in message.lower():
            return "connect", f"connection refused{where}"
        tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        if tls is not None or "certificate" in message.lower():
            return "tls", f"TLS error{where}: {tls or message}; pass --ca-bundle FILE or --insecure"
        root = causes[-1] if causes else exc
        return "connect", f"cannot connect{where}: {root}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return "dropped", f"connection dropped{where}: {message}"
    return "other", f"{type(exc).__name__}: {message}"


def _signed_parts(
    delivery: Delivery, signing: Signing, wall: float
) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """(body, query params, headers) carrying Sign/T for this delivery's case."""
    signature: Signature = make_signature(
        signing.key, int(wall), ttl=signing.ttl, case=delivery.sign_case or signing.case
    )
    pairs = (("Sign", signature.sign), ("T", signature.t))
    fields = {name: value for name, value in pairs if value is not None}
    if not fields:
        return delivery.body, {}, {}
    if signing.placement == "query":
        return delivery.body, {k: str(v) for k, v in fields.items()}, {}
    if signing.placement == "header":
        return delivery.body, {}, {k: str(v) for k, v in fields.items()}
    if isinstance(delivery.payload, dict):
        return encode_payload({**delivery.payload, **fields}), {}, {}
    return delivery.body, {}, {}  # a raw or non-object body (malformed-input cases) cannot carry them


_NOTHING: dict[str, str] = {}  # no params, no extra headers (never written to)


class Sender:
    """Sends deliveries to one target through an injected client; yields each attempt, then the event."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        target: str,
        options: DeliveryOptions | None = None,
        *,
        url: str | None = None,
        clock: Clock = time.perf_counter,
        sleep: Sleep = asyncio.sleep,
        wall: Clock = time.time,
    ):
        self.client = client
        self.target = target  # what reports show; `url` (default: the target) is where requests go
        self.url = httpx.URL(url or target)
        self.options = options or DeliveryOptions()
        self.clock = clock
        self.sleep = sleep
        self.wall = wall
        headers = httpx.Headers(BASE_HEADERS)
        for name, value in self.options.headers:
            headers[name] = value
        self.headers: Mapping[str, str] = headers
        self.timeout = httpx.Timeout(self.options.timeout, pool=None)
        self._client_headers: httpx.Headers | None = None
        self._prepared: httpx.Headers | None = None
        self._raw_headers: bytes | None = None
        self._line = b"POST " + self.url.raw_path + b" HTTP/1.1\r\n"
        self._host, self._port = self.url.host, self.url.port or 80
        self._fast: FastHTTPTransport | None = None
        self._plain_url = self.url.is_absolute_url and not self.url.userinfo
        # noted on the first plain send through the fast transport: (client, its headers, the
        # request head up to the Content-Length value); while the client and its headers are the
        # same and it adds nothing, a plain send needs no more than that
        self._quick: tuple[httpx.AsyncClient, httpx.Headers, bytes] | None = None

    def prepare(self, delivery: Delivery) -> tuple[bytes, dict[str, str], Mapping[str, str]]:
        """(body, query params, headers) of one attempt; signatures are fresh for every attempt."""
        body, params, extra = self._signed(delivery)
        if extra:
            headers = httpx.Headers(self.headers)
            headers.update(extra)
            return body, params, headers
        return body, params, self.headers

    def _signed(self, delivery: Delivery) -> tuple[bytes, dict[str, str], dict[str, str]]:
        """(body, query params, headers beyond self.headers) of one attempt."""
        signing = self.options.signing
        if signing is None:
            return delivery.body, _NOTHING, _NOTHING
        return _signed_parts(delivery, signing, self.wall())

    def _should_retry(self, kind: str | None, status: int | None, expect: Expectation) -> bool:
        if kind == "timeout":
            return True
        if kind in ("connect", "dropped"):
            return self.options.retry_on_connect_error
        if status is not None and not expect.accepts(status):
            return self.options.retry_on_status
        return False

    def _head(self, client: httpx.AsyncClient, url: httpx.URL, extra: dict[str, str]) -> bytes | None:
        """The request line and headers (but Content-Length) the client would send, as bytes; None
        when only httpx.Request knows them (Host or framing headers set, `extra` replacing one)."""
        if self._client_headers is not client.headers:
            merged = httpx.Headers(client.headers)
            merged.update(self.headers)
            self._client_headers, self._prepared = client.headers, with_host(self.url, merged)
            try:
                self._raw_headers = header_lines(self._prepared.raw) if self._prepared is not None else None
            except httpx.LocalProtocolError:  # httpx.Request refuses it as it should
                self._raw_headers = None
        if self._raw_headers is None:
            return None
        if url is self.url:
            line = self._line
        elif url.netloc == self.url.netloc:
            line = b"POST " + url.raw_path + b" HTTP/1.1\r\n"
        else:
            return None
        if not extra:
            return line + self._raw_headers
        assert self._prepared is not None
        if any(name in self._prepared for name in extra):
            return None
        try:
            signed = header_lines([(name.encode(), value.encode()) for name, value in extra.items()])
            return line + self._raw_headers + signed
        except httpx.LocalProtocolError:
            return None

    def _post(
        self, body: bytes, params: dict[str, str], extra: dict[str, str], together: bool = False
    ) -> Awaitable[Answer | httpx.Response]:
        """The attempt to await: the fast transport's own exchange when it serves the request (no
        coroutine of ours around it), else the request through httpx. `together`: see deliver()."""
        client = self.client
        quick = self._quick
        if (
            quick is not None
            and quick[0] is client
            and quick[1] is client.headers
            and not params
            and not extra
            and adds_nothing(client)
        ):
            assert self._fast is not None
            data = b"%s%d\r\n\r\n%s" % (quick[2], len(body), body)
            return self._fast.post(self._host, self._port, data, self.options.timeout, together=together)
        # merged, not passed as params=: httpx would replace the target's own query string
        url = self.url.copy_merge_params(params) if params else self.url
        transport = direct_transport(client, url, checked_url=url is self.url and self._plain_url)
        if (
            transport is not self._fast
            and isinstance(transport, FastHTTPTransport)
            and transport.keeps_total_timeout(url)
        ):
            self._fast = transport  # noted once: it serves the sender's http:// URL itself
        if transport is not None and transport is self._fast:
            # the very bytes the client would send, without an httpx.Request or httpx.Response
            head = self._head(client, url, extra)
            if head is not None:
                if url is self.url and not extra and self._client_headers is not None:
                    self._quick = (client, self._client_headers, head + b"Content-Length: ")
                data = b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)
                return self._fast.post(self._host, self._port, data, self.options.timeout, together=together)
        return self._post_through_httpx(url, transport, body, extra)

    async def _post_through_httpx(
        self, url: httpx.URL, transport: httpx.AsyncBaseTransport | None, body: bytes, extra: dict[str, str]
    ) -> httpx.Response:
        client = self.client
        seconds = self.options.timeout  # for the whole attempt, as VOD counts it
        headers: Mapping[str, str] = self.headers
        if extra:
            headers = httpx.Headers(self.headers)
            headers.update(extra)
        if transport is None:
            request = client.build_request("POST", url, content=body, headers=headers, timeout=self.timeout)
            return await within(seconds, _bounded_send(client, request))
        # the request client.post would build (it has nothing to add), sent through its transport
        if not extra and url.netloc == self.url.netloc:
            if self._client_headers is not client.headers:
                self._head(client, url, extra)  # notes the client's headers
            if self._prepared is not None:
                request = post_request(url, body, self._prepared, {"timeout": self.timeout.as_dict()})
                return await send_direct(transport, request, seconds)
        request = client.build_request("POST", url, content=body, headers=headers, timeout=self.timeout)
        return await send_direct(transport, request, seconds)

    async def send(self, delivery: Delivery) -> AsyncIterator[AttemptFinished | EventFinished]:
        """Each attempt, then one EventFinished, once the event has ended (deliver() hands them over
        as they happen); the receiver's faults never raise."""
        outcomes: list[AttemptFinished | EventFinished] = []
        await self.deliver(delivery, outcomes.append)
        for outcome in outcomes:
            yield outcome

    async def deliver(
        self,
        delivery: Delivery,
        emit: Callable[[AttemptFinished | EventFinished], object],
        *,
        together: bool = False,
    ) -> None:
        """Send one event: each attempt as it ends, then one EventFinished, is recorded on the delivery
        (as Delivery.record does) and handed to `emit`; the receiver's faults never raise.

        A coroutine, not an async generator: at full speed a send costs less than the machinery of one.
        `together` (bulk sends): a plain http:// request is written at the start of the next loop
        turn, back to back with the others of this turn (FastHTTPTransport.post), which costs
        less CPU than one write after each render; its latency counts from that write.
        """
        options = self.options
        clock = self.clock
        ref = delivery.ref
        expect = delivery.expect
        status: int | None = None
        error: str | None = None
        earlier: list[str] = []
        request_text = response_text = ""
        latency = 0.0
        attempt = 0
        accepted = False
        timed = clock is time.perf_counter  # the transport notes writes on this clock
        started = clock()
        for attempt in range(1, options.retries + 2):
            if options.signing is None:
                body, params, extra = delivery.body, _NOTHING, _NOTHING
            else:
                body, params, extra = _signed_parts(delivery, options.signing, self.wall())
            request_text = excerpt(body, options.excerpt)
            status, error, kind, response_text = None, None, None, ""
            sent_at = clock() if attempt > 1 else started
            try:
                response = await self._post(body, params, extra, together)
                if together and type(response) is Answer and response.written_at is not None and timed:
                    sent_at = max(
                        sent_at, response.written_at
                    )  # the wait for the write is not the receiver's
                status = response.status_code
                content = response.content
                response_text = excerpt(content, options.excerpt) if content else ""
            except (httpx.HTTPError, asyncio.TimeoutError) as exc:
                kind, error = classify(exc, options.timeout, str(self.url))
            ended = clock()
            latency = ended - sent_at
            accepted = status is not None and expect.accepts(status)
            retry = not accepted and attempt <= options.retries and self._should_retry(kind, status, expect)
            wait = options.backoff_before(attempt) if retry else None
            finished_attempt = _attempt_finished(ref, attempt, status, error, latency, wait, kind)
            delivery.attempts += (finished_attempt,)
            emit(finished_attempt)
            if not retry:
                break
            earlier.append(error or f"status {status}")
            if wait:
                await self.sleep(wait)
        result: Result
        if status is None:
            result, reason = "failed", error or "no answer"
        elif accepted:
            result, reason = "delivered", f"after {', '.join(earlier)}" if earlier else ""
        else:
            result, reason = "unexpected", f"status {status}, expected {expect.describe()}"
        delivery.finished = finished = _event_finished(
            ref, result, reason, attempt, status, latency, clock() - started, request_text, response_text
        )
        emit(finished)


_new = object.__new__


def _attempt_finished(
    ref: EventRef,
    attempt: int,
    status: int | None,
    error: str | None,
    latency: float,
    retry_in: float | None,
    kind: str | None,
) -> AttemptFinished:
    """AttemptFinished(...) with its fields set at once: a frozen dataclass's __init__ costs an
    object.__setattr__ per field (more than a tenth of a whole send's own work)."""
    outcome = _new(AttemptFinished)
    outcome.__dict__.update(
        ref=ref, attempt=attempt, status=status, error=error, latency=latency, retry_in=retry_in, kind=kind
    )
    return outcome


def _event_finished(
    ref: EventRef,
    result: Result,
    reason: str,
    attempts: int,
    status: int | None,
    latency: float,
    elapsed: float,
    request: str,
    response: str,
) -> EventFinished:
    """EventFinished(...) with its fields set at once (see _attempt_finished)."""
    outcome = _new(EventFinished)
    outcome.__dict__.update(
        ref=ref,
        result=result,
        reason=reason,
        attempts=attempts,
        status=status,
        latency=latency,
        elapsed=elapsed,
        request=request,
        response=response,
    )
    return outcome
