"""Conformance: rendered payloads pass, and each kind of deviation is named precisely."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emitter.payloads.catalog import Catalog, EventSpec, FieldDoc, FormatSpec, load_catalog
from emitter.payloads.conformance import Checker, check, detect_format, parse_doc_path
from emitter.payloads.paths import set_path, unset_path
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.payloads.render import RenderSession, encode_payload

CATALOG = load_catalog()
SEEDS = (1, 2, 3, 42, 2024)
# Parameter sets that, together, switch on every optional part of the events.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "NewFileUpload": [{"source_type": kind} for kind in ("Record", "ClientUpload", "ServerUpload")],
    "ProcedureStateChanged": [
        {
            "tasks": list(PROCESS_TASK_TYPES),
            "drm": True,
            "mosaic": True,
            "review": "block",
            "ai_analysis": ["Classification", "Tag"],
        },
        {"tasks": list(PROCESS_TASK_TYPES), "failed_tasks": list(PROCESS_TASK_TYPES)},
        {"state": "PROCESSING", "review": "review", "review_status": "PROCESSING"},
        {"review": "pass", "review_status": "FAIL", "status": "fail"},
    ],
}


def _params(spec: EventSpec) -> list[dict[str, Any]]:
    by_outcome = [{"status": outcome} for outcome in spec.outcomes]
    return by_outcome + VARIANTS.get(spec.event_type, [])


def _payload(session: Callable[..., RenderSession], event: str, **params: Any) -> dict[str, Any]:
    payload: dict[str, Any] = session(7).render_event(event, params)
    return payload


def _problems(payload: Any) -> list[str]:
    return check(encode_payload(payload), CATALOG).problems


@pytest.mark.parametrize("event_type", [e for e, s in CATALOG.events.items() if "v2" in s.templates])
def test_rendered_v2_payloads_conform(event_type: str, session: Callable[..., RenderSession]) -> None:
    spec = CATALOG.events[event_type]
    for seed in SEEDS:
        for options in ({}, {"keep_nulls": True}):
            for params in _params(spec):
                body = encode_payload(session(seed, **options).render_event(spec, params))
                result = check(body, CATALOG)
                assert (result.format, result.event_type) == ("v2", event_type)
                assert result.checked
                assert result.problems == [], (seed, options, params)


@pytest.mark.parametrize(
    ("fmt", "event_type"),
    [(f, e) for e, s in CATALOG.events.items() for f in s.templates if f != "v2"],
)
def test_rendered_payloads_of_other_formats_are_recognised_and_conform(
    fmt: str, event_type: str, session: Callable[..., RenderSession]
) -> None:
    spec = CATALOG.events[event_type]
    for seed in SEEDS[:2]:
        for outcome in spec.outcomes:
            payload = session(seed, fmt).render_event(spec, {"status": outcome})
            result = check(encode_payload(payload), CATALOG)
            assert (result.format, result.event_type) == (fmt, event_type)
            assert result.checked == bool(spec.fields.get(fmt))
            assert result.problems == [], (seed, outcome)


@pytest.mark.parametrize(
    ("fmt", "path", "value", "problem"),
    [
        ("v3", "FileUploadEvent.FileId", 1, "FileUploadEvent.FileId: expected String, got Integer 1"),
        (
            "v3",
            "FileUploadEvent.fileId",
            "1",
            "undocumented field FileUploadEvent.fileId (did you mean 'FileId'?)",
        ),
        (
            "v3",
            "EventType",
            "FileUpload",
            "EventType: unknown event type 'FileUpload' (did you mean 'NewFileUpload'?)",
        ),
        (
            "cdnetworks",
            "data.videoListInfo[0].encrypt",
            2,
            "data.videoListInfo[0].encrypt: 2 is not one of 0, 1",
        ),
        (
            "cdnetworks",
            "data.videoListInfo[0].videoSize",
            12,
            "data.videoListInfo[0].videoSize: expected String, got Integer 12",
        ),
    ],
)
def test_deviations_in_other_formats(
    fmt: str, path: str, value: Any, problem: str, session: Callable[..., RenderSession]
) -> None:
    if not CATALOG.events["NewFileUpload"].fields.get(fmt):
        pytest.skip(f"no {fmt} field docs")
    payload = session(7, fmt).render_event("upload")
    set_path(payload, path, value)
    assert _problems(payload) == [problem]


def test_the_nine_seed_events_are_all_checked() -> None:
    documented = {e for e, s in CATALOG.events.items() if s.fields.get("v2")}
    assert {
        "NewFileUpload",
        "PullComplete",
        "FileDeleted",
        "ProcedureStateChanged",
        "TranscodeComplete",
        "CreateSnapshotByTimeOffsetComplete",
        "CreateImageSpriteComplete",
        "ClipComplete",
        "ConcatComplete",
    } <= documented


@pytest.mark.parametrize(
    ("event", "path", "value", "problem"),
    [
        ("upload", "data.fileId", 123, "data.fileId: expected String, got Integer 123"),
        (
            "upload",
            "data.sourceType",
            "Phone",
            'data.sourceType: "Phone" is not one of Record, ClientUpload, ServerUpload',
        ),
        ("upload", "data.foo", 1, "undocumented field data.foo"),
        ("upload", "data.fileID", "1", "undocumented field data.fileID (did you mean 'fileId'?)"),
        ("upload", "version", 4, "version: expected String, got Integer 4"),
        ("upload", "eventType", None, "eventType: expected String, got null"),
        ("pull", "data.status", True, "data.status: expected Integer, got Boolean true"),
        ("pull", "data.message", ["x"], 'data.message: expected String, got Array ["x"]'),
        ("delete", "data.fileInfo[0].fileId", 5, "data.fileInfo[0].fileId: expected String, got Integer 5"),
        ("delete", "data.fileInfo[0].extra", "x", "undocumented field data.fileInfo[0].extra"),
        ("clip", "data.fileInfo", [], "data.fileInfo: expected Object, got Array []"),
        ("concat", "data.fileInfo", {}, "data.fileInfo: expected Array, got Object {}"),
        (
            "sprite",
            "data.imageSpriteUrl",
            "http://x/1.jpg",
            'data.imageSpriteUrl: expected Array, got String "http://x/1.jpg"',
        ),
        ("procedure", "data.status", "DONE", 'data.status: "DONE" is not one of PROCESSING, FINISH'),
        (
            "procedure",
            "data.metaData.videoStreamList[0].fps",
            2.5,
            "data.metaData.videoStreamList[0].fps: expected Integer, got Float 2.5",
        ),
        (
            "procedure",
            "data.processTaskList[0].input.definition",
            "10",
            'data.processTaskList[0].input.definition: expected Integer, got String "10"',
        ),
        (
            "procedure",
            "data.processTaskList[0].input.startTime",
            1,
            "undocumented field data.processTaskList[0].input.startTime",
        ),
        ("procedure", "data", "x", 'data: expected Object, got String "x"'),
        ("procedure", "T", "soon", 'T: expected Integer, got String "soon"'),
    ],
)
def test_each_deviation_is_named(
    event: str, path: str, value: Any, problem: str, session: Callable[..., RenderSession]
) -> None:
    payload = _payload(session, event)
    set_path(payload, path, value)
    assert _problems(payload) == [problem]


def test_unknown_discriminator_value_names_the_kinds(session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "procedure", tasks=["Transcode"])
    payload["data"]["processTaskList"][0]["taskType"] = "Upscale"
    [problem] = _problems(payload)
    assert problem.startswith('data.processTaskList[0].taskType: "Upscale" is not one of Transcode, ')
    assert "ImageSprites" in problem
    del payload["data"]["processTaskList"][0]["taskType"]
    assert _problems(payload) == ["data.processTaskList[0]: missing taskType"]


def test_variant_fields_do_not_leak_between_task_types(session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "procedure", tasks=["Transcode", "PullFile"])
    tasks = payload["data"]["processTaskList"]
    pull = next(i for i, t in enumerate(tasks) if t["taskType"] == "PullFile")
    set_path(payload, f"data.processTaskList[{pull}].input.watermark", 1)
    assert _problems(payload) == [f"undocumented field data.processTaskList[{pull}].input.watermark"]


def test_float_accepts_integers_but_not_strings(session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "procedure", review="block")
    set_path(payload, "data.contentReviewList[0].output.confidence", 98)
    assert _problems(payload) == []
    set_path(payload, "data.contentReviewList[0].output.confidence", "98")
    assert _problems(payload) == [
        'data.contentReviewList[0].output.confidence: expected Float, got String "98"'
    ]


def test_documented_values_win_over_a_mistyped_column(session: Callable[..., RenderSession]) -> None:
    """The seed types Porn segments' suggestion as Float but fills it with pass/review/block."""
    payload = _payload(session, "procedure", review="block")
    segment = "data.contentReviewList[0].output.segments[0].suggestion"
    for good in ("pass", "review", "block"):
        set_path(payload, segment, good)
        assert _problems(payload) == []
    set_path(payload, segment, "maybe")
    [problem] = _problems(payload)
    assert problem.startswith(f'{segment}: "maybe" is not one of ')


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("eventType", "missing eventType"),
        ("data", "missing data"),
        ("version", "missing version"),
    ],
)
def test_missing_envelope_keys(key: str, problem: str, session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "concat")
    unset_path(payload, key)
    result = check(encode_payload(payload), CATALOG)
    assert result.format == "v2"
    assert problem in result.problems


def test_absent_documented_fields_and_nulls_inside_data_are_fine(
    session: Callable[..., RenderSession],
) -> None:
    payload = _payload(session, "upload")
    unset_path(payload, "data.fileName")
    payload["data"]["author"] = None
    assert _problems(payload) == []


def test_unknown_event_type_suggests_the_closest() -> None:
    body = b'{"version":"4.0","eventType":"NewFileUplod","data":{}}'
    result = check(body, CATALOG)
    assert (result.format, result.event_type) == ("v2", None)
    assert result.problems == ["eventType: unknown event type 'NewFileUplod' (did you mean 'NewFileUpload'?)"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty body"),
        (b"  \n", "empty body"),
        (b"{not json", "body is not JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe", "body is not JSON: "),
        (b"[1, 2]", "body is a JSON Array, not an object"),
        (b'"4.0"', "body is a JSON String, not an object"),
        (b'{"hello": 1}', "not a VOD callback: "),
    ],
)
def test_bodies_that_are_no_callback(body: bytes, problem: str) -> None:
    result = check(body, CATALOG)
    assert (result.format, result.event_type) == ("unknown", None)
    assert len(result.problems) == 1 and result.problems[0].startswith(problem)


def test_signature_fields_are_accepted_at_the_top_level(session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "upload")
    payload.update(Sign="0" * 32, T=1714564800)
    assert _problems(payload) == []
    strict = Checker(CATALOG, allow_signature=False)
    assert strict.check(encode_payload(payload)).problems == [
        "undocumented field Sign",
        "undocumented field T",
    ]


def test_payload_is_returned_parsed(session: Callable[..., RenderSession]) -> None:
    payload = _payload(session, "upload")
    assert check(json.dumps(payload), CATALOG).payload == payload


@pytest.mark.parametrize(
    ("payload", "fmt"),
    [
        ({"version": "4.0", "eventType": "X", "data": {}}, "v2"),
        ({"data": {}}, "v2"),
        ({"EventType": "NewFileUpload", "FileUploadEvent": {}}, "v3"),
        ({"code": 200, "data": {"videoListInfo": []}, "message": "ok"}, "cdnetworks"),
        ({"code": 200, "data": {}}, "v2"),
        ({"eventtype": "X"}, "unknown"),
        ([], "unknown"),
    ],
)
def test_detect_format(payload: Any, fmt: str) -> None:
    assert detect_format(payload) == fmt


def test_doc_path_syntax() -> None:
    assert parse_doc_path("data.processTaskList[taskType=Transcode].output.videoStreamList[].codec") == [
        ("data", []),
        ("processTaskList", ["taskType=Transcode"]),
        ("output", []),
        ("videoStreamList", [""]),
        ("codec", []),
    ]
    with pytest.raises(ValueError, match="bad field path"):
        parse_doc_path("data..x")


# A small catalog of its own exercises v3 and cdnetworks forms and the doc path features.
def _doc(path: str, kind: str, values: tuple[Any, ...] | None = None) -> FieldDoc:
    return FieldDoc(path, kind, "", values)


TOY = Catalog(
    formats={f: FormatSpec(f, "") for f in ("v2", "v3", "cdnetworks")},
    events={
        "NewFileUpload": EventSpec(
            event_type="NewFileUpload",
            aliases=("upload",),
            summary="",
            templates={"v3": "x", "cdnetworks": "y"},
            params={},
            outcomes={"success": {}},
            fields={
                "v3": (
                    _doc("EventType", "String", ("NewFileUpload",)),
                    _doc("FileUploadEvent.FileId", "String"),
                    _doc("FileUploadEvent.Tags", "Array of String"),
                    _doc("FileUploadEvent.Streams[].Codec", "String", ("h264", "h265")),
                    _doc("FileUploadEvent.Tasks[].Type", "String"),
                    _doc("FileUploadEvent.Tasks[Type=Cut].Start", "Float"),
                    _doc("FileUploadEvent.Meta", "Object"),
                ),
                "cdnetworks": (
                    _doc("code", "Integer"),
                    _doc("data.videoListInfo[].videoState", "String", ("0", "1")),
                    _doc("data.videoListInfo[].encrypt", "Integer", (0, 1)),
                    _doc("data.videoTotal", "Integer"),
                ),
            },
        ),
        "ClipComplete": EventSpec(
            event_type="ClipComplete",
            aliases=("clip",),
            summary="",
            templates={"v2": "z"},
            params={},
            outcomes={"success": {}},
        ),
    },
    template_dir=Path("."),
)


def _toy(payload: Any) -> list[str]:
    return Checker(TOY).check(json.dumps(payload)).problems


V3: dict[str, Any] = {
    "EventType": "NewFileUpload",
    "FileUploadEvent": {
        "FileId": "1",
        "Tags": ["a", "b"],
        "Streams": [{"Codec": "h264"}],
        "Tasks": [{"Type": "Cut", "Start": 1}, {"Type": "Other"}],
        "Meta": {"anything": {"goes": True}},
    },
}


def test_v3_form_with_generic_items_and_variants() -> None:
    result = Checker(TOY).check(json.dumps(V3))
    assert (result.format, result.event_type, result.problems) == ("v3", "NewFileUpload", [])
    broken = copy.deepcopy(V3)
    broken["FileUploadEvent"]["Tags"].append(3)
    broken["FileUploadEvent"]["Streams"][0]["Codec"] = "vp9"
    broken["FileUploadEvent"]["Tasks"][1]["Start"] = 2
    assert _toy(broken) == [
        "FileUploadEvent.Tags[2]: expected String, got Integer 3",
        'FileUploadEvent.Streams[0].Codec: "vp9" is not one of h264, h265',
        "undocumented field FileUploadEvent.Tasks[1].Start",
    ]


def test_implied_top_level_keys_are_required() -> None:
    assert _toy({"EventType": "NewFileUpload"}) == ["missing FileUploadEvent"]


def test_one_of_several_documented_event_objects_is_enough() -> None:
    docs = (
        _doc("EventType", "String"),
        _doc("PublishEvent.TaskId", "String"),
        _doc("Publish.TaskId", "String"),
    )
    spec = EventSpec("Publish", (), "", {"v3": "x"}, {}, {"success": {}}, fields={"v3": docs})
    checker = Checker(Catalog(TOY.formats, {"Publish": spec}, Path(".")))
    for key in ("PublishEvent", "Publish"):
        assert checker.check(json.dumps({"EventType": "Publish", key: {"TaskId": "t"}})).problems == []
    assert checker.check(b'{"EventType": "Publish"}').problems == ["missing one of PublishEvent, Publish"]


def test_cdnetworks_form_and_string_values_compare_as_text() -> None:
    body: dict[str, Any] = {
        "code": 200,
        "message": "ok",
        "data": {
            "videoTotal": 1,
            "videoListInfo": [
                {"videoState": "1", "encrypt": 0},
            ],
        },
    }
    result = Checker(TOY).check(json.dumps(body))
    assert (result.format, result.event_type, result.problems) == ("cdnetworks", "NewFileUpload", [])
    body["data"]["videoListInfo"][0].update(videoState="2", encrypt="0")
    assert _toy(body) == [
        'data.videoListInfo[0].videoState: "2" is not one of 0, 1',
        'data.videoListInfo[0].encrypt: expected Integer, got String "0"',
    ]


def test_event_without_field_docs_checks_only_the_envelope() -> None:
    result = Checker(TOY).check(b'{"version":"4.0","eventType":"ClipComplete","data":{"x":1}}')
    assert (result.event_type, result.checked, result.problems) == ("ClipComplete", False, [])
    result = Checker(TOY).check(b'{"version":4,"eventType":"ClipComplete","data":{}}')
    assert result.problems == ["version: expected String, got Integer 4"]


def test_event_without_that_format() -> None:
    result = Checker(TOY).check(b'{"EventType":"ClipComplete"}')
    assert result.problems == ["EventType: ClipComplete has no v3 form (forms: v2)"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["data", "eventType", "version", "fileInfo", "fileId", "processTaskList", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(noise=JSON, event=st.sampled_from(sorted(CATALOG.events)))
def test_arbitrary_json_never_raises(noise: Any, event: str) -> None:
    for payload in (noise, {"version": "4.0", "eventType": event, "data": noise}):
        result = check(json.dumps(payload), CATALOG)
        assert isinstance(result.problems, list)
