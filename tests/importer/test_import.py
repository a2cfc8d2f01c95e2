"""Import: bodies, journals and PULL responses -> a scenario whose render gives the bodies back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from emitter import api
from emitter.cli import app
from emitter.errors import UsageError
from emitter.importer import Recorded, import_bodies, import_files, read_inputs
from emitter.payloads.envelopes import pull_responses
from emitter.receiver.server import Receiver
from emitter.scenarios.loader import builtin_scenarios, load_scenario, parse_scenario

NOW = "2024-05-01T12:00:00Z"
LATER = "2031-07-08T09:10:11Z"
CAPTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "captures"


def _records(events: list[api.RenderedEvent]) -> list[Recorded]:
    return [Recorded(e.body, e.payload, None, e.label) for e in events]


def _rerender(text: str, tmp_path: Path, now: str = LATER) -> list[api.RenderedEvent]:
    path = tmp_path / "imported.yaml"
    path.write_text(text, encoding="utf-8")
    return api.render_scenario(load_scenario(path), now=now)


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name in builtin_scenarios():
        kinds = {step.event.event_type for step in load_scenario(name).steps}
        for fmt in ("v2", "v3", "cdnetworks"):
            if fmt != "cdnetworks" or kinds == {"NewFileUpload"}:
                cases.append((name, fmt))
    return cases


@pytest.mark.parametrize("profile", ["wire", "docs"])
@pytest.mark.parametrize(("name", "fmt"), _cases())
def test_render_import_render_gives_the_same_bytes(name: str, fmt: str, profile: str, tmp_path: Path) -> None:
    events = api.render_scenario(name, seed=11, now=NOW, fmt=fmt, options={"profile": profile})
    result = import_bodies(_records(events), seed=0)  # another seed: the facts come back as params/set
    again = _rerender(result.text, tmp_path)
    assert [e.body for e in again] == [e.body for e in events]
    assert [e.event_type for e in again] == [e.event_type for e in events]
    assert result.byte_exact == result.semantic == len(events)


def test_recognized_events_become_semantic_steps_with_ids_statuses_and_err_codes() -> None:
    events = api.render_scenario("transcode-fail-30010", seed=3, now=NOW, fmt="v3")
    steps = import_bodies(_records(events), seed=3).scenario["steps"]
    transcode = next(s for s in steps if s["event"] == "transcode")
    assert transcode["status"] == "fail"
    assert transcode.get("err_code", 30010) == 30010
    assert "body" not in transcode
    # the same seed as the recording: the facts match; only times (which follow --now) are pinned
    assert all("unset" not in s for s in steps)
    assert all(path.endswith("Time") for s in steps for path in s.get("set", {}))


def test_another_seed_keeps_ids_and_err_codes_as_parameters() -> None:
    transcode = api.render_scenario("transcode-fail-30009", seed=8, now=NOW, fmt="v2")[-1]
    [step] = import_bodies(_records([transcode]), seed=1).scenario["steps"]
    assert step["event"] == "transcode"
    assert step["file_id"] == transcode.payload["data"]["fileId"]
    assert step["vod_task_id"] == transcode.payload["data"]["vodTaskId"]
    assert step["err_code"] == 30009
    assert "set" not in step and "unset" not in step


@pytest.mark.parametrize("capture", sorted(CAPTURES.glob("*.json")), ids=lambda p: p.name)
def test_captured_bodies_come_back_key_for_key(capture: Path, tmp_path: Path) -> None:
    original = json.loads(capture.read_text(encoding="utf-8"))
    result = import_files([capture])
    [again] = _rerender(result.text, tmp_path)
    assert again.payload == original
    assert result.key_exact == result.semantic == 1
    [step] = result.scenario["steps"]
    assert "body" not in step
    file_id = original.get("data") or original.get("ProcedureStateChangeEvent")
    assert step["file_id"] == (file_id.get("fileId") or file_id.get("FileId"))


def test_journal_of_the_builtin_receiver_replays_with_its_timing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    with Receiver(journal=journal).running_in_thread() as receiver:
        sent = api.run("happy-path", target=receiver.url, seed=4, now=NOW, speed=0)
    assert sent.ok
    result = import_files([journal])
    again = _rerender(result.text, tmp_path)
    assert sorted(e.body for e in again) == sorted(e.body for e in sent.sent)
    # arrival times become delays: every step after the first waits what the recording waited
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    steps = result.scenario["steps"]
    for previous, line, step in zip(lines, lines[1:], steps[1:], strict=False):
        gap_ms = round((line["arrived_at"] - previous["arrived_at"]) * 1000)
        assert step.get("delay") == (f"{gap_ms}ms" if gap_ms >= 1 else None)


def test_journal_arrival_times_become_step_delays(tmp_path: Path) -> None:
    events = api.render_scenario("happy-path", seed=2, now=NOW)
    journal = tmp_path / "j.jsonl"
    stamps = [100.0, 100.25, 101.25, 101.5]
    journal.write_text(
        "".join(
            json.dumps({"seq": i, "arrived_at": t, "body": e.body.decode()}) + "\n"
            for i, (t, e) in enumerate(zip(stamps, events, strict=True))
        )
    )
    steps = import_files([journal]).scenario["steps"]
    assert [s.get("delay") for s in steps] == [None, "250ms", "1000ms", "250ms"]
    assert [
        step.delay for step in parse_scenario(yaml.safe_dump(import_files([journal]).scenario)).steps
    ] == [
        0.0,
        0.25,
        1.0,
        0.25,
    ]


@pytest.mark.parametrize("fmt", ["v2", "v3"])
def test_pull_responses_unwrap_to_their_events(fmt: str, tmp_path: Path) -> None:
    events = api.render_scenario("happy-path", seed=6, now=NOW, fmt=fmt)
    [response] = pull_responses([e.payload for e in events], fmt=fmt, seed=6)
    path = tmp_path / "pull.json"
    path.write_text(json.dumps(response))
    assert [r.payload for r in read_inputs([path])] == [e.payload for e in events]
    again = _rerender(import_files([path]).text, tmp_path)
    assert [e.payload for e in again] == [e.payload for e in events]


def test_unknown_events_and_non_json_bodies_are_kept_as_raw_bodies(tmp_path: Path) -> None:
    [upload] = api.render_scenario("delete", seed=1, now=NOW)[:1]
    records = [
        Recorded(b"not json {", None, None, "a"),
        Recorded(
            b'{"eventType":"NoSuchEvent","data":{"x":1}}',
            {"eventType": "NoSuchEvent", "data": {"x": 1}},
            None,
            "b",
        ),
        Recorded(b"[1,2]", [1, 2], None, "c"),
        Recorded(upload.body, upload.payload, None, "d"),
    ]
    result = import_bodies(records)
    assert [("body" in s) for s in result.scenario["steps"]] == [True, True, True, False]
    again = _rerender(result.text, tmp_path)
    assert [e.body for e in again] == [r.body for r in records]
    assert result.byte_exact == 4


def test_json_lines_and_arrays_are_read_in_order(tmp_path: Path) -> None:
    events = api.render_scenario("clip", seed=1, now=NOW, fmt="v3")
    lines, array = tmp_path / "b.jsonl", tmp_path / "b.json"
    lines.write_bytes(b"\n".join(e.body for e in events) + b"\n")
    array.write_text(json.dumps([e.payload for e in events]))
    assert [r.body for r in read_inputs([lines])] == [e.body for e in events]
    assert [r.payload for r in read_inputs([array])] == [e.payload for e in events]


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"a": 1}\nnot json\n')
    for path, words in (
        (empty, "empty"),
        (mixed, "line 2 is not JSON"),
        (tmp_path / "nope.json", "cannot read"),
    ):
        with pytest.raises(UsageError, match=words):
            read_inputs([path])


def test_cli_import_then_render_round_trips(tmp_path: Path) -> None:
    runner = CliRunner()
    rendered = runner.invoke(app, ["render", "porn-review", "--seed", "9", "--now", NOW, "-f", "v3"])
    assert rendered.exit_code == 0, rendered.output
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text(rendered.stdout)
    out = tmp_path / "scenario.yaml"
    imported = runner.invoke(app, ["import", str(bodies), "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "2 as event steps" in imported.stderr
    again = runner.invoke(app, ["render", str(out), "--now", LATER])
    assert again.exit_code == 0, again.output
    assert again.stdout == rendered.stdout
    missing = runner.invoke(app, ["import", str(tmp_path / "missing.json")])
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1 and "cannot read" in missing.stderr
