"""The offline commands (in process; once through the console script): output, files, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli, console_script

BROKEN = Path(__file__).parent.parent / "data" / "broken"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return cli(*args, cwd=cwd)


def test_render_scenario_prints_json_lines_and_the_seed() -> None:
    result = console_script("render", "happy-path", "--seed", "9", "--now", "2024-05-01T12:00:00Z")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [json.loads(line)["eventType"] for line in lines] == [
        "NewFileUpload",
        "ProcedureStateChanged",
        "ProcedureStateChanged",
        "TranscodeComplete",
    ]
    assert "seed 9 (replay: --seed 9 --now 2024-05-01T12:00:00Z)" in result.stderr
    again = run("render", "happy-path", "--seed", "9", "--now", "2024-05-01T12:00:00Z")
    assert again.stdout == result.stdout


def test_render_without_seed_announces_one_that_replays() -> None:
    first = run("render", "concat-success", "--now", "2024-05-01T12:00:00Z")
    seed = first.stderr.split()[1]
    replay = run("render", "concat-success", "--seed", seed, "--now", "2024-05-01T12:00:00Z")
    assert replay.stdout == first.stdout


def test_render_event_with_params_and_overrides() -> None:
    result = run(
        "render",
        "ConcatComplete",
        "--seed",
        "1",
        "-p",
        "status=fail",
        "--set",
        'data.fileInfo[0].message=失败 "x"',
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert [i["status"] for i in data["fileInfo"]] == [-1, 4]
    assert data["fileInfo"][0]["message"] == '失败 "x"'
    assert "失败" in result.stdout


def test_render_out_writes_one_file_per_payload(tmp_path: Path) -> None:
    result = run("render", "transcode-fail-30010", "--seed", "2", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [
        "0000-upload-NewFileUpload.json",
        "0001-procedure-ProcedureStateChanged.json",
        "0002-transcode-TranscodeComplete.json",
    ]
    assert json.loads((tmp_path / "out" / files[2]).read_text())["data"]["status"] == 30010


def test_validate_builtins_and_files() -> None:
    result = run(
        "validate",
        "happy-path",
        "concat-failure",
        str(Path("scenarios") / "clip.yaml"),
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") == 3


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_validate_broken_scenario_one_line_exit_2(path: Path) -> None:
    result = run("validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["render", "uplod"], "did you mean 'upload'?"),
        (["render", "upload", "--format", "v9"], "unknown format 'v9'"),
        (["render", "upload", "-p", "file_od=1"], "did you mean 'file_id'?"),
        (["render", "upload", "--set", "novalue"], "is not PATH=VALUE"),
        (["render", "upload", "--now", "yesterday"], "is not an ISO 8601 time"),
        (["events", "show", "concatt"], "did you mean 'concat'?"),
        (["render", "upload", "--seed", "-1"], "Invalid value"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.returncode == 2, result
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_events_lists_catalog_and_show_documents_fields() -> None:
    listing = run("events")
    assert listing.returncode == 0
    for name in ("upload", "NewFileUpload", "concat", "ConcatComplete", "procedure"):
        assert name in listing.stdout
    shown = run("events", "show", "ConcatComplete")
    assert "data.fileInfo[].status" in shown.stdout and "-1 or 4" in shown.stdout
    assert '"eventType": "ConcatComplete"' in shown.stdout


def test_scenarios_lists_builtins_with_descriptions() -> None:
    result = run("scenarios")
    assert result.returncode == 0
    assert "happy-path" in result.stdout and "concat-failure" in result.stdout
    assert all(len(line.split(None, 1)) == 2 for line in result.stdout.splitlines())


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emitter", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "render" in result.stdout


def test_scenario_with_a_step_missing_in_the_format_renders_nothing() -> None:
    result = run("render", "happy-path", "--format", "cdnetworks", "--seed", "1")
    assert result.returncode == 2 and result.stdout == ""
    expected = "happy-path.yaml:5: ProcedureStateChanged has no cdnetworks form; it exists in: v2, v3"
    assert expected in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["run", "happy-path", "--speed", "-1"],
        ["receive", "--port", "99999"],
        ["nosuchcommand"],
        ["run", "--nope"],
        ["send"],
    ],
)
def test_flag_errors_are_one_line_naming_the_command(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--help'" in lines[0], result.stderr
