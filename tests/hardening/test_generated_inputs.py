"""Generated inputs (hypothesis): scenario files, flag sets, overrides and environment variables.

For each: exit 0, 1 or 2; exit 2 is one line naming the file (and its line) or the flag; no
traceback; bounded time (the settings' deadline) and memory (the process's peak RSS budget).
"""

from __future__ import annotations

import resource
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emitter.payloads.catalog import load_catalog
from tests.hardening.cli import invoke

CATALOG = load_catalog()
EVENTS = sorted(CATALOG.names())
PARAMS = sorted({p for spec in CATALOG.events.values() for p in spec.params})
STEP_KEYS = ["event", "name", "delay", "repeat", "set", "unset", "body", "expect", "duplicate", "sign"]
TOP_KEYS = ["version", "name", "description", "format", "seed", "vars", "options", "steps"]
MEMORY_BUDGET = 1024 * 1024 * 1024  # bytes: the test process never grows past this (a bomb would)
CASES: Counter[str] = Counter()
SETTINGS = settings(
    max_examples=60,
    deadline=5000,  # ms per example: a hang or unbounded work fails here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same cases in CI every time; change the seed locally to explore
)

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(["", "\x00", "\x1b[31m", "a\r\nb", "${upload.file_id}", "${nope.x}", "é" * 30])
numbers = (
    st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 1, -1, 2**63, 10**4000])
)
durations = st.sampled_from(["250ms", "1m30s", "2s", ".inf", "-1", "1e400", "9" * 400, "1h1h", "0"]) | numbers
scalars = texts | numbers | st.booleans() | st.none()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
paths = st.sampled_from(
    ["data.fileId", "data.fileInfo[0].status", 'data["odd.key"]', "x[", "", "a..b", "data"]
)


@st.composite
def steps(draw: st.DrawFn) -> dict[str, object]:
    step: dict[str, object] = {}
    if draw(st.booleans()) or True:
        step["event"] = draw(st.sampled_from(EVENTS) | texts)
    for key in draw(st.lists(st.sampled_from(STEP_KEYS[1:] + PARAMS[:40]), max_size=4, unique=True)):
        if key == "delay":
            step[key] = draw(durations)
        elif key in ("repeat", "duplicate"):
            step[key] = draw(st.integers(min_value=-2, max_value=10**9) | texts)
        elif key == "set":
            step[key] = draw(st.dictionaries(paths, values, max_size=3) | texts)
        elif key == "unset":
            step[key] = draw(st.lists(paths, max_size=3) | values)
        else:
            step[key] = draw(values)
    return step


@st.composite
def scenario_texts(draw: st.DrawFn) -> str:
    """A scenario as YAML text: mostly well formed with hostile values, sometimes mangled text."""
    data: dict[str, object] = {"version": draw(st.sampled_from([1, 1, 1, 2, "1"]))}
    for key in draw(st.lists(st.sampled_from(TOP_KEYS[1:7]), max_size=3, unique=True)):
        data[key] = draw(values)
    data["steps"] = draw(st.lists(steps(), min_size=0, max_size=4))
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    mangle = draw(st.sampled_from(["none", "none", "cut", "insert", "alias", "deep"]))
    if mangle == "cut":
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif mangle == "insert":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = (
            text[:at]
            + draw(
                st.sampled_from(
                    [
                        "\t",
                        ":",
                        "- ",
                        "&a ",
                        "*a",
                        "{",
                        "]",
                        "!!python/object ",
                        "\n  ",
                        "\nseed: " + "9" * 4400 + "\n",
                    ]
                )
            )
            + text[at:]
        )
    elif mangle == "alias":
        text += "vars: &a [" + ", ".join(["*a"] * 3) + "]\n" if draw(st.booleans()) else _bomb(draw)
    elif mangle == "deep":
        depth = draw(st.integers(min_value=10, max_value=3000))
        text += "description: " + "[" * depth + "]" * depth + "\n"
    return text


def _bomb(draw: st.DrawFn) -> str:
    levels = draw(st.integers(min_value=2, max_value=9))
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)
    if CASES:
        print(f"\ngenerated cases: {dict(CASES)}, total {sum(CASES.values())}")


def checked(*args: str, env: dict[str, str | None] | None = None, file: Path | None = None) -> int:
    """Run a command and check the contract; the exit code."""
    code, _, stderr = invoke(*args, env=env)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the process's high-water mark
    assert "Traceback" not in stderr, stderr
    assert code in (0, 1, 2), (code, stderr)
    CASES[f"exit {code}"] += 1
    assert peak < MEMORY_BUDGET, f"{peak} bytes at peak"
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, stderr
        if file is not None and f"error: {file}" in errors[0]:
            rest = errors[0].removeprefix(f"error: {file}")
            assert rest.startswith(":") and rest[1:].split(":")[0].isdigit(), errors[0]  # file:line
    return code


@SETTINGS
@given(text=scenario_texts())
def test_generated_scenario_files_validate_and_render(workdir: Path, text: str) -> None:
    path = workdir / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    CASES["scenario files"] += 1
    code = checked("validate", str(path), file=path)
    if code == 0:
        assert checked("render", str(path), "--seed", "1", file=path) in (0, 2)


flag_values = texts | st.sampled_from(["0", "-1", "1e309", "9" * 5000, "[" * 500, "2024-13-45T00:00:00Z"])


@SETTINGS
@given(
    command=st.sampled_from(["render", "validate", "events"]),
    target=st.sampled_from(["happy-path", "upload", "concat-failure", "nope", ""]),
    flags=st.lists(
        st.tuples(
            st.sampled_from(
                ["--seed", "--now", "--format", "--set", "--unset", "-p", "--option", "--envelope"]
            ),
            flag_values,
        ),
        max_size=4,
    ),
)
def test_generated_flag_sets(command: str, target: str, flags: list[tuple[str, str]]) -> None:
    CASES["flag sets"] += 1
    args = [command, target] if command != "events" else [command]
    for flag, value in flags:
        if command == "render" or flag == "--format":
            args += [flag, value]
    checked(*args)


@SETTINGS
@given(
    path=paths,
    value=flag_values | values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
    variable=st.sampled_from(["VOD_EMITTER_SET", "VOD_EMITTER_PARAM", "VOD_EMITTER_SEED", "VOD_EMITTER_NOW"]),
)
def test_generated_overrides_and_environment(path: str, value: str, variable: str) -> None:
    CASES["overrides"] += 1
    checked("render", "happy-path", "--seed", "2", "--set", f"{path}={value}")
    checked("render", "upload", "--seed", "2", "-p", f"file_name={value}")
    env_value = f"{path}={value}" if variable in ("VOD_EMITTER_SET", "VOD_EMITTER_PARAM") else value
    if "\x00" not in env_value:  # an environment cannot hold NUL
        checked("render", "happy-path", env={variable: env_value})


@settings(SETTINGS, max_examples=15)
@given(
    headers=st.lists(texts.map(lambda t: f"X-Gen: {t}") | texts, max_size=2),
    speed=st.sampled_from(["0", "-1", "nan", "1e400", "x"]),
    timeout=st.sampled_from(["0.5", "0", "-1", "inf", "1e400", "abc"]),
)
def test_generated_run_flags_against_the_builtin_receiver(
    headers: list[str], speed: str, timeout: str
) -> None:
    CASES["run flag sets"] += 1
    args = ["run", "upload", "--seed", "3", "--speed", speed, "--timeout", timeout]
    for header in headers:
        args += ["-H", header]
    checked(*args)
