"""The wire pass's generated fillers against a plain reference fill: same keys, order, values, fresh."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emitter.payloads.profiles import ERAS, ZERO_TIME, Field, WireV3, fill, filler, sdk_structs

OBJECT, LIST, SCALAR = 0, 1, 2
ZEROS = ("", 0, False, ZERO_TIME)
# field and key names, some of them what generated source must never run: only repr() literals
NAMES = ("A", "B", "Cc", "d", "x'y", 'q"\\n', "__import__('os')", "def", "None", "ü")


def scalars(*, nulls: bool) -> st.SearchStrategy[Any]:
    plain = st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text(max_size=3)
    return st.none() | plain if nulls else plain


def json_values(*, nulls: bool) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(nulls=nulls),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
        ),
        max_leaves=12,
    )


JSON = json_values(nulls=True)


def reference_fill(node: dict[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """What the wire profile means, written plainly: every field in table order, the node's value
    or the field's zero (a fresh [] for lists, null for objects), structs filled below, then the
    node's other keys in its order; every list and dict a copy."""
    out: dict[str, Any] = {}
    for name, how, zero, child in fields:
        value = node.get(name)
        if value is None:
            out[name] = [] if how == LIST else None if how == OBJECT else zero
        elif child is not None and how == LIST and type(value) is list:
            out[name] = [reference_fill(i, child) if type(i) is dict else copy.deepcopy(i) for i in value]
        elif child is not None and how == OBJECT and type(value) is dict:
            out[name] = reference_fill(value, child)
        elif how == SCALAR:  # the node's own value, even a list or dict (see nodes)
            out[name] = value
        else:
            out[name] = copy.deepcopy(value)
    for name, value in node.items():
        if name not in out:
            out[name] = copy.deepcopy(value)
    return out


@st.composite
def tables(draw: st.DrawFn, depth: int = 2) -> tuple[Field, ...]:
    fields: list[Field] = []
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=6)):
        how = draw(st.sampled_from((OBJECT, LIST, SCALAR)))
        if how == SCALAR:
            fields.append((name, how, draw(st.sampled_from(ZEROS)), None))
        else:
            child = draw(st.none() | tables(depth - 1)) if depth > 0 else None
            fields.append((name, how, None, child))
    return tuple(fields)


def nodes(fields: tuple[Field, ...], *, nulls: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Nodes for a table: its fields (absent, null, the right kind, or anything else where a list or
    struct is expected) and extra keys, in any order; structs and lists of structs below built the
    same way. A scalar field holds a scalar: the filler takes what is there as it is (no template
    writes a list or dict where the SDK has a scalar, and looking costs every payload)."""
    values = json_values(nulls=nulls)
    options: dict[str, st.SearchStrategy[Any]] = {}
    for name, how, _, child in fields:
        if how == SCALAR:
            options[name] = scalars(nulls=nulls)
        elif child is None:
            options[name] = values
        elif how == OBJECT:  # a struct, or anything but an object
            options[name] = nodes(child, nulls=nulls) | values.filter(lambda v: type(v) is not dict)
        else:  # a list of structs and anything else, or anything but a list
            items = nodes(child, nulls=nulls) | values.filter(lambda v: type(v) is not dict)
            options[name] = st.lists(items, max_size=3) | values.filter(lambda v: type(v) is not list)
    others = [name for name in ("extra", "Z", *NAMES) if name not in options]
    extra = st.dictionaries(st.sampled_from(others), values, max_size=2)

    @st.composite
    def node(draw: st.DrawFn) -> dict[str, Any]:
        chosen = {name: draw(strategy) for name, strategy in options.items() if draw(st.booleans())}
        merged = {**draw(extra), **chosen}
        keys = draw(st.permutations(list(merged)))
        return {key: merged[key] for key in keys}

    return node()


def containers(node: Any) -> Iterator[int]:
    if type(node) is dict or type(node) is list:
        yield id(node)
        for value in node.values() if type(node) is dict else node:
            yield from containers(value)


def same(a: Any, b: Any) -> bool:
    """Equal values, equal key orders and equal types (1 == 1.0 == True are not the same bytes)."""
    return json.dumps(a) == json.dumps(b) and type(a) is type(b)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_filler_equals_the_reference_fill_and_shares_nothing_with_its_node(data: st.DataObject) -> None:
    fields = data.draw(tables())
    node = data.draw(nodes(fields))
    before = copy.deepcopy(node)
    out = fill(node, fields)
    assert same(out, reference_fill(before, fields))
    assert json.dumps(node) == json.dumps(before)  # the node is read, never changed
    assert set(containers(out)).isdisjoint(containers(node))
    again = fill(node, fields)
    assert set(containers(out)).isdisjoint(containers(again))  # no zero list is handed out twice


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_pruned_filler_equals_the_general_one_on_nodes_without_nulls(data: st.DataObject) -> None:
    fields = data.draw(tables())
    node = data.draw(nodes(fields, nulls=False))
    assert same(filler(fields, pruned=True)(node), filler(fields)(node))


STRUCTS = sdk_structs()


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_every_sdk_struct_fills_as_the_reference_does(data: st.DataObject) -> None:
    struct = data.draw(st.sampled_from(sorted(STRUCTS.raw)))
    fields = STRUCTS.table(struct)
    node = data.draw(nodes(fields))
    assert same(fill(node, fields), reference_fill(copy.deepcopy(node), fields))


def reference_wire(payload: dict[str, Any], era: str) -> dict[str, Any]:
    """A v3 body's wire shape: EventType, the era's event keys (null unless present), other keys
    after them; each event struct filled."""
    out: dict[str, Any] = {"EventType": None, **dict.fromkeys(STRUCTS.era_keys[era])}
    for key, value in payload.items():
        struct = STRUCTS.event_structs.get(key)
        if struct is not None and type(value) is dict:
            out[key] = reference_fill(value, STRUCTS.table(struct))
        else:
            out[key] = copy.deepcopy(value)
    return out


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_wire_pass_completes_bodies_as_the_reference_does(data: st.DataObject) -> None:
    era = data.draw(st.sampled_from(ERAS))
    keys = data.draw(st.lists(st.sampled_from(sorted(STRUCTS.event_structs)), max_size=2, unique=True))
    payload: dict[str, Any] = {"EventType": data.draw(st.text(max_size=3))}
    for key in keys:
        not_an_object = JSON.filter(lambda v: type(v) is not dict)
        payload[key] = data.draw(nodes(STRUCTS.table(STRUCTS.event_structs[key])) | not_an_object)
    payload.update(data.draw(st.dictionaries(st.sampled_from(("Extra", "Z")), JSON, max_size=2)))
    out = WireV3(STRUCTS, era)(payload)
    assert same(out, reference_wire(payload, era))
    assert set(containers(out)).isdisjoint(containers(payload))


def test_a_wire_pass_leaves_what_is_not_a_v3_body_as_it_is() -> None:
    wire = WireV3(STRUCTS, "current")
    for payload in ([1, 2], "text", {"NoEventType": {}}):
        assert wire(payload) is payload


def test_a_filled_payload_can_be_changed_without_changing_the_next_one() -> None:
    fields = STRUCTS.table("MediaProcessTaskResult")
    node = {"Type": "Transcode", "TranscodeTask": {"Status": "SUCCESS"}}
    first = fill(node, fields)
    first["TranscodeTask"]["Output"] = {"Url": "changed"}
    first["TranscodeTask"]["Input"] = None
    for task in (value for value in first.values() if isinstance(value, dict)):
        for value in task.values():
            if isinstance(value, list):
                value.append("changed")
    assert "changed" not in json.dumps(fill(node, fields))
    assert fill(node, fields) == reference_fill(node, fields)
