"""The wire profile: production's shape (captured bodies, the SDK's structs), docs' facts."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models
from typer.testing import CliRunner

from emitter.cli import app
from emitter.errors import ScenarioError, UsageError
from emitter.payloads.catalog import load_catalog
from emitter.payloads.profiles import ERAS, ZERO_TIME, sdk_structs
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.payloads.render import Renderer, RenderSession, encode_payload
from emitter.scenarios.loader import builtin_scenarios, load_scenario, parse_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW
from tests.payloads.sdk_structs import render_file
from tests.payloads.v2_docs import doc_paths

CATALOG = load_catalog()
CAPTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "captures"
V3_EVENTS = [name for name, spec in CATALOG.events.items() if "v3" in spec.templates]
# Keys production sends that the SDK's EventContent lacks (the 2021 capture's spelling).
PRODUCTION_ONLY_KEYS = {"WechatMiniProgramPublishEvent"}
# What each capture was rendered from: (format, event, params, options).
CAPTURE_RENDERS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "v3-ProcedureStateChanged-2021.json": (
        "v3",
        "procedure",
        {
            "tasks": ["ImageSprites", "CoverBySnapshot", "AdaptiveDynamicStreaming"],
            "tasks_notify_mode": "Finish",
        },
        {"era": "2021"},
    ),
    "v2-NewFileUpload-2019.json": ("v2", "upload", {}, {}),
}


def key_types(node: Any, prefix: str = "") -> dict[str, str]:
    """Every key path of a JSON value with its JSON type (list items merged under `[]`)."""
    kind = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "object"}
    found = {prefix: "null" if node is None else kind[type(node)]}
    if isinstance(node, dict):
        for key, value in node.items():
            found.update(key_types(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(node, list):
        for item in node:
            for path, item_kind in key_types(item, f"{prefix}[]").items():
                found.setdefault(path, item_kind)
    return found


def wire(session: Callable[..., RenderSession], seed: int, fmt: str, **options: Any) -> RenderSession:
    return session(seed, fmt, profile="wire", **options)


# --- the captures ------------------------------------------------------------------------------
def _capture_names() -> list[str]:
    return sorted(p.name for p in CAPTURES.glob("*.json")) if CAPTURES.is_dir() else []


@pytest.mark.parametrize("name", _capture_names() or ["(none)"])
def test_wire_produces_every_key_path_of_a_captured_body_with_its_type(
    name: str, session: Callable[..., RenderSession]
) -> None:
    if not CAPTURES.is_dir():
        pytest.skip(f"no captures at {CAPTURES} (the shared reference folder beside the repository)")
    assert name in CAPTURE_RENDERS, f"a new capture {name}: say which event renders it in CAPTURE_RENDERS"
    captured = key_types(json.loads((CAPTURES / name).read_text(encoding="utf-8")))
    fmt, event, params, options = CAPTURE_RENDERS[name]
    for seed in (1, 2, 3):
        ours = key_types(wire(session, seed, fmt, **options).render_event(event, params))
        missing = sorted(set(captured) - set(ours))
        assert missing == [], (name, seed)
        differ = {
            p: (captured[p], ours[p]) for p in captured if captured[p] != ours[p] and captured[p] != "null"
        }
        assert differ == {}, (name, seed)


def test_the_captured_2021_body_has_the_2021_eras_event_keys() -> None:
    if not CAPTURES.is_dir():
        pytest.skip(f"no captures at {CAPTURES}")
    body = json.loads((CAPTURES / "v3-ProcedureStateChanged-2021.json").read_text(encoding="utf-8"))
    assert [k for k in body if k != "EventType"] == list(sdk_structs().era_keys["2021"])


# --- the SDK as the schema ----------------------------------------------------------------------
def _bodies(session: Callable[..., RenderSession], event_type: str, **options: Any) -> Iterator[Any]:
    spec = CATALOG.events[event_type]
    for seed in (1, 2):
        for outcome in spec.outcomes:
            yield wire(session, seed, "v3", **options).render_event(spec, {"status": outcome})


def _deserialize(payload: Any) -> tuple[models.EventContent, set[str]]:
    content = models.EventContent()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        content._deserialize(json.loads(encode_payload(payload)))
    useless = set()
    for warning in caught:
        text = str(warning.message)
        assert text.endswith(" fileds are useless."), text
        useless |= set(text.removesuffix(" fileds are useless.").split(","))
    return content, useless


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("event_type", V3_EVENTS)
def test_every_wire_body_deserializes_into_its_event_object(
    event_type: str, era: str, session: Callable[..., RenderSession]
) -> None:
    structs = sdk_structs()
    for payload in _bodies(session, event_type, era=era):
        content, useless = _deserialize(payload)
        assert useless <= PRODUCTION_ONLY_KEYS, useless
        own = [k for k, v in payload.items() if isinstance(v, dict)]
        assert len(own) == 1 and own[0] in structs.event_structs
        event = getattr(content, own[0])
        assert event is not None and any(value is not None for value in vars(event).values())
        siblings = [k for k in payload if k not in ("EventType", own[0])]
        assert all(payload[k] is None for k in siblings)
        assert set(siblings) | {own[0]} >= set(structs.era_keys[era]) - {own[0]}


def test_every_sdk_field_of_the_event_object_is_present_with_a_zero_value(
    session: Callable[..., RenderSession],
) -> None:
    event = wire(session, 3, "v3").render_event(
        "procedure", {"tasks": list(PROCESS_TASK_TYPES), "state": "PROCESSING", "review": "block"}
    )["ProcedureStateChangeEvent"]
    names = [name for name, _ in sdk_structs().raw["ProcedureTask"]]
    assert list(event)[: len(names)] == names
    assert (event["SessionContext"], event["SessionId"], event["AiRecognitionResultSet"]) == ("", "", [])
    first = event["MediaProcessResultSet"][0]
    siblings = [name for name, _ in sdk_structs().raw["MediaProcessTaskResult"] if name != "Type"]
    running = [k for k in siblings if first[k] is not None]
    assert len(running) == 1 and all(k in first for k in siblings)
    task = first[running[0]]
    assert task["Status"] == "PROCESSING" and task["FinishTime"] == ZERO_TIME and task["Progress"] == 0
    done = event["MediaProcessResultSet"][1]
    done_task = next(v for k, v in done.items() if k != "Type" and v is not None)
    assert done_task["Message"] == "SUCCESS" and done_task["ErrCodeExt"] == ""


# --- receivers written against production --------------------------------------------------------
def node_style_review_loop(param: dict[str, Any]) -> int:
    """`for (x of param.AiContentReviewResultSet)`: JavaScript throws on null or a missing key."""
    items = param.get("AiContentReviewResultSet")
    if not isinstance(items, list):
        raise TypeError("param.AiContentReviewResultSet is not iterable")
    return sum(1 for _ in items)


def _task_flow_bodies(renderer: Renderer) -> Iterator[dict[str, Any]]:
    for name in builtin_scenarios():
        for event in render_events(load_scenario(name), seed=5, now=NOW, fmt="v3", renderer=renderer):
            if event.event_type == "ProcedureStateChanged":
                yield event.payload["ProcedureStateChangeEvent"]
    spec = CATALOG.events["ProcedureStateChanged"]
    for outcome in spec.outcomes:
        session = renderer.session(seed=6, now=NOW, fmt="v3")
        yield session.render_event(spec, {"status": outcome})["ProcedureStateChangeEvent"]


def test_the_node_style_review_loop_runs_on_every_v3_task_flow_body(renderer: Renderer) -> None:
    bodies = list(_task_flow_bodies(renderer))
    assert len(bodies) >= 8
    for body in bodies:
        node_style_review_loop(body)
    with pytest.raises(TypeError):  # what the docs profile gives such a receiver
        docs = renderer.session(seed=6, now=NOW, fmt="v3", options={"profile": "docs"})
        node_style_review_loop(docs.render_event("procedure")["ProcedureStateChangeEvent"])


# --- one seed, the same facts ---------------------------------------------------------------------
def test_docs_and_wire_share_ids_sizes_and_statuses(session: Callable[..., RenderSession]) -> None:
    for seed in (1, 2, 3):
        docs = session(seed, "v3", profile="docs").render_event("procedure", {"tasks": ["Transcode"]})
        live = session(seed, "v3", profile="wire").render_event("procedure", {"tasks": ["Transcode"]})
        d, w = docs["ProcedureStateChangeEvent"], live["ProcedureStateChangeEvent"]
        assert (d["FileId"], d["Status"], d["MetaData"]["Size"]) == (
            w["FileId"],
            w["Status"],
            w["MetaData"]["Size"],
        )
        dt, wt = (e["MediaProcessResultSet"][0]["TranscodeTask"] for e in (d, w))
        assert (dt["Status"], dt["Output"]["Size"]) == (wt["Status"], wt["Output"]["Size"])
        assert int(w["MetaData"]["Duration"]) == d["MetaData"]["Duration"]
        assert isinstance(w["MetaData"]["Duration"], float)


def test_wire_ids_and_urls_have_production_shapes(session: Callable[..., RenderSession]) -> None:
    event = wire(session, 4, "v3").render_event(
        "procedure", {"tasks": ["ImageSprites", "CoverBySnapshot", "AdaptiveDynamicStreaming"]}
    )["ProcedureStateChangeEvent"]
    app_id, kind, rest = event["TaskId"].split("-")
    assert kind == "procedurev2" and len(rest.rstrip("t0")) == 32 and rest[32:] in ("t0", "tt0")
    source = event["FileUrl"].rsplit("/", 1)[1]
    assert len(source) == len("CFJFijgLOlIA.mp4") and source[:12].isalpha()
    urls = [json.dumps(r) for r in event["MediaProcessResultSet"]]
    assert all(f"vodtranscq{app_id}/" in u for u in urls)
    assert "imageSprite_10_0.jpg" in urls[0] and "coverBySnapshot_10_0.jpg" in urls[1]
    assert '/adp.10.m3u8"' in urls[2]


def test_the_same_seed_gives_the_same_wire_bytes(renderer: Renderer) -> None:
    scenario = load_scenario("happy-path")
    runs = [
        [e.body for e in render_events(scenario, seed=9, now=NOW, fmt="v3", renderer=renderer)]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


# --- choosing a profile ---------------------------------------------------------------------------
def test_a_step_can_pin_its_own_profile(renderer: Renderer) -> None:
    text = "version: 1\nformat: v3\nsteps:\n  - event: clip\n  - event: clip\n    profile: docs\n"
    first, second = render_events(parse_scenario(text), seed=1, now=NOW, renderer=renderer)
    assert "FileUploadEvent" in first.payload and "FileUploadEvent" not in second.payload
    scenario_docs = parse_scenario("version: 1\nformat: v3\nprofile: docs\nsteps:\n  - event: clip\n")
    (only,) = render_events(scenario_docs, seed=1, now=NOW, renderer=renderer)
    assert list(only.payload) == ["EventType", "ClipCompleteEvent"]


def test_bad_profiles_are_one_line_errors(renderer: Renderer) -> None:
    with pytest.raises(ScenarioError, match=r"unknown profile 'wyre'.*did you mean 'wire'"):
        parse_scenario("version: 1\nsteps:\n  - event: clip\n    profile: wyre\n")
    with pytest.raises(UsageError, match="must be one of current, 2021"):
        renderer.session(seed=1, now=NOW, fmt="v3", options={"era": "2019"})


def test_cli_profile_and_era_flags() -> None:
    runner = CliRunner()
    args = ["render", "clip", "-f", "v3", "--seed", "1", "--now", "2024-05-01T12:00:00Z"]
    docs = runner.invoke(app, [*args, "--profile", "docs"])
    old = runner.invoke(app, [*args, "--era", "2021"])
    assert docs.exit_code == 0 and old.exit_code == 0, (docs.output, old.output)
    assert list(json.loads(docs.stdout.splitlines()[-1])) == ["EventType", "ClipCompleteEvent"]
    assert "WechatMiniProgramPublishEvent" in json.loads(old.stdout.splitlines()[-1])
    bad = runner.invoke(app, [*args, "--profile", "doc"])
    assert bad.exit_code == 2 and "did you mean 'docs'" in bad.output


def test_the_shipped_struct_tables_match_the_installed_sdk() -> None:
    shipped = (Path(__file__).resolve().parents[2] / "templates" / "data" / "sdk-structs.json").read_text()
    assert shipped == render_file(), "run python -m tests.payloads.sdk_structs"


# --- the full task-flow scenarios -----------------------------------------------------------------
@pytest.mark.parametrize("profile", ["docs", "wire"])
def test_the_full_task_flow_reaches_every_documented_v2_field(profile: str, renderer: Renderer) -> None:
    events = list(
        render_events(
            load_scenario("full-task-flow"),
            seed=2,
            now=NOW,
            fmt="v2",
            renderer=renderer,
            options={"profile": profile},
        )
    )
    for event_type in ("NewFileUpload", "ProcedureStateChanged"):
        documented = {
            doc.path
            for doc in CATALOG.events[event_type].fields["v2"]
            if profile == "wire" or not doc.description.startswith("Wire profile only")
        }
        produced = {path for e in events if e.event_type == event_type for path in doc_paths(e.payload)}
        assert documented - produced == set(), event_type


def test_the_full_v3_scenario_reaches_every_task_review_analysis_and_recognition_type(
    renderer: Renderer,
) -> None:
    structs = sdk_structs()
    for profile in ("docs", "wire"):
        *_, finished = render_events(
            load_scenario("full-task-flow-v3"),
            seed=2,
            now=NOW,
            renderer=renderer,
            options={"profile": profile},
        )
        event = finished.payload["ProcedureStateChangeEvent"]
        for key, struct in (
            ("MediaProcessResultSet", "MediaProcessTaskResult"),
            ("AiContentReviewResultSet", "AiContentReviewResult"),
            ("AiAnalysisResultSet", "AiAnalysisResult"),
            ("AiRecognitionResultSet", "AiRecognitionResult"),
        ):
            task_keys = [name for name, _ in structs.raw[struct] if name != "Type"]
            found = {next(k for k in item if k != "Type" and item[k] is not None) for item in event[key]}
            assert found == set(task_keys), (profile, key)
            for item in event[key]:
                task = next(v for k, v in item.items() if k != "Type" and v is not None)
                assert task["Status"] == "SUCCESS" and task["Progress"] == 100 and task["Output"]
        reviews = {item["Type"]: item for item in event["AiContentReviewResultSet"]}
        assert reviews["Terrorism"]["TerrorismTask"]["Output"]["Label"]
        content, useless = _deserialize(finished.payload)
        assert useless == set() and content.ProcedureStateChangeEvent.AiRecognitionResultSet


def test_wire_task_flows_review_the_seven_types_of_a_real_flow(session: Callable[..., RenderSession]) -> None:
    event = wire(session, 5, "v3").render_event("procedure", {"review": "pass"})["ProcedureStateChangeEvent"]
    assert [item["Type"] for item in event["AiContentReviewResultSet"]] == [
        "Porn",
        "Terrorism",
        "Political",
        "Porn.Asr",
        "Porn.Ocr",
        "Political.Asr",
        "Political.Ocr",
    ]
    docs = session(5, "v3", profile="docs").render_event("procedure", {"review": "pass"})
    assert [item["Type"] for item in docs["ProcedureStateChangeEvent"]["AiContentReviewResultSet"]] == [
        "Porn"
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_wire_facts_differ_from_the_docs_ones_only_where_declared(renderer: Renderer, seed: int) -> None:
    session = renderer.session(seed=seed, now=NOW, options={"profile": "wire"})
    wire = session.fake.wire_facts(session.facts)
    changed = {key for key, value in wire.items() if value != session.facts.get(key)}
    assert changed == set(session.fake.WIRE_FACTS) and wire.keys() == session.facts.keys()


@pytest.mark.parametrize("fmt", ["v2", "v3"])
def test_wire_facts_are_derived_only_for_a_step_that_needs_them_with_the_same_bytes(
    renderer: Renderer, fmt: str
) -> None:
    """A session whose first steps need none of the facts the wire changes derives them later, at
    the first step that does, and every body is what a session deriving them at once sends."""
    steps = ["delete", "upload", "delete", "procedure"]
    lazy = renderer.session(seed=5, now=NOW, fmt=fmt, options={"profile": "wire"})
    eager = renderer.session(seed=5, now=NOW, fmt=fmt, options={"profile": "wire"})
    eager._derive_wire_facts()
    for index, event in enumerate(steps):
        body = encode_payload(lazy.render_event(event))
        assert ("wire" in lazy._facts) is (index > 0)  # the upload's file URL is the first wire fact
        assert body == encode_payload(eager.render_event(event))
