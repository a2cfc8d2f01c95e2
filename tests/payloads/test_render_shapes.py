"""Rendering by shape: slots filled into a builder parsed once per shape give the bytes the text gave."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emitter.errors import ScenarioError, TemplateError, UsageError
from emitter.payloads.catalog import load_catalog, resource_dir
from emitter.payloads.render import Overrides, Renderer, encode_payload
from emitter.scenarios.loader import parse_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW

JSON_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _renderer_with(tmp_path: Path, template_text: str) -> Renderer:
    shutil.copytree(resource_dir("templates"), tmp_path / "templates")
    (tmp_path / "templates" / "v2" / "ClipComplete.json.j2").write_text(template_text, encoding="utf-8")
    return Renderer(load_catalog(tmp_path / "templates"))


def _text_then_parse(template_text: str, names: dict[str, Any], prune: bool) -> Any:
    """What rendering did before shapes: the template as text, each value written by json, parsed."""
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["j"] = lambda value: json.dumps(value, ensure_ascii=False)
    text = env.from_string(template_text).render(names)
    parsed = json.loads(text)
    return _prune(parsed) if prune else parsed


def _prune(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _prune(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_prune(v) for v in node]
    return node


SHAPED = (
    '{"a": {{ a|j }}, "b": [{% for x in items %}{"x": {{ x|j }}, "n": {{ none|j }}}'
    '{{ "," if not loop.last }}{% endfor %}], "c": {{ c|j }}, "k": {{ {"k": {"z": none}}|j }}}'
)
VALUES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
VALUES |= st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=120, deadline=None)
@given(a=VALUES, c=st.lists(VALUES, max_size=3), items=st.lists(VALUES, max_size=4), prune=st.booleans())
def test_a_shape_filled_with_slots_equals_the_text_parsed(
    tmp_path_factory: pytest.TempPathFactory, a: Any, c: Any, items: list[Any], prune: bool
) -> None:
    renderer = _shaped_renderer(tmp_path_factory)
    session = renderer.session(seed=1, now=NOW, options={} if prune else {"keep_nulls": True})
    spec = renderer.catalog.event("clip")
    payload = session.render(spec, {"a": a, "c": c, "items": items})
    expected = _text_then_parse(SHAPED, {"a": a, "c": c, "items": items}, prune)
    assert encode_payload(payload) == JSON_DUMPS.encode(expected).encode()
    # the search for floats orjson writes unlike json is skipped only where the render saw them all
    assert (
        encode_payload(payload, floats_checked=session.floats_checked) == JSON_DUMPS.encode(expected).encode()
    )


_SHAPED_RENDERER: list[Renderer] = []


def _shaped_renderer(factory: pytest.TempPathFactory) -> Renderer:
    if not _SHAPED_RENDERER:  # one catalog copy for all examples
        _SHAPED_RENDERER.append(_renderer_with(factory.mktemp("shaped"), SHAPED))
    return _SHAPED_RENDERER[0]


def test_each_shape_is_parsed_once_and_payloads_are_fresh(renderer: Renderer) -> None:
    first = renderer.session(seed=3, now=NOW).render_event("transcode")
    shapes = sum(len(found) for found in renderer._builders.values())
    second = renderer.session(seed=3, now=NOW).render_event("transcode")
    assert first == second and first is not second
    assert sum(len(found) for found in renderer._builders.values()) == shapes
    second["data"]["playSet"][0]["url"] = "changed"
    assert first["data"]["playSet"][0]["url"] != "changed"


def test_a_value_written_twice_gives_two_objects(tmp_path: Path) -> None:
    renderer = _renderer_with(
        tmp_path, '{% set t = {"x": [1]}|j %}{"a": {{ t }}, "b": {{ t }}, "c": {{ [none]|j }}}'
    )
    payload = renderer.session(seed=1, now=NOW).render_event("clip")
    assert payload == {"a": {"x": [1]}, "b": {"x": [1]}, "c": [None]}
    payload["a"]["x"].append(2)
    assert payload["b"] == {"x": [1]}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": {{ none|j }}, "a": 1, "b": {{ 2|j }}}',  # a null a later key overrides prunes nothing
        '{"a": 1, "a": {{ none|j }}, "b": {"c": {{ none|j }}, "d": {{ none|j }}}}',
        '{% set t = none|j %}{"a": {{ t }}, "b": {{ t }}, "c": [{{ none|j }}]}',  # one slot twice
    ],
)
def test_objects_with_null_slots_prune_as_the_text_parsed(tmp_path: Path, text: str) -> None:
    renderer = _renderer_with(tmp_path, text)
    payload = renderer.session(seed=1, now=NOW).render_event("clip")
    assert payload == _text_then_parse(text, {}, prune=True)
    kept = renderer.session(seed=1, now=NOW, options={"keep_nulls": True}).render_event("clip")
    assert kept == _text_then_parse(text, {}, prune=False)


def test_a_value_inside_a_string_still_renders_as_text(tmp_path: Path) -> None:
    renderer = _renderer_with(tmp_path, '{"a": "id-{{ 5|j }}", "b": {{ "x"|j }}}')
    assert renderer.session(seed=1, now=NOW).render_event("clip") == {"a": "id-5", "b": "x"}


def test_a_key_from_a_value_must_be_a_string(tmp_path: Path) -> None:
    renderer = _renderer_with(tmp_path, '{ {{ "k"|j }}: 1, {{ 7|j }}: 2}')
    with pytest.raises(TemplateError, match="object key is 7, not a string"):
        renderer.session(seed=1, now=NOW).render_event("clip")


@pytest.mark.parametrize("value", [math.nan, math.inf, {"deep": [-math.inf]}])
def test_overrides_refuse_what_json_cannot_write(renderer: Renderer, value: Any) -> None:
    session = renderer.session(seed=1, now=NOW)
    with pytest.raises(ScenarioError, match=r"cannot be JSON.*no NaN or infinity"):
        session.render_event("upload", overrides=Overrides(set={"data.x": value}))


JSONABLE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(), max_size=10)
    | st.sampled_from(["1e-7", "free-9", "0.00001", "\ud800", 1e-7, 5e-5, 1e16, 1e-320]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=JSONABLE)
def test_encoding_is_byte_for_byte_json_dumps(value: Any) -> None:
    text = JSON_DUMPS.encode(value)
    try:
        expected = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates are written escaped
        expected = _escaped_surrogates(text)
    assert encode_payload(value) == expected


def _escaped_surrogates(text: str) -> bytes:
    return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode("utf-8")


def test_keys_that_are_not_strings_are_written_as_json_writes_them() -> None:
    assert encode_payload({1: "a", None: 2.5}) == b'{"1":"a","null":2.5}'


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ('{"a": 0.00001, "b": {{ 2.5|j }}}', b'{"a":1e-05,"b":2.5}'),  # a literal below 1e-4
        ('{"a": {{ 0.00001|j }}, "b": {{ [1e-7]|j }}}', b'{"a":1e-05,"b":[1e-07]}'),  # values
        ('{"a": {{ {"b": [0.0, -0.0001, 1e300]}|j }}}', b'{"a":{"b":[0.0,-0.0001,1e+300]}}'),
    ],
)
def test_a_scenario_body_writes_small_floats_as_json_does(tmp_path: Path, text: str, body: bytes) -> None:
    renderer = _renderer_with(tmp_path, text)
    plan = render_events(
        parse_scenario("version: 1\nsteps:\n  - event: clip\n", catalog=renderer.catalog),
        seed=1,
        now=NOW,
        renderer=renderer,
    )
    assert next(plan).body == body


def test_only_payloads_whose_floats_were_all_seen_skip_the_float_search(renderer: Renderer) -> None:
    session = renderer.session(seed=1, now=NOW, options={"profile": "wire"})
    session.render_event("transcode")
    assert session.floats_checked  # compiled, every value a plain slot: the bytes need no search
    session.render_event("transcode", overrides=Overrides(set={"data.x": 1.5}))
    assert not session.floats_checked  # overrides are not seen one by one
    v3 = renderer.session(seed=1, now=NOW, fmt="v3", options={"profile": "wire"})
    payload = v3.render_event("transcode")
    # the v3 wire pass adds zero values, none a float, and copies the render's own values
    assert v3.floats_checked
    assert encode_payload(payload, floats_checked=True) == JSON_DUMPS.encode(payload).encode()
    by_jinja2 = Renderer(compiled=False).session(seed=1, now=NOW)
    by_jinja2.render_event("transcode")
    assert not by_jinja2.floats_checked  # the jinja2 path's values are not seen one by one


def test_options_checked_once_are_still_checked_by_type(renderer: Renderer) -> None:
    renderer.session(seed=1, now=NOW, options={"keep_nulls": True})
    renderer.session(seed=2, now=NOW, options={"keep_nulls": True})  # the same options: checked before
    with pytest.raises(UsageError, match="keep_nulls"):
        renderer.session(seed=3, now=NOW, options={"keep_nulls": 1})  # equal to True, not a bool
    with pytest.raises(UsageError, match="unknown option"):
        renderer.session(seed=4, now=NOW, options={"keep_nuls": True})
