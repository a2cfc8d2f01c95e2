"""Every stateful action through the real SDK: each answer fills the SDK's model, no field unknown."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from emitter.vodapi.flows import ACTIONS, LocalFlows


class Sdk:
    """Calls the SDK and records every warning it raises while deserializing."""

    def __init__(self, vod_flows: LocalFlows):
        self.client = vod_flows.client()
        self.called: set[str] = set()
        self.warnings: list[str] = []

    def __call__(self, action: str, **params: Any) -> Any:
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(params))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answer = getattr(self.client, action)(request)
        self.warnings += [str(w.message) for w in caught]
        self.called.add(action)
        return answer


def test_every_action_answers_in_the_sdk_model_without_unknown_fields(vod_flows: LocalFlows) -> None:
    sdk = Sdk(vod_flows)
    applied = sdk("ApplyUpload", MediaType="mp4", MediaName="first", Procedure="ShortVideoPreset")
    assert applied.TempCertificate.SecretId and applied.VodSessionKey
    file_id = sdk("CommitUpload", VodSessionKey=applied.VodSessionKey).FileId
    pulled = sdk("PullUpload", MediaUrl="https://example.com/media/second.mp4", MediaName="second")
    processed = sdk(
        "ProcessMedia",
        FileId=file_id,
        MediaProcessTask={
            "TranscodeTaskSet": [{"Definition": 100020}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}],
        },
        TasksNotifyMode="Change",
    )
    by_procedure = sdk("ProcessMediaByProcedure", FileId=file_id, ProcedureName="LongVideoPreset")
    vod_flows.settle()
    second = vod_flows.library.tasks[pulled.TaskId].file_id
    edited = sdk("EditMedia", InputType="File", FileInfos=[{"FileId": file_id}, {"FileId": second}])
    composed = sdk(
        "ComposeMedia",
        Tracks=[{"Type": "Video", "TrackItems": [{"Type": "Video", "VideoItem": {"SourceMedia": file_id}}]}],
        Output={"FileName": "composed"},
    )
    published = sdk("WeChatMiniProgramPublish", FileId=file_id)
    vod_flows.settle()
    for task_id in (
        pulled.TaskId,
        processed.TaskId,
        by_procedure.TaskId,
        edited.TaskId,
        composed.TaskId,
        published.TaskId,
    ):
        detail = sdk("DescribeTaskDetail", TaskId=task_id)
        assert detail.Status == "FINISH"
    assert sdk("DescribeTaskDetail", TaskId=by_procedure.TaskId).ProcedureTask.FileId == file_id
    tasks = sdk("DescribeTasks", FileId=file_id, Limit=100).TaskSet
    assert {t.TaskId for t in tasks} >= {processed.TaskId, by_procedure.TaskId, published.TaskId}
    info = sdk("DescribeMediaInfos", FileIds=[file_id]).MediaInfoSet[0]
    assert info.BasicInfo.Name == "first" and info.TranscodeInfo.TranscodeSet
    assert sdk("SearchMedia", Names=["second"]).MediaInfoSet[0].FileId == second
    sdk("DeleteMedia", FileId=second)
    vod_flows.settle()
    assert sdk("DescribeMediaInfos", FileIds=[second]).NotExistFileIdSet == [second]
    assert sdk.called == set(ACTIONS)
    assert [w for w in sdk.warnings if "useless" in w] == []
    for callback in vod_flows.callbacks:  # every callback emitted fills the SDK's EventContent too
        content = models.EventContent()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            content._deserialize({**callback.payload, "EventHandle": "h"})


@pytest.mark.parametrize(
    ("action", "params", "code"),
    [
        ("DescribeTaskDetail", {"TaskId": "1256768367-Procedure-none"}, "ResourceNotFound"),
        (
            "ProcessMediaByProcedure",
            {"FileId": "5285890784273533167", "ProcedureName": "LongVideoPreset"},
            "ResourceNotFound.FileNotExist",
        ),
        ("DeleteMedia", {"FileId": "5285890784273533167"}, "ResourceNotFound.FileNotExist"),
        ("CommitUpload", {"VodSessionKey": "bm9wZQ=="}, "InvalidParameterValue.VodSessionKey"),
        ("DescribeStorageData", {}, "UnsupportedOperation"),
    ],
)
def test_errors_are_the_services(
    vod_flows: LocalFlows, action: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as raised:
        Sdk(vod_flows)(action, **params)
    assert raised.value.code == code
    if code == "UnsupportedOperation":
        assert action in raised.value.message


def test_unknown_procedure_gets_the_real_error(vod_flows: LocalFlows) -> None:
    sdk = Sdk(vod_flows)
    key = sdk("ApplyUpload", MediaType="mp4", MediaName="x").VodSessionKey
    file_id = sdk("CommitUpload", VodSessionKey=key).FileId
    with pytest.raises(TencentCloudSDKException) as raised:
        sdk("ProcessMediaByProcedure", FileId=file_id, ProcedureName="NoSuchFlow")
    assert raised.value.code == "InvalidParameter.ProcedureNameNotExist"
