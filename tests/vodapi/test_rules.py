"""Rule files: outcomes by name, by call count and by file; delays; task flows; one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emitter.errors import ScenarioError
from emitter.vodapi.rules import SYSTEM_PROCEDURES, load_rules, parse_rules

RULES = """
version: 1
delays: {ProcessMedia: 2s, PullUpload: 250ms}
procedures:
  Mine: {tasks: [Transcode, {type: Transcode, definition: 100030}, CoverBySnapshot]}
rules:
  - {action: ProcessMedia, name: "*corrupt*", fail: 30009}
  - {action: PullUpload, nth: 3, timeout: true}
  - {action: ProcessMedia, file_id: "42", fail: 30010, tasks: [Transcode], delay: 1m}
"""


def test_a_rule_file_decides_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    rules = load_rules(path)
    assert rules.decide("ProcessMedia", name="my corrupt file.mp4").fail == 30009
    assert rules.decide("ProcessMedia", name="fine").fail == 0
    by_file = rules.decide("ProcessMedia", name="fine", file_id="42")
    assert (by_file.fail, by_file.failed_tasks, rules.delay("ProcessMedia", 3.0, by_file)) == (
        30010,
        ("Transcode",),
        60.0,
    )
    assert [rules.decide("PullUpload").timeout for _ in range(4)] == [False, False, True, False]
    assert rules.delay("PullUpload", 2.0) == 0.25 and rules.delay("EditMedia", 2.0) == 2.0
    assert rules.procedures["Mine"][1] == {"type": "Transcode", "definition": 100030}
    assert set(SYSTEM_PROCEDURES) <= set(rules.procedures)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"rule": []}, "unknown key 'rule'"),
        ({"rules": [{"action": "ProcesMedia"}]}, "did you mean 'ProcessMedia'"),
        ({"rules": [{"action": "PullUpload", "nth": 0}]}, "nth must be a whole number"),
        ({"rules": [{"action": "PullUpload", "fail": "yes"}]}, "fail must be an error code"),
        ({"rules": [{"action": "PullUpload", "colour": 1}]}, "unknown rule key 'colour'"),
        ({"procedures": {"F": {"tasks": ["Transcoder"]}}}, "did you mean 'Transcode'"),
        ({"delays": {"ProcessMedia": "soon"}}, "delays.ProcessMedia"),
        ({"version": 2}, "unsupported rule file version"),
    ],
)
def test_bad_rules_are_one_line_errors(document: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_rules(document, "rules.yaml")
    assert expected in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith("rules.yaml")


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the rule file"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n  - {action: x\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_rules(bad)
