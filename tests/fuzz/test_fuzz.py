"""Fuzzing finds receivers' crashes in its default budget; reproducers fail the buggy, pass the fixed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from emitter import api
from emitter.cli import app
from emitter.errors import EmitterError
from emitter.fuzz import fuzz
from emitter.receiver.server import Behaviour, Receiver
from emitter.scenarios.loader import load_scenario
from tests.fuzz import receivers

NOW = "2024-05-01T12:00:00Z"


@pytest.mark.parametrize(
    ("buggy", "fixed", "words"),
    [
        (receivers.indexes_output, receivers.indexes_output_fixed, "subscriptable"),
        (receivers.iterates_missing_list, receivers.iterates_missing_list_fixed, "MediaProcessResultSet"),
    ],
    ids=["indexes-output", "iterates-missing-list"],
)
def test_default_budget_finds_the_crash_and_the_reproducer_replays_it(
    buggy: Any, fixed: Any, words: str, tmp_path: Path
) -> None:
    report = fuzz(buggy, seed=3, out=tmp_path)  # the default budget and example count
    assert report.exit_code == 1
    assert report.findings and all(f.answer.klass == "5xx" for f in report.findings)
    assert all(f.case.base.spec.event_type == "ProcedureStateChanged" for f in report.findings)
    assert any(words in f.answer.detail or words in f.case.describe() for f in report.findings)
    for finding in report.findings:
        assert finding.path is not None and finding.path.parent == tmp_path
        scenario = load_scenario(finding.path)  # a valid scenario file
        assert len(scenario.steps) <= 2 and all(
            len(s.overrides.unset) + len(s.overrides.set or {}) <= 3 for s in scenario.steps
        )
        against_buggy = api.run(scenario, target=buggy, speed=0)
        assert not against_buggy.ok
        assert any(e.status == 500 for e in against_buggy.events)
        assert api.run(scenario, target=fixed, speed=0).ok


@pytest.mark.parametrize("fixed", [receivers.indexes_output_fixed, receivers.iterates_missing_list_fixed])
def test_a_sound_receiver_gets_no_findings(fixed: Any, tmp_path: Path) -> None:
    report = fuzz(fixed, seed=3, max_examples=60, out=tmp_path)
    assert report.ok and report.exit_code == 0
    assert not list(tmp_path.iterdir())
    kinds = {kind for kind, _ in report.counts}
    assert {"valid", "missing", "null", "duplicate", "finish_before_processing"} <= kinds
    assert report.examples == sum(report.counts.values())


def test_the_same_seed_replays_the_same_run(tmp_path: Path) -> None:
    first = fuzz(receivers.iterates_missing_list, seed=9, max_examples=40, out=tmp_path / "a")
    second = fuzz(receivers.iterates_missing_list, seed=9, max_examples=40, out=tmp_path / "b")
    assert first.counts == second.counts
    assert [f.case.describe() for f in first.findings] == [f.case.describe() for f in second.findings]
    assert [p.read_text() for p in sorted((tmp_path / "a").iterdir())] == [
        p.read_text() for p in sorted((tmp_path / "b").iterdir())
    ]


def test_answers_are_classified_over_real_sockets(tmp_path: Path) -> None:
    with Receiver(behaviour=Behaviour(status=422)).running_in_thread() as rejecting:
        rejected = fuzz(rejecting.url, events=["upload"], seed=1, max_examples=5, out=tmp_path)
    assert rejected.ok  # a 4xx is a receiver's choice, not a crash
    assert {klass for _, klass in rejected.counts} == {"4xx"}
    with Receiver(behaviour=Behaviour(drop_all=True)).running_in_thread() as dropping:
        dropped = fuzz(dropping.url, events=["delete"], seed=1, max_examples=3, budget=20, out=tmp_path)
    assert {klass for _, klass in dropped.counts} == {"dropped"}
    assert dropped.exit_code == 1
    with Receiver(behaviour=Behaviour(delay=1.0)).running_in_thread() as slow:
        late = fuzz(slow.url, events=["delete"], seed=1, max_examples=2, timeout=0.2, budget=3, out=None)
    assert {klass for _, klass in late.counts} == {"timeout"}


def test_limits_are_one_line_errors() -> None:
    for kwargs, words in (
        ({"max_examples": 0}, "max_examples"),
        ({"budget": 0}, "budget"),
        ({"events": ["edit"], "fmt": "v2"}, "no v2 form"),
        ({"events": ["uplod"]}, "did you mean"),
    ):
        with pytest.raises(EmitterError, match=words):
            fuzz(receivers.indexes_output_fixed, out=None, **kwargs)


def test_cli_fuzz_exits_1_with_reproducers_and_0_when_sound(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "findings"
    args = ["fuzz", "--seed", "5", "--max-examples", "40", "--events", "procedure", "-o", str(out)]
    failed = runner.invoke(app, [*args, "-t", "app:tests.fuzz.receivers:iterates_missing_list"])
    assert failed.exit_code == 1, failed.output
    assert "FAIL ProcedureStateChanged" in failed.stdout and "reproduce: vod-emitter run" in failed.stdout
    written = sorted(out.iterdir())
    assert written and all(yaml.safe_load(p.read_text())["version"] == 1 for p in written)
    replay = runner.invoke(
        app, ["run", str(written[0]), "-t", "app:tests.fuzz.receivers:iterates_missing_list"]
    )
    assert replay.exit_code == 1
    sound = runner.invoke(app, [*args, "-t", "app:tests.fuzz.receivers:iterates_missing_list_fixed"])
    assert sound.exit_code == 0, sound.output
    bad = runner.invoke(app, ["fuzz", "-t", "app:tests.fuzz.receivers:nope", "--budget", "1x"])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
