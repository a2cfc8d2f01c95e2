"""The local VOD API and the built-in receiver under hostile clients: odd values, slow or idle
requests, too many connections. Every answer is the service's error, never an InternalError."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emitter.receiver.server import Receiver
from emitter.vodapi.actions import ApiError
from emitter.vodapi.local import LocalVod, ManualClock
from emitter.vodapi.protocol import (
    ALGORITHM,
    MAX_LIST_INDEX,
    SERVICE,
    parse_call,
    sign_request,
    string_to_sign,
    tc3_signature,
)
from tests.hardening.test_receiver_hostile import receive_all


@pytest.fixture(scope="module")
def vod() -> Iterator[LocalVod]:
    with LocalVod(clock=ManualClock(), hold=0.0, rate_limit=None) as local:
        yield local


def call(vod: LocalVod, action: str, body: bytes, **headers: str) -> dict[str, Any]:
    signed = sign_request(
        vod.secret_id, vod.secret_key, action=action, body=body, host=vod.endpoint, timestamp=int(vod.clock())
    )
    response = httpx.post(vod.url, content=body, headers={**signed, **headers}, timeout=10)
    assert response.status_code == 200
    return dict(response.json()["Response"])


@pytest.mark.parametrize(
    ("action", "body", "headers", "code"),
    [
        ("PullEvents", b"[" * 100_000 + b"]" * 100_000, {}, "InvalidParameter"),
        ("PullEvents", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {}, "InvalidParameter"),
        ("PullEvents", b"{}", {"X-TC-Timestamp": "9" * 5000}, "InvalidParameterValue"),
        ("DescribeTasks", b'{"ScrollToken": 5}', {}, "InvalidParameterValue"),
        ("DescribeTasks", b'{"ScrollToken": ["a"]}', {}, "InvalidParameterValue"),
        ("DescribeTasks", b'{"ScrollToken": "LTU="}', {}, "InvalidParameterValue.ScrollToken"),  # "-5"
    ],
)
def test_odd_values_get_the_services_errors(
    vod: LocalVod, action: str, body: bytes, headers: dict[str, str], code: str
) -> None:
    answer = call(vod, action, body, **headers)
    assert answer["Error"]["Code"] == code, answer
    assert vod.server.errors == []  # no handler failed on them


def test_a_timestamp_of_other_digits_is_not_an_internal_error(vod: LocalVod) -> None:
    with pytest.raises(ApiError, match="is not a Unix time") as raised:
        parse_call(
            method="POST", path="/", query="", body=b"{}", keys={}, now=0.0,
            headers={"x-tc-action": "PullEvents", "x-tc-version": "2018-07-17", "authorization": "x",
                     "x-tc-timestamp": "\u00b2"},
        )  # fmt: skip
    assert raised.value.code == "InvalidParameterValue"


def signed_get(query: str, key: str = "key") -> dict[str, str]:
    """The headers an SDK sends for a GET (parameters flattened into the query), lower-case."""
    stamp = 1_700_000_000
    date = dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%Y-%m-%d")
    headers = {"content-type": "application/x-www-form-urlencoded", "host": "h"}
    text = string_to_sign(
        method="GET", path="/", query=query, headers=headers, signed_headers=["content-type", "host"],
        body=b"", timestamp=str(stamp), date=date, service=SERVICE,
    )  # fmt: skip
    signature = tc3_signature(key, date, SERVICE, text)
    return {
        **headers,
        "x-tc-action": "ConfirmEvents",
        "x-tc-version": "2018-07-17",
        "x-tc-timestamp": str(stamp),
        "authorization": f"{ALGORITHM} Credential=id/{date}/{SERVICE}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}",
    }


def get_params(query: str) -> dict[str, Any]:
    call = parse_call(
        method="GET", path="/", query=query, headers=signed_get(query), body=b"", keys={"id": "key"},
        now=1_700_000_000.0,
    )  # fmt: skip
    return call.params


@pytest.mark.parametrize(
    "query",
    [
        "EventHandles=a&EventHandles.0=b",  # a value, then a list under the same name
        "EventHandles.0=b&EventHandles=a",
        "EventHandles.0=b&EventHandles.x=a",  # a list, then a key
        "A.0=x&A.0.B=y",
        f"A.{MAX_LIST_INDEX + 1}.B=y",  # would fill a list of that many objects
        "A.30000000.B=y",
    ],
)
def test_flattened_get_parameters_that_do_not_fit_are_invalid(query: str) -> None:
    with pytest.raises(ApiError) as raised:
        get_params(query)
    assert raised.value.code == "InvalidParameter"


def test_flattened_get_parameters_that_fit_are_read_back() -> None:
    params = get_params("EventHandles.0=a&EventHandles.1=b&Sort.Field=x&A.1.B=y")
    assert params == {"EventHandles": ["a", "b"], "Sort": {"Field": "x"}, "A": [{}, {"B": "y"}]}


def drip(port: int, pieces: tuple[bytes, ...]) -> bytes:
    """Send `pieces` a little apart on one connection, then read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.1)
        return receive_all(sock)


SLOW = (b"POST / HTTP/1.1\r\n", b"host: x\r\n", b"content-length: 10\r\n\r\n", b"{}")


def test_the_vod_api_answers_a_slow_request_408_and_closes_an_idle_connection(vod: LocalVod) -> None:
    server = vod.server
    server.request_timeout, server.idle_timeout = 0.3, 0.3
    try:
        assert drip(vod.server.port, SLOW).startswith(b"HTTP/1.1 408 ")  # 10 bytes announced, 2 sent
        assert drip(vod.server.port, ()) == b""  # idle: closed, nothing said
        pipelined = b"GET / HTTP/1.1\r\nhost: x\r\n\r\nPOST / HTTP/1.1\r\nhost: x\r\n"
        answer = drip(vod.server.port, (pipelined,))  # the second request's head came with the first
        assert answer.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 408 " in answer
    finally:
        server.request_timeout, server.idle_timeout = 10.0, 300.0


def test_the_vod_api_closes_connections_over_its_cap_and_serves_again(vod: LocalVod) -> None:
    server = vod.server
    server.max_connections = 3
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            assert extra.recv(10) == b""
        assert server.refused_connections == 1
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert call(vod, "PullEvents", b"{}").get("Error", {}).get("Code") != "InternalError"
    finally:
        server.max_connections = 512


def test_the_receiver_refuses_connect_and_a_slow_pipelined_request() -> None:
    with Receiver(request_timeout=0.3, idle_timeout=30).running_in_thread() as receiver:
        connect = drip(receiver.port, (b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com\r\n\r\n",))
        assert connect.startswith(b"HTTP/1.1 405 ")
        body = json.dumps({"version": "4.0", "eventType": "NewFileUpload", "data": {}}).encode()
        first = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        answer = drip(receiver.port, (first + b"POST / HTTP/1.1\r\nhost: x\r\n",))
        assert answer.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 408 " in answer  # not 30 s of idling
        records = receiver.wait_for(3)
        assert [r.status for r in records] == [405, 200, 408]
        assert receiver.errors == []


@pytest.mark.parametrize(
    ("timestamp", "signature", "code"),
    [
        ("\u00b2", "x", 4200),  # a digit to str.isdigit(), not to int()
        ("9" * 5000, "x", 4200),  # over int()'s digit limit
        (None, "\u00e9" * 28, 4100),  # compare_digest refuses non-ASCII text
    ],
)
def test_the_legacy_api_answers_odd_values_with_its_codes(
    vod: LocalVod, timestamp: str | None, signature: str, code: int
) -> None:
    stamp = timestamp or str(int(vod.clock()))
    params = {"Action": "PullEvent", "SecretId": vod.secret_id, "Timestamp": stamp, "Nonce": "1",
              "Signature": signature}  # fmt: skip
    answer = httpx.get(vod.url.rstrip("/") + "/v2/index.php", params=params, timeout=10).json()
    assert answer["code"] == code  # not 6000, an internal error
    assert vod.server.errors == []


def test_a_fuzz_post_left_pending_by_ctrl_c_is_cancelled_at_close() -> None:
    from emitter.fuzz.engine import _Sender

    with socket.socket() as silent:  # accepts (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        sender = _Sender(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=30)
        pending = sender.loop.create_task(sender._post(b"{}"))  # what KeyboardInterrupt leaves behind
        sender.loop.run_until_complete(asyncio.sleep(0.05))
        sender.close()
        assert pending.cancelled()  # not "Task was destroyed but it is pending!" at exit


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_journal_on_a_full_disk_stops_but_every_request_is_answered() -> None:
    with Receiver(journal=Path("/dev/full")).running_in_thread() as receiver:
        body = json.dumps({"version": "4.0", "eventType": "NewFileUpload", "data": {}})
        statuses = [httpx.post(receiver.url, content=body, timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]  # was: each connection closed without an answer
        assert receiver.received == 3 and receiver.errors == []
    assert receiver.journal_error is not None and "No space left" in str(receiver.journal_error)
