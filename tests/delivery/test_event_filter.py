"""The event filter (--events, events=, subscribe:): only subscribed types sent, the rest filtered."""

from __future__ import annotations

import asyncio
import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emitter.api import Emitter, plan_run, render_scenario, run
from emitter.cli import app
from emitter.delivery.runner import Timing
from emitter.errors import EmitterError
from emitter.load.engine import Cycles
from emitter.request import RunRequest
from emitter.vodapi.account import Account
from emitter.vodapi.runs import play_pull

NOW = "2024-05-01T12:00:00Z"
SUBSCRIBED = """\
version: 1
subscribe: [upload]
steps:
  - event: upload
  - event: transcode
    file_id: ${upload.file_id}
"""


def received_types(done: object) -> list[str | None]:
    return [request.event_type for request in done.received]  # type: ignore[attr-defined]


def test_only_subscribed_types_reach_the_receiver_and_the_rest_are_filtered_not_failed() -> None:
    done = run("happy-path", speed=0, seed=3, now=NOW, events=["upload", "ProcedureStateChanged"])
    assert received_types(done) == ["NewFileUpload", "ProcedureStateChanged", "ProcedureStateChanged"]
    assert (done.result.delivered, done.result.filtered, done.result.failed) == (3, 1, 0)
    assert done.exit_code == 0 and done.failures == ()
    assert [item.event_type for item in done.filtered] == ["TranscodeComplete"]
    assert done.filtered[0].attempts == ()
    assert "1 filtered (not subscribed)" in done.result.summary()


def test_a_filtered_step_still_feeds_the_steps_that_reference_it() -> None:
    rendered = render_scenario("happy-path", seed=3, now=NOW)
    done = run("happy-path", speed=0, seed=3, now=NOW, events="transcode")
    assert received_types(done) == ["TranscodeComplete"]
    transcode = done.received[0].payload
    assert transcode["data"]["fileId"] == rendered[0].payload["data"]["fileId"]
    assert done.result.filtered == 3 and done.ok


def test_reports_list_filtered_events_and_junit_counts_them_skipped(tmp_path: Path) -> None:
    report, junit, journal, html = (tmp_path / name for name in ("r.json", "j.xml", "run.jsonl", "r.html"))
    args = ["run", "happy-path", "--speed", "0", "--seed", "3", "--now", NOW, "--events", "upload,procedure",
            "--report", str(report), "--junit", str(junit), "--journal", str(journal),
            "--html", str(html)]  # fmt: skip
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "4 of 4 sends: 3 delivered, 1 filtered (not subscribed)" in done.stdout
    assert any(
        line.split()[-1] == "filtered" and "TranscodeComplete" in line for line in done.stdout.splitlines()
    )
    data = json.loads(report.read_text())
    assert {row["event_type"]: row["result"] for row in data["events"]}["TranscodeComplete"] == "filtered"
    assert (data["summary"]["filtered"], data["summary"]["failed"], data["summary"]["exit_code"]) == (1, 0, 0)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == ("4", "1", "0")
    skipped = [case.get("name") for case in suite.iter("testcase") if case.find("skipped") is not None]
    assert len(skipped) == 1 and str(skipped[0]).endswith("TranscodeComplete")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["result"] for r in records if r["type"] == "event"].count("filtered") == 1
    page = html.read_text()
    assert "class=filtered" in page and "TranscodeComplete · filtered" in page
    assert "<h2>Failures</h2>" not in page


def test_a_typo_in_the_filter_is_one_line_with_a_suggestion_and_exit_2() -> None:
    runner = CliRunner()
    for args in (
        ["run", "happy-path", "--events", "uplod,procedure"],
        ["send", "upload", "--events", "uplod"],
    ):
        done = runner.invoke(app, args)
        assert done.exit_code == 2, done.output
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --events: unknown event 'uplod'")
        assert "did you mean 'upload'" in lines[0]
    with pytest.raises(EmitterError) as raised:
        run("happy-path", speed=0, events="uplod")
    assert raised.value.location == "events"
    with pytest.raises(EmitterError, match="no event type given"):
        run("happy-path", speed=0, events=" , ")


def test_send_of_an_unsubscribed_event_is_filtered_and_exits_0() -> None:
    done = CliRunner().invoke(app, ["send", "upload", "--events", "transcode", "--now", NOW])
    assert done.exit_code == 0, done.output
    assert "1 of 1 sends: 0 delivered, 1 filtered (not subscribed)" in done.stdout
    assert " -> " not in done.stdout  # the built-in receiver got nothing


def test_subscribe_in_a_scenario_filters_and_the_runs_filter_wins(tmp_path: Path) -> None:
    scenario = tmp_path / "subscribed.yaml"
    scenario.write_text(SUBSCRIBED)
    assert received_types(run(str(scenario), speed=0, now=NOW)) == ["NewFileUpload"]
    hooks = Emitter(speed=0, now=NOW, events="TranscodeComplete")
    assert received_types(hooks.run(str(scenario))) == ["TranscodeComplete"]
    done = CliRunner().invoke(app, ["run", str(scenario), "--speed", "0", "--events", "upload,transcode"])
    assert done.exit_code == 0, done.output
    assert "2 of 2 sends: 2 delivered (" in done.stdout


def test_a_bad_subscribe_entry_names_its_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(SUBSCRIBED.replace("subscribe: [upload]", "subscribe:\n  - upload\n  - transcod"))
    done = CliRunner().invoke(app, ["run", str(scenario), "--speed", "0"])
    assert done.exit_code == 2
    assert f"{scenario}:4" in done.stderr and "did you mean 'transcode'" in done.stderr
    scenario.write_text(SUBSCRIBED.replace("[upload]", "upload"))
    done = CliRunner().invoke(app, ["run", str(scenario), "--speed", "0"])
    assert done.exit_code == 2 and "'subscribe' must be a list" in done.stderr


def test_pull_mode_does_not_queue_filtered_events() -> None:
    plan = plan_run(["happy-path"], RunRequest(seed=2, fmt="v3", events="upload"))
    account = Account("AKIDfilter", "filterKey", format="v3", hold=0.05)
    pulled = asyncio.run(play_pull(plan, account, timing=Timing(speed=0), deadline=0.3))
    assert [entry.ref.event_type for entry in pulled.events] == ["NewFileUpload"]
    assert (pulled.result.filtered, pulled.result.failed) == (3, 1)  # nobody pulled the upload


def test_load_cycles_send_only_subscribed_types() -> None:
    plan = plan_run(["happy-path"], RunRequest(seed=1, events="procedure"))
    cycles = Cycles(plan.scenarios, seed=plan.seed, now=plan.now, events=plan.events)
    sent = [delivery.event_type for delivery in itertools.islice(cycles, 6)]
    assert sent == ["ProcedureStateChanged"] * 6 and cycles.cycles == 3
    nothing = Cycles(plan.scenarios, seed=plan.seed, now=plan.now, events=frozenset({"ConcatComplete"}))
    with pytest.raises(EmitterError, match="send nothing"):
        next(iter(nothing))


def test_the_header_names_the_filter_and_resume_replays_it(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    first = ["run", "happy-path", "--speed", "0", "--events", "procedure", "--retries", "0",
             "-t", "http://127.0.0.1:1/", "--journal", str(journal)]  # fmt: skip
    done = CliRunner().invoke(app, first)
    assert done.exit_code == 1 and "2 failed" in done.stdout and "2 filtered" in done.stdout, done.output
    assert "events: ProcedureStateChanged (other event types are filtered, not sent)" in done.stderr
    assert json.loads(journal.read_text().splitlines()[0])["events"] == ["ProcedureStateChanged"]
    target = "app:tests.fuzz.receivers:iterates_missing_list_fixed"
    clash = CliRunner().invoke(app, ["run", "--resume", str(journal), "-t", target, "--events", "upload"])
    assert clash.exit_code == 2 and "--events: the journal's run used ProcedureStateChanged" in clash.stderr
    again = CliRunner().invoke(app, ["run", "--resume", str(journal), "-t", target])
    assert again.exit_code == 0, again.output
    assert "2 delivered, 2 filtered (not subscribed)" in again.stdout
