"""The performance paths do what the slow ones did: requests, timeouts, pool, pruning, lookups, order."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import h11
import httpx
import jinja2
import pytest

from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, Signing, make_client
from emitter.delivery.runner import Runner, Timing
from emitter.delivery.transport import (
    TOTAL_TIMEOUT,
    FastHTTPTransport,
    post_request,
    request_bytes,
    with_host,
)
from emitter.errors import ScenarioError
from emitter.outcomes import EventFinished, EventRef, Outcome, RunFinished
from emitter.payloads.render import Renderer, _load_without_nulls, prune_nulls
from emitter.receiver.server import Receiver
from emitter.scenarios.loader import parse_scenario
from emitter.scenarios.plan import RunPlan
from tests.conftest import NOW

TARGET = "http://127.0.0.1:9/callback?app=1"


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 20))  # type: ignore[arg-type]


def delivery(index: int = 0, body: bytes = b'{"a":1}') -> Delivery:
    return Delivery(EventRef(index, "s", index, "upload", "upload", "NewFileUpload"), body, json.loads(body))


@pytest.mark.parametrize("url", [TARGET, "http://127.0.0.1:8080/", "http://localhost/x?y=%20z"])
def test_the_direct_request_is_the_one_the_client_would_build(url: str) -> None:
    client = httpx.AsyncClient(headers={"X-Client": "c"})
    sender = Sender(client, url, DeliveryOptions(headers=(("X-Extra", "1"),)))
    body = '{"动物":"世界"}'.encode()
    built = client.build_request(
        "POST", sender.url, content=body, headers=sender.headers, timeout=sender.timeout
    )
    merged = httpx.Headers(client.headers)
    merged.update(sender.headers)
    prepared = with_host(sender.url, merged)
    assert prepared is not None
    direct = post_request(sender.url, body, prepared, {"timeout": sender.timeout.as_dict()})
    assert direct.headers.raw == built.headers.raw
    assert (direct.method, direct.url, direct.content, direct.extensions) == (
        built.method,
        built.url,
        built.content,
        built.extensions,
    )


def _h11_bytes(request: httpx.Request) -> bytes:
    """The bytes h11 (what the transport used before) writes for an httpx request."""
    connection = h11.Connection(h11.CLIENT)
    head = h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
    return b"".join(
        connection.send(event) or b"" for event in (head, h11.Data(data=request.content), h11.EndOfMessage())
    )


@pytest.mark.parametrize("url", [TARGET, "http://127.0.0.1:8080/", "http://localhost/x?y=%20z"])
@pytest.mark.parametrize("placement", [None, "header", "query"])
def test_the_bytes_sent_directly_are_those_httpx_and_h11_would_send(url: str, placement: str | None) -> None:
    client = httpx.AsyncClient(headers={"X-Client": "c"})
    signing = Signing("key", placement=placement) if placement else None
    options = DeliveryOptions(headers=(("X-Extra", "1"),), signing=signing)
    sender = Sender(client, url, options, wall=lambda: 1_700_000_000.0)
    item = delivery(body='{"动物":"世界"}'.encode())
    body, params, extra = sender._signed(item)
    target = sender.url.copy_merge_params(params) if params else sender.url
    head = sender._head(client, target, extra)
    assert head is not None
    _, _, headers = sender.prepare(item)
    built = client.build_request("POST", target, content=body, headers=headers, timeout=sender.timeout)
    assert head + b"Content-Length: %d\r\n\r\n" % len(body) + body == _h11_bytes(built)
    if placement == "header":
        assert b"\r\nSign: " in head and b"\r\nT: " in head


def test_headers_that_would_split_the_request_are_refused_by_the_transport() -> None:
    for name, value in [(b"X-A", b"b\r\nX-Evil: 1"), (b"X A", b"b"), (b"X-A", b"nul\x00")]:
        with pytest.raises(httpx.LocalProtocolError):
            request_bytes(b"POST", b"/", [(name, value)], b"{}")
    with pytest.raises(httpx.LocalProtocolError):
        request_bytes(b"POST", b"/a b", [], b"{}")
    assert request_bytes(b"POST", b"/", [(b"X-A", b"b\tc")], b"{}").endswith(
        b"X-A: b\tc\r\nContent-Length: 2\r\n\r\n{}"
    )


def test_headers_that_set_host_or_length_leave_the_request_to_httpx() -> None:
    assert with_host(httpx.URL(TARGET), httpx.Headers({"Host": "other"})) is None
    assert with_host(httpx.URL(TARGET), httpx.Headers({"Content-Length": "3"})) is None


def _send(client: httpx.AsyncClient, url: str = TARGET) -> list[Outcome]:
    async def go() -> list[Outcome]:
        async with client:
            return [o async for o in Sender(client, url, DeliveryOptions()).send(delivery())]

    outcomes: list[Outcome] = run(go())
    return outcomes


def test_a_client_with_event_hooks_or_cookies_still_gets_them_applied() -> None:
    seen: list[httpx.Request] = []
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(str(request.url))

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    _send(httpx.AsyncClient(transport=httpx.MockTransport(answer), event_hooks={"request": [hook]}))
    assert hooked == [TARGET]
    jar = httpx.AsyncClient(transport=httpx.MockTransport(answer), cookies={"session": "abc"})
    _send(jar)
    assert seen[-1].headers["cookie"] == "session=abc"
    _send(httpx.AsyncClient(transport=httpx.MockTransport(answer)), "http://user:secret@127.0.0.1:9/cb")
    assert seen[-1].headers["authorization"].startswith("Basic ")


async def _silent_server() -> tuple[asyncio.Server, str]:
    """Accepts, reads, never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


def _request(url: str, total: float | None) -> httpx.Request:
    extensions: dict[str, Any] = {"timeout": {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": None}}
    if total is not None:
        extensions[TOTAL_TIMEOUT] = total
    return httpx.Request("POST", url, content=b"{}", extensions=extensions)


def test_the_total_timeout_ends_an_unanswered_exchange_before_the_read_timeout() -> None:
    async def scenario() -> None:
        server, url = await _silent_server()
        transport = FastHTTPTransport()
        try:
            with pytest.raises(httpx.ReadTimeout):
                # the read timeout (10 s) would outlast the test's own limit (5 s)
                await asyncio.wait_for(transport.handle_async_request(_request(url, 0.2)), 5)
        finally:
            await transport.aclose()
            server.close()

    run(scenario())


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_timeout_never_ends_an_exchange_early_by_the_monotonic_clock(loop: str) -> None:
    # uvloop's timers count whole milliseconds: unpadded, a 1.5 s timeout was once timed at 1499.955 ms
    timeouts = [0.005 + k * 0.00013 for k in range(30)]  # fractions of a millisecond, where rounding bites

    async def scenario() -> list[float]:
        server, _ = await _silent_server()
        port = server.sockets[0].getsockname()[1]
        transport = FastHTTPTransport()
        margins = []
        try:
            for timeout in timeouts:
                started = time.monotonic()
                with pytest.raises(httpx.TimeoutException):  # on a busy machine, maybe connecting
                    await transport.post("127.0.0.1", port, b"POST / HTTP/1.1\r\n\r\n", timeout)
                margins.append(time.monotonic() - started - timeout)
        finally:
            await transport.aclose()
            server.close()
        return margins

    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        margins = uvloop.run(asyncio.wait_for(scenario(), 20))
    else:
        margins = run(scenario())
    assert min(margins) >= 0


def test_a_full_pool_queues_requests_in_order_and_times_out_with_a_pool_timeout() -> None:
    async def scenario() -> None:
        async with Receiver() as receiver:
            transport = FastHTTPTransport(max_connections=1)
            answers = await asyncio.gather(
                *(transport.handle_async_request(_request(receiver.url, 5.0)) for _ in range(5))
            )
            assert [a.status_code for a in answers] == [200] * 5
            assert [r.seq for r in receiver.records] == list(range(5))
            await transport.aclose()
        server, url = await _silent_server()
        transport = FastHTTPTransport(max_connections=1)
        try:
            hanging = asyncio.ensure_future(transport.handle_async_request(_request(url, 10.0)))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await transport.handle_async_request(_request(url, 0.1))
            hanging.cancel()
            await asyncio.gather(hanging, return_exceptions=True)
        finally:
            await transport.aclose()
            server.close()

    run(scenario())


@pytest.mark.parametrize(
    "text",
    [
        '{"a": null, "b": {"c": null, "d": [null, {"e": null}]}, "f": 0, "g": ""}',
        '{"a": 1, "a": null, "b": null, "b": 2}',
        '[null, {"x": null}]',
        '{"k": {"inner": null}}',
    ],
)
def test_pruning_while_parsing_equals_pruning_after(text: str) -> None:
    assert _load_without_nulls(text) == prune_nulls(json.loads(text))
    assert json.dumps(_load_without_nulls(text)) == json.dumps(prune_nulls(json.loads(text)))


def test_inline_lookups_keep_the_sandbox_rules(renderer: Renderer) -> None:
    env = renderer.env
    data = {"size": 3, "items": "shadowed", "nested": {"url": "u"}}
    assert env.from_string("{{ d.size }} {{ d.nested.url }}").render(d=data) == "3 u"
    assert env.from_string("{{ d.items is callable }}").render(d=data) == "True"  # dict attributes win
    assert env.from_string("{{ n.x }}").render(n=type("N", (), {"x": 5})()) == "5"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ d.missing }}").render(d=data)
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ f.__globals__ }}").render(f=test_inline_lookups_keep_the_sandbox_rules)


def test_a_receiver_can_keep_only_its_first_records() -> None:
    async def scenario() -> None:
        async with Receiver(keep_records=2) as receiver, httpx.AsyncClient() as client:
            for _ in range(4):
                await client.post(receiver.url, content=b"{}")
            assert receiver.received == 4
            assert [r.seq for r in receiver.records] == [0, 1]

    run(scenario())


def test_an_error_met_while_rendering_ahead_comes_after_the_sends_before_it(renderer: Renderer) -> None:
    sent: list[int] = []

    def broken() -> Iterator[Delivery]:
        for index in range(3):
            yield Delivery(delivery(index).ref, b"{}", {}, wait=0.01)
        raise ScenarioError("step 4 cannot render", location="s.yaml:9")

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(len(sent))
        return httpx.Response(200)

    async def go() -> list[Outcome]:
        scenario = parse_scenario("version: 1\nsteps:\n  - event: upload\n", "s.yaml", renderer.catalog)
        async with make_client(transport=httpx.MockTransport(answer)) as client:
            runner = Runner(
                RunPlan((scenario,), 1, NOW), Sender(client, TARGET), Timing(speed=1.0), deliveries=broken
            )
            return [o async for o in runner.run()]

    outcomes = run(go())
    assert sent == [0, 1, 2]
    assert [o.ref.index for o in outcomes if isinstance(o, EventFinished)] == [0, 1, 2]
    last = outcomes[-1]
    assert isinstance(last, RunFinished) and "step 4 cannot render" in (last.result.error or "")


def test_posted_exchanges_time_out_by_their_own_deadlines_in_or_out_of_order() -> None:
    async def scenario() -> None:
        server, url = await _silent_server()
        target = httpx.URL(url)
        transport = FastHTTPTransport()
        data = request_bytes(b"POST", b"/", [(b"Host", target.netloc)], b"{}")
        try:
            slow = asyncio.ensure_future(transport.post(target.host, target.port or 80, data, 10.0))
            await asyncio.sleep(0.01)
            # due before the one set earlier: it keeps its own timer (the test's limit is 3 s)
            with pytest.raises(httpx.ReadTimeout):
                await asyncio.wait_for(transport.post(target.host, target.port or 80, data, 0.2), 3)
            # in order: one timer for them all, each still ends at its own deadline
            started = asyncio.get_running_loop().time()
            times = [0.1, 0.2, 0.3]
            ends: list[float] = []

            async def one(seconds: float) -> None:
                with pytest.raises(httpx.ReadTimeout):
                    await transport.post(target.host, target.port or 80, data, seconds)
                ends.append(asyncio.get_running_loop().time() - started)

            await asyncio.wait_for(asyncio.gather(*(one(t) for t in times)), 3)
            assert ends == sorted(ends) and ends[-1] < 2.5 and not slow.done()  # not held by the 10 s one
            slow.cancel()
            await asyncio.gather(slow, return_exceptions=True)
        finally:
            await transport.aclose()
            server.close()

    run(scenario())


@pytest.mark.parametrize("concurrency", [1, 4])
def test_bulk_sends_put_on_the_wire_exactly_the_requests_httpx_and_h11_would(concurrency: int) -> None:
    """At speed 0 the runner's sends go out together (written at the next loop turn, back to back)
    and through the sender's noted request head: each request arrives whole, as httpx + h11 write it."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                received.append(head + await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except asyncio.IncompleteReadError as end:
            assert end.partial == b""  # nothing but whole requests
        finally:
            writer.close()

    bodies = [json.dumps({"n": n, "text": "视频"}, ensure_ascii=False).encode() for n in range(12)]

    def deliveries() -> Iterator[Delivery]:
        return iter(delivery(index, body) for index, body in enumerate(bodies))

    async def go() -> tuple[list[bytes], list[Outcome]]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook?app=1"
        scenario = parse_scenario("version: 1\nsteps:\n  - event: upload\n", "s.yaml", Renderer().catalog)
        async with server, make_client(concurrency=concurrency) as client:
            sender = Sender(client, url, DeliveryOptions(headers=(("X-Extra", "1"),)))
            timing = Timing(speed=0, concurrency=concurrency)
            runner = Runner(RunPlan((scenario,), 1, NOW), sender, timing, deliveries=deliveries)
            outcomes = [o async for o in runner.run()]
            headers = httpx.Headers(sender.headers)
            expected = [
                _h11_bytes(client.build_request("POST", url, content=body, headers=headers))
                for body in bodies
            ]
        return expected, outcomes

    expected, outcomes = run(go())
    assert sorted(received) == sorted(expected)
    finished = [o for o in outcomes if isinstance(o, EventFinished)]
    assert [f.result for f in finished] == ["delivered"] * len(bodies)


def test_cookies_and_hooks_given_to_the_client_between_sends_apply_to_the_next_send() -> None:
    """The direct path is checked at every send: what the client gains later is applied."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                heads.append(head.lower())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.method)

    async def go() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
        async with server, make_client() as client:
            sender = Sender(client, url, DeliveryOptions())

            async def send(index: int) -> None:
                await sender.deliver(delivery(index), lambda outcome: None, together=index % 2 == 1)

            await send(0)
            await send(1)  # the noted request head serves this one
            client.cookies.set("session", "abc")
            await send(2)
            client.cookies.clear()
            await send(3)
            client.event_hooks["request"].append(hook)
            await send(4)

    run(go())
    assert [b"cookie: session=abc" in head for head in heads] == [False, False, True, False, False]
    assert hooked == ["POST"] and len(heads) == 5


def test_a_send_written_together_times_its_latency_from_the_write() -> None:
    """A request written at the next loop turn waits for the rest of this one; that wait is the
    sender's, not the receiver's: the latency counts from the write (the event's time includes it)."""
    turn = 0.05
    outcomes: list[Any] = []

    async def go() -> None:
        async with Receiver() as receiver, make_client() as client:
            sender = Sender(client, receiver.url, DeliveryOptions())
            await sender.deliver(delivery(0), outcomes.append, together=True)  # a kept-alive connection
            outcomes.clear()
            sending = asyncio.ensure_future(sender.deliver(delivery(1), outcomes.append, together=True))
            await asyncio.sleep(0)  # the send waits for its write at the next turn
            time.sleep(turn)  # the rest of this turn: rendering, say
            await sending

    run(go())
    attempt, finished = outcomes
    assert finished.result == "delivered" and finished.elapsed >= turn
    assert attempt.latency == finished.latency < turn
