"""The real tencentcloud SDK (VodClient) against the local VOD API: PULL, confirm, re-delivery, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from emitter.api import render_scenario
from emitter.vodapi.local import LocalVod, ManualClock

SCENARIO = "happy-path"


@pytest.fixture
def vod() -> Iterator[LocalVod]:
    with LocalVod(clock=ManualClock(), hold=0.2, seed=3) as local:
        yield local


def pull(client: Any) -> list[Any]:
    return list(client.PullEvents(models.PullEventsRequest()).EventSet or [])


def confirm(client: Any, handles: list[str]) -> Any:
    request = models.ConfirmEventsRequest()
    request.EventHandles = handles
    return client.ConfirmEvents(request)


def expected_types() -> list[str]:
    return [event.event_type for event in render_scenario(SCENARIO, seed=3, fmt="v3")]


def test_every_event_exactly_once_after_confirming(vod: LocalVod) -> None:
    vod.queue_scenario(SCENARIO)
    client = vod.sdk_client()
    seen: list[Any] = []
    for _ in range(5):  # bounded: the scenario is far below 5 pulls of 16
        batch = pull(client)
        if not batch:
            break
        assert len(batch) <= 16
        confirm(client, [event.EventHandle for event in batch])
        seen += batch
    assert [event.EventType for event in seen] == expected_types()
    assert all(isinstance(event, models.EventContent) for event in seen)
    assert seen[0].FileUploadEvent.FileId  # deserialized into the SDK's own structures
    vod.advance(31)
    assert pull(client) == []  # confirmed events never come back
    assert vod.queue.all_confirmed()


def test_unconfirmed_events_come_back_after_30_seconds(vod: LocalVod) -> None:
    vod.queue_scenario(SCENARIO)
    client = vod.sdk_client()
    first = pull(client)
    assert [event.EventType for event in first] == expected_types()
    vod.advance(29)
    assert pull(client) == []  # still inside the confirm window
    vod.advance(2)
    again = pull(client)
    assert [event.EventType for event in again] == expected_types()
    assert {event.EventHandle for event in again}.isdisjoint(event.EventHandle for event in first)
    with pytest.raises(TencentCloudSDKException) as expired:
        confirm(client, [first[0].EventHandle])
    assert expired.value.code == "InvalidParameterValue"
    assert "expired" in expired.value.message
    confirm(client, [event.EventHandle for event in again])
    assert [entry.attempts for entry in vod.queue.events] == [2] * len(again)


def test_wrong_secret_key_is_signature_failure(vod: LocalVod) -> None:
    vod.queue_scenario(SCENARIO)
    with pytest.raises(TencentCloudSDKException) as failure:
        pull(vod.sdk_client(secret_key="not-" + vod.secret_key))
    assert failure.value.code == "AuthFailure.SignatureFailure"
    assert failure.value.requestId
    assert all(entry.attempts == 0 for entry in vod.queue.events)  # nothing was handed out


def test_confirm_errors(vod: LocalVod) -> None:
    vod.queue_scenario(SCENARIO)
    client = vod.sdk_client()
    batch = pull(client)
    cases = {"unknown": ["no-such-handle"], "empty": [], "too many": [batch[0].EventHandle] * 17}
    for name, handles in cases.items():
        with pytest.raises(TencentCloudSDKException) as error:
            confirm(client, handles)
        assert error.value.code == "InvalidParameterValue", name
    with pytest.raises(TencentCloudSDKException) as missing:
        client.ConfirmEvents(models.ConfirmEventsRequest())
    assert missing.value.code == "MissingParameter"
    assert not any(entry.confirmed for entry in vod.queue.events)  # all or nothing


def test_at_most_16_events_per_pull(vod: LocalVod) -> None:
    for _ in range(5):
        vod.queue_scenario(SCENARIO)  # 20 events
    client = vod.sdk_client()
    sizes = []
    for _ in range(3):
        batch = pull(client)
        sizes.append(len(batch))
        if batch:
            confirm(client, [event.EventHandle for event in batch])
    assert sizes == [16, 4, 0]


def test_event_config_round_trip(vod: LocalVod) -> None:
    client = vod.sdk_client()
    request = models.ModifyEventConfigRequest()
    request.Mode = "PUSH"
    request.NotificationUrl = "http://127.0.0.1:9/callback"
    request.UploadMediaCompleteEventSwitch = "OFF"
    request.SignKey = "abc123"
    client.ModifyEventConfig(request)
    described = client.DescribeEventConfig(models.DescribeEventConfigRequest())
    assert (described.Mode, described.NotificationUrl) == ("PUSH", "http://127.0.0.1:9/callback")
    assert described.UploadMediaCompleteEventSwitch == "OFF"
    assert described.DeleteMediaCompleteEventSwitch == "ON"
    assert vod.config.sign_key == "abc123"
    bad = models.ModifyEventConfigRequest()
    bad.Mode = "SOMETIMES"
    with pytest.raises(TencentCloudSDKException) as error:
        client.ModifyEventConfig(bad)
    assert error.value.code == "InvalidParameterValue"


def test_known_but_not_emulated_action_is_unsupported(vod: LocalVod) -> None:
    with pytest.raises(TencentCloudSDKException) as error:
        vod.sdk_client().DescribeCdnLogs(models.DescribeCdnLogsRequest())
    assert error.value.code == "UnsupportedOperation"


def test_the_vod_api_fixture_has_a_test_clock(vod_api: LocalVod) -> None:
    vod_api.queue_scenario("delete")
    client = vod_api.sdk_client()
    first = pull(client)
    assert first and {event.EventType for event in first} == {"FileDeleted"}
    vod_api.advance(31)
    assert [event.EventType for event in pull(client)] == [event.EventType for event in first]
