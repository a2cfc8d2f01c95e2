"""Unbounded work and tracebacks from small inputs: each class refused by a bound, in one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emitter.clock import parse_duration
from emitter.errors import ScenarioError
from emitter.scenarios import loader
from emitter.scenarios.loader import load_scenario, parse_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW
from tests.hardening.cli import invoke, one_line_error

BOMB = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def scenario(body: str, tmp_path: Path, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text("version: 1\nsteps:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("  - event: upload\n    repeat: 1000000000\n", 4, "repeat must be a whole number from 1 to 100000"),
        ("  - event: upload\n    duplicate: 100000\n", 4, "duplicate must be a whole number from 1 to 100"),
        ("  - event: upload\n    delay: .inf\n", 4, "over the limit of 86400 s"),
        ("  - event: upload\n    delay: .nan\n", 4, "bad duration nan"),
        ("  - event: upload\n    delay: 999999999h\n", 4, "over the limit of 86400 s"),
        ("  - event: upload\n    delay: " + "9" * 400 + "\n", 4, "over the limit of 30 digits"),
        ("  - event: transcode\n    err_code: " + "9" * 4400 + "\n", 4, "over the limit of 30 digits"),
        (
            "  - event: transcode\n    err_code: !!int '" + "9" * 4400 + "'\n",
            4,
            "over the limit of 30 digits",
        ),
        (
            "  - event: upload\n    set: {data.x: " + "[" * 1000 + "]" * 1000 + "}\n",
            4,
            "nesting deeper than 64",
        ),
        ("  - event: upload\n    set: {data.x: " + "[" * 70 + "]" * 70 + "}\n", 4, "nesting deeper than 64"),
        ("  - event: upload\n    name: " + "a" * 300 + "\n", 4, "bad step name"),
        ("  - event: upload\n    file_name: 2024-13-45\n", 4, "a value YAML cannot read"),
        ("  - event: upload\n    repeat: 100000\n" * 11, 23, "more than 1000000 events"),
    ],
)
def test_bounds_are_one_line_errors_naming_file_and_line(
    tmp_path: Path, body: str, line: int | None, words: str
) -> None:
    path = scenario(body, tmp_path)
    code, _, stderr = invoke("validate", str(path))
    error = one_line_error(stderr)
    assert code == 2
    assert error.startswith(f"error: {path}:{line}: " if line else f"error: {path}: "), error
    assert words in error


def test_an_alias_bomb_is_refused_by_its_expanded_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "steps: [{event: upload}]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"expands to more than 100000 values") as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:")
    # the same aliases within the budget are fine: the bound is the expanded size, not aliases as such
    small = "version: 1\nvars: {tags: &t [a, b]}\nsteps: [{event: upload, tags: *t}, {event: delete}]\n"
    assert len(parse_scenario(small, "small.yaml").steps) == 2


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\nsteps:\n" + "  - event: upload\n" * 60_000, encoding="utf-8")
    assert path.stat().st_size > loader.MAX_FILE_BYTES
    with pytest.raises(ScenarioError, match="over the limit of 1000000 bytes"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="over the limit of 1000000"):
        parse_scenario(path.read_text(encoding="utf-8"), str(path))


def test_steps_over_the_limit_are_refused(tmp_path: Path) -> None:
    path = scenario("  - event: upload\n" * (loader.MAX_STEPS + 1), tmp_path)
    with pytest.raises(ScenarioError, match="1001 steps is over the limit of 1000"):
        load_scenario(path)


def test_validate_renders_each_step_once_and_counts_every_event(tmp_path: Path) -> None:
    path = scenario("  - event: upload\n    repeat: 100000\n  - event: delete\n    repeat: 3\n", tmp_path)
    loaded = load_scenario(path)
    assert loaded.events == 100_003
    once = list(render_events(loaded, seed=1, now=NOW, each_step_once=True))
    assert [event.step.name for event in once] == ["upload", "delete"]
    code, stdout, _ = invoke("validate", str(path))
    assert code == 0
    assert "2 steps, 100003 events" in stdout


@pytest.mark.parametrize("value", [float("inf"), 10**400, "9" * 400 + "s", 86_401])
def test_durations_are_finite_and_bounded(value: object) -> None:
    with pytest.raises(ScenarioError, match="over the limit"):
        parse_duration(value)
    assert parse_duration("24h") == 86_400.0


@pytest.mark.parametrize(
    ("value", "words"),
    [("[" * 5000 + "]" * 5000, "nesting deeper than 64"), ("9" * 5000, "over the limit of 30 digits")],
)
def test_set_values_have_the_scenario_limits(value: str, words: str) -> None:
    code, _, stderr = invoke("render", "happy-path", "--set", f"data.x={value}")
    assert code == 2
    error = one_line_error(stderr)
    assert error.startswith("error: --set 'data.x': ") and words in error


@pytest.mark.parametrize("where", ["file", "/dev/null"])
def test_render_out_at_something_that_is_not_a_folder(tmp_path: Path, where: str) -> None:
    out = tmp_path / "exists"
    out.write_text("x", encoding="utf-8")
    target = str(out) if where == "file" else where
    code, _, stderr = invoke("render", "happy-path", "--out", target)
    assert code == 2
    assert one_line_error(stderr).startswith(f"error: --out: cannot write '{target}'")


def test_resume_refuses_a_header_without_seed(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    header = {"type": "run", "journal": 1, "now": "2024-01-01T00:00:00Z", "scenarios": ["x"], "format": "v2"}
    journal.write_text(json.dumps(header) + "\n", encoding="utf-8")
    code, _, stderr = invoke("run", "--resume", str(journal))
    assert code == 2
    assert one_line_error(stderr).startswith(f"error: {journal}: line 1 is not a journal record")


@pytest.mark.parametrize("port", ["99999", "65536"])
def test_a_target_port_out_of_range(port: str) -> None:
    code, _, stderr = invoke("run", "happy-path", "--target", f"http://127.0.0.1:{port}/")
    assert code == 2
    assert f"port {port} is not from 1 to 65535" in one_line_error(stderr)


@pytest.mark.parametrize("flag", ["--report", "--journal", "--junit"])
def test_an_output_file_on_a_full_disk_is_one_line_naming_it(flag: str) -> None:
    code, _, stderr = invoke("run", "happy-path", "--speed", "0", "--seed", "1", flag, "/dev/full")
    assert code == 2
    assert one_line_error(stderr).startswith(f"error: {flag}: cannot write '/dev/full': No space left")
