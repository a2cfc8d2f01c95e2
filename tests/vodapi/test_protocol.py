"""Raw API 3.0 requests (tccli-style) get the service's error envelope; the action registry; legacy v2."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emitter.receiver.server import Receiver
from emitter.vodapi import ApiContext, ApiError, register
from emitter.vodapi.config import EventConfig
from emitter.vodapi.legacy import legacy_signature
from emitter.vodapi.local import LocalVod, ManualClock
from emitter.vodapi.protocol import sign_request


@pytest.fixture
def vod() -> Iterator[LocalVod]:
    with LocalVod(clock=ManualClock(), hold=0.1, rate_limit=None) as local:
        yield local


def call(
    vod: LocalVod,
    action: str,
    params: Any = None,
    *,
    key: str | None = None,
    secret_id: str | None = None,
    body: bytes | None = None,
    drop: tuple[str, ...] = (),
    timestamp: int | None = None,
) -> dict[str, Any]:
    content = body if body is not None else json.dumps(params or {}).encode()
    stamp = int(vod.clock()) if timestamp is None else timestamp
    headers = sign_request(
        secret_id or vod.secret_id, key or vod.secret_key, action=action, body=content,
        host=vod.endpoint, timestamp=stamp,
    )  # fmt: skip
    for name in drop:
        headers.pop(name)
    response = httpx.post(vod.url, content=content, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()["Response"]
    assert answer["RequestId"]
    return dict(answer)


def error_code(answer: dict[str, Any]) -> str:
    return str(answer["Error"]["Code"])


def test_a_signed_raw_request_succeeds(vod: LocalVod) -> None:
    answer = call(vod, "DescribeEventConfig")
    assert answer["Mode"] == "PULL" and "Error" not in answer


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"key": "wrong-key"}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKIDnobody"}, "AuthFailure.SecretIdNotFound"),
        ({"timestamp_shift": -301}, "AuthFailure.SignatureExpire"),
        ({"timestamp_shift": 301}, "AuthFailure.SignatureExpire"),
        ({"drop": ("X-TC-Action",)}, "MissingParameter"),
        ({"drop": ("X-TC-Version",)}, "MissingParameter"),
        ({"drop": ("X-TC-Timestamp",)}, "MissingParameter"),
        ({"drop": ("Authorization",)}, "MissingParameter"),
        ({"body": b"{not json"}, "InvalidParameter"),
        ({"body": b"[1, 2]"}, "InvalidParameter"),
        ({"action": "NoSuchThing"}, "InvalidAction"),
    ],
)
def test_bad_requests_get_the_error_envelope(vod: LocalVod, change: dict[str, Any], code: str) -> None:
    shift = change.pop("timestamp_shift", 0)
    action = change.pop("action", "DescribeEventConfig")
    answer = call(vod, action, timestamp=int(vod.clock()) + shift, **change)
    assert error_code(answer) == code
    assert answer["Error"]["Message"]


def test_within_five_minutes_is_accepted(vod: LocalVod) -> None:
    assert "Error" not in call(vod, "DescribeEventConfig", timestamp=int(vod.clock()) - 290)


def test_a_tampered_body_fails_the_signature(vod: LocalVod) -> None:
    headers = sign_request(
        vod.secret_id, vod.secret_key, action="PullEvents", body=b"{}", host=vod.endpoint,
        timestamp=int(vod.clock()),
    )  # fmt: skip
    response = httpx.post(vod.url, content=b'{"SubAppId": 1}', headers=headers, timeout=10)
    assert response.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_garbage_authorization_and_wrong_version(vod: LocalVod) -> None:
    headers = sign_request(
        vod.secret_id, vod.secret_key, action="PullEvents", body=b"{}", host=vod.endpoint,
        timestamp=int(vod.clock()),
    )  # fmt: skip
    for name, value, code in [
        ("Authorization", "Basic Zm9vOmJhcg==", "AuthFailure.InvalidAuthorization"),
        ("X-TC-Version", "2017-01-01", "NoSuchVersion"),
        ("X-TC-Timestamp", "yesterday", "InvalidParameterValue"),
    ]:
        response = httpx.post(vod.url, content=b"{}", headers={**headers, name: value}, timeout=10)
        assert response.json()["Response"]["Error"]["Code"] == code, name
    response = httpx.put(vod.url, content=b"{}", headers=headers, timeout=10)
    assert response.json()["Response"]["Error"]["Code"] == "UnsupportedProtocol"


def test_malformed_http_costs_one_connection_not_the_endpoint(vod: LocalVod) -> None:
    host, port = vod.endpoint.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    assert "Error" not in call(vod, "DescribeEventConfig")
    assert vod.server.errors == []


def test_rate_limit_past_100_per_second() -> None:
    ticks = ManualClock(0.0)
    with LocalVod(clock=ManualClock(), hold=0.01) as vod:
        vod.account.ticker = ticks
        codes = [
            error_code(a) if "Error" in a else "ok" for a in (call(vod, "PullEvents") for _ in range(101))
        ]
        assert "Error" not in call(vod, "DescribeEventConfig")  # another action has its own budget
        ticks.advance(1.0)
        assert "Error" not in call(vod, "PullEvents")  # a new second, a new budget
    assert codes == ["ok"] * 100 + ["RequestLimitExceeded"]


def test_modify_event_config_is_limited_to_20_per_second() -> None:
    with LocalVod(clock=ManualClock()) as vod:
        vod.account.ticker = ManualClock(0.0)
        answers = [call(vod, "ModifyEventConfig", {"Mode": "PULL"}) for _ in range(21)]
    assert ["Error" in answer for answer in answers] == [False] * 20 + [True]


def test_a_registered_action_notifies_through_the_config(vod: LocalVod) -> None:
    seen: list[ApiContext] = []

    async def make_event(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
        if "FileId" not in params:
            raise ApiError("MissingParameter", "The request is missing a required parameter `FileId`.")
        seen.append(ctx)
        await ctx.notify({"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": [params["FileId"]]}})
        return {"TaskId": "task-1"}

    register("TestMakeEvent", make_event)
    assert error_code(call(vod, "TestMakeEvent", {})) == "MissingParameter"
    answer = call(vod, "TestMakeEvent", {"FileId": "f1"})
    assert answer["TaskId"] == "task-1"
    assert seen[0].action == "TestMakeEvent" and seen[0].request_id == answer["RequestId"]
    events = call(vod, "PullEvents")["EventSet"]
    assert [e["FileDeleteEvent"]["FileIdSet"] for e in events] == [["f1"]]
    call(vod, "ModifyEventConfig", {"DeleteMediaCompleteEventSwitch": "OFF"})
    call(vod, "TestMakeEvent", {"FileId": "f2"})
    assert vod.callbacks[-1].route == "skipped"


def test_a_handler_bug_is_internal_error(vod: LocalVod) -> None:
    async def broken(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("oops")

    register("TestBroken", broken)
    assert error_code(call(vod, "TestBroken")) == "InternalError"
    assert len(vod.server.errors) == 1


def test_push_mode_posts_signed_bodies_to_the_notification_url() -> None:
    with Receiver(sign_key="k3y").running_in_thread() as receiver:
        config = EventConfig(mode="PUSH", notification_url=receiver.url, sign_key="k3y")
        with LocalVod(config=config) as vod:
            callback = vod.publish({"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": ["f9"]}})
            records = receiver.wait_for(1)
    assert callback.route == "push"
    assert records[0].payload["FileDeleteEvent"]["FileIdSet"] == ["f9"]
    assert records[0].signature_problem is None and records[0].status == 200


def test_legacy_v2_pull_and_confirm() -> None:
    with LocalVod(format="v2", hold=0.1) as vod:
        vod.queue_scenario("happy-path")
        url = vod.url.rstrip("/") + "/v2/index.php"

        def legacy(action: str, **extra: str) -> dict[str, Any]:
            params = {"Action": action, "SecretId": vod.secret_id, "Timestamp": str(int(time.time())),
                      "Nonce": "42", "Region": "gz", **extra}  # fmt: skip
            params["Signature"] = legacy_signature(vod.secret_key, "GET", vod.endpoint, params)
            return dict(httpx.get(url, params=params, timeout=10).json())

        pulled = legacy("PullEvent")
        assert pulled["code"] == 0
        assert pulled["eventList"][0]["eventContent"]["eventType"] == "NewFileUpload"
        handles = {f"msgHandle.{i + 1}": e["msgHandle"] for i, e in enumerate(pulled["eventList"])}
        assert legacy("ConfirmEvent", **handles) == {"code": 0, "message": ""}
        assert vod.queue.all_confirmed()
        wrong = {"Action": "PullEvent", "SecretId": vod.secret_id, "Timestamp": str(int(time.time())),
                 "Nonce": "1"}  # fmt: skip
        wrong["Signature"] = legacy_signature("not-the-key", "GET", vod.endpoint, wrong)
        assert httpx.get(url, params=wrong, timeout=10).json()["code"] == 4100
        forged = {"Action": "PullEvent", "SecretId": vod.secret_id, "Timestamp": "1", "Nonce": "1",
                  "Signature": base64.b64encode(b"x").decode()}  # fmt: skip
        assert httpx.get(url, params=forged, timeout=10).json()["code"] == 4200


def test_a_stalled_request_is_closed(vod: LocalVod, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vod.server, "request_timeout", 0.1)
    host, port = vod.endpoint.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert raw.recv(1024).startswith(b"HTTP/1.1 408 ")  # answered and closed, not held
        assert raw.recv(1024) == b""
    assert "Error" not in call(vod, "DescribeEventConfig")
