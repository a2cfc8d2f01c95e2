"""Payload profiles: `docs` (as the documentation prints) and `wire` (as production serializes)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from emitter.errors import UsageError, hint_with_suggestion

PROFILES = ("wire", "docs")
DEFAULT_PROFILE = "wire"
# Which sibling event keys a v3 wire body carries as null: the 2021 capture's 13, or the SDK's.
ERAS = ("current", "2021")
DEFAULT_ERA = "current"
ZERO_TIME = "0000-00-00T00:00:00Z"
STRUCTS_FILE = "data/sdk-structs.json"

_OBJECT, _LIST, _SCALAR = 0, 1, 2
_ZEROS: dict[str, Any] = {"str": "", "int": 0, "float": 0, "bool": False, "time": ZERO_TIME}

# One field of a struct: (name, how it is filled, zero value, the fields of its struct if any).
Field = tuple[str, int, Any, "tuple[Field, ...] | None"]


def check_profile(name: str, *, location: str = "profile") -> str:
    if name not in PROFILES:
        raise UsageError(
            f"unknown profile '{name}'",
            location=location,
            hint=hint_with_suggestion(name, PROFILES, f"use one of: {', '.join(PROFILES)}"),
        )
    return name


class SdkStructs:
    """The SDK's structs as precomputed fill tables: one tuple of fields per struct, built once."""

    def __init__(self, data: Mapping[str, Any]):
        self.sdk_version = str(data.get("sdk_version", ""))
        self.raw: dict[str, list[list[str]]] = data["structs"]
        self.era_keys: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data["event_keys"].items()}
        self._tables: dict[str, tuple[Field, ...]] = {}
        content = dict(self.raw["EventContent"])
        self.event_structs = {key: kind.split(":", 1)[1] for key, kind in content.items() if ":" in kind}

    def table(self, struct: str) -> tuple[Field, ...]:
        found = self._tables.get(struct)
        if found is not None:
            return found
        fields: list[Field] = []
        self._tables[struct] = ()  # a struct that contains itself stops here instead of recursing
        for name, kind in self.raw[struct]:
            base, _, child = kind.partition(":")
            child_table = self.table(child) if child in self.raw else None
            if base == "obj":
                fields.append((name, _OBJECT, None, child_table))
            elif base == "list":
                fields.append((name, _LIST, None, child_table))
            else:
                fields.append((name, _SCALAR, _ZEROS[base], None))
        found = self._tables[struct] = tuple(fields)
        return found

    def paths(self, struct: str, prefix: str, depth: int = 4) -> list[tuple[str, str]]:
        """Every field path of `struct` under `prefix` (`Set[].Field` for list items) with its SDK
        kind (str, int, float, bool, time, list, obj:STRUCT, list:STRUCT), `depth` levels deep."""
        found: list[tuple[str, str]] = []
        for name, kind in self.raw.get(struct, ()):
            path = f"{prefix}.{name}"
            found.append((path, kind))
            base, _, child = kind.partition(":")
            if child and depth > 1:
                found += self.paths(child, path + ("[]" if base == "list" else ""), depth - 1)
        return found

    def event_layout(self, era: str) -> tuple[tuple[str, tuple[Field, ...] | None], ...]:
        """The event keys of a v3 body in the era's order, each with its struct's fields."""
        return tuple(
            (key, self.table(self.event_structs[key]) if key in self.event_structs else None)
            for key in self.era_keys[era]
        )


@functools.lru_cache(maxsize=4)
def sdk_structs(template_dir: str | None = None) -> SdkStructs:
    """The struct tables shipped beside the templates (generated from the SDK's models)."""
    from pathlib import Path

    from emitter.payloads.catalog import resource_dir

    directory = Path(template_dir) if template_dir else resource_dir("templates")
    with open(directory / STRUCTS_FILE, encoding="utf-8") as handle:
        return SdkStructs(json.load(handle))


class _FillPlan:
    """A struct's fields worked out once: its zero values in SDK order, its lists, its nested structs."""

    __slots__ = ("children", "fields", "lists", "zeros")

    def __init__(self, fields: tuple[Field, ...]):
        self.fields = fields
        self.zeros = {name: None if how == _LIST else zero for name, how, zero, _ in fields}
        self.lists = frozenset(name for name, how, _, _ in fields if how == _LIST)
        self.children: dict[str, tuple[int, _FillPlan]] = {}  # filled in by _plan (structs nest)


_PLANS: dict[int, _FillPlan] = {}


def _plan(fields: tuple[Field, ...]) -> _FillPlan:
    plan = _PLANS.get(id(fields))
    if plan is None or plan.fields is not fields:
        plan = _PLANS[id(fields)] = _FillPlan(fields)
        for name, how, _, child in fields:
            if child is not None:
                plan.children[name] = (how, _plan(child))
    return plan


def fill(node: dict[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """The struct as production serializes it: every field in SDK order, zero values for absent ones.

    Keys the SDK lacks are kept, after the SDK's fields.
    """
    return _fill(node, _plan(fields))


def _fill(node: dict[str, Any], plan: _FillPlan) -> dict[str, Any]:
    out = plan.zeros.copy()
    lists = plan.lists
    for name in lists:  # a fresh empty list each
        out[name] = []
    out.update(node)  # the SDK's fields keep their places, the others follow in the node's order
    zeros = plan.zeros
    if None in node.values():  # an absent field (null) is the zero value
        for name, value in node.items():
            if value is None and name in zeros:
                out[name] = [] if name in lists else zeros[name]
    children = plan.children
    for name in children.keys() & node.keys():
        value = node[name]
        how, child = children[name]
        if how == _LIST and type(value) is list:
            out[name] = [_fill(item, child) if type(item) is dict else item for item in value]
        elif how == _OBJECT and type(value) is dict:
            out[name] = _fill(value, child)
    return out


class WireV3:
    """Completes a docs-shaped v3 body into its wire shape for one era (tables built once)."""

    def __init__(self, structs: SdkStructs, era: str):
        self.structs = structs
        self.layout = structs.event_layout(era)
        self.keys = frozenset(key for key, _ in self.layout)
        # EventType first, then every event key of the era (null unless the body has it), in order
        self.nulls: dict[str, Any] = {"EventType": None, **dict.fromkeys(key for key, _ in self.layout)}
        self.tables = {key: fields for key, fields in self.layout if fields is not None}

    def __call__(self, payload: Any) -> Any:
        if type(payload) is not dict or "EventType" not in payload:
            return payload
        out = self.nulls.copy()
        tables = self.tables
        for key, value in payload.items():
            if key in out:
                fields = tables.get(key)
            else:  # a key beyond the era's, after them
                struct = self.structs.event_structs.get(key)
                fields = self.structs.table(struct) if struct is not None else None
            out[key] = fill(value, fields) if fields is not None and type(value) is dict else value
        return out


@functools.lru_cache(maxsize=8)
def wire_pass(fmt: str, era: str = DEFAULT_ERA) -> Any:
    """The function that turns a docs-shaped body of `fmt` into its wire shape (None: no pass)."""
    if fmt == "v3":
        return WireV3(sdk_structs(), era)
    return None
