"""Payload profiles: `docs` (as the documentation prints) and `wire` (as production serializes)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
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
        for raw_name, kind in self.raw[struct]:
            name = sys.intern(raw_name)  # the same str object as the keys of rendered payloads
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


@functools.lru_cache(maxsize=4)
def sdk_structs(template_dir: str | None = None) -> SdkStructs:
    """The struct tables shipped beside the templates (generated from the SDK's models)."""
    from pathlib import Path

    from emitter.payloads.catalog import resource_dir

    directory = Path(template_dir) if template_dir else resource_dir("templates")
    with open(directory / STRUCTS_FILE, encoding="utf-8") as handle:
        return SdkStructs(json.load(handle))


Filler = Callable[[dict[str, Any]], dict[str, Any]]

# Each struct's filler, generated on its first use, per table and per whether nodes may hold nulls.
_FILLERS: dict[tuple[int, bool], tuple[tuple[Field, ...], Filler]] = {}  # (id, pruned): (table, filler)


def filler(fields: tuple[Field, ...], *, pruned: bool = False) -> Filler:
    """The function filling a struct of this table (see `fill`), generated once.

    `pruned`: the nodes it will fill hold no null at any depth (a render that prunes them), so it
    does not look for them.
    """
    found = _FILLERS.get((id(fields), pruned))
    if found is None or found[0] is not fields:
        found = _FILLERS[id(fields), pruned] = (fields, _compile_filler(fields, pruned))
    return found[1]


def _compile_filler(fields: tuple[Field, ...], pruned: bool) -> Filler:
    """The zero table copied and updated with the node (in C: SDK fields keep their places, keys the
    SDK lacks follow in the node's order), then one statement per list or struct field: fresh lists,
    children filled by their own fillers (each generated on its first call).

    The source holds only repr() literals and names of its namespace: no payload text runs as code.
    """
    zeros = {name: None if how == _LIST else zero for name, how, zero, _ in fields}
    namespace: dict[str, Any] = {
        "_zeros": zeros,
        "_scalar_zeros": {name: zero for name, how, zero, _ in fields if how == _SCALAR},
        "_fresh": _fresh,
    }
    lines = [
        "def fill(node):",
        "    out = _zeros.copy()",
        "    out |= node",
        f"    if len(out) != {len(zeros)}:  # keys the SDK lacks: copies of the node's values",
        "        for name in out.keys() - _zeros.keys():",
        "            out[name] = _fresh(out[name])",
    ]
    if not pruned:
        lines += [
            "    if None in node.values():  # a null field is absent: its zero value",
            "        for name, value in node.items():",
            "            if value is None and name in _scalar_zeros:",
            "                out[name] = _scalar_zeros[name]",
        ]
    for name, how, _, child in fields:
        key = repr(name)
        if how == _SCALAR:
            continue
        if child is not None:
            child_fill = f"_fill_{len(namespace)}"
            namespace[child_fill] = _filler_on_first_call(namespace, child_fill, child, pruned)
        if how == _LIST:
            lines += [f"    value = out[{key}]", "    if value is None:", f"        out[{key}] = []"]
            if child is not None:
                lines += [
                    "    elif type(value) is list:",
                    f"        out[{key}] = [{child_fill}(item) if type(item) is dict else _fresh(item) "
                    "for item in value]",
                ]
            lines += ["    else:", f"        out[{key}] = _fresh(value)"]
        else:
            lines.append(f"    if (value := out[{key}]) is not None:")
            filled = (
                f"{child_fill}(value) if type(value) is dict else _fresh(value)" if child else "_fresh(value)"
            )
            lines.append(f"        out[{key}] = {filled}")
    lines.append("    return out")
    exec("\n".join(lines), namespace)
    fill: Filler = namespace["fill"]
    return fill


def _filler_on_first_call(
    namespace: dict[str, Any], name: str, fields: tuple[Field, ...], pruned: bool
) -> Filler:
    """Stands for a child's filler in its parent's namespace until the first call generates it
    (a run generates the fillers of the structs it meets, not the whole SDK's)."""

    def first_call(node: dict[str, Any]) -> dict[str, Any]:
        fill = namespace[name] = filler(fields, pruned=pruned)
        return fill(node)

    return first_call


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _fresh(value: Any) -> Any:
    """A JSON value with lists and dicts of its own (the same value, sharing nothing)."""
    kind = type(value)
    if kind is list:
        return value.copy() if _PLAIN.issuperset(map(type, value)) else [_fresh(item) for item in value]
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    return value


def fill(node: dict[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """The struct as production serializes it: every field in SDK order, zero values for absent ones.

    Keys the SDK lacks are kept, after the SDK's fields. The result shares no list or dict with
    `node` or the tables.
    """
    return filler(fields)(node)


class WireV3:
    """Completes a docs-shaped v3 body into its wire shape for one era (tables built once).

    `pruned`: the bodies hold no null at any depth (a render that prunes them).
    """

    def __init__(self, structs: SdkStructs, era: str, *, pruned: bool = False):
        self.structs = structs
        # EventType first, then every event key of the era (null unless the body has it), in order
        self.nulls: dict[str, Any] = {
            "EventType": None,
            **dict.fromkeys(map(sys.intern, structs.era_keys[era])),
        }
        # every event key's filler, the era's and those beyond it (kept after the era's keys)
        self.fillers: dict[str, Filler] = {}
        for key, struct in structs.event_structs.items():
            table = structs.table(struct)
            self.fillers[key] = _filler_on_first_call(self.fillers, key, table, pruned)

    def __call__(self, payload: Any) -> Any:
        if type(payload) is not dict or "EventType" not in payload:
            return payload
        out = self.nulls.copy()
        out |= payload
        fillers = self.fillers
        for key, value in payload.items():
            kind = type(value)
            if kind is dict:
                fill = fillers.get(key)
                out[key] = fill(value) if fill is not None else _fresh(value)
            elif kind is list:
                out[key] = _fresh(value)
        return out


@functools.lru_cache(maxsize=8)
def wire_pass(fmt: str, era: str = DEFAULT_ERA, *, pruned: bool = False) -> Any:
    """The function that turns a docs-shaped body of `fmt` into its wire shape (None: no pass).

    `pruned`: the bodies hold no null at any depth (the render pruned them): a third cheaper."""
    if fmt == "v3":
        return WireV3(sdk_structs(), era, pruned=pruned)
    return None
