"""The v3 events the SDK's EventContent added to the seed's: SDK-clean, replayable, documented, listed."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models
from typer.testing import CliRunner

from emitter.cli import app
from emitter.errors import TemplateError
from emitter.payloads.catalog import EventSpec, load_catalog
from emitter.payloads.conformance import check
from emitter.payloads.profiles import ERAS, sdk_structs
from emitter.payloads.render import Renderer, RenderSession, encode_payload
from emitter.scenarios.loader import parse_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW
from tests.payloads.sdk_fields import (
    FIELDS_FILE,
    NEW_EVENTS,
    VARIANTS,
    can_report_errors,
    current_section,
    event_content_keys,
    section,
)
from tests.payloads.test_v3 import KEYS_2019, OBJECT_KEYS
from tests.payloads.test_wire import PRODUCTION_ONLY_KEYS

CATALOG = load_catalog()
SEEDS = (1, 2, 3)
CASES = [(event, outcome) for event in NEW_EVENTS for outcome in CATALOG.events[event].outcomes]


@pytest.fixture
def session(renderer: Renderer) -> Callable[..., RenderSession]:
    """Sessions of the docs profile: the shape the templates write (test_wire_* below checks wire's)."""

    def make(seed: int = 7, fmt: str = "v3", **options: object) -> RenderSession:
        return renderer.session(seed=seed, now=NOW, fmt=fmt, options={"profile": "docs", **options})

    return make


def deserialize(body: bytes) -> tuple[models.EventContent, list[str]]:
    """The SDK's EventContent of a body and the warnings its _deserialize gave."""
    content = models.EventContent()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        content._deserialize(json.loads(body))
    return content, [str(w.message) for w in caught]


def _draws(spec: EventSpec) -> bool:
    """Whether an event carries values of the run (ids, the video), not only its parameters."""
    return any(param.fact or param.draw for param in spec.params.values())


def populated(node: Any) -> bool:
    return any(value is not None for value in vars(node).values())


def test_the_catalog_has_every_event_of_the_sdks_event_content(session: Callable[..., RenderSession]) -> None:
    """A newer SDK with more events fails here, naming the EventContent keys the catalog lacks."""
    keys = [key for key in event_content_keys() if key not in ("EventHandle", "EventType")]
    covered = {**OBJECT_KEYS, **NEW_EVENTS}
    missing = sorted(set(keys) - set(covered.values()))
    assert missing == [], f"EventContent keys without a catalog event: {missing}"
    assert len(keys) == len(covered) == 37  # tencentcloud-sdk-python-vod 3.1.194
    one = session(1, "v3")
    for event_type, key in covered.items():
        assert key in one.render_event(event_type), event_type


@pytest.mark.parametrize(("event_type", "outcome"), CASES)
def test_every_outcome_is_sdk_clean_conformant_and_replays_per_seed(
    event_type: str, outcome: str, session: Callable[..., RenderSession]
) -> None:
    key = NEW_EVENTS[event_type]
    spec = CATALOG.events[event_type]
    for params in [{"status": outcome}, *VARIANTS.get(event_type, [])]:
        bodies = []
        for seed in SEEDS:
            payload = session(seed, "v3").render_event(spec, params)
            body = encode_payload(payload)
            assert body == encode_payload(session(seed, "v3").render_event(spec, params))
            assert list(payload) == ["EventType", key]
            content, caught = deserialize(body)
            assert caught == [], (event_type, params, caught)
            assert content.EventType == event_type
            assert populated(getattr(content, key))
            result = check(body, CATALOG)
            assert (result.format, result.event_type, result.problems) == ("v3", event_type, [])
            bodies.append(body)
        # another seed, another payload: unless the event carries no value of the run (configuration only)
        assert len(set(bodies)) == (len(SEEDS) if _draws(spec) else 1)


@pytest.mark.parametrize("event_type", list(NEW_EVENTS))
def test_2019_style_bodies_keep_the_event_object_and_only_the_docs_spellings_warn(
    event_type: str, session: Callable[..., RenderSession]
) -> None:
    payload = session(2, "v3", null_event_keys=True).render_event(event_type)
    key = NEW_EVENTS[event_type]
    assert list(payload) == ["EventType", *KEYS_2019, key]
    content, caught = deserialize(encode_payload(payload))
    (warning,) = caught
    assert set(re.findall(r"\w+", warning)) - {"fileds", "are", "useless"} == {
        "EditMediaComplete",
        "WechatPublishComplete",
    }
    assert populated(getattr(content, key))
    assert check(encode_payload(payload), CATALOG).problems == []


def test_field_docs_are_the_generated_ones(renderer: Renderer) -> None:
    """templates/v3/fields.yaml ends with what the generator makes of today's templates and SDK."""
    written = current_section(FIELDS_FILE.read_text(encoding="utf-8"))
    assert written == section(renderer), "run: python -m tests.payloads.sdk_fields"
    for event_type in NEW_EVENTS:
        assert CATALOG.events[event_type].fields["v3"], event_type


@pytest.mark.parametrize("event_type", list(NEW_EVENTS))
def test_only_v3_has_the_event_and_other_formats_refuse_it_in_one_line(
    event_type: str, session: Callable[..., RenderSession], renderer: Renderer
) -> None:
    spec = CATALOG.events[event_type]
    assert spec.formats == ("v3",) and spec.default_format == "v3"
    assert "v3 only" in spec.summary
    for fmt in ("v2", "cdnetworks"):
        with pytest.raises(TemplateError, match=f"^{event_type} has no {fmt} form; it exists in: v3$"):
            session(1, fmt).render_event(event_type)
    scenario = parse_scenario(f"version: 1\nsteps:\n  - event: upload\n  - event: {spec.kind}\n")
    with pytest.raises(TemplateError, match=f"{event_type} has no v2 form") as refused:
        next(render_events(scenario, seed=1, now=NOW, fmt="v2", renderer=renderer))
    assert refused.value.location and refused.value.location.endswith(":4")


def test_the_events_use_the_runs_video(session: Callable[..., RenderSession]) -> None:
    one = session(5, "v3")
    file_id, app_id = one.facts["file_id"], one.facts["app_id"]
    compose = one.render_event("compose")["ComposeMediaCompleteEvent"]
    assert {i["VideoItem"]["SourceMedia"] for i in compose["Input"]["Tracks"][0]["TrackItems"]} == {file_id}
    output = compose["Output"]
    assert output["FileId"] != file_id and output["FileId"] in output["FileUrl"]
    assert compose["TaskId"].startswith(f"{app_id}-ComposeMedia-")
    split = one.render_event("split", {"segments": 3})["SplitMediaCompleteEvent"]
    parts = split["FileInfoSet"]
    assert [p["Input"]["FileId"] for p in parts] == [file_id] * 3
    assert parts[-1]["Input"]["EndTimeOffset"] == pytest.approx(one.facts["media"]["duration"])
    assert len({p["Output"]["FileId"] for p in parts}) == 3
    review = one.render_event("review", {"status": "block"})["ReviewAudioVideoCompleteEvent"]
    assert review["Input"]["FileId"] == file_id and review["Output"]["Suggestion"] == "block"
    assert all(s["Suggestion"] == "block" and s["Confidence"] >= 90 for s in review["Output"]["SegmentSet"])
    assert f"{app_id}.vod2.myqcloud.com/" in review["Output"]["SegmentSetFileUrl"]


def _failed_parts(node: Any) -> list[dict[str, Any]]:
    """Every object of a payload that reports an error (the task itself or one of its sub-tasks)."""
    found = []
    if isinstance(node, dict):
        code, status = node.get("ErrCode", 0), node.get("Status")
        legacy_failure = type(status) is int and status != 0  # RestoreMediaTask's integer Status
        if code not in (0, "0") or node.get("ErrCodeExt") or status == "FAIL" or legacy_failure:
            found.append(node)
        for value in node.values():
            found += _failed_parts(value)
    elif isinstance(node, list):
        for value in node:
            found += _failed_parts(value)
    return found


def test_failures_carry_the_error_and_no_output(session: Callable[..., RenderSession]) -> None:
    one = session(6, "v3")
    for event_type, key in NEW_EVENTS.items():
        spec = CATALOG.events[event_type]
        # an event has a fail outcome exactly when its struct can report an error
        reports_errors = can_report_errors(key)
        assert ("fail" in spec.outcomes) == reports_errors, event_type
        if not reports_errors:
            continue
        assert _failed_parts(one.render_event(spec)[key]) == [], event_type
        failed = _failed_parts(one.render_event(spec, {"status": "fail"})[key])
        assert failed, event_type
        assert all(part["Message"] and "Output" not in part for part in failed), event_type


def test_events_lists_every_new_event_with_its_aliases() -> None:
    result = CliRunner().invoke(app, ["events"])
    assert result.exit_code == 0, result.output
    for event_type in NEW_EVENTS:
        spec = CATALOG.events[event_type]
        assert event_type in result.output and spec.kind in result.output
    shown = CliRunner().invoke(app, ["events", "show", "compose"])
    assert shown.exit_code == 0 and "ComposeMediaCompleteEvent.Input.Tracks" in shown.output


# --- the wire profile ---------------------------------------------------------------------------
def _cases(event_type: str) -> list[dict[str, Any]]:
    outcomes = [{"status": outcome} for outcome in CATALOG.events[event_type].outcomes]
    return outcomes + VARIANTS.get(event_type, [])


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("event_type", list(NEW_EVENTS))
def test_wire_bodies_fill_the_sdk_struct_and_warn_only_of_production_keys(
    event_type: str, era: str, renderer: Renderer
) -> None:
    key = NEW_EVENTS[event_type]
    fields = [name for name, _ in sdk_structs().raw[sdk_structs().event_structs[key]]]
    for params in _cases(event_type):
        wire = renderer.session(seed=4, now=NOW, fmt="v3", options={"profile": "wire", "era": era})
        payload = wire.render_event(event_type, params)
        assert list(payload[key])[: len(fields)] == fields, (event_type, params)
        assert [k for k, v in payload.items() if v is not None] == ["EventType", key]
        body = encode_payload(payload)
        content, caught = deserialize(body)
        useless = {name for text in caught for name in text.removesuffix(" fileds are useless.").split(",")}
        assert useless <= PRODUCTION_ONLY_KEYS, (event_type, params, caught)
        assert populated(getattr(content, key))
        assert check(body, CATALOG).problems == [], (event_type, params)


_FACT_KEYS = {"TaskId", "FileId", "Status", "ErrCode", "ErrCodeExt", "Message", "CastId", "Suggestion"}


def _facts(node: Any, path: str = "") -> dict[str, Any]:
    """Ids, statuses and errors of a payload by path (what both profiles must agree on)."""
    found: dict[str, Any] = {}
    if isinstance(node, dict):
        for name, value in node.items():
            if name in _FACT_KEYS and not isinstance(value, (dict, list)):
                found[f"{path}.{name}"] = value
            found.update(_facts(value, f"{path}.{name}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(_facts(value, f"{path}[{index}]"))
    return found


@pytest.mark.parametrize("event_type", list(NEW_EVENTS))
def test_one_seed_gives_docs_and_wire_the_same_ids_and_statuses(event_type: str, renderer: Renderer) -> None:
    for params in _cases(event_type):
        docs, wire = (
            renderer.session(seed=9, now=NOW, fmt="v3", options={"profile": profile}).render_event(
                event_type, params
            )
            for profile in ("docs", "wire")
        )
        expected = _facts(docs)
        assert expected or not _draws(CATALOG.events[event_type]), event_type
        found = _facts(wire)
        assert {path: found.get(path) for path in expected} == expected, (event_type, params)
