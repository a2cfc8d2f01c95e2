"""Scenario files: parsing, durations, expectations, and one-line errors with file:line."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from emitter.clock import parse_duration
from emitter.errors import ScenarioError
from emitter.scenarios.loader import (
    builtin_scenarios,
    load_scenario,
    parse_expectation,
    parse_scenario,
)
from emitter.scenarios.plan import RenderedEvent, render_events
from tests.conftest import NOW

BROKEN = sorted((Path(__file__).parents[1] / "data" / "broken").glob("*.yaml"))


def expected_error(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# expect: (.*)", first)
    assert match, path
    return f"{path}:{match.group(1)}"


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_scenario_gives_one_line_with_location(path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario = load_scenario(path)
        list(render_events(scenario, seed=1, now=NOW))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(expected_error(path)), message


@pytest.mark.parametrize("name", list(builtin_scenarios()))
def test_builtin_scenarios_validate_and_render(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.description
    events = list(render_events(scenario, seed=1, now=NOW))
    assert len(events) >= len(scenario.steps)
    # made without the dataclass's __init__: the very object it would make
    fields = [field.name for field in dataclasses.fields(RenderedEvent)]
    for event in events:
        assert event == RenderedEvent(**{name: getattr(event, name) for name in fields})
        assert vars(event).keys() == set(fields)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("2s", 2.0), ("1m30s", 90.0), ("1h", 3600.0), (1.5, 1.5), ("0", None), ("1.5s", 1.5)],
)
def test_durations(text: object, seconds: float | None) -> None:
    if seconds is None:
        with pytest.raises(ScenarioError):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2 seconds", "s", "-1s", "1x", "", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ScenarioError, match="bad duration"):
        parse_duration(text)


def test_expectations() -> None:
    default = parse_expectation(None)
    assert default.accepts(200) and default.accepts(299) and not default.accepts(301)
    listed = parse_expectation({"status": [200, "4xx", "500-502"]})
    assert [listed.accepts(c) for c in (200, 201, 404, 501, 503)] == [True, False, True, True, False]
    with pytest.raises(ScenarioError, match="bad expected status"):
        parse_expectation({"status": "ok"})


def test_repeat_and_references() -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: clip\n    repeat: 3\n"
        "  - event: delete\n    file_id: ${clip.output_file_id}\n",
        "inline.yaml",
    )
    events = list(render_events(scenario, seed=4, now=NOW))
    assert [e.label for e in events] == ["clip#1", "clip#2", "clip#3", "delete"]
    clip_ids = [e.payload["data"]["fileInfo"]["fileId"] for e in events[:3]]
    assert len(set(clip_ids)) == 3
    assert events[3].payload["data"]["fileInfo"] == [{"fileId": clip_ids[-1]}]


def test_embedded_reference_is_interpolated() -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n  - event: pull\n    message: 'copy of ${upload.file_id}'\n",
        "x.yaml",
    )
    upload, pull = render_events(scenario, seed=1, now=NOW)
    assert pull.payload["data"]["message"] == f"copy of {upload.payload['data']['fileId']}"


def test_vars_apply_to_every_step_that_takes_them() -> None:
    scenario = parse_scenario(
        "version: 1\nvars: {file_name: Shared, err_code: 30009}\n"
        "steps:\n  - event: upload\n  - event: transcode\n",
        "x.yaml",
    )
    upload, transcode = render_events(scenario, seed=1, now=NOW)
    assert upload.payload["data"]["fileName"] == "Shared"
    assert transcode.payload["data"]["status"] == 30009


def test_repeated_step_gets_fresh_copies_of_its_override_values() -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 2\n"
        "    set: {data.x: {a: 1, b: 2}}\n    unset: [data.x.a]\n",
        "x.yaml",
    )
    events = list(render_events(scenario, seed=1, now=NOW))
    assert [e.payload["data"]["x"] for e in events] == [{"b": 2}, {"b": 2}]
    assert scenario.steps[0].overrides.set == {"data.x": {"a": 1, "b": 2}}


def test_builtin_scenarios_are_listed_again_when_the_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOD_EMITTER_SCENARIOS", str(tmp_path))
    (tmp_path / "first.yaml").write_text("steps: [{event: upload}]\n", encoding="utf-8")
    assert list(builtin_scenarios()) == ["first"]
    listed = builtin_scenarios()
    listed.clear()  # a copy: the caller's to change
    assert list(builtin_scenarios()) == ["first"]
    (tmp_path / "second.yaml").write_text("steps: [{event: upload}]\n", encoding="utf-8")
    os.utime(tmp_path, ns=(0, tmp_path.stat().st_mtime_ns + 1_000_000))  # a coarse clock: still a change
    assert list(builtin_scenarios()) == ["first", "second"]
