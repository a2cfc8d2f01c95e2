"""Stateful actions of the local VOD, called directly: answers in the SDK's shapes, callbacks, rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models

from emitter.vodapi.actions import ApiError
from emitter.vodapi.flows import Flows
from emitter.vodapi.library import Library
from emitter.vodapi.rules import parse_rules

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def sdk(action: str, answer: dict[str, Any]) -> Any:
    """The answer deserialized into the SDK's response model; any unknown field fails the test."""
    model = getattr(models, f"{action}Response")()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model._deserialize({**answer, "RequestId": "req"})
    return model


def sdk_event(payload: dict[str, Any]) -> Any:
    content = models.EventContent()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        content._deserialize({**payload, "EventHandle": "h"})
    return content


class Harness:
    def __init__(self, fmt: str = "v3", rules: Any = None, seed: int = 11, state: Any = None):
        self.published: list[Any] = []
        self.library = Library(seed, state=state)

        async def publish(payload: Any) -> None:
            self.published.append(payload)

        self.flows = Flows(self.library, publish=publish, fmt=fmt, speed=0, rules=rules, clock=lambda: NOW)

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            answer = await self.flows.handlers[action](params)
            await self.flows.drain(5)
            return answer

        answer = asyncio.run(go())
        assert not self.flows.errors
        sdk(action, answer)
        return answer

    def upload(self, name: str = "Demo clip", **params: Any) -> str:
        applied = self.call("ApplyUpload", MediaType="mp4", MediaName=name, **params)
        return str(self.call("CommitUpload", VodSessionKey=applied["VodSessionKey"])["FileId"])


@pytest.fixture
def vod() -> Callable[..., Harness]:
    return Harness


def test_upload_then_procedure_gives_finish_with_transcode_urls(vod: Callable[..., Harness]) -> None:
    h = vod()
    file_id = h.upload()
    assert [p["EventType"] for p in h.published] == ["NewFileUpload"]
    assert h.published[0]["FileUploadEvent"]["FileId"] == file_id
    task_id = h.call(
        "ProcessMediaByProcedure", FileId=file_id, ProcedureName="LongVideoPreset", TasksNotifyMode="Change"
    )["TaskId"]
    states = [(p["EventType"], p["ProcedureStateChangeEvent"]["Status"]) for p in h.published[1:]]
    assert states == [("ProcedureStateChanged", "PROCESSING"), ("ProcedureStateChanged", "FINISH")]
    for payload in h.published:
        sdk_event(payload)
    finish = h.published[-1]["ProcedureStateChangeEvent"]
    assert finish["TaskId"] == task_id and finish["FileId"] == file_id
    detail = sdk("DescribeTaskDetail", h.call("DescribeTaskDetail", TaskId=task_id)).ProcedureTask
    assert detail.Status == "FINISH"
    urls = [r.TranscodeTask.Output.Url for r in detail.MediaProcessResultSet if r.Type == "Transcode"]
    assert urls == [
        r["TranscodeTask"]["Output"]["Url"]
        for r in finish["MediaProcessResultSet"]
        if r["Type"] == "Transcode"
    ]
    assert len(urls) == 4
    info = sdk("DescribeMediaInfos", h.call("DescribeMediaInfos", FileIds=[file_id, "123"]))
    assert info.NotExistFileIdSet == ["123"]
    assert sorted(t.Url for t in info.MediaInfoSet[0].TranscodeInfo.TranscodeSet) == sorted(urls)


def test_v2_account_gets_v2_callbacks_with_the_same_facts(vod: Callable[..., Harness]) -> None:
    h = vod(fmt="v2")
    file_id = h.upload()
    task_id = h.call("ProcessMediaByProcedure", FileId=file_id, ProcedureName="LongVideoPreset")["TaskId"]
    finish = h.published[-1]
    assert finish["eventType"] == "ProcedureStateChanged" and finish["data"]["vodTaskId"] == task_id
    v2_urls = [t["output"]["url"] for t in finish["data"]["processTaskList"] if t["taskType"] == "Transcode"]
    detail = h.call("DescribeTaskDetail", TaskId=task_id)["ProcedureTask"]
    v3_urls = [
        r["TranscodeTask"]["Output"]["Url"]
        for r in detail["MediaProcessResultSet"]
        if r["Type"] == "Transcode"
    ]
    assert v2_urls == v3_urls and v2_urls


def test_rule_fails_named_files_and_unknown_ids_get_real_errors(vod: Callable[..., Harness]) -> None:
    rules = parse_rules({"rules": [{"action": "ProcessMedia", "name": "*corrupt*", "fail": 30009}]})
    h = vod(rules=rules)
    good, bad = h.upload("fine"), h.upload("corrupt take")
    request = {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}}
    h.call("ProcessMedia", FileId=good, **request)
    h.call("ProcessMedia", FileId=bad, **request)
    ok, failed = (
        p["ProcedureStateChangeEvent"]["MediaProcessResultSet"][0]["TranscodeTask"] for p in h.published[-2:]
    )
    assert (ok["Status"], ok["ErrCode"]) == ("SUCCESS", 0)
    assert (failed["Status"], failed["ErrCode"]) == ("FAIL", 30009)
    with pytest.raises(ApiError) as err:
        h.call("DescribeTaskDetail", TaskId="nope")
    assert err.value.code == "ResourceNotFound"
    with pytest.raises(ApiError) as err:
        h.call("ProcessMedia", FileId="404", **request)
    assert err.value.code == "ResourceNotFound.FileNotExist"
    with pytest.raises(ApiError) as err:
        h.call("ProcessMediaByProcedure", FileId=good, ProcedureName="NoSuchFlow")
    assert err.value.code == "InvalidParameter.ProcedureNameNotExist"


def test_pull_upload_and_third_times_out(vod: Callable[..., Harness]) -> None:
    h = vod(
        rules=parse_rules(
            {
                "rules": [{"action": "PullUpload", "nth": 3, "timeout": True}],
                "procedures": {"Mine": {"tasks": ["Transcode"]}},
            }
        )
    )
    tasks = [
        h.call("PullUpload", MediaUrl=f"https://example.com/v/{i}.mp4", Procedure="Mine")["TaskId"]
        for i in range(3)
    ]
    pulls = [p for p in h.published if p["EventType"] == "PullComplete"]
    assert [p["PullCompleteEvent"]["TaskId"] for p in pulls] == tasks[:2]
    assert len([p for p in h.published if p["EventType"] == "ProcedureStateChanged"]) == 2
    for p in h.published:
        sdk_event(p)
    third = sdk("DescribeTaskDetail", h.call("DescribeTaskDetail", TaskId=tasks[2]))
    assert third.Status == "PROCESSING"
    first = h.call("DescribeTaskDetail", TaskId=tasks[0])
    assert first["PullUploadTask"]["FileId"] in h.library.media
    assert first["PullUploadTask"]["ProcedureTaskId"] in h.library.tasks


def test_edit_compose_delete_publish_search_and_tasks(vod: Callable[..., Harness]) -> None:
    h = vod()
    a, b = h.upload("alpha one"), h.upload("beta two")
    edit = h.call(
        "EditMedia",
        InputType="File",
        FileInfos=[{"FileId": a}, {"FileId": b}],
        OutputConfig={"MediaName": "joined"},
    )
    edited = h.call("DescribeTaskDetail", TaskId=edit["TaskId"])["EditMediaTask"]
    assert edited["Output"]["FileId"] in h.library.media
    compose = h.call(
        "ComposeMedia", Tracks=[{"Type": "Video", "TrackItems": []}], Output={"FileName": "composed"}
    )
    assert h.call("DescribeTaskDetail", TaskId=compose["TaskId"])["ComposeMediaTask"]["Status"] == "FINISH"
    publish = h.call("WeChatMiniProgramPublish", FileId=a)
    assert (
        h.call("DescribeTaskDetail", TaskId=publish["TaskId"])["WechatMiniProgramPublishTask"][
            "PublishResult"
        ]
        == "Pass"
    )
    found = h.call("SearchMedia", Names=["alpha"])
    assert [m["FileId"] for m in found["MediaInfoSet"]] == [a]
    assert h.call("SearchMedia", NamePrefixes=["beta"])["TotalCount"] == 1
    assert h.call("SearchMedia", CreateTime={"After": "2030-01-01T00:00:00Z"})["TotalCount"] == 0
    h.call("DeleteMedia", FileId=b)
    assert h.published[-1] == {
        "EventType": "FileDeleted",
        "FileDeleteEvent": {"FileIdSet": [b]},
    } or h.published[-1]["FileDeleteEvent"]["FileIdSet"] == [b]
    assert h.call("DescribeMediaInfos", FileIds=[b])["NotExistFileIdSet"] == [b]
    listed = h.call("DescribeTasks", Limit=2)
    assert len(listed["TaskSet"]) == 2 and listed["ScrollToken"]
    rest = h.call("DescribeTasks", Limit=100, ScrollToken=listed["ScrollToken"])
    assert len(rest["TaskSet"]) == 1 and rest["ScrollToken"] == ""
    for p in h.published:
        sdk_event(p)


@pytest.mark.parametrize(
    ("mode", "states"), [("Finish", ["FINISH"]), ("Change", ["PROCESSING", "FINISH"]), ("None", [])]
)
def test_tasks_notify_mode_decides_the_posts_not_the_work(
    vod: Callable[..., Harness], mode: str, states: list[str]
) -> None:
    h = vod()
    file_id = h.upload()
    h.published.clear()
    task_id = h.call(
        "ProcessMediaByProcedure", FileId=file_id, ProcedureName="ShortVideoPreset", TasksNotifyMode=mode
    )["TaskId"]
    assert [p["ProcedureStateChangeEvent"]["Status"] for p in h.published] == states
    assert h.call("DescribeTaskDetail", TaskId=task_id)["Status"] == "FINISH"
    with pytest.raises(ApiError) as err:
        h.call(
            "ProcessMediaByProcedure",
            FileId=file_id,
            ProcedureName="ShortVideoPreset",
            TasksNotifyMode="Often",
        )
    assert err.value.code == "InvalidParameterValue.TasksNotifyMode"
