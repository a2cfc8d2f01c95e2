"""Compiled templates: the same payloads, draws and errors as jinja2 rendering the same templates."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest

from emitter.errors import TemplateError
from emitter.payloads.catalog import load_catalog, resource_dir
from emitter.payloads.providers import VodProvider
from emitter.payloads.render import Renderer, encode_payload
from emitter.scenarios.loader import builtin_scenarios, load_scenario
from emitter.scenarios.plan import render_events
from tests.conftest import NOW

JINJA = Renderer(compiled=False)
COMPILED_FORMATS = ("v2", "v3", "cdnetworks")  # every template of these is in the compiled subset


@pytest.fixture(scope="module")
def compiled() -> Renderer:
    return Renderer(compiled_formats=COMPILED_FORMATS)


def _rendered(
    renderer: Renderer, fmt: str, event: str, seed: int, options: dict[str, Any], status: str
) -> Any:
    session = renderer.session(seed=seed, now=NOW, fmt=fmt, options=options)
    body = encode_payload(session.render_event(event, {"status": status}))
    return body, session.fake.generator.random.getstate()


@pytest.mark.parametrize("fmt", COMPILED_FORMATS)
def test_every_template_of_the_format_is_compiled(compiled: Renderer, fmt: str) -> None:
    assert fmt in Renderer().compiled_formats
    for spec in compiled.catalog.events.values():
        if fmt in spec.templates:
            found = compiled.compiled(spec, fmt)
            assert found is not None, spec.event_type
            assert found.ordered or fmt == "v3", spec.event_type  # slots in text order: plain appends


@pytest.mark.parametrize("fmt", ("v2", "v3", "cdnetworks"))
def test_compiled_and_jinja_give_the_same_bytes_and_draws(compiled: Renderer, fmt: str) -> None:
    options = (
        {"profile": p, **extra}
        for p, extra in itertools.product(("docs", "wire"), ({}, {"keep_nulls": True}))
    )
    for opts in options:
        for spec in compiled.catalog.events.values():
            if fmt not in spec.templates:
                continue
            for status, seed in itertools.product(spec.outcomes, (1, 2)):
                ours = _rendered(compiled, fmt, spec.kind, seed, opts, status)
                assert ours == _rendered(JINJA, fmt, spec.kind, seed, opts, status), (spec.kind, opts, status)


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_builtin_scenarios_render_as_jinja_renders_them(compiled: Renderer, name: str) -> None:
    scenario = load_scenario(name)
    for seed, profile in itertools.product((3, 4), ("docs", "wire")):
        options = {"profile": profile}
        ours = [
            e.body for e in render_events(scenario, seed=seed, now=NOW, renderer=compiled, options=options)
        ]
        theirs = [
            e.body for e in render_events(scenario, seed=seed, now=NOW, renderer=JINJA, options=options)
        ]
        assert ours == theirs


MODULE = (
    "{% set K = [1, 2] %}{% set _hidden = 3 %}"
    "{% macro pair(x) %}[{{ x|j }}, {{ K|j }}, {{ file_type|j }}]{% endmacro %}"
)


def _renderer_with(tmp_path: Path, template_text: str) -> Renderer:
    shutil.copytree(resource_dir("templates"), tmp_path / "templates")
    (tmp_path / "templates" / "v2" / "ClipComplete.json.j2").write_text(template_text, encoding="utf-8")
    (tmp_path / "templates" / "v2" / "_module.j2").write_text(MODULE, encoding="utf-8")
    return Renderer(load_catalog(tmp_path / "templates"))


CONSTRUCTS = {
    "loop attributes": "[{% for x in [3, 4, 5] %}[{{ loop.index|j }}, {{ loop.revindex0|j }},"
    ' {{ loop.first|j }}, {{ loop.length|j }}]{{ "," if not loop.last }}{% endfor %}]',
    "set in a loop stays in it": "{% set x = 1 %}[{% for i in [1, 2] %}{% set x = i * 10 %}{{ x|j }},"
    "{% endfor %} {{ x|j }}]",
    "macro with default": "{% macro m(a, b=2) %}[{{ a|j }}, {{ b|j }}]{% endmacro %}"
    "[{{ m(1) }}, {{ m(b=5, a=4) }}]",
    "filters and tests": '[{{ ([3, 1, 2]|min)|j }}, {{ ("a" ~ 1)|j }}, {{ (none is none)|j }},'
    ' {{ ("AbC"|lower)|j }}, {{ ([1, 2, 3][1:])|j }}, {{ ({"k": 1}["k"])|j }}, {{ (2 ** 3 // 3 % 2)|j }},'
    " {{ (7 / 2)|j }}]",
    "draws in order": '[{{ fake.random_int(1, 100)|j }}, {{ fake.random_element(["a", "b", "c"])|j }},'
    " {{ fake.md5()|j }}, {{ (fake.random_int(0, 9) + fake.random_int(0, 9))|j }}]",
    "set in a branch of a loop": "[{% for i in [1, 2] %}{% if i > 1 %}{% set y = i %}{{ y|j }},"
    "{% endif %}{{ i|j }}{{ ',' if not loop.last }}{% endfor %}]",
    "set in a branch, read outside it (jinja2 renders it)": "{% set y = 0 %}[{% for i in [1, 2] %}"
    "{% if i > 1 %}{% set y = i %}{% endif %}{{ y|j }}{{ ',' if not loop.last }}{% endfor %}]",
    "keywords evaluated in call order": "{% macro m(a, b) %}[{{ a|j }}, {{ b|j }}]{% endmacro %}"
    "{{ m(b=fake.random_int(0, 99), a=fake.random_int(0, 99)) }}",
    "call block with arguments": "{% macro m(a) %}[{{ caller(a) }}, {{ caller(a + 1) }}, {{ a|j }}]"
    "{% endmacro %}{% set s = 7 %}{% call(v) m(5) %}{{ (v * s)|j }}{% endcall %}",
    "a module imported with context": '{% import "v2/_module.j2" as mod with context %}'
    "[{{ mod.pair(fake.random_int(0, 9)) }}, {{ mod.K|j }}, {{ mod.pair(mod.K) }}]",
    "a macro's output passed on": "{% macro m(a) %}{{ a|j }}{% endmacro %}"
    "{% macro w(x) %}[{{ x }}, {{ 1|j }}]{% endmacro %}[{{ w(m(fake.md5())) }}, {{ m(2) }}]",
    "a value set aside and written twice": '{% set t = [1, {"a": none}]|j %}[{{ t }}, {{ t }}, {{ 3|j }}]',
    "a macro in an expression": '{% macro m(a) %}{{ a|j }}{% endmacro %}[{{ m(1) ~ "" }}, {{ 2|j }}]',
    "an if without else": '[{{ (1 if false)|string|j }}, {{ ("x" if true)|j }}]',
}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_constructs_render_as_jinja_renders_them(tmp_path: Path, name: str) -> None:
    ours = _renderer_with(tmp_path / "ours", CONSTRUCTS[name])
    theirs = Renderer(ours.catalog, compiled=False)
    compiled = ours.compiled(ours.catalog.event("clip"), "v2")
    assert (compiled is None) == ("jinja2 renders it" in name)
    for seed in (1, 2):
        assert encode_payload(ours.session(seed=seed, now=NOW).render_event("clip")) == encode_payload(
            theirs.session(seed=seed, now=NOW).render_event("clip")
        )


def test_errors_name_the_template_line_of_compiled_templates(tmp_path: Path) -> None:
    renderer = _renderer_with(tmp_path, '{\n  "a": {{ file_type|j }},\n  "b": {{ facts.nope|j }}\n}\n')
    assert renderer.compiled(renderer.catalog.event("clip"), "v2") is not None
    with pytest.raises(
        TemplateError, match=r"v2/ClipComplete.json.j2:3: 'dict object' has no attribute 'nope'"
    ):
        renderer.session(seed=1, now=NOW).render_event("clip")


def test_the_sandbox_holds_in_compiled_templates(tmp_path: Path) -> None:
    renderer = _renderer_with(
        tmp_path, '{"a": {{ (facts.__class__.__mro__|string)|j }}, "b": {{ fake._hex(3)|j }}}\n'
    )
    assert renderer.compiled(renderer.catalog.event("clip"), "v2") is not None
    with pytest.raises(TemplateError, match=r"unsafe|undefined"):
        renderer.session(seed=1, now=NOW).render_event("clip")


def test_a_draw_that_stops_is_reported_as_jinja2_reports_it(
    compiled: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(VodProvider, "process_tasks", lambda *args, **kwargs: next(iter(())))
    messages = []
    for renderer in (compiled, JINJA):
        with pytest.raises(TemplateError) as caught:
            renderer.session(seed=1, now=NOW).render_event("procedure")
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert "StopIteration" in messages[0]
