"""One send against httpx.MockTransport: headers, body, retries, backoff, expectations, signing, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from emitter.delivery.deliver import (
    Delivery,
    DeliveryOptions,
    Sender,
    Signing,
    check_target,
    make_client,
    parse_header,
)
from emitter.delivery.signing import sign, verify
from emitter.errors import DeliveryError, UsageError
from emitter.outcomes import AttemptFinished, EventFinished, EventRef
from emitter.payloads.render import encode_payload
from emitter.scenarios.loader import parse_expectation
from tests.helpers import FakeTime

TARGET = "http://127.0.0.1:9/callback?app=1"
WALL = 1_700_000_000.0
PAYLOAD = {"version": "4.0", "eventType": "NewFileUpload", "data": {"fileName": "视频 ünïcode"}}


def delivery(payload: Any = PAYLOAD, **changes: Any) -> Delivery:
    ref = EventRef(0, "test", 0, "upload", "upload", "NewFileUpload")
    body = payload.encode() if isinstance(payload, str) else encode_payload(payload)
    return Delivery(ref, body, payload, **changes)


def run_send(
    handler: Callable[[httpx.Request], Any], item: Delivery | None = None, **options: Any
) -> tuple[list[AttemptFinished], EventFinished, FakeTime, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> Any:
        seen.append(request)
        return handler(request)

    fake = FakeTime()

    async def go() -> list[Any]:
        async with make_client(transport=httpx.MockTransport(recording)) as client:
            sender = Sender(
                client,
                TARGET,
                DeliveryOptions(**options),
                clock=fake.clock,
                sleep=fake.sleep,
                wall=lambda: WALL,
            )
            return [outcome async for outcome in sender.send(item or delivery())]

    outcomes = asyncio.run(go())
    attempts = [o for o in outcomes if isinstance(o, AttemptFinished)]
    finished = [o for o in outcomes if isinstance(o, EventFinished)]
    assert len(finished) == 1 and outcomes[-1] is finished[0]
    return attempts, finished[0], fake, seen


def answer(*statuses: int) -> Callable[[httpx.Request], httpx.Response]:
    remaining = list(statuses)
    return lambda request: httpx.Response(remaining.pop(0) if len(remaining) > 1 else remaining[0], text="ok")


def raising(error: type[httpx.TransportError], message: str = "boom") -> Callable[[httpx.Request], Any]:
    def handler(request: httpx.Request) -> Any:
        raise error(message, request=request)

    return handler


def test_posts_json_utf8_with_headers_and_keeps_the_query() -> None:
    attempts, finished, _, seen = run_send(answer(200), headers=(("X-Api-Key", "k1"), ("User-Agent", "mine")))
    request = seen[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == "k1"
    assert request.headers["user-agent"] == "mine"
    assert request.url.params["app"] == "1"
    assert json.loads(request.content.decode("utf-8")) == PAYLOAD
    assert "视频".encode() in request.content
    assert finished.result == "delivered" and finished.ok
    assert (finished.attempts, finished.status, finished.reason) == (1, 200, "")
    assert len(attempts) == 1 and attempts[0].retry_in is None
    assert finished.response == "ok" and finished.request.startswith('{"version":"4.0"')


def test_deliver_hands_over_each_attempt_before_the_next_and_records_them_on_the_delivery() -> None:
    fake = FakeTime()
    emitted: list[AttemptFinished | EventFinished] = []
    seen_at_sleep: list[int] = []

    async def sleep(seconds: float) -> None:
        seen_at_sleep.append(len(emitted))  # the attempt that failed is out before the backoff starts
        await fake.sleep(seconds)

    item = delivery()

    async def go() -> None:
        async with make_client(transport=httpx.MockTransport(answer(503, 200))) as client:
            sender = Sender(client, TARGET, DeliveryOptions(retry_on_status=True, backoff=0.5), sleep=sleep)
            await sender.deliver(item, emitted.append)

    asyncio.run(go())
    assert seen_at_sleep == [1] and fake.sleeps == [0.5]
    assert [type(o).__name__ for o in emitted] == ["AttemptFinished", "AttemptFinished", "EventFinished"]
    assert item.attempts == tuple(emitted[:2]) and item.finished is emitted[2]
    assert [a.status for a in item.attempts] == [503, 200] and item.delivered
    # the fields of outcomes built without dataclass __init__ compare as built with it
    assert emitted[0] == AttemptFinished(item.ref, 1, 503, None, emitted[0].latency, 0.5, None)
    assert emitted[2] == EventFinished(
        item.ref, "delivered", "after status 503", 2, 200, emitted[2].latency, emitted[2].elapsed,
        emitted[2].request, "ok",
    )  # fmt: skip
    assert hash(emitted[0]) == hash(AttemptFinished(item.ref, 1, 503, None, emitted[0].latency, 0.5, None))


def test_timeouts_are_retried_twice_by_default_then_fail() -> None:
    attempts, finished, _, seen = run_send(raising(httpx.ReadTimeout), timeout=0.2)
    assert len(seen) == 3
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.retry_in is not None for a in attempts] == [True, True, False]
    assert finished.result == "failed" and finished.attempts == 3 and finished.status is None
    assert finished.reason.startswith("timeout") and "0.2 s" in finished.reason


def test_retries_option_bounds_the_sends() -> None:
    _, finished, _, seen = run_send(raising(httpx.ConnectTimeout), retries=0)
    assert len(seen) == 1 and finished.attempts == 1
    assert "(connect)" in finished.reason


def test_a_500_is_not_retried_by_default_and_fails_the_expectation() -> None:
    attempts, finished, _, seen = run_send(answer(500, 200))
    assert len(seen) == 1 and len(attempts) == 1
    assert finished.result == "unexpected" and not finished.ok
    assert finished.status == 500 and finished.reason == "status 500, expected 2xx"


def test_retry_on_status_retries_until_an_accepted_answer() -> None:
    attempts, finished, _, _ = run_send(answer(500, 503, 200), retry_on_status=True)
    assert [a.status for a in attempts] == [500, 503, 200]
    assert finished.result == "delivered" and finished.attempts == 3
    assert finished.reason == "after status 500, status 503"


def test_the_step_expectation_decides_success() -> None:
    expect_400 = parse_expectation({"status": [400, 422]})
    _, finished, _, _ = run_send(answer(400), delivery(expect=expect_400))
    assert finished.result == "delivered"
    _, finished, _, _ = run_send(answer(200), delivery(expect=expect_400), retry_on_status=True)
    assert finished.result == "unexpected" and finished.attempts == 3
    assert finished.reason == "status 200, expected 400 or 422"


def test_connection_refused_fails_at_once_unless_asked_to_retry() -> None:
    message = "All connection attempts failed"
    _, finished, _, seen = run_send(raising(httpx.ConnectError, message))
    assert len(seen) == 1
    assert finished.result == "failed" and finished.reason.startswith("cannot connect (127.0.0.1:9)")
    _, finished, _, seen = run_send(
        raising(httpx.ConnectError, "[Errno 111] Connection refused"), retry_on_connect_error=True
    )
    assert len(seen) == 3 and finished.reason == "connection refused (127.0.0.1:9)"


def test_dropped_connections_are_connection_errors() -> None:
    dropped = raising(httpx.RemoteProtocolError, "Server disconnected without sending a response.")
    _, finished, _, seen = run_send(dropped)
    assert len(seen) == 1 and finished.reason.startswith("connection dropped")
    _, finished, _, seen = run_send(dropped, retry_on_connect_error=True)
    assert len(seen) == 3 and finished.attempts == 3


def test_backoff_grows_by_the_factor_and_uses_the_injected_sleep() -> None:
    attempts, _, fake, _ = run_send(raising(httpx.ReadTimeout), retries=3, backoff=0.5, backoff_factor=3)
    assert fake.sleeps == [0.5, 1.5, 4.5]
    assert [a.retry_in for a in attempts] == [0.5, 1.5, 4.5, None]


def test_no_backoff_means_no_sleep() -> None:
    _, _, fake, _ = run_send(raising(httpx.ReadTimeout))
    assert fake.sleeps == []


@pytest.mark.parametrize("placement", ["body", "query", "header"])
@pytest.mark.parametrize("case", ["valid", "expired", "wrong", "missing", "none"])
def test_signature_placement_and_cases(placement: str, case: str) -> None:
    _, _, _, seen = run_send(answer(200), signing=Signing("secret", placement, ttl=600, case=case))
    request = seen[0]
    body = json.loads(request.content)
    if placement == "body":
        found = body
        assert {k: v for k, v in body.items() if k not in ("Sign", "T")} == PAYLOAD
    elif placement == "query":
        found = dict(request.url.params)
        assert body == PAYLOAD and request.url.params["app"] == "1"
    else:
        found = {"Sign": request.headers.get("sign"), "T": request.headers.get("t")}
        assert body == PAYLOAD
    t, signature = found.get("T"), found.get("Sign")
    problem = verify("secret", t, signature, int(WALL))
    if case == "valid":
        assert problem is None and int(str(t)) == int(WALL) + 600
        assert signature == sign("secret", int(WALL) + 600)
        if placement == "body":
            assert isinstance(t, int)
    elif case == "none":
        assert t is None and signature is None
    elif case == "missing":
        assert t is not None and signature is None and problem == "missing Sign"
    else:
        assert problem is not None and problem.startswith(case)


def test_a_steps_sign_case_wins_over_the_runs() -> None:
    _, _, _, seen = run_send(answer(200), delivery(sign_case="expired"), signing=Signing("k", "body"))
    body = json.loads(seen[0].content)
    assert verify("k", body["T"], body["Sign"], int(WALL)).startswith("expired")


def test_every_attempt_gets_a_fresh_signature() -> None:
    _, _, _, seen = run_send(raising(httpx.ReadTimeout), signing=Signing("k", "header"))
    assert len(seen) == 3 and all(r.headers["sign"] == sign("k", int(WALL) + 600) for r in seen)


def test_a_raw_body_is_sent_as_is_even_when_signing_in_the_body() -> None:
    _, _, _, seen = run_send(answer(200), delivery("not json {"), signing=Signing("k", "body"))
    assert seen[0].content == b"not json {"


def test_signing_rejects_unknown_placements_and_cases() -> None:
    with pytest.raises(UsageError, match=r"^sign_in: "):
        Signing("k", "cookie")
    with pytest.raises(UsageError, match=r"^sign_case: "):
        Signing("k", "body", case="stale")


def test_excerpts_are_short_and_whole_characters() -> None:
    long_payload = {"data": "长" * 500}
    _, finished, _, _ = run_send(
        lambda r: httpx.Response(200, content=b"x" * 1000), delivery(long_payload), excerpt=40
    )
    assert len(finished.request) == 40 and finished.request.endswith("…")
    assert "\ufffd" not in finished.request
    assert len(finished.response) == 40


@pytest.mark.parametrize("url", ["htp://x", "localhost:8000", "http://", "not a url", "ftp://host/x"])
def test_malformed_targets_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_target(url)
    assert caught.value.exit_code == 2 and str(caught.value).startswith("target: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/cb", "https://example.test/vod?x=1"])
def test_good_targets_pass(url: str) -> None:
    assert check_target(url) == url


def test_header_flags() -> None:
    assert parse_header("X-Token:  abc: def ") == ("X-Token", "abc: def")
    for bad in ("NoColon", ": value", "Bad Name: x"):
        with pytest.raises(UsageError, match=r"^headers: "):
            parse_header(bad)


def test_a_missing_ca_bundle_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        make_client(ca_bundle=tmp_path / "missing.pem")
    assert str(caught.value).startswith("ca_bundle: cannot load CA bundle")
    not_pem = tmp_path / "bad.pem"
    not_pem.write_text("hello")
    with pytest.raises(DeliveryError):
        make_client(ca_bundle=not_pem)
