"""In-process ASGI targets: the scope and messages a server would give, a bounded answer, errors as 500s."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

import emitter
from emitter.delivery.targets import ASGIAppTransport
from emitter.delivery.transport import MAX_RESPONSE_BYTES

NOW = "2024-05-01T12:00:00Z"


def exchange(app: Any, request: httpx.Request) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = ASGIAppTransport(app)
        try:
            return await transport.handle_async_request(request)
        finally:
            await transport.aclose()

    return asyncio.run(call())


def test_an_asgi_app_gets_what_a_server_gives_and_its_answer_comes_back() -> None:
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 202, "headers": [(b"x-seen", b"yes")]})
        await send({"type": "http.response.body", "body": b"got ", "more_body": True})
        await send({"type": "http.response.body", "body": b"it"})
        seen.append(await receive())  # after the answer: the client is gone

    request = httpx.Request(
        "POST", "http://testserver/hooks/vod%20x?k=1", content=b'{"a":1}', headers={"X-Key": "v"}
    )
    response = exchange(app, request)
    assert (response.status_code, response.headers["x-seen"], response.content) == (202, "yes", b"got it")
    scope, message, after = seen
    assert scope["type"] == "http" and scope["method"] == "POST" and scope["http_version"] == "1.1"
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == (
        "/hooks/vod x",
        b"/hooks/vod%20x",
        b"k=1",
    )
    assert (b"x-key", b"v") in scope["headers"] and (b"content-length", b"7") in scope["headers"]
    assert scope["server"] == ("testserver", None) and scope["scheme"] == "http"
    assert message == {"type": "http.request", "body": b'{"a":1}', "more_body": False}
    assert after == {"type": "http.disconnect"}


def test_a_large_answer_is_kept_to_the_report_limit() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(3):
            await send({"type": "http.response.body", "body": b"x" * MAX_RESPONSE_BYTES, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    response = exchange(app, httpx.Request("POST", "http://testserver/", content=b"{}"))
    assert response.status_code == 200 and response.content == b"x" * MAX_RESPONSE_BYTES


def test_an_app_that_answers_nothing_is_a_500_that_says_so() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()

    response = exchange(app, httpx.Request("POST", "http://testserver/", content=b"{}"))
    assert response.status_code == 500
    assert response.text == "in-process app raised RuntimeError: the app returned without starting a response"


def test_a_completed_run_shows_in_one_line() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    done = emitter.run("happy-path", target=app, seed=1, now=NOW, speed=0)
    assert repr(done) == f"<CompletedRun {done.summary()}>"
    assert "\n" not in repr(done) and "4 delivered" in repr(done) and "seed 1" in repr(done)


def test_an_answer_reads_like_any_httpx_response() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": '{"ok": "是"}'.encode()})

    async def call() -> tuple[bytes, bytes, str, Any]:
        response = await ASGIAppTransport(app).handle_async_request(
            httpx.Request("POST", "http://testserver/", content=b"{}")
        )
        streamed = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        return await response.aread(), streamed, response.text, response.json()

    read, streamed, text, parsed = asyncio.run(call())
    assert read == streamed == '{"ok": "是"}'.encode() and text == '{"ok": "是"}' and parsed == {"ok": "是"}


def test_an_attempt_that_times_out_does_not_wait_for_the_app_to_stop() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("the client gave up")
            try:
                await asyncio.sleep(10)  # an app that takes its time to stop
            except asyncio.CancelledError:
                seen.append("stopped when the run ended")
                raise

    done = emitter.send("upload", target=app, timeout=0.05, delivery=emitter.DeliveryOptions(retries=0))
    assert [attempt.error for attempt in done.attempts] == ["timeout: no answer within 0.05 s"]
    assert seen == ["the client gave up", "stopped when the run ended"]  # not after its 10 s
