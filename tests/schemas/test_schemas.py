"""JSON Schemas: the scenario schema follows the loader; payload schemas hold for every rendered payload."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from emitter import api
from emitter.cli import app
from emitter.errors import ScenarioError
from emitter.payloads.catalog import load_catalog
from emitter.scenarios.loader import SCENARIO_KEYS, STEP_KEYS, builtin_scenarios, parse_scenario
from emitter.schemas.payload import payload_schema
from emitter.schemas.scenario import SHIPPED, scenario_schema, schema_text

NOW = "2024-05-01T12:00:00Z"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema_text(scenario_schema())


def test_the_schema_has_exactly_the_loaders_keys() -> None:
    schema = scenario_schema()
    assert list(schema["properties"]) == list(SCENARIO_KEYS)
    assert list(schema["$defs"]["step"]["properties"]) == list(STEP_KEYS)


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_every_builtin_scenario_is_valid(name: str, validator: jsonschema.Draft202012Validator) -> None:
    data = yaml.safe_load(builtin_scenarios()[name].read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []


def _scenario(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": 1, **top, "steps": list(steps)}


MALFORMED = [
    (_scenario({"event": "upload"}, formt="v3"), [], "formt"),
    (_scenario({"event": "upload"}, version=2), ["version"], "1 was expected"),
    (_scenario({"event": "upload"}, format="v4"), ["format"], "v4"),
    (_scenario({"event": "upload"}, seed=-1), ["seed"], "minimum"),
    (_scenario({"event": "upload"}, options={"keep_null": True}), ["options"], "keep_null"),
    (_scenario({"event": "upload"}, vars={"file_idd": "1"}), ["vars"], "file_idd"),
    (_scenario(), ["steps"], "should be non-empty"),
    (_scenario({"event": "uplod"}), ["steps", 0, "event"], "uplod"),
    (_scenario({"name": "x"}), ["steps", 0], "'event' is a required property"),
    (_scenario({"event": "upload", "delay": "2 parsecs"}), ["steps", 0, "delay"], "2 parsecs"),
    (_scenario({"event": "upload", "repeat": 0}), ["steps", 0, "repeat"], "minimum"),
    (_scenario({"event": "upload", "sign": "bad"}), ["steps", 0, "sign"], "bad"),
    (_scenario({"event": "upload", "file_idd": "1"}), ["steps", 0], "file_idd"),
    (_scenario({"event": "transcode", "err_code": "x"}), ["steps", 0, "err_code"], "'x'"),
    (_scenario({"event": "procedure", "state": "DONE"}), ["steps", 0, "state"], "DONE"),
    (_scenario({"event": "upload", "unset": "data.fileId"}), ["steps", 0, "unset"], "not of type 'array'"),
    (_scenario({"event": "upload", "body": {}, "set": {"a": 1}}), ["steps", 0], "should not be valid"),
    (_scenario({"event": "upload", "expect": {"code": 200}}), ["steps", 0, "expect"], "expect"),
]


@pytest.mark.parametrize(
    ("data", "path", "words"), MALFORMED, ids=[" ".join(map(str, m[1])) or m[2] for m in MALFORMED]
)
def test_malformed_scenarios_fail_at_the_right_path(
    data: dict[str, Any], path: list[Any], words: str, validator: jsonschema.Draft202012Validator
) -> None:
    errors = list(validator.iter_errors(data))
    assert errors, "the schema accepted it"
    best = jsonschema.exceptions.best_match(errors)
    assert list(best.absolute_path) == path or any(list(e.absolute_path) == path for e in errors)
    located = [e for e in errors if list(e.absolute_path) == path]
    assert (
        any(words in e.message for e in located)
        or any(words in str(c.message) for e in located for c in (e.context or ()))
        or words in json.dumps(data)
    )
    with pytest.raises(ScenarioError):  # the loader rejects it too: the schema does not invent rules
        parse_scenario(yaml.safe_dump(data))


def _variants() -> list[tuple[str, str, str, dict[str, Any]]]:
    cases = []
    for spec in load_catalog().events.values():
        for fmt in spec.templates:
            option_sets: list[dict[str, Any]] = [
                {"profile": "docs"},
                {},
                {"profile": "docs", "keep_nulls": True},
            ]
            if fmt == "v3":
                option_sets += [{"profile": "docs", "null_event_keys": True}, {"era": "2021"}]
            for outcome in spec.outcomes:
                for options in option_sets:
                    cases.append((spec.event_type, fmt, outcome, options))
    return cases


@pytest.mark.parametrize(("event", "fmt", "outcome", "options"), _variants())
def test_payload_schemas_validate_every_rendered_payload(
    event: str, fmt: str, outcome: str, options: dict[str, Any]
) -> None:
    # docs payloads (nulls omitted) suit both schemas; wire ones (nulls, SDK fields) the wire one
    profiles = ["wire", "docs"] if options == {"profile": "docs"} else ["wire"]
    for profile in profiles:
        validator = jsonschema.Draft202012Validator(payload_schema(event, fmt, profile=profile))
        for seed in range(3):
            payload = api.render_event(
                event, params={"status": outcome}, fmt=fmt, seed=seed, now=NOW, options=options
            )
            assert [e.message for e in validator.iter_errors(payload)] == []


@functools.cache
def _wire_validator(event_type: str, fmt: str) -> jsonschema.Draft202012Validator:
    """One validator per schema (jsonschema.validate would check the schema itself on every call)."""
    schema = payload_schema(event_type, fmt, profile="wire")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_payload_schemas_validate_every_builtin_scenario(name: str) -> None:
    for fmt in ("v2", "v3"):
        for event in api.render_scenario(name, seed=5, now=NOW, fmt=fmt):
            _wire_validator(event.event_type, fmt).validate(event.payload)


def test_payload_schemas_reject_what_the_docs_do_not_allow() -> None:
    payload = api.render_event("transcode", fmt="v2", seed=1, now=NOW, options={"profile": "docs"})
    validator = jsonschema.Draft202012Validator(payload_schema("transcode", "v2", profile="docs"))
    wrong_type = json.loads(json.dumps(payload))
    wrong_type["data"]["status"] = "0"
    extra = json.loads(json.dumps(payload))
    extra["data"]["fileIdd"] = "1"
    nulled = json.loads(json.dumps(payload))
    nulled["data"]["fileId"] = None
    assert [list(e.absolute_path) for e in validator.iter_errors(wrong_type)] == [["data", "status"]]
    assert [list(e.absolute_path) for e in validator.iter_errors(extra)] == [["data"]]
    assert [list(e.absolute_path) for e in validator.iter_errors(nulled)] == [["data", "fileId"]]
    wire = jsonschema.Draft202012Validator(payload_schema("transcode", "v2", profile="wire"))
    assert list(wire.iter_errors(nulled)) == []


def test_schema_command_prints_both_kinds() -> None:
    runner = CliRunner()
    scenario = runner.invoke(app, ["schema", "scenario"])
    assert scenario.exit_code == 0
    assert json.loads(scenario.stdout) == scenario_schema()
    event = runner.invoke(app, ["schema", "procedure", "--format", "v3", "--profile", "docs"])
    assert event.exit_code == 0
    assert json.loads(event.stdout) == payload_schema("ProcedureStateChanged", "v3", profile="docs")
    for args, words in (
        (["schema", "uplod"], "did you mean 'upload'"),
        (["schema", "upload", "--profile", "x"], "--profile"),
        (["schema", "edit", "--format", "v2"], "--format"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and words in result.stderr
