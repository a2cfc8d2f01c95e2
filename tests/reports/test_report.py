"""Reports built from outcome streams: JSON, JUnit XML, journal (and reading it back), console, exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emitter.errors import UsageError
from emitter.outcomes import (
    AttemptFinished,
    EventFinished,
    EventRef,
    Outcome,
    RunFinished,
    RunResult,
    RunStarted,
)
from emitter.reports.files import ConsoleReport, Journal, JsonReport, JunitReport, Reporters, read_journal

STARTED = RunStarted(
    seed=7,
    now="2024-05-01T12:00:00Z",
    scenarios=("happy-path",),
    format="v2",
    target="http://127.0.0.1:9/",
    planned=3,
)


def ref(index: int, step: str = "upload", copy: int = 0, copies: int = 1) -> EventRef:
    return EventRef(index, "happy-path", index, step, step, "NewFileUpload", copy, copies)


def stream() -> list[Outcome]:
    """Event 0 delivered first time; event 1 delivered after a 500; event 2 failed after 3 timeouts."""
    timeout = "timeout: no answer within 0.2 s"
    return [
        STARTED,
        AttemptFinished(ref(0), 1, 200, None, 0.01),
        EventFinished(ref(0), "delivered", "", 1, 200, 0.01, 0.01, '{"a":1}', "ok"),
        AttemptFinished(ref(1, "dup", 0, 2), 1, 500, None, 0.02, 0.0),
        AttemptFinished(ref(1, "dup", 0, 2), 2, 200, None, 0.02),
        EventFinished(ref(1, "dup", 0, 2), "delivered", "after status 500", 2, 200, 0.02, 0.04, "{}", ""),
        AttemptFinished(ref(2), 1, None, timeout, 0.2, 0.0),
        AttemptFinished(ref(2), 2, None, timeout, 0.2, 0.0),
        AttemptFinished(ref(2), 3, None, timeout, 0.2),
        EventFinished(ref(2), "failed", timeout, 3, None, 0.2, 0.6, "<&>", ""),
        RunFinished(RunResult(planned=3, delivered=2, failed=1, attempts=6, duration=0.7)),
    ]


def feed(reporter: object, outcomes: list[Outcome]) -> None:
    reporters = Reporters([reporter])  # type: ignore[list-item]
    for outcome in outcomes:
        reporters.handle(outcome)
    reporters.close()


def test_json_report_has_every_event_once_with_attempt_history(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    feed(JsonReport(path), stream())
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["seed"] == 7 and report["scenarios"] == ["happy-path"] and report["target"].endswith(":9/")
    rows = report["events"]
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert [r["history"] for r in rows] == [[200], [500, 200], ["timeout", "timeout", "timeout"]]
    assert [r["attempts"] for r in rows] == [1, 2, 3]
    assert rows[2]["result"] == "failed" and rows[2]["reason"].startswith("timeout")
    assert rows[1]["copy"] == 0 and rows[2]["request"] == "<&>"
    assert report["summary"] == {
        "planned": 3,
        "delivered": 2,
        "unexpected": 0,
        "failed": 1,
        "filtered": 0,
        "not_sent": 0,
        "attempts": 6,
        "duration_s": 0.7,
        "interrupted": False,
        "error": None,
        "exit_code": 1,
    }


def test_json_report_stays_valid_when_the_run_never_finishes(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    feed(JsonReport(path), stream()[:3])
    report = json.loads(path.read_text(encoding="utf-8"))
    assert len(report["events"]) == 1 and report["summary"] is None


def test_junit_report_counts_failures_and_escapes(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    feed(JunitReport(path), stream())
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "0000 upload NewFileUpload",
        "0001 dup (copy 1/2) NewFileUpload",
        "0002 upload NewFileUpload",
    ]
    failure = cases[2].find("failure")
    assert failure is not None and failure.get("message", "").startswith("timeout")
    assert "request: <&>" in (failure.text or "")
    assert cases[0].find("failure") is None


def test_a_report_path_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match=r"^--report: cannot write"):
        JsonReport(blocker / "report.json")
    with pytest.raises(UsageError, match=r"^--junit: cannot write"):
        JunitReport(blocker / "junit.xml")


def test_journal_is_flushed_record_by_record_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    outcomes = stream()
    journal.handle(outcomes[0])
    journal.handle(outcomes[1])
    lines = path.read_text(encoding="utf-8").splitlines()  # still open: already on disk
    assert [json.loads(line)["type"] for line in lines] == ["run", "attempt"]
    header = json.loads(lines[0])
    assert {k: header[k] for k in ("seed", "now", "scenarios", "format", "target")} == {
        "seed": 7,
        "now": "2024-05-01T12:00:00Z",
        "scenarios": ["happy-path"],
        "format": "v2",
        "target": "http://127.0.0.1:9/",
    }
    for outcome in outcomes[2:]:
        journal.handle(outcome)
    journal.close()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sum(r["type"] == "attempt" for r in records) == 6
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 1
    state = read_journal(path)
    assert state.delivered == {0, 1} and state.header["seed"] == 7


def test_journal_of_the_builtin_receiver_records_no_target(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    feed(Journal(path, builtin_receiver=True), stream())
    assert read_journal(path).header["target"] is None


def test_journal_appends_and_resume_sees_both_runs(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    feed(Journal(path), stream())
    second = [STARTED, EventFinished(ref(2), "delivered", "", 1, 200, 0.0, 0.0, "", "")]
    feed(Journal(path, append=True), second)
    assert read_journal(path).delivered == {0, 1, 2}


def test_a_resumed_run_into_a_new_journal_carries_what_was_delivered_before(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    feed(Journal(first), stream())
    carried = frozenset(read_journal(first).delivered)
    resumed = [STARTED, EventFinished(ref(2), "delivered", "", 1, 200, 0.0, 0.0, "", "")]
    feed(Journal(second, carried=carried), resumed)
    assert read_journal(second).delivered == {0, 1, 2}


def test_a_journal_cut_short_by_a_crash_still_resumes(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    feed(Journal(path), stream()[:3])
    with path.open("a", encoding="utf-8") as out:
        out.write('{"type": "event", "ind')
    assert read_journal(path).delivered == {0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no run header"),
        ("not json\n{}\n", "line 1 is not a journal record"),
        ('{"type": "attempt", "index": 0}\n', "no run header"),
        ('{"type": "run", "seed": "x", "now": "2024-01-01T00:00:00Z", "scenarios": ["a"]}\n{}\n', "line 1"),
    ],
)
def test_bad_journals_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as caught:
        read_journal(path)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_a_missing_journal_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--resume"):
        read_journal(tmp_path / "nope.jsonl")


def test_console_prints_a_table_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    feed(ConsoleReport(progress=False), stream())
    out = capsys.readouterr().out
    assert "dup (copy 1/2)" in out
    assert "#1 dup (copy 1/2): delivered after status 500" in out
    assert "#2 upload: timeout: no answer within 0.2 s" in out
    assert out.strip().endswith("3 of 3 sends: 2 delivered, 1 failed (6 attempts, 0.70 s)")


def test_console_keeps_a_bounded_number_of_rows(capsys: pytest.CaptureFixture[str]) -> None:
    console = ConsoleReport(progress=False, rows=5)
    outcomes: list[Outcome] = [STARTED]
    for index in range(300):
        failed = index % 3 == 0
        outcomes.append(
            EventFinished(
                ref(index), "failed" if failed else "delivered", "x" if failed else "", 1, None, 0, 0, "", ""
            )
        )
    for outcome in outcomes:
        console.handle(outcome)
    # the first 5 rows (2 of them failures), then failures only, up to 5 failures in all
    assert [r.ref.index for r in console.rows] == [0, 1, 2, 3, 4, 6, 9, 12]
    assert console.hidden == 292 and console.failed == 100
    console.close()
    assert "292 more sends not shown" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (RunResult(2, delivered=2), 0),
        (RunResult(2, delivered=1, unexpected=1), 1),
        (RunResult(2, delivered=1, failed=1), 1),
        (RunResult(2, delivered=1), 1),
        (RunResult(2, delivered=1, interrupted=True), 130),
        (RunResult(2, error="bad"), 2),
    ],
)
def test_exit_codes(result: RunResult, code: int) -> None:
    assert result.exit_code == code


@pytest.mark.parametrize(
    "header",
    [
        {"type": "run", "seed": 1, "now": "2024-05-01T12:00:00Z", "scenarios": ["happy-path"]},
        {"type": "run", "seed": 1, "now": "2024-05-01T12:00:00Z", "scenarios": "happy-path", "format": None},
    ],
)
def test_resume_refuses_a_journal_header_it_cannot_replay(tmp_path: Path, header: dict[str, object]) -> None:
    from emitter.errors import UsageError
    from emitter.reports.files import read_journal

    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(header) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match="line 1 is not a journal record"):
        read_journal(path)
