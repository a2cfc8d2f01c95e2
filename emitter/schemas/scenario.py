"""The JSON Schema of scenario files, generated from the loader's key tables and the catalog."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emitter.payloads.catalog import Catalog, EventSpec, ParamSpec, load_catalog
from emitter.payloads.options import OPTIONS
from emitter.payloads.profiles import PROFILES
from emitter.scenarios.loader import SCENARIO_KEYS, SIGN_CASES, STEP_KEYS
from emitter.vodapi.faults import MAX_INTERNAL_ERRORS
from emitter.vodapi.rules import RULE_ACTIONS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://vod-emitter.local/schemas/scenario.schema.json"
# The copy shipped in the wheel (a test keeps it equal to what scenario_schema() generates).
SHIPPED = Path(__file__).with_name("scenario.schema.json")

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_JSON_TYPES.update({"list": "array", "dict": "object"})
_REFERENCE = {"type": "string", "pattern": r"\$\{[A-Za-z_][\w-]*\.[A-Za-z_]\w*\}"}
_DURATION = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*((\d+(\.\d+)?)\s*(ms|h|m|s)\s*)+$"},
    ],
    "description": "250ms, 2s, 1m30s, 1h or a number of seconds",
}
_STATUS = {"anyOf": [{"type": "integer", "minimum": 100, "maximum": 599}, {"type": "string"}]}
_POSITIVE = {"type": "integer", "minimum": 1}
_PROFILE = {"enum": list(PROFILES), "description": "payload profile: wire (as production) or docs"}


def _param_schema(param: ParamSpec) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    if param.type in _JSON_TYPES:
        typed["type"] = _JSON_TYPES[param.type]
    if param.enum:
        typed["enum"] = list(param.enum)
    return {"anyOf": [typed, {"type": "null"}, _REFERENCE], "description": f"{param.help} ({param.origin})"}


def _option_schema(name: str) -> dict[str, Any]:
    spec = OPTIONS[name]
    schema: dict[str, Any] = {"type": _JSON_TYPES[spec.type.__name__], "description": spec.help}
    if spec.choices:
        schema["enum"] = list(spec.choices)
    return schema


def _names(spec: EventSpec) -> list[str]:
    return list(dict.fromkeys([*spec.aliases, spec.event_type, spec.event_type.lower()]))


def _step(catalog: Catalog) -> dict[str, Any]:
    keys: Mapping[str, dict[str, Any]] = {
        "event": {
            "enum": [n for spec in catalog.events.values() for n in _names(spec)],
            "description": "event alias or EventType ('vod-emitter events')",
        },
        "name": {"type": "string", "pattern": r"^[A-Za-z_][\w-]*$", "description": "used in ${name.param}"},
        "delay": {"$ref": "#/$defs/duration"},
        "repeat": _POSITIVE,
        "set": {
            "type": "object",
            "description": "payload path -> value, applied after rendering",
            "propertyNames": {"pattern": r"^[A-Za-z_$\[]"},
        },
        "unset": {"type": "array", "items": {"type": "string"}, "description": "payload paths to remove"},
        "body": {"description": "the whole payload (a string is sent as is)"},
        "expect": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"status": {"anyOf": [_STATUS, {"type": "array", "items": _STATUS}]}},
                    "additionalProperties": False,
                },
                _STATUS,
            ],
            "description": "answers that count as success: 200, [200, 202], 2xx, 400-499",
        },
        "duplicate": _POSITIVE,
        "sign": {"enum": list(SIGN_CASES)},
        "on": {
            "enum": list(RULE_ACTIONS),
            "description": "wait for the app's call to this local VOD API action",
        },
        "pull": {
            "type": "object",
            "description": "faults when the run queues the event for PULL (run --mode pull)",
            "properties": {
                "duplicate": {"type": "boolean"},
                "confirm_expires": {"type": "boolean"},
                "delay": {"$ref": "#/$defs/duration"},
                "internal_errors": {"type": "integer", "minimum": 0, "maximum": MAX_INTERNAL_ERRORS},
            },
            "additionalProperties": False,
        },
        "profile": _PROFILE,
    }
    _require_all(keys, STEP_KEYS, "STEP_KEYS")
    per_event = [
        {
            "if": {"properties": {"event": {"enum": _names(spec)}}, "required": ["event"]},
            "then": {"properties": {name: _param_schema(p) for name, p in spec.params.items()}},
        }
        for spec in catalog.events.values()
    ]
    return {
        "type": "object",
        "required": ["event"],
        "properties": {key: keys[key] for key in STEP_KEYS},
        "allOf": per_event,
        "dependentSchemas": {"body": {"not": {"anyOf": [{"required": ["set"]}, {"required": ["unset"]}]}}},
        "unevaluatedProperties": False,
    }


def _require_all(table: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in table]
    if missing:  # a loader key without a schema is a bug of this module, found by the tests
        raise KeyError(f"the scenario schema has no definition for {what} {missing}")


def scenario_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The scenario file schema: every key the loader accepts, every event and its parameters."""
    catalog = catalog or load_catalog()
    all_params = {name: p for spec in catalog.events.values() for name, p in spec.params.items()}
    builders: Mapping[str, Callable[[], dict[str, Any]]] = {
        "version": lambda: {"const": 1, "description": "always 1"},
        "name": lambda: {"type": "string"},
        "description": lambda: {"type": "string"},
        "format": lambda: {"enum": list(catalog.formats), "description": "payload format (default v2)"},
        "profile": lambda: _PROFILE,
        "seed": lambda: {"type": "integer", "minimum": 0},
        "vars": lambda: {
            "type": "object",
            "description": "event parameters by name, for every step that takes them",
            "properties": {name: _param_schema(p) for name, p in sorted(all_params.items())},
            "additionalProperties": False,
        },
        "options": lambda: {
            "type": "object",
            "properties": {name: _option_schema(name) for name in OPTIONS},
            "additionalProperties": False,
        },
        "subscribe": lambda: {
            "type": "array",
            "description": "event types the account subscribes to; other steps are filtered, as VOD does",
            "items": {"enum": [n for spec in catalog.events.values() for n in _names(spec)]},
        },
        "steps": lambda: {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
    }
    _require_all(builders, SCENARIO_KEYS, "SCENARIO_KEYS")
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "vod-emitter scenario",
        "type": "object",
        "required": ["version", "steps"],
        "properties": {key: builders[key]() for key in SCENARIO_KEYS},
        "additionalProperties": False,
        "$defs": {"duration": _DURATION, "step": _step(catalog)},
    }


def schema_text(schema: Mapping[str, Any]) -> str:
    """Stable text of a schema (what `vod-emitter schema` prints and the wheel ships)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
