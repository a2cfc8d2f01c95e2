"""Input files that are not what they claim: folders, pipes, devices, bad bytes, deep or odd JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emitter.errors import ScenarioError, UsageError
from emitter.importer.read import MAX_BODIES, read_inputs
from emitter.inputs import open_regular, read_limited
from emitter.reports.files import MAX_JOURNAL_LINE, read_journal
from emitter.vodapi.rules import load_rules
from tests.hardening.cli import invoke, one_line_error

HEADER = {"type": "run", "journal": 1, "seed": 1, "now": "2024-01-01T00:00:00Z", "scenarios": ["x"]}
HEADER["format"] = "v2"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: opening it for reading the usual way blocks forever."""
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    yield path


@needs_fifo
def test_a_folder_a_pipe_or_a_device_is_refused_before_any_read(tmp_path: Path, fifo: Path) -> None:
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)
    with pytest.raises(OSError, match="a pipe, not a regular file"):
        open_regular(fifo)  # returns at once: no writer is waited for
    if Path("/dev/zero").exists():
        with pytest.raises(OSError, match="a device, not a regular file"):
            read_limited(Path("/dev/zero"), 10)  # stat() says 0 bytes; a read would never end
    path = tmp_path / "f"
    path.write_bytes(b"x" * 50)
    assert read_limited(path, 10) == b"x" * 11  # one byte over tells the caller it is over


@needs_fifo
@pytest.mark.parametrize("command", ["validate", "import", "resume", "rules"])
def test_every_command_that_reads_a_file_refuses_a_pipe_or_folder_in_one_line(
    command: str, tmp_path: Path, fifo: Path
) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    for path, words in ((fifo, "a pipe, not a regular file"), (folder, "Is a directory")):
        if command == "rules":
            with pytest.raises(ScenarioError, match=words) as raised:
                load_rules(path)
            assert str(raised.value).startswith(f"{path}: cannot read the rule file")
            continue
        args = ("run", "--resume", str(path)) if command == "resume" else (command, str(path))
        code, _, stderr = invoke(*args)
        assert code == 2
        assert words in one_line_error(stderr)


def test_a_nul_or_other_refused_character_is_one_line_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_text("version: 1\nsteps:\n  - event: upload\n    file_name: a\x00b\n", encoding="utf-8")
    code, _, stderr = invoke("validate", str(path))
    assert code == 2
    error = one_line_error(stderr)
    assert error.startswith(f"error: {path}:4: character U+0000 is not allowed in YAML")
    assert '"\\u0000"' in error  # the remedy: the escape that YAML does take
    path.write_text('version: 1\nsteps:\n  - event: upload\n    file_name: "a\\u0000b"\n', encoding="utf-8")
    assert invoke("validate", str(path))[0] == 0


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nsteps:\n  - event: upload\n    file_name: caf\xe9\n")
    code, _, stderr = invoke("validate", str(path))
    assert code == 2
    assert one_line_error(stderr) == f"error: {path}:4: byte 0xe9 is not UTF-8 text; save the file as UTF-8"


def test_rule_files_have_the_scenario_bounds(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"rules.yaml:1: nesting deeper than 64 levels"):
        load_rules(path)  # not a RecursionError
    path.write_bytes(b"rules: []\n# caf\xe9\n")
    with pytest.raises(ScenarioError, match="cannot read the rule file: not UTF-8 text"):
        load_rules(path)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's JSON parser recurses
        b'{"version":"4.0","eventType":"NewFileUpload","data":{"fileId":"1","size":NaN}}',
        b'{"version":"4.0","eventType":"NewFileUpload","data":{"fileId":"1","size":1e400}}',
        b'{"version":"4.0","eventType":"NewFileUpload","data":{"fileId":"1","size":' + b"9" * 40 + b"}}",
    ],
)
def test_bodies_that_are_not_strict_json_are_imported_as_sent(body: bytes, tmp_path: Path) -> None:
    path = tmp_path / "capture.json"
    path.write_bytes(body)
    [record] = read_inputs([path])
    assert record.payload is None and record.body == body
    out = tmp_path / "imported.yaml"
    code, _, stderr = invoke("import", str(path), "-o", str(out))
    assert code == 0, stderr
    code, stdout, _ = invoke("render", str(out))
    assert code == 0 and stdout.encode() == body + b"\n"  # byte for byte


def test_a_journal_line_with_bad_base64_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "received.jsonl"
    path.write_text(json.dumps({"arrived_at": 1.0, "body_base64": "!!!notbase64"}) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match="body_base64 is not base64"):
        read_inputs([path])


def test_an_import_too_large_for_one_scenario_names_the_command(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    keys = ",".join(f'"k{i}":{i}' for i in range(120_000))
    path.write_text('{"eventType":"NewFileUpload","data":{' + keys + "}}", encoding="utf-8")
    code, _, stderr = invoke("import", str(path))
    assert code == 2
    error = one_line_error(stderr)
    assert error.startswith("error: import: the scenario made of the recorded bodies (1) would not load: ")
    assert "over the limit of 1000000" in error and error.endswith("import fewer or smaller bodies at a time")


def test_a_journal_is_read_a_bounded_line_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    head = json.dumps(HEADER) + "\n"
    delivered = json.dumps({"type": "event", "index": 3, "result": "delivered"}) + "\n"
    path.write_text(head + delivered + '{"type": "event", "ind', encoding="utf-8")
    assert read_journal(path).delivered == {3}  # a last line cut short by a crash is forgiven
    path.write_text(head + '{"type": "event", "ind\n' + delivered, encoding="utf-8")
    with pytest.raises(UsageError, match="line 2 is not a journal record"):
        read_journal(path)  # ... but not when more follows it
    path.write_text(head + "x" * (MAX_JOURNAL_LINE + 10) + "\n" + delivered, encoding="utf-8")
    with pytest.raises(UsageError, match=f"line 2 is not a journal record \\(longer than {MAX_JOURNAL_LINE}"):
        read_journal(path)
    path.write_text(head + "[" * 100_000 + "\n" + delivered, encoding="utf-8")
    with pytest.raises(UsageError, match="line 2 is not a journal record"):
        read_journal(path)  # nested too deeply: not a RecursionError


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("&a [*a]", "the alias *a is inside its own anchor"),  # a list that holds itself
        ("&a {b: *a}", "the alias *a is inside its own anchor"),
        ("!!binary aGVsbG8=", "YAML tag !!binary makes a value JSON cannot hold"),
        ("!!set {a, b}", "YAML tag !!set makes a value JSON cannot hold"),
    ],
)
def test_yaml_values_json_cannot_hold_are_one_line(value: str, words: str, tmp_path: Path) -> None:
    code, _, stderr = invoke("render", "upload", "--set", f"data.x={value}")  # was a RecursionError
    assert code == 2 and words in one_line_error(stderr)
    path = tmp_path / "s.yaml"
    path.write_text(
        f"version: 1\nsteps:\n  - event: upload\n    set: {{data.x: {value}}}\n", encoding="utf-8"
    )
    code, _, stderr = invoke("render", str(path))  # was a TypeError from json
    assert code == 2
    assert one_line_error(stderr).startswith(f"error: {path}:4: ") and words in stderr
    assert invoke("render", "upload", "--set", "data.x=[&a [1], *a]")[0] == 0  # an alias after its anchor


def test_json_lines_stop_being_read_past_the_body_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text('{"a": 1}\n' * (MAX_BODIES + 1) + "not json\n", encoding="utf-8")
    with pytest.raises(UsageError, match=f"more than {MAX_BODIES} bodies"):
        read_inputs([path])  # not "line 10002 is not JSON": the lines after the limit are never read
    path.write_text("not json at all\n\n", encoding="utf-8")
    assert [r.body for r in read_inputs([path])] == [b"not json at all\n\n"]  # one raw body, as sent


@pytest.mark.skipif(os.name != "posix", reason="file names of any bytes are POSIX")
def test_a_scenario_path_of_non_utf8_bytes_reaches_every_report(tmp_path: Path) -> None:
    scenario = tmp_path / os.fsdecode(b"ok\xff.yaml")  # the name holds a lone surrogate, \udcff
    scenario.write_text("version: 1\nsteps: [{event: upload}]\n", encoding="utf-8")
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    code, _, stderr = invoke(
        "run", str(scenario), "--speed", "0", "--report", str(report), "--junit", str(junit)
    )
    assert code == 0, stderr  # was a UnicodeEncodeError half way through the report
    assert json.loads(report.read_text(encoding="utf-8"))["scenarios"] == [str(scenario)]
    assert "vod-emitter ok\\udcff" in junit.read_text(encoding="utf-8")  # valid XML, the name escaped
