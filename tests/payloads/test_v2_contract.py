"""The v2 contract: every documented field of the seed is producible, with its type and values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emitter.payloads.catalog import load_catalog
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.payloads.render import RenderSession
from tests.payloads.v2_docs import doc_paths, seed_table_names

CATALOG = load_catalog()
V2_EVENTS = [event_type for event_type, spec in CATALOG.events.items() if "v2" in spec.templates]
SEEDS = (1, 2, 3, 42, 2024)
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Array": (list,),
    "Object": (dict,),
}
# Parameter sets that, together, switch on every optional part of an event.
FULL_PARAMS: dict[str, list[dict[str, Any]]] = {
    "NewFileUpload": [{"source_type": "Record"}, {}],
    "ProcedureStateChanged": [
        {
            "tasks": list(PROCESS_TASK_TYPES),
            "drm": True,
            "mosaic": True,
            "review": "block",
            "ai_analysis": ["Classification", "Tag"],
        },
        {"state": "PROCESSING", "review": "review", "status": "fail"},
    ],
}


def _renders(session: Callable[..., RenderSession], event_type: str) -> list[dict[str, Any]]:
    payloads = []
    for seed in SEEDS:
        for params in FULL_PARAMS.get(event_type, [{}]):
            payloads.append(session(seed).render_event(event_type, params))
    return payloads


@pytest.mark.parametrize("event_type", V2_EVENTS)
def test_every_documented_field_is_produced(event_type: str, session: Callable[..., RenderSession]) -> None:
    documented = {doc.path for doc in CATALOG.events[event_type].fields["v2"]}
    produced: set[str] = set()
    for payload in _renders(session, event_type):
        produced |= set(doc_paths(payload))
    assert documented - produced == set()


@pytest.mark.parametrize("event_type", V2_EVENTS)
def test_every_produced_field_is_documented_with_its_type_and_values(
    event_type: str, session: Callable[..., RenderSession]
) -> None:
    docs = {doc.path: doc for doc in CATALOG.events[event_type].fields["v2"]}
    for payload in _renders(session, event_type):
        for path, value in doc_paths(payload).items():
            assert path in docs, f"undocumented field {path}"
            doc = docs[path]
            assert isinstance(value, JSON_TYPES[doc.type]) and not isinstance(value, bool), (path, value)
            if doc.values:
                assert value in doc.values, (path, value, doc.values)


def test_field_docs_cover_every_row_of_the_seed_tables() -> None:
    anchors = seed_table_names()
    for event_type, spec in CATALOG.events.items():
        if "v2" not in spec.templates:
            continue
        leaves = {doc.path.split(".")[-1].split("[")[0] for doc in spec.fields["v2"]}
        assert anchors[event_type] - leaves == set(), event_type


@pytest.mark.parametrize("event_type", V2_EVENTS)
def test_envelope(event_type: str, session: Callable[..., RenderSession]) -> None:
    payload = session().render_event(event_type)
    assert payload["version"] == "4.0"
    assert payload["eventType"] == event_type
    assert isinstance(payload["data"], dict)


def test_task_output_exists_only_when_the_task_succeeded(session: Callable[..., RenderSession]) -> None:
    payload = session().render_event(
        "procedure",
        {
            "tasks": list(PROCESS_TASK_TYPES),
            "failed_tasks": ["PullFile", "ImageSprites"],
            "state": "PROCESSING",
        },
    )
    statuses = []
    for task in payload["data"]["processTaskList"]:
        statuses.append(task["status"])
        assert ("output" in task) == (task["status"] == "SUCCESS"), task
    assert {"PROCESSING", "SUCCESS", "FAIL"} <= set(statuses)


def test_failed_task_carries_the_requested_err_code(session: Callable[..., RenderSession]) -> None:
    for code in (30009, 30010):
        payload = session().render_event("procedure", {"status": "fail", "task_err_code": code})
        failed = [t for t in payload["data"]["processTaskList"] if t["status"] == "FAIL"]
        assert [t["errCode"] for t in failed] == [code]
        assert failed[0]["taskType"] == "Transcode"


def test_values_agree_inside_one_payload(session: Callable[..., RenderSession]) -> None:
    for seed in SEEDS:
        data = session(seed).render_event("procedure", {"tasks": ["Transcode"]})["data"]
        meta = data["metaData"]
        video, audio = meta["videoStreamList"][0], meta["audioStreamList"][0]
        assert meta["bitrate"] == video["bitrate"] + audio["bitrate"]
        assert (meta["width"], meta["height"]) == (video["width"], video["height"])
        assert meta["size"] == meta["bitrate"] * meta["duration"] // 8
        output = data["processTaskList"][0]["output"]
        assert output["height"] <= meta["height"]
        assert abs(output["width"] / output["height"] - meta["width"] / meta["height"]) < 0.02
        assert data["fileId"] in output["url"]


def test_transcode_failure_has_only_the_failure_fields(session: Callable[..., RenderSession]) -> None:
    data = session().render_event("transcode", {"status": "fail", "err_code": 30009})["data"]
    assert set(data) == {"status", "message", "vodTaskId", "fileId"}
    assert data["status"] == 30009


def test_concat_failure_outputs_have_status_minus_one_and_four(session: Callable[..., RenderSession]) -> None:
    data = session().render_event("concat", {"status": "fail"})["data"]
    assert [item["status"] for item in data["fileInfo"]] == [-1, 4]
    assert all("fileId" not in item and item["message"] for item in data["fileInfo"])


def test_porn_review_block_has_block_and_review_segments(session: Callable[..., RenderSession]) -> None:
    data = session().render_event("procedure", {"review": "block"})["data"]
    review = data["contentReviewList"][0]
    assert review["output"]["suggestion"] == "block"
    segments = review["output"]["segments"]
    assert [s["suggestion"] for s in segments] == ["block", "review"]
    assert all(s["startTimeOffset"] <= s["endTimeOffset"] for s in segments)
    assert segments[0]["confidence"] >= 90 > segments[1]["confidence"] >= 50
