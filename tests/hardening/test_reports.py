"""Report files: written atomically, I/O errors named, JUnit always valid XML, the journal always ends."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emitter.errors import UsageError
from emitter.outcomes import EventFinished, EventRef, RunFinished, RunResult, RunStarted
from emitter.reports.files import Journal, JsonReport, JunitReport, OutputFile, xml_text

STARTED = RunStarted(seed=1, now="2024-05-01T12:00:00Z", scenarios=("s",), format="v2", target="t", planned=2)


def finished(index: int, response: str, ok: bool = False) -> EventFinished:
    ref = EventRef(index=index, scenario="s", seq=index, step="up", label="up", event_type="NewFileUpload")
    result = "delivered" if ok else "unexpected"
    return EventFinished(ref, result, "status 500\x1b[31m", 1, 500, 0.01, 0.01, "req\x00", response)


def test_a_report_appears_whole_at_close_and_not_before(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old", encoding="utf-8")
    report = JsonReport(path)
    report.handle(STARTED)
    report.handle(finished(0, "x"))
    assert path.read_text(encoding="utf-8") == "old"  # a reader sees the old file, never half a new one
    report.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [row["index"] for row in data["events"]] == [0] and data["summary"] is None
    assert list(tmp_path.iterdir()) == [path]  # the temporary file was renamed, none left


def test_a_report_closed_before_the_run_started_is_still_json(tmp_path: Path) -> None:
    report = JsonReport(tmp_path / "r.json")
    report.close()
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["events"] == []


def test_output_to_a_device_is_written_in_place_and_errors_name_the_flag() -> None:
    out = OutputFile(Path("/dev/full"), "--report")
    out.write("x" * 10_000)
    out.flush()
    with pytest.raises(UsageError, match=r"^--report: cannot write '/dev/full': No space left on device"):
        out.close()
    assert Path("/dev/full").is_char_device()  # never replaced by a renamed file


def test_junit_is_valid_xml_whatever_the_response_holds(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    report = JunitReport(path)
    report.handle(STARTED)
    hostile = "\x00\x1b[31mred\x1b[0m \ufffe \x08 ]]> <&> \ud800"
    report.handle(finished(0, hostile))
    report.handle(finished(1, "fine", ok=True))
    report.handle(RunFinished(RunResult(planned=2, delivered=1, unexpected=1)))
    report.close()
    root = ET.parse(path).getroot()
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert "\\x1b[31mred" in (failure.text or "") and "\\x00" in (failure.text or "")
    assert failure.get("message") == "status 500\\x1b[31m"
    assert root.find("testsuite").get("tests") == "2"  # type: ignore[union-attr]


def test_xml_text_keeps_what_xml_allows() -> None:
    assert xml_text("tab\tnewline\n é 漢 😀") == "tab\tnewline\n é 漢 😀"
    assert xml_text("\x00\x1b\x7f") == "\\x00\\x1b\x7f"


def test_the_journal_ends_with_an_end_record_even_without_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    journal = Journal(path)
    journal.handle(STARTED)
    journal.handle(finished(0, "x", ok=True))
    journal.close()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in records] == ["run", "event", "end"]
    assert records[-1] == {"type": "end", "complete": False}
