"""v3 payloads: SDK EventContent as strict schema, doc variants, v2/v3 agreement, PULL, field docs."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models

from emitter.errors import TemplateError, UsageError
from emitter.payloads.catalog import load_catalog
from emitter.payloads.envelopes import MAX_EVENTS_PER_PULL, pull_responses
from emitter.payloads.options import check_options, parse_options
from emitter.payloads.profiles import PROFILES
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.payloads.render import Renderer, RenderSession, encode_payload
from emitter.scenarios.loader import builtin_scenarios, load_scenario, parse_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW
from tests.helpers import cli

CATALOG = load_catalog()
SEEDS = (1, 2, 3)
# EventType -> object key, from the v3 data types (reference §2.2), not from the templates.
OBJECT_KEYS = {
    "NewFileUpload": "FileUploadEvent",
    "PullComplete": "PullCompleteEvent",
    "FileDeleted": "FileDeleteEvent",
    "ProcedureStateChanged": "ProcedureStateChangeEvent",
    "EditMediaComplete": "EditMediaCompleteEvent",
    "WechatPublishComplete": "WechatPublishCompleteEvent",
    "TranscodeComplete": "TranscodeCompleteEvent",
    "CreateSnapshotByTimeOffsetComplete": "SnapshotByTimeOffsetCompleteEvent",
    "CreateImageSpriteComplete": "CreateImageSpriteCompleteEvent",
    "ClipComplete": "ClipCompleteEvent",
    "ConcatComplete": "ConcatCompleteEvent",
}
# The events above; those the SDK's EventContent added later are covered by test_v3_events.py.
V3_EVENTS = [e for e in OBJECT_KEYS if "v3" in CATALOG.events[e].templates]
# The 2019 docs' body keys, in their order (e.g. the ConcatComplete v3 page of 2020).
KEYS_2019 = [
    "FileUploadEvent",
    "ProcedureStateChangeEvent",
    "FileDeleteEvent",
    "PullCompleteEvent",
    "EditMediaComplete",
    "WechatPublishComplete",
    "TranscodeCompleteEvent",
    "ConcatCompleteEvent",
    "ClipCompleteEvent",
    "CreateImageSpriteCompleteEvent",
    "SnapshotByTimeOffsetCompleteEvent",
]
# Parameter sets that, together, switch on every optional part of the v3 templates.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "NewFileUpload": [
        {"source_type": "Record", "class_name": "Sports", "tags": ["outdoor"], "review_task_id": "r1"},
        {"source_type": "ServerUpload"},
    ],
    "PullComplete": [{"session_context": '{"u":1}', "session_id": "s1", "review_task_id": "r1"}],
    "FileDeleted": [{"delete_parts": ["TranscodeFiles", "WechatPublishFiles"], "file_ids": ["1", "2"]}],
    "ProcedureStateChanged": [
        {
            "tasks": list(PROCESS_TASK_TYPES),
            "drm": True,
            "mosaic": True,
            "review": "block",
            "ai_analysis": ["Classification", "Tag"],
            "session_context": "{}",
            "session_id": "s1",
            "operator": "System",
            "operation_type": "TSC",
        },
        {"tasks": list(PROCESS_TASK_TYPES), "failed_tasks": list(PROCESS_TASK_TYPES)},
        {"state": "PROCESSING", "review": "review", "review_status": "PROCESSING"},
        {"review": "pass", "review_status": "FAIL", "status": "fail"},
    ],
    "EditMediaComplete": [
        {"input_type": "Stream"},
        {
            "input_file_ids": ["1", "2"],
            "procedure_task_id": "p1",
            "review_task_id": "r1",
            "session_id": "s1",
            "session_context": "{}",
        },
    ],
    "WechatPublishComplete": [{"state": "WAITING"}, {"wechat_vid": "wxv_1", "wechat_url": "https://w/1"}],
}
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Array": (list,),
    "Object": (dict,),
    "Null": (type(None),),
}
DISCRIMINATED = {"MediaProcessResultSet", "AiContentReviewResultSet", "AiAnalysisResultSet"}


DOCS = {"profile": "docs"}


@pytest.fixture
def session(renderer: Renderer) -> Callable[..., RenderSession]:
    """This module checks the docs profile's shape (tests/payloads/test_wire.py checks wire's)."""

    def make(seed: int = 7, fmt: str = "v2", **options: object) -> RenderSession:
        return renderer.session(seed=seed, now=NOW, fmt=fmt, options={**DOCS, **options})

    return make


def strict(body: bytes) -> models.EventContent:
    """Deserialize into the SDK's EventContent; its "fileds are useless" warning is an error."""
    content = models.EventContent()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        content._deserialize(json.loads(body))
    return content


def renders(session: Callable[..., RenderSession], event_type: str, **options: Any) -> Iterator[Any]:
    spec = CATALOG.events[event_type]
    for seed in SEEDS:
        for params in [{"status": outcome} for outcome in spec.outcomes] + VARIANTS.get(event_type, []):
            yield session(seed, "v3", **options).render_event(spec, params)


def doc_paths(node: Any, prefix: str = "") -> dict[str, Any]:
    """Every path of a payload in the field docs' notation (`a.b[].c`, `list[Type=X].d`)."""
    paths: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            paths[path] = value
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        marker = f"[Type={item.get('Type')}]" if key in DISCRIMINATED else "[]"
                        paths.update(doc_paths(item, path + marker))
            else:
                paths.update(doc_paths(value, path))
    return paths


# --- the SDK as the schema ----------------------------------------------------------------------
@pytest.mark.parametrize("event_type", V3_EVENTS)
def test_every_payload_deserializes_strictly_into_its_event_object(
    event_type: str, session: Callable[..., RenderSession]
) -> None:
    key = OBJECT_KEYS[event_type]
    for payload in renders(session, event_type):
        assert list(payload) == ["EventType", key]
        content = strict(encode_payload(payload))
        assert content.EventType == event_type
        event = getattr(content, key)
        assert event is not None
        assert any(value is not None for value in vars(event).values())


@pytest.mark.parametrize("name", list(builtin_scenarios()))
def test_every_builtin_scenario_runs_unchanged_in_v3(name: str, renderer: Renderer) -> None:
    scenario = load_scenario(name)
    for seed in SEEDS:
        v2 = list(render_events(scenario, seed=seed, now=NOW, fmt="v2", renderer=renderer, options=DOCS))
        v3 = list(render_events(scenario, seed=seed, now=NOW, fmt="v3", renderer=renderer, options=DOCS))
        assert [e.event_type for e in v3] == [e.event_type for e in v2]
        for event in v3:
            content = strict(event.body)
            assert getattr(content, OBJECT_KEYS[event.event_type]) is not None


def test_keep_nulls_keeps_null_fields_and_stays_strict(session: Callable[..., RenderSession]) -> None:
    payload = session(1, "v3", keep_nulls=True).render_event("upload", {"review_task_id": None})
    assert payload["FileUploadEvent"]["ReviewAudioVideoTaskId"] is None
    assert strict(encode_payload(payload)).FileUploadEvent.FileId


@pytest.mark.parametrize("event_type", V3_EVENTS)
def test_null_event_keys_print_every_2019_key_in_order_and_the_sdk_warns(
    event_type: str, session: Callable[..., RenderSession]
) -> None:
    payload = session(1, "v3", null_event_keys=True).render_event(event_type)
    key = OBJECT_KEYS[event_type]
    slot = {
        "EditMediaCompleteEvent": "EditMediaComplete",
        "WechatPublishCompleteEvent": "WechatPublishComplete",
    }
    expected = [key if name == slot.get(key, key) else name for name in KEYS_2019]
    assert list(payload) == ["EventType", *expected]
    assert [name for name in expected if payload[name] is not None] == [key]
    unknown = {"EditMediaComplete", "WechatPublishComplete"} - {slot.get(key)}
    content = models.EventContent()
    with pytest.warns(UserWarning, match="fileds are useless") as caught:
        content._deserialize(json.loads(encode_payload(payload)))
    named = set(re.findall(r"\w+", str(caught[0].message))) - {"fileds", "are", "useless"}
    assert named == unknown
    assert getattr(content, key) is not None


def test_null_event_keys_keep_the_templates_null_fields(session: Callable[..., RenderSession]) -> None:
    event = session(1, "v3", null_event_keys=True).render_event("upload")["FileUploadEvent"]
    assert "ReviewAudioVideoTaskId" in event and event["ReviewAudioVideoTaskId"] is None


def test_wechat_key_docs_spelling_warns_and_leaves_the_sdk_key_empty(
    session: Callable[..., RenderSession],
) -> None:
    payload = session(1, "v3", wechat_key="WechatPublishComplete").render_event("wechat-publish")
    assert list(payload) == ["EventType", "WechatPublishComplete"]
    content = models.EventContent()
    with pytest.warns(UserWarning, match="WechatPublishComplete fileds are useless"):
        content._deserialize(payload)
    assert content.WechatPublishCompleteEvent is None
    default = session(1, "v3").render_event("wechat-publish")
    assert default["WechatPublishCompleteEvent"] == payload["WechatPublishComplete"]


def test_wechat_outcomes(session: Callable[..., RenderSession]) -> None:
    done = session(2, "v3").render_event("wechat-publish")["WechatPublishCompleteEvent"]
    assert (done["WechatStatus"], done["ErrCode"], done["Message"]) == ("SUCCESS", 0, "SUCCESS")
    assert done["WechatVid"].startswith("wxv_") and done["WechatVid"] in done["WechatUrl"]
    failed = session(2, "v3").render_event("wechat-publish", {"status": "fail"})["WechatPublishCompleteEvent"]
    assert failed["WechatStatus"] == "FAIL" and failed["ErrCode"] != 0
    assert "WechatVid" not in failed and "WechatUrl" not in failed
    waiting = session(2, "v3").render_event("wechat-publish", {"state": "WAITING"})
    waiting = waiting["WechatPublishCompleteEvent"]
    assert (waiting["Status"], waiting["WechatStatus"]) == ("WAITING", "NOTTRIGGERED")


def test_edit_media_output_exists_only_when_it_succeeded(session: Callable[..., RenderSession]) -> None:
    done = session(4, "v3").render_event("edit", {"input_file_ids": ["11", "12"]})["EditMediaCompleteEvent"]
    assert [f["FileId"] for f in done["Input"]["FileInfoSet"]] == ["11", "12"]
    assert done["Output"]["FileId"] in done["Output"]["FileUrl"]
    assert done["TaskId"].startswith(done["Output"]["FileUrl"].split("//")[1].split(".")[0] + "-EditMedia-")
    failed = session(4, "v3").render_event("edit", {"status": "fail"})["EditMediaCompleteEvent"]
    assert "Output" not in failed and "MetaData" not in failed
    assert (failed["ErrCode"], failed["ErrCodeExt"]) == (70000, "InternalError")
    stream = session(4, "v3").render_event("edit", {"input_type": "Stream"})["EditMediaCompleteEvent"]
    assert stream["Input"]["StreamInfoSet"][0]["StreamId"] and "FileInfoSet" not in stream["Input"]


def test_edit_and_wechat_have_no_v2_form(session: Callable[..., RenderSession]) -> None:
    for event in ("edit", "wechat-publish"):
        with pytest.raises(TemplateError, match="no v2 form; it exists in: v3"):
            session(1, "v2").render_event(event)


def test_procedure_maps_v2_concepts_to_v3(session: Callable[..., RenderSession]) -> None:
    params = {
        "tasks": list(PROCESS_TASK_TYPES),
        "failed_tasks": ["CoverBySnapshot"],
        "task_err_code": 30009,
        "review": "block",
        "ai_analysis": ["Classification", "Tag"],
    }
    event = session(5, "v3").render_event("procedure", params)["ProcedureStateChangeEvent"]
    results = event["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == [t for t in PROCESS_TASK_TYPES if t != "PullFile"]
    subtasks = {
        "Transcode": "TranscodeTask",
        "AnimatedGraphics": "AnimatedGraphicTask",
        "SampleSnapshot": "SampleSnapshotTask",
        "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask",
        "CoverBySnapshot": "CoverBySnapshotTask",
        "ImageSprites": "ImageSpriteTask",
        "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask",
    }
    for result in results:
        assert set(result) == {"Type", subtasks[result["Type"]]}
    cover = results[4]["CoverBySnapshotTask"]
    assert (cover["Status"], cover["ErrCode"], cover["ErrCodeExt"]) == ("FAIL", 30009, "SourceFileError")
    assert "Output" not in cover and "FinishTime" in cover
    porn = event["AiContentReviewResultSet"][0]
    assert porn["Type"] == "Porn" and porn["PornTask"]["Output"]["Suggestion"] == "block"
    assert [a["Type"] for a in event["AiAnalysisResultSet"]] == ["Classification", "Tag"]
    assert event["TasksNotifyMode"] == "Change"


# --- the same facts in v2 and v3 --------------------------------------------------------------
def _get(node: Any, path: str) -> Any:
    """The value at a dotted path (None when absent); `name[*]` maps the rest over a list."""
    head, _, rest = path.partition(".")
    key = head.removesuffix("[*]")
    value = node.get(key) if isinstance(node, dict) else None
    if head.endswith("[*]") and value is not None:
        return [_get(item, rest) if rest else item for item in value]
    return _get(value, rest) if rest else value


# (v2 path, v3 path) pairs of the same fact; [*] maps the rest of the path over a list.
SHARED: dict[str, list[tuple[str, str]]] = {
    "NewFileUpload": [
        ("data.fileId", "FileUploadEvent.FileId"),
        ("data.procedureTaskId", "FileUploadEvent.ProcedureTaskId"),
        ("data.fileUrl", "FileUploadEvent.MediaBasicInfo.MediaUrl"),
        ("data.coverUrl", "FileUploadEvent.MediaBasicInfo.CoverUrl"),
        ("data.fileName", "FileUploadEvent.MediaBasicInfo.Name"),
        ("data.sourceContext", "FileUploadEvent.MediaBasicInfo.SourceInfo.SourceContext"),
    ],
    "PullComplete": [
        ("data.vodTaskId", "PullCompleteEvent.TaskId"),
        ("data.status", "PullCompleteEvent.ErrCode"),
        ("data.fileId", "PullCompleteEvent.FileId"),
        ("data.fileUrl", "PullCompleteEvent.FileUrl"),
    ],
    "ProcedureStateChanged": [
        ("data.vodTaskId", "ProcedureStateChangeEvent.TaskId"),
        ("data.status", "ProcedureStateChangeEvent.Status"),
        ("data.errCode", "ProcedureStateChangeEvent.ErrCode"),
        ("data.fileId", "ProcedureStateChangeEvent.FileId"),
        ("data.metaData.md5", "ProcedureStateChangeEvent.MetaData.Md5"),
        ("data.metaData.size", "ProcedureStateChangeEvent.MetaData.Size"),
    ],
    "TranscodeComplete": [
        ("data.vodTaskId", "TranscodeCompleteEvent.TaskId"),
        ("data.status", "TranscodeCompleteEvent.ErrCode"),
        ("data.fileId", "TranscodeCompleteEvent.FileId"),
        ("data.playSet[*].url", "TranscodeCompleteEvent.PlayInfoSet[*].Url"),
        ("data.playSet[*].definition", "TranscodeCompleteEvent.PlayInfoSet[*].Definition"),
        ("data.playSet[*].vbitrate", "TranscodeCompleteEvent.PlayInfoSet[*].Bitrate"),
    ],
    "CreateSnapshotByTimeOffsetComplete": [
        ("data.vodTaskId", "SnapshotByTimeOffsetCompleteEvent.TaskId"),
        ("data.fileId", "SnapshotByTimeOffsetCompleteEvent.FileId"),
        ("data.picInfo[*].status", "SnapshotByTimeOffsetCompleteEvent.SnapshotInfoSet[*].ErrCode"),
        ("data.picInfo[*].url", "SnapshotByTimeOffsetCompleteEvent.SnapshotInfoSet[*].Url"),
        ("data.picInfo[*].timeOffset", "SnapshotByTimeOffsetCompleteEvent.SnapshotInfoSet[*].TimeOffset"),
    ],
    "CreateImageSpriteComplete": [
        ("data.vodTaskId", "CreateImageSpriteCompleteEvent.TaskId"),
        ("data.status", "CreateImageSpriteCompleteEvent.ErrCode"),
        ("data.fileId", "CreateImageSpriteCompleteEvent.FileId"),
        ("data.imageSpriteUrl", "CreateImageSpriteCompleteEvent.ImageSpriteUrlSet"),
        ("data.webVttUrl", "CreateImageSpriteCompleteEvent.WebVttUrl"),
    ],
    "ClipComplete": [
        ("data.vodTaskId", "ClipCompleteEvent.TaskId"),
        ("data.srcFileId", "ClipCompleteEvent.SrcFileId"),
        ("data.fileInfo.status", "ClipCompleteEvent.FileInfo.ErrCode"),
        ("data.fileInfo.fileId", "ClipCompleteEvent.FileInfo.FileId"),
        ("data.fileInfo.fileUrl", "ClipCompleteEvent.FileInfo.FileUrl"),
    ],
    "ConcatComplete": [
        ("data.vodTaskId", "ConcatCompleteEvent.TaskId"),
        ("data.fileInfo[*].status", "ConcatCompleteEvent.FileInfoSet[*].ErrCode"),
        ("data.fileInfo[*].fileId", "ConcatCompleteEvent.FileInfoSet[*].FileId"),
        ("data.fileInfo[*].fileUrl", "ConcatCompleteEvent.FileInfoSet[*].FileUrl"),
    ],
}


def _subtasks_v2(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (t["taskType"], t["status"], t["errCode"], sorted(_urls(t.get("output"))))
        for t in data["processTaskList"]
        if t["taskType"] != "PullFile"
    ]


def _subtasks_v3(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    found = []
    for result in event.get("MediaProcessResultSet", []):
        if result["Type"] == "AdaptiveDynamicStreaming":
            continue  # v2 task flows have no adaptive streaming
        task = next(v for k, v in result.items() if k != "Type" and v is not None)
        found.append((result["Type"], task["Status"], task["ErrCode"], sorted(_urls(task.get("Output")))))
    return found


def _urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _urls(value)
    elif isinstance(node, str) and node.startswith("http"):
        yield node


def _v2_urls(payload: dict[str, Any]) -> set[str]:
    """URLs of a v2 payload that v3 can carry (v3 has no PullFile sub-task and no drm)."""
    data = dict(payload["data"])
    data.pop("drm", None)
    data["processTaskList"] = [t for t in data.get("processTaskList", []) if t["taskType"] != "PullFile"]
    return set(_urls(data))


def _review(task: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    """A content review's facts, given its status, code, output, suggestion, ... key names."""
    status, code, output, suggestion, confidence, segments, start, url = keys
    result = task.get(output) or {}
    found = [(s[start], s[suggestion], s[url]) for s in result.get(segments, [])]
    return task[status], task[code], result.get(suggestion), result.get(confidence), found


def _shared_output(output: dict[str, Any]) -> dict[str, Any]:
    """What a v3 analysis output shares with v2 (the wire adds the SDK's file URL fields)."""
    return {k: v for k, v in output.items() if k in ("ClassificationSet", "TagSet")}


def _zero_as_absent(value: Any) -> Any:
    """The wire prints an absent string as "" and an absent list as [] (v3 fills every SDK field)."""
    if isinstance(value, list):
        return [_zero_as_absent(v) for v in value] or None
    return None if value == "" else value


def assert_same_facts(
    event_type: str, v2: dict[str, Any], v3: dict[str, Any], where: Any, *, wire: bool = False
) -> None:
    """The facts a v2 payload shares with its v3 twin are equal (ids, task ids, urls, statuses, codes)."""
    assert _v2_urls(v2) <= set(_urls(v3)), where
    for v2_path, v3_path in SHARED.get(event_type, []):
        if wire:
            assert _zero_as_absent(_get(v2, v2_path)) == _zero_as_absent(_get(v3, v3_path)), (where, v2_path)
        else:
            assert _get(v2, v2_path) == _get(v3, v3_path), (where, v2_path)
    if event_type == "ProcedureStateChanged":
        data, event = v2["data"], v3["ProcedureStateChangeEvent"]
        assert _subtasks_v2(data) == _subtasks_v3(event), where
        reviews = [
            _review(
                r,
                "status",
                "errCode",
                "output",
                "suggestion",
                "confidence",
                "segments",
                "startTimeOffset",
                "url",
            )
            for r in data["contentReviewList"]
        ]
        porn = [
            _review(
                r["PornTask"],
                "Status",
                "ErrCode",
                "Output",
                "Suggestion",
                "Confidence",
                "SegmentSet",
                "StartTimeOffset",
                "Url",
            )
            for r in event.get("AiContentReviewResultSet", [])
            if r["Type"] == "Porn"  # v2 reviews show Porn only
        ]
        assert reviews == porn, where
        analyses = [json.dumps(a["output"], sort_keys=True).lower() for a in data["aIAnalysisList"]]
        outputs = [
            json.dumps(_shared_output(a[a["Type"] + "Task"]["Output"]), sort_keys=True).lower()
            for a in event.get("AiAnalysisResultSet", [])
            if a["Type"] in ("Classification", "Tag")  # v2 analyses show these only
        ]
        assert [
            a.replace("classifications", "classificationset").replace('"tags"', '"tagset"') for a in analyses
        ] == outputs, where
    if event_type == "FileDeleted":
        ids = [item["fileId"] for item in v2["data"]["fileInfo"]]
        deleted = v3["FileDeleteEvent"]["FileIdSet"]
        assert deleted == (ids if v2["data"]["status"] == 0 else []), where


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", list(builtin_scenarios()))
def test_v2_and_v3_agree_on_every_shared_fact(name: str, profile: str, renderer: Renderer) -> None:
    scenario = load_scenario(name)
    options = {"profile": profile}
    for seed in (*SEEDS, 42, 2024):
        pairs = zip(
            render_events(scenario, seed=seed, now=NOW, fmt="v2", renderer=renderer, options=options),
            render_events(scenario, seed=seed, now=NOW, fmt="v3", renderer=renderer, options=options),
            strict=True,
        )
        for old, new in pairs:
            assert_same_facts(
                old.event_type, old.payload, new.payload, (name, seed, old.label), wire=profile == "wire"
            )


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("event_type", [e for e in V3_EVENTS if "v2" in CATALOG.events[e].templates])
def test_v2_and_v3_agree_for_every_variant_of_an_event(
    event_type: str, profile: str, session: Callable[..., RenderSession]
) -> None:
    spec = CATALOG.events[event_type]
    for seed in SEEDS:
        for params in [{"status": outcome} for outcome in spec.outcomes] + VARIANTS.get(event_type, []):
            v2 = session(seed, "v2", profile=profile).render_event(spec, params)
            v3 = session(seed, "v3", profile=profile).render_event(spec, params)
            assert_same_facts(event_type, v2, v3, (seed, params), wire=profile == "wire")


def test_the_file_and_task_ids_flow_between_steps_in_v3(renderer: Renderer) -> None:
    events = [
        e.payload
        for e in render_events(load_scenario("happy-path"), seed=3, now=NOW, fmt="v3", renderer=renderer)
    ]
    upload = events[0]["FileUploadEvent"]
    started, finished = (e["ProcedureStateChangeEvent"] for e in events[1:3])
    transcode = events[3]["TranscodeCompleteEvent"]
    assert upload["FileId"] == started["FileId"] == finished["FileId"] == transcode["FileId"]
    assert upload["ProcedureTaskId"] == started["TaskId"] == finished["TaskId"]
    assert (started["Status"], finished["Status"]) == ("PROCESSING", "FINISH")


def test_scenario_options_reach_the_templates(renderer: Renderer) -> None:
    text = "version: 1\nformat: v3\noptions: {null_event_keys: true}\nsteps:\n  - event: clip\n"
    event = next(render_events(parse_scenario(text), seed=1, now=NOW, renderer=renderer, options=DOCS))
    assert list(event.payload)[1:] == KEYS_2019


# --- PULL envelope ------------------------------------------------------------------------------
def _payloads(session: Callable[..., RenderSession], count: int) -> list[Any]:
    events = ["upload", "procedure", "transcode", "concat", "edit", "wechat-publish"]
    one = session(8, "v3")
    return [one.render_event(events[i % len(events)]) for i in range(count)]


def test_pull_batches_at_most_16_events_in_order(session: Callable[..., RenderSession]) -> None:
    payloads = _payloads(session, 40)
    responses = list(pull_responses(payloads, fmt="v3", seed=5))
    sets = [r["Response"]["EventSet"] for r in responses]
    assert [len(s) for s in sets] == [16, 16, 8] and MAX_EVENTS_PER_PULL == 16
    events = [e for s in sets for e in s]
    handles = [e.pop("EventHandle") for e in events]
    assert events == payloads
    assert len(set(handles)) == len(handles) and all(re.fullmatch(r"[0-9a-f]{32}", h) for h in handles)
    request_ids = [r["Response"]["RequestId"] for r in responses]
    assert all(uuid.UUID(i).version == 4 for i in request_ids) and len(set(request_ids)) == 3


def test_pull_responses_deserialize_strictly_and_replay_per_seed(
    session: Callable[..., RenderSession],
) -> None:
    payloads = _payloads(session, 20)
    first = [encode_payload(r) for r in pull_responses(payloads, fmt="v3", seed=5)]
    assert first == [encode_payload(r) for r in pull_responses(payloads, fmt="v3", seed=5)]
    assert first != [encode_payload(r) for r in pull_responses(payloads, fmt="v3", seed=6)]
    for body in first:
        response = models.PullEventsResponse()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            response._deserialize(json.loads(body)["Response"])
        assert all(e.EventHandle and e.EventType for e in response.EventSet)


def test_pull_v2_uses_the_legacy_pull_event_shape(session: Callable[..., RenderSession]) -> None:
    payload = session(1).render_event("upload")
    (response,) = pull_responses([payload], fmt="v2", seed=1)
    assert response["code"] == 0 and response["message"] == ""
    assert response["eventList"][0]["eventContent"] == payload and response["eventList"][0]["msgHandle"]


def test_pull_refuses_cdnetworks_and_raw_bodies() -> None:
    with pytest.raises(UsageError, match="cdnetworks format has no pull envelope"):
        list(pull_responses([{}], fmt="cdnetworks", seed=1))
    with pytest.raises(UsageError, match="raw body"):
        list(pull_responses([{"EventType": "X"}, "not json"], fmt="v3", seed=1))


# --- options ------------------------------------------------------------------------------------
def test_options_are_checked_with_a_did_you_mean() -> None:
    assert parse_options(["null_event_keys=true", "wechat_key=WechatPublishComplete"]) == {
        "null_event_keys": True,
        "wechat_key": "WechatPublishComplete",
    }
    with pytest.raises(UsageError, match="unknown option 'keep_null'; did you mean 'keep_nulls'"):
        parse_options(["keep_null=true"])
    with pytest.raises(UsageError, match="must be bool"):
        check_options({"keep_nulls": "yes"})
    with pytest.raises(UsageError, match="must be one of WechatPublishCompleteEvent, WechatPublishComplete"):
        check_options({"wechat_key": "Wechat"})


# --- field docs ---------------------------------------------------------------------------------
OPTION_SETS: dict[str, list[dict[str, Any]]] = {
    "WechatPublishComplete": [{}, {"wechat_key": "WechatPublishComplete"}, {"null_event_keys": True}],
}


@pytest.mark.parametrize("event_type", V3_EVENTS)
def test_v3_field_docs_match_the_payloads_both_ways(
    event_type: str, session: Callable[..., RenderSession]
) -> None:
    docs = {doc.path: doc for doc in CATALOG.events[event_type].fields["v3"]}
    produced: set[str] = set()
    for options in OPTION_SETS.get(event_type, [{}, {"null_event_keys": True}]):
        for payload in renders(session, event_type, **options):
            for path, value in doc_paths(payload).items():
                produced.add(path)
                assert path in docs, f"undocumented field {path}"
                doc = docs[path]
                if value is None and doc.type != "Null":
                    continue  # null fields are kept by null_event_keys: "absent"
                assert isinstance(value, JSON_TYPES[doc.type]) and not isinstance(value, bool), (path, value)
                if doc.values:
                    assert value in doc.values, (path, value, doc.values)
    assert set(docs) - produced == set()


def test_v3_field_types_are_the_sdk_model_types() -> None:
    def sdk_type(path: str) -> str:
        cls: Any = models.EventContent
        kind = ""
        for part in re.sub(r"\[[^\]]*\]", "", path).split("."):
            part = {"WechatPublishComplete": "WechatPublishCompleteEvent"}.get(part, part)
            types = dict(re.findall(r"^\s*:type (\w+): (.+)$", cls.__init__.__doc__ or "", re.MULTILINE))
            kind = types[part].strip()
            nested = re.search(r"models\.(\w+)`|^list of (\w+)$", kind)
            name = nested and (nested.group(1) or nested.group(2))
            cls = getattr(models, name) if name and hasattr(models, name) else None
        if kind.startswith("list of"):
            return "Array"
        return "Object" if ":class:" in kind else {"str": "String", "int": "Integer", "float": "Float"}[kind]

    for event_type in V3_EVENTS:
        for doc in CATALOG.events[event_type].fields["v3"]:
            if doc.type != "Null":
                assert doc.type == sdk_type(doc.path), doc.path


# --- the command line ---------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli(*args, "--now", "2024-05-01T12:00:00Z")


def test_cli_edit_in_v2_is_one_clean_line() -> None:
    result = _cli("render", "edit", "--format", "v2", "--seed", "1")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "error: EditMediaComplete has no v2 form; it exists in: v3"
    assert "Traceback" not in result.stderr


def test_cli_option_and_pull_envelope() -> None:
    plain = _cli(
        "render",
        "happy-path",
        "-f",
        "v3",
        "--seed",
        "4",
        "--profile",
        "docs",
        "--option",
        "null_event_keys=true",
    )
    assert plain.returncode == 0, plain.stderr
    events = [json.loads(line) for line in plain.stdout.splitlines()]
    assert all(list(e)[1:] == KEYS_2019 for e in events)
    pulled = _cli(
        "render",
        "happy-path",
        "-f",
        "v3",
        "--seed",
        "4",
        "--option",
        "null_event_keys=true",
        "--profile",
        "docs",
        "--envelope",
        "pull",
    )
    assert pulled.returncode == 0, pulled.stderr
    (response,) = [json.loads(line) for line in pulled.stdout.splitlines()]
    event_set = response["Response"]["EventSet"]
    assert [{k: v for k, v in e.items() if k != "EventHandle"} for e in event_set] == events
    bad = _cli("render", "upload", "-f", "v3", "--seed", "4", "--option", "wechat_ky=x")
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].startswith(
        "error: --option: unknown option 'wechat_ky'; did you mean 'wechat_key'?"
    )
