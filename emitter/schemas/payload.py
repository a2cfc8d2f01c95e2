"""Per-event payload JSON Schemas from the field docs (templates/<format>/fields.yaml), for receivers."""

from __future__ import annotations

from typing import Any

from emitter.errors import UsageError, hint_with_suggestion
from emitter.payloads.catalog import Catalog, load_catalog
from emitter.payloads.conformance import (
    ENVELOPES,
    SIGNATURE_FIELDS,
    _Node,
    _normalize_type,
    build_tree,
    sdk_field_docs,
)
from emitter.payloads.profiles import PROFILES
from emitter.schemas.scenario import DIALECT

_JSON_TYPES = {
    "String": "string",
    "Integer": "integer",
    "Float": "number",
    "Boolean": "boolean",
    "Array": "array",
    "Object": "object",
    "Null": "null",
}
_ENVELOPE_VALUES = {("v2", "version"): ["4.0"]}


def _typed(kind: str | None, nullable: bool) -> dict[str, Any]:
    if kind is None or kind not in _JSON_TYPES:
        return {}
    json_type = _JSON_TYPES[kind]
    if nullable and json_type != "null":
        return {"type": [json_type, "null"]}
    return {"type": json_type}


def _values(node: _Node, kind: str | None, nullable: bool) -> list[Any] | None:
    values = list(node.values)
    if not values:
        return None
    if kind == "String":  # the docs list some string enums as numbers (the checker compares text)
        values = [v if isinstance(v, str) else str(v) for v in values if not isinstance(v, bool)]
    return [*values, None] if nullable else values


def _node_schema(node: _Node, nullable: bool, description: str | None = None) -> dict[str, Any]:
    kind = node.implied_type
    schema: dict[str, Any] = {}
    doc = next((d for d in node.docs if d.description), None)
    if doc is not None or description:
        schema["description"] = description or (doc.description if doc else "")
    values = _values(node, kind, nullable)
    if values is not None:
        schema["enum"] = values
        return schema
    schema.update(_typed(kind, nullable))
    if kind == "Object" and node.children:
        schema["properties"] = {key: _node_schema(child, nullable) for key, child in node.children.items()}
        schema["additionalProperties"] = False
    if kind == "Array":
        items = _items(node, nullable)
        if items:
            schema["items"] = items
    return schema


def _merge(nodes: list[_Node]) -> _Node:
    """One node holding what several allow together, at every depth (as the checker's views do)."""
    merged = _Node(docs=[doc for node in nodes for doc in node.docs])
    for key in dict.fromkeys(k for node in nodes for k in node.children):
        merged.children[key] = _merge([node.children[key] for node in nodes if key in node.children])
    items = [node.items for node in nodes if node.items is not None]
    if items:
        merged.items = _merge(items)
    for variant in dict.fromkeys(v for node in nodes for v in node.variants):
        merged.variants[variant] = _merge([n.variants[variant] for n in nodes if variant in n.variants])
    merged.fixed_values = next((n.fixed_values for n in nodes if n.fixed_values), ())
    return merged


def _items(node: _Node, nullable: bool) -> dict[str, Any]:
    if node.items is None and not node.variants:
        item_type = node.item_type
        return _typed(item_type, False) if item_type else {}
    generic = _node_schema(node.items, nullable) if node.items is not None else {}
    if not node.variants:
        return generic
    # a polymorphic list ([Type=X]): each item is checked against the docs of its own kind
    branches = []
    for (key, value), variant in node.variants.items():
        merged = _merge([variant, node.items] if node.items is not None else [variant])
        branches.append(
            {
                "if": {"properties": {key: {"const": value}}, "required": [key]},
                "then": _node_schema(merged, nullable),
            }
        )
    if generic:  # an item of no documented kind is checked against the generic docs alone
        return {"if": {"anyOf": [b["if"] for b in branches]}, "then": {"allOf": branches}, "else": generic}
    keys = sorted({key for key, _ in node.variants})
    return {"type": "object", "required": keys[:1], "allOf": branches}


def payload_schema(
    event: str, fmt: str | None = None, *, profile: str = "wire", catalog: Catalog | None = None
) -> dict[str, Any]:
    """The JSON Schema of one event's payload in one format.

    `wire` (production: sibling keys and unset fields may be null) or `docs` (null fields
    omitted, as the documentation shows them).
    """
    catalog = catalog or load_catalog()
    if profile not in PROFILES:
        raise UsageError(
            f"unknown profile '{profile}'",
            location="profile",
            hint=hint_with_suggestion(profile, PROFILES, f"use one of: {', '.join(PROFILES)}"),
        )
    spec = catalog.event(event, location="event")
    fmt = fmt or spec.default_format
    catalog.format(fmt, location="format")
    docs = spec.fields.get(fmt)
    if not docs:
        raise UsageError(
            f"{spec.event_type} has no documented {fmt} fields",
            location="format",
            hint=f"it is documented in: {', '.join(spec.fields) or 'none'}",
        )
    nullable = profile == "wire"
    tree = build_tree(docs)
    top_keys = set(tree.children)
    if fmt == "v3" and profile == "wire":  # as the checker does: the wire sends every SDK field
        own = frozenset(top_keys - {d.path for d in docs if d.type.lower() == "null"})
        tree = build_tree((*sdk_field_docs(own), *docs))
        top_keys = set(tree.children)
    envelope = [d for d in ENVELOPES.get(fmt, ()) if d.path not in top_keys]
    for doc in envelope:
        tree.child(doc.path).docs.append(doc)
    properties: dict[str, Any] = {}
    for key, child in tree.children.items():
        fixed = _ENVELOPE_VALUES.get((fmt, key))
        properties[key] = {"enum": fixed} if fixed else _node_schema(child, nullable and key != "EventType")
    for doc in SIGNATURE_FIELDS:
        kind, _ = _normalize_type(doc.type)
        properties.setdefault(doc.path, {**_typed(kind, False), "description": doc.description})
    envelope_keys = [d.path for d in ENVELOPES.get(fmt, ())]
    objects = [k for k in tree.children if k not in envelope_keys]
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"https://vod-emitter.local/schemas/{fmt}/{spec.event_type}.{profile}.schema.json",
        "title": f"{spec.event_type} ({fmt}, {profile} profile)",
        "description": spec.summary,
        "type": "object",
        "required": envelope_keys,
        "properties": properties,
        "additionalProperties": False,
    }
    if objects and fmt == "v3":  # the event's own object (one of its documented spellings)
        schema["anyOf"] = [{"required": [key]} for key in objects]
    return schema
