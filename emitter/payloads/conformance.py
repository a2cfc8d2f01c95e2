"""Checks a callback body against the catalog's documented fields: format, event, types, values."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emitter.errors import did_you_mean
from emitter.payloads.catalog import Catalog, FieldDoc

UNKNOWN = "unknown"
# Where VOD's SignKey puts Sign/T is undocumented; the emitter may send them as top-level keys.
SIGNATURE_FIELDS: tuple[FieldDoc, ...] = (
    FieldDoc("Sign", "String", "md5(SignKey + T), when a SignKey is configured"),
    FieldDoc("T", "Integer", "expiry of the signature, Unix seconds"),
)
# The envelope of each format, used when the catalog's field docs do not list it themselves.
ENVELOPES: Mapping[str, tuple[FieldDoc, ...]] = {
    "v2": (
        FieldDoc("version", "String", "always 4.0"),
        FieldDoc("eventType", "String", "the event name"),
        FieldDoc("data", "Object", "the event's payload"),
    ),
    "v3": (FieldDoc("EventType", "String", "the event name"),),
    "cdnetworks": (
        FieldDoc("code", "Integer", "business code"),
        FieldDoc("message", "String", "business message"),
        FieldDoc("data", "Object", "the video list"),
    ),
}
_ENVELOPE_VALUES: Mapping[tuple[str, str], tuple[Any, ...]] = {("v2", "version"): ("4.0",)}

_TYPE_ALIASES: Mapping[str, str] = {
    "string": "String",
    "str": "String",
    "integer": "Integer",
    "int": "Integer",
    "int64": "Integer",
    "uint64": "Integer",
    "long": "Integer",
    "float": "Float",
    "double": "Float",
    "number": "Float",
    "boolean": "Boolean",
    "bool": "Boolean",
    "array": "Array",
    "list": "Array",
    "object": "Object",
    "dict": "Object",
}
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[^\]]*\])*)")


@dataclass(frozen=True)
class Conformance:
    """What a body is (format, event type) and everything in it that the docs do not allow.

    `checked` is False when the catalog documents no fields for that event and format, so only
    the envelope was checked. `payload` is the parsed JSON (None when the body is not JSON).
    """

    format: str
    event_type: str | None
    problems: list[str] = field(default_factory=list)
    payload: Any = None
    checked: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


def json_type(value: Any) -> str:
    """The doc's type name of a JSON value (String, Integer, Float, Boolean, Array, Object)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    return "Array" if isinstance(value, list) else "Object"


def _normalize_type(raw: str) -> tuple[str | None, str | None]:
    """(type, item type) from a doc type like 'Integer', 'Array of String'; None when unknown."""
    text = raw.strip()
    lowered = text.lower()
    if lowered.startswith("array of "):
        return "Array", _TYPE_ALIASES.get(lowered[len("array of ") :].strip())
    return _TYPE_ALIASES.get(lowered), None


_KINDS: Mapping[type, str] = {
    str: "String",
    int: "Integer",
    float: "Float",
    bool: "Boolean",
    list: "Array",
    dict: "Object",
}


def _has_type(value: Any, expected: str) -> bool:
    kind = _KINDS.get(type(value)) or json_type(value)
    return kind == expected or (kind == "Integer" and expected == "Float")


def _same_value(value: Any, allowed: Any, expected: str | None) -> bool:
    if expected == "String" and isinstance(value, str) and not isinstance(allowed, bool):
        return value == str(allowed)
    if isinstance(value, bool) or isinstance(allowed, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value == allowed
    return bool(value == allowed)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class _Node:
    """One documented position in a payload; children by key, items by `[]` or discriminator."""

    docs: list[FieldDoc] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None
    variants: dict[tuple[str, str], _Node] = field(default_factory=dict)
    fixed_values: tuple[Any, ...] = ()

    # Cached: a tree is complete before the first payload is checked against it.
    @functools.cached_property
    def type(self) -> str | None:
        for doc in self.docs:
            kind, _ = _normalize_type(doc.type)
            if kind:
                return kind
        return None

    @functools.cached_property
    def item_type(self) -> str | None:
        for doc in self.docs:
            _, item = _normalize_type(doc.type)
            if item:
                return item
        return None

    @functools.cached_property
    def values(self) -> tuple[Any, ...]:
        if self.fixed_values:
            return self.fixed_values
        for doc in self.docs:
            values = getattr(doc, "values", None)
            if values:
                return tuple(values)
        return ()

    @functools.cached_property
    def implied_type(self) -> str | None:
        if self.type:
            return self.type
        if self.children:
            return "Object"
        if self.items is not None or self.variants:
            return "Array"
        return None

    def child(self, key: str) -> _Node:
        return self.children.setdefault(key, _Node())

    def item(self) -> _Node:
        if self.items is None:
            self.items = _Node()
        return self.items

    def variant(self, key: str, value: str) -> _Node:
        return self.variants.setdefault((key, value), _Node())


def parse_doc_path(path: str) -> list[tuple[str, list[str]]]:
    """`a.b[].c[taskType=X].d` -> [(a, []), (b, ['']), (c, ['taskType=X']), (d, [])]."""
    parts: list[tuple[str, list[str]]] = []
    position = 0
    text = path.strip()
    while position < len(text):
        if parts and text[position] == ".":
            position += 1
        match = _SEGMENT.match(text, position)
        if not match:
            raise ValueError(f"bad field path {path!r} at character {position + 1}")
        brackets = re.findall(r"\[([^\]]*)\]", match.group(2))
        parts.append((match.group(1), [b.strip() for b in brackets]))
        position = match.end()
    if not parts:
        raise ValueError("empty field path")
    return parts


def build_tree(docs: Iterable[FieldDoc]) -> _Node:
    """The documentation tree of one event and format (malformed paths are skipped)."""
    root = _Node()
    for doc in docs:
        try:
            parts = parse_doc_path(doc.path)
        except ValueError:
            continue
        node = root
        for name, brackets in parts:
            node = node.child(name)
            for bracket in brackets:
                key, sep, value = bracket.partition("=")
                node = node.variant(key.strip(), value.strip()) if sep else node.item()
        node.docs.append(doc)
    return root


class _View:
    """What the documentation nodes that apply at one place allow, together; views of the
    places below are built once and kept, so checking a payload is mostly dict lookups."""

    def __init__(self, nodes: tuple[_Node, ...]):
        self.expected = next((n.implied_type for n in nodes if n.implied_type), None)
        self.allowed = next((n.values for n in nodes if n.values), ())
        self.item_type = next((n.item_type for n in nodes if n.item_type), None)
        self.generic = tuple(n.items for n in nodes if n.items is not None)
        self.variants = tuple((k, v, n) for node in nodes for (k, v), n in node.variants.items())
        self.members: dict[str, tuple[_Node, ...]] = {}
        for node in nodes:
            for key, child in node.children.items():
                self.members[key] = (*self.members.get(key, ()), child)
        self._children: dict[str, _View] = {}
        self._items: dict[tuple[int, ...], _View] = {}

    def child(self, key: str) -> _View | None:
        view = self._children.get(key)
        if view is None:
            nodes = self.members.get(key)
            if nodes is None:
                return None
            view = self._children[key] = _View(nodes)
        return view

    def item(self, matched: tuple[_Node, ...]) -> _View:
        """The view of an array item: the generic `[]` docs plus the variants it matched."""
        key = tuple(map(id, matched))  # nodes live as long as their tree, so ids are stable
        view = self._items.get(key)
        if view is None:
            view = self._items[key] = _View(self.generic + matched)
        return view


class _Walker:
    """Walks one payload against the documentation views and collects the problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def value(self, value: Any, view: _View, path: str) -> None:
        expected = view.expected
        if value is None:
            if expected and path.isidentifier():
                self.problems.append(f"{path}: expected {expected}, got null")
            return  # null is how some senders spell "absent", which documented fields may be
        allowed = view.allowed
        if allowed and any(_same_value(value, a, expected) for a in allowed):
            return  # the documented values win over a mistyped column (Porn suggestion "Float")
        kind = _KINDS.get(type(value)) or json_type(value)
        if expected and kind != expected and not (kind == "Integer" and expected == "Float"):
            self._wrong_type(path, expected, value)
            return
        if allowed:
            listed = ", ".join(str(a) for a in allowed)
            self.problems.append(f"{path}: {_short(value)} is not one of {listed}")
        elif kind == "Object":
            self.object(value, view, path)
        elif kind == "Array":
            self._array(value, view, path)

    def object(self, value: Mapping[str, Any], view: _View, path: str) -> None:
        if not view.members:
            return  # documented as an Object without documented members: contents unchecked
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            child = view.child(key)
            if child is None:
                suggestion = did_you_mean(key, view.members)
                self.problems.append(
                    f"undocumented field {where}" + (f" ({suggestion})" if suggestion else "")
                )
                continue
            self.value(item, child, where)

    def _array(self, value: list[Any], view: _View, path: str) -> None:
        generic, variants, item_type = view.generic, view.variants, view.item_type
        if not generic and not variants:
            if item_type:
                for index, item in enumerate(value):
                    if not _has_type(item, item_type):
                        self._wrong_type(f"{path}[{index}]", item_type, item)
            return  # documented as an Array of unspecified items
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            matched: tuple[_Node, ...] = ()
            if variants:
                if not isinstance(item, dict):
                    if not generic:
                        self._wrong_type(where, "Object", item)
                        continue
                else:
                    matched = tuple(n for k, v, n in variants if k in item and str(item[k]) == v)
                    if not matched and not generic:
                        self._no_variant(item, variants, where)
                        continue
            self.value(item, view.item(matched), where)

    def _wrong_type(self, path: str, expected: str, value: Any) -> None:
        self.problems.append(f"{path}: expected {expected}, got {json_type(value)} {_short(value)}")

    def _no_variant(
        self, item: Mapping[str, Any], variants: tuple[tuple[str, str, _Node], ...], where: str
    ) -> None:
        keys = sorted({k for k, _, _ in variants})
        for key in keys:
            if key in item:
                kinds = [v for k, v, _ in variants if k == key]
                self.problems.append(f"{where}.{key}: {_short(item[key])} is not one of {', '.join(kinds)}")
                return
        self.problems.append(f"{where}: missing {' or '.join(keys)}")


def detect_format(payload: Any) -> str:
    """v3: EventType; cdnetworks: code and data.videoListInfo; v2: version, eventType or data."""
    if not isinstance(payload, dict):
        return UNKNOWN
    if "EventType" in payload:
        return "v3"
    data = payload.get("data")
    if "code" in payload and isinstance(data, dict) and "videoListInfo" in data:
        return "cdnetworks"
    if {"version", "eventType", "data"} & payload.keys():
        return "v2"
    return UNKNOWN


class Checker:
    """Checks bodies against one catalog; documentation trees are built once per event/format."""

    def __init__(self, catalog: Catalog, *, allow_signature: bool = True):
        self.catalog = catalog
        self.allow_signature = allow_signature
        self._trees: dict[tuple[str, str], tuple[_View, bool]] = {}
        self._envelopes: dict[str, _View] = {}

    def tree(self, event_type: str, fmt: str) -> tuple[_View, bool]:
        """(root view, whether the event's own fields are documented) for one event and format."""
        key = (event_type, fmt)
        if key not in self._trees:
            spec = self.catalog.events[event_type]
            docs = tuple(spec.fields.get(fmt, ()))
            documented_top = {parse_doc_path(d.path)[0][0] for d in docs if _parses(d.path)}
            if fmt == "v3" and docs:
                # the wire profile sends every SDK field; the SDK's types come first (they win)
                own = frozenset(documented_top - {d.path for d in docs if d.type.lower() == "null"})
                docs = (*sdk_field_docs(own), *docs)
            envelope = tuple(d for d in ENVELOPES.get(fmt, ()) if d.path not in documented_top)
            signature = SIGNATURE_FIELDS if self.allow_signature else ()
            tree = build_tree((*envelope, *docs))
            for doc in envelope:
                tree.children[doc.path].fixed_values = _ENVELOPE_VALUES.get((fmt, doc.path), ())
            for name, node in build_tree(signature).children.items():
                tree.children.setdefault(name, node)
            self._trees[key] = (_View((tree,)), bool(docs))
        return self._trees[key]

    def _event_type(self, payload: dict[str, Any], fmt: str) -> tuple[str | None, list[str]]:
        if fmt == "cdnetworks":
            candidates = [
                s.event_type for s in self.catalog.events.values() if fmt in s.templates or fmt in s.fields
            ]
            if len(candidates) == 1:
                return candidates[0], []
            return None, [
                f"cannot tell which event a {fmt} body is: the catalog has {len(candidates)} {fmt} events"
            ]
        key = "EventType" if fmt == "v3" else "eventType"
        if key not in payload:
            return None, [f"missing {key}"]
        name = payload[key]
        if not isinstance(name, str):
            return None, []  # the envelope check names the wrong type
        if name not in self.catalog.events:
            suggestion = did_you_mean(name, self.catalog.events)
            hint = f" ({suggestion})" if suggestion else ""
            return None, [f"{key}: unknown event type {name!r}{hint}"]
        spec = self.catalog.events[name]
        if fmt not in spec.templates and fmt not in spec.fields:
            forms = ", ".join(sorted({*spec.templates, *spec.fields})) or "none"
            return name, [f"{key}: {name} has no {fmt} form (forms: {forms})"]
        return name, []

    def _missing_top_level(self, tree: _View, payload: Mapping[str, Any], fmt: str) -> list[str]:
        """Envelope keys must all be there; of the other top-level keys, at least one.

        Documents may name alternatives for the event's object (v3 WechatPublishComplete vs
        WechatPublishCompleteEvent), so one present is enough.
        """
        envelope = {d.path for d in ENVELOPES.get(fmt, ())}
        signature = {d.path for d in SIGNATURE_FIELDS}
        missing = [f"missing {k}" for k in tree.members if k in envelope and k not in payload]
        others = [
            k
            for k, nodes in tree.members.items()
            if k not in envelope and k not in signature and not _null_only(nodes)
        ]
        if others and not any(k in payload for k in others):
            wanted = others[0] if len(others) == 1 else f"one of {', '.join(others)}"
            missing.append(f"missing {wanted}")
        return missing

    def check(self, body: bytes | str) -> Conformance:
        """Parse and check one body; never raises for bad input (problems describe it)."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            problem = f"body is not JSON: {reason}" if body.strip() else "empty body"
            return Conformance(UNKNOWN, None, [problem])
        fmt = detect_format(payload)
        if fmt == UNKNOWN:
            if not isinstance(payload, dict):
                problem = f"body is a JSON {json_type(payload)}, not an object"
            else:
                problem = (
                    "not a VOD callback: no eventType (v2), EventType (v3)"
                    " or code and data.videoListInfo (cdnetworks)"
                )
            return Conformance(UNKNOWN, None, [problem], payload)
        event_type, problems = self._event_type(payload, fmt)
        if event_type is None:
            if fmt not in self._envelopes:
                self._envelopes[fmt] = _View((build_tree((*ENVELOPES[fmt], *SIGNATURE_FIELDS)),))
            envelope = self._envelopes[fmt]
            walker = _Walker()
            walker.object({k: v for k, v in payload.items() if k in envelope.members}, envelope, "")
            return Conformance(fmt, None, problems + walker.problems, payload, checked=False)
        tree, documented = self.tree(event_type, fmt)
        problems += self._missing_top_level(tree, payload, fmt)
        walker = _Walker()
        if documented:
            walker.object(payload, tree, "")
        else:
            walker.object({k: v for k, v in payload.items() if k in tree.members}, tree, "")
        return Conformance(fmt, event_type, problems + walker.problems, payload, checked=documented)


_SDK_TYPES: Mapping[str, str] = {
    "str": "String",
    "time": "String",
    "int": "Integer",
    "float": "Float",
    "bool": "Boolean",
    "list": "Array",
    "obj": "Object",
}


@functools.lru_cache(maxsize=64)
def sdk_field_docs(own_keys: frozenset[str]) -> tuple[FieldDoc, ...]:
    """Field docs of a v3 body from the SDK's structs: the event's own keys in depth; every other
    event key of any era as untyped (production sends them as null)."""
    from emitter.payloads.profiles import sdk_structs

    structs = sdk_structs()
    docs: list[FieldDoc] = []

    def walk(struct: str, prefix: str, seen: tuple[str, ...]) -> None:
        for name, kind in structs.raw.get(struct, ()):
            base, _, child = kind.partition(":")
            path = f"{prefix}.{name}"
            docs.append(FieldDoc(path, _SDK_TYPES[base], f"SDK {struct}.{name}"))
            if child in structs.raw and child not in seen:
                walk(child, f"{path}[]" if base == "list" else path, (*seen, child))

    siblings = {key for keys in structs.era_keys.values() for key in keys}
    for key in sorted(siblings | set(structs.event_structs)):
        if key in own_keys:
            docs.append(FieldDoc(key, "Object", "SDK EventContent." + key))
            walk(structs.event_structs.get(key, ""), key, ())
        else:
            docs.append(FieldDoc(key, "Null", "another event's key: null on the wire"))
    return tuple(docs)


def _null_only(nodes: tuple[_Node, ...]) -> bool:
    """Documented only as another event's (null) key."""
    docs = [doc for node in nodes for doc in node.docs]
    return bool(docs) and all(doc.type.lower() == "null" for doc in docs)


def _parses(path: str) -> bool:
    try:
        parse_doc_path(path)
    except ValueError:
        return False
    return True


_CHECKERS: dict[int, tuple[Catalog, Checker]] = {}


def checker_for(catalog: Catalog) -> Checker:
    """A cached Checker per catalog object (a few catalogs at most live in one process)."""
    entry = _CHECKERS.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_CHECKERS) >= 8:
            _CHECKERS.pop(next(iter(_CHECKERS)))
        entry = (catalog, Checker(catalog))
        _CHECKERS[id(catalog)] = entry
    return entry[1]


def check(body: bytes | str, catalog: Catalog) -> Conformance:
    """Detect the format and event of `body` and list what the catalog's docs do not allow."""
    return checker_for(catalog).check(body)
