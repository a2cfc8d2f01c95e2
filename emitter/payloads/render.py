"""Pure, seeded rendering: semantic context -> sandboxed jinja2 template -> payload object -> overrides.

A template's text is JSON whose values come through the `|j` filter. While rendering, `|j` does not
write a value: it records it in a slot list and writes a token. The rendered text is then the
template's *shape* for this event (its structural variant: which branches ran, how many items each
loop made); it is parsed once per shape into a builder that fills the slots, so an event costs the
template's own logic and draws, never a JSON parse. Encoding is orjson (with exact fallbacks).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import Any

import jinja2
import orjson
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context, LoopContext, new_context
from jinja2.sandbox import SandboxedEnvironment

from emitter.clock import utc_stamp
from emitter.errors import ScenarioError, TemplateError, hint_with_suggestion
from emitter.payloads.catalog import Catalog, EventSpec, ParamSpec, load_catalog
from emitter.payloads.compiled import (
    DICT_ATTRIBUTES,
    ORDERED_TOKEN,
    PLAIN_TYPES,
    CompiledTemplate,
    compile_template,
    is_plain_float,
)
from emitter.payloads.options import check_options
from emitter.payloads.paths import set_path, unset_path
from emitter.payloads.profiles import DEFAULT_ERA, DEFAULT_PROFILE, WireV3, check_profile, wire_pass
from emitter.payloads.providers import VodProvider

_encode_string: Callable[[str], str] = json.encoder.encode_basestring
# Built once: json.dumps with options builds a new encoder on every call.
_VALUE_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS = frozenset(b"0123456789")
_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def _encode_with_json(payload: Any) -> bytes:
    text = _PAYLOAD_ENCODER.encode(payload)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        escaped = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return escaped.encode("utf-8")


def encode_payload(payload: Any, *, floats_checked: bool = False) -> bytes:
    """Compact UTF-8 JSON without \\u escapes of non-ASCII (lone surrogates are escaped).

    The bytes are json.dumps' (compact, ensure_ascii=False); orjson writes them 5-8x faster. Where
    the two differ, the json module writes: what orjson refuses (integers beyond 64 bits, lone
    surrogates, keys that are not strings) and floats below 1e-4 (orjson `0.00001`, json `1e-05`),
    found by their bytes (a string holding `e-` or `0.0000` only costs the slower path). Non-finite
    floats never get here: templates refuse them and so do overrides (orjson would write null).
    `floats_checked`: the payload holds no float below 1e-4 (a render saw each of them), so the
    bytes need no search (the searches cost as much as orjson's encoding).
    """
    try:
        body = orjson.dumps(payload)
    except (orjson.JSONEncodeError, TypeError):
        return _encode_with_json(payload)
    if floats_checked:
        return body
    if b"0.0000" in body or _has_exponent(body):
        return _encode_with_json(payload)
    return body


def _has_exponent(body: bytes) -> bool:
    """Whether `1e-7` (digit, e-, digit) occurs, the form orjson and json write differently.

    Found from its `-`, a rare byte in payloads (a one-byte find is a memchr; `e-` is a slow search).
    """
    at = body.find(b"-", 2)
    while at >= 0:
        if body[at - 1] == 101 and body[at - 2] in _DIGITS and body[at + 1 : at + 2].isdigit():  # 101: e
            return True
        at = body.find(b"-", at + 1)
    return False


def _json_value(value: Any) -> str:
    """The `|j` filter: one value as JSON text (the hot path of rendering, hence the fast cases)."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable
    return _VALUE_ENCODER.encode(value)


# Names the renderer adds to a template's context: the event's slot list, and its decoder.
_SLOTS = "_vod_slots"
_DECODER = "_vod_decoder"
_TOKEN = re.compile(r'"\\u0000([0-9]+)"')
_TOKENS = tuple(f'"\\u0000{k}"' for k in range(1024))
_ORDERED_TOKEN = re.compile(re.escape(ORDERED_TOKEN))
_MAX_SHAPES = 4096  # per renderer and null mode: shapes beyond it are parsed per event, not kept


@jinja2.pass_context
def _slot(context: jinja2.runtime.Context, value: Any) -> str:
    """The `|j` filter: record the value in the event's slots and write its token (a JSON string).

    Outside the renderer (no slot list in the context) it writes the value's JSON text, as does
    the fallback path. Values other than plain scalars are stored as their JSON round trip, the
    very object that parsing the text would have given (fresh, nulls pruned, tuples as lists).
    """
    slots = context.parent.get(_SLOTS)
    if slots is None:
        return _json_value(value)
    kind = type(value)
    if kind not in PLAIN_TYPES and not (kind is float and math.isfinite(value)):
        value = context.parent[_DECODER](_json_value(value))
    index = len(slots)
    slots.append(value)
    return _TOKENS[index] if index < 1024 else f'"\\u0000{index}"'


class _NotPlainJson(Exception):
    """A value that only the json module's own round trip converts exactly."""


def _json_copy(value: Any, prune: bool) -> Any:
    """What parsing the value's JSON text gives, made directly from lists, tuples and str-keyed dicts
    of plain scalars and floats (anything else raises _NotPlainJson: the round trip handles it)."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if kind is float:
        if is_plain_float(value):
            return value
        raise _NotPlainJson
    if kind is list or kind is tuple:
        if PLAIN_TYPES.issuperset(map(type, value)):  # ids, urls: copied in one step
            return list(value)
        return [_json_copy(item, prune) for item in value]
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJson
            item = _json_copy(item, prune)
            if item is not None or not prune:
                copied[key] = item
        return copied
    raise _NotPlainJson


def _putter(slots: list[Any], decode: Callable[[str], Any], round_trips: list[Any]) -> Callable[[Any], str]:
    """`|j` of a compiled template: what _slot does, with the render's slot list at hand. A value that
    takes the JSON round trip (maybe a float below 1e-4) goes to `round_trips` as well."""
    append = slots.append
    prune = decode is _load_without_nulls

    def put(value: Any) -> str:
        kind = type(value)
        if kind not in PLAIN_TYPES and not (kind is float and is_plain_float(value)):
            try:
                value = _json_copy(value, prune)
            except _NotPlainJson:
                value = decode(_json_value(value))
                round_trips.append(value)
        index = len(slots)
        append(value)
        return _TOKENS[index] if index < 1024 else f'"\\u0000{index}"'

    return put


def _token(index: int) -> str:
    return _TOKENS[index] if index < 1024 else f'"\\u0000{index}"'


def _key(value: Any) -> str:
    if type(value) is not str:
        raise TemplateError(
            f"rendered text is not JSON: an object key is {_json_value(value)}, not a string",
            hint="fix the template's commas and quoting; use the |j filter for values",
        )
    return value


class _ShapeCompiler:
    """Turns a parsed shape (values are slot tokens) into one Python expression that builds the payload."""

    def __init__(self, text: str, prune: bool):
        self.prune = prune
        self.repeated = {k for k in _TOKEN.findall(text) if text.count(f'"\\u0000{k}"') > 1}

    def slot(self, node: Any) -> str | None:
        if type(node) is str and node[:1] == "\x00" and node[1:].isdigit():
            return node[1:]
        return None

    def expression(self, node: Any) -> str:
        index = self.slot(node)
        if index is not None:
            return f"_copy(v[{index}])" if index in self.repeated else f"v[{index}]"
        if isinstance(node, dict):
            items = []
            slot_values: dict[str, None] = {}  # the slots giving a value here, once each
            for key, value in node.items():
                key_index = self.slot(key)
                key_code = f"_key(v[{key_index}])" if key_index is not None else repr(key)
                value_index = self.slot(value)
                if value_index is not None:
                    slot_values[value_index] = None
                items.append(f"{key_code}: {self.expression(value)}")
            literal = "{" + ", ".join(items) + "}"
            # a null slot value means 'field absent', as the parse-time pruning does
            if not (self.prune and slot_values):
                return literal
            # The object as it is unless a slot gave null (inner objects are made, and pruned, first).
            # Only a slot can be null here (the parse pruned literal nulls): test those, not every
            # value (`None in d.values()` compares each); a null a later key overrode prunes nothing.
            none_given = " or ".join(f"v[{index}] is None" for index in slot_values)
            return f"(_prune(_d) if (_d := {literal}) and ({none_given}) else _d)"
        if isinstance(node, list):
            return "[" + ", ".join(self.expression(item) for item in node) + "]"
        if isinstance(node, float) and not is_plain_float(node):
            # a float the encoder must check, as a round trip's: noted in the render's list
            literal = f"float({str(node)!r})" if not math.isfinite(node) else repr(node)
            return f"(r.append({literal}) or {literal})"
        return repr(node)


Builder = Callable[[list[Any], list[Any]], Any]  # (slot values, round trips) -> payload


def _compile_shape(skeleton: Any, text: str, prune: bool) -> Builder:
    compiler = _ShapeCompiler(text, prune)
    namespace = {"_prune": _object_without_nulls, "_key": _key, "_copy": copy.deepcopy}
    # the source holds only repr() literals and slot indices: no template text runs as code
    build: Builder = eval(f"lambda v, r: {compiler.expression(skeleton)}", namespace)
    return build


def prune_nulls(node: Any) -> Any:
    """Drop object keys whose value is null: a template's null means 'field absent'."""
    if isinstance(node, dict):
        return {k: prune_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [prune_nulls(v) for v in node]
    return node


def _object_without_nulls(obj: dict[str, Any]) -> dict[str, Any]:
    """json.loads' object hook doing prune_nulls while parsing (inner objects come first)."""
    if None in obj.values():
        return {k: v for k, v in obj.items() if v is not None}
    return obj


_load_without_nulls = json.JSONDecoder(object_hook=_object_without_nulls).decode
_load = json.JSONDecoder().decode


def _parse(text: str, decode: Callable[[str], Any], name: str) -> Any:
    try:
        return decode(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"rendered text is not JSON: {exc.msg} (rendered line {exc.lineno})",
            location=name,
            hint="fix the template's commas and quoting; use the |j filter for values",
        ) from None


def check_param(spec: ParamSpec, value: Any, *, location: str | None, event: str) -> Any:
    """Validate a user-given parameter value against its spec; return it unchanged."""
    if value is None:
        return None
    accepted = _TYPE_CHECKS.get(spec.type)
    if accepted and (
        not isinstance(value, accepted)
        or (spec.type != "bool" and isinstance(value, bool) and bool not in accepted)
    ):
        raise ScenarioError(
            f"parameter '{spec.name}' of {event} must be {spec.type}, got {type(value).__name__} {value!r}",
            location=location,
            hint=f"see 'vod-emitter events show {event}'",
        )
    if spec.enum and value not in spec.enum:
        raise ScenarioError(
            f"parameter '{spec.name}' of {event} must be one of "
            f"{', '.join(map(str, spec.enum))}, got {value!r}",
            location=location,
            hint=hint_with_suggestion(str(value), map(str, spec.enum), "pick one of those values"),
        )
    return value


def check_params(spec: EventSpec, params: Mapping[str, Any], *, location: str | None = None) -> None:
    """Reject unknown parameter names (with a did-you-mean) and wrongly typed values."""
    for name, value in params.items():
        if name not in spec.params:
            raise ScenarioError(
                f"unknown parameter '{name}' for {spec.kind} ({spec.event_type})",
                location=location,
                hint=hint_with_suggestion(name, spec.params, f"see 'vod-emitter events show {spec.kind}'"),
            )
        check_param(spec.params[name], value, location=location, event=spec.kind)


def _render_template(template: jinja2.Template, names: dict[str, Any]) -> str:
    """Template.render(names) without its two copies of the names (they are built for this call)."""
    context = template.new_context(names, shared=True)
    try:
        return "".join(template.root_render_func(context))
    except Exception:
        template.environment.handle_exception()  # raises, with the template's own line numbers
        raise


def _template_line(
    tb: TracebackType | None, template_name: str, compiled: CompiledTemplate | None = None
) -> int | None:
    line = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if compiled is not None and filename == compiled.filename:
            # 0: a line of an imported module's code, which jinja2 reports at its caller's line
            line = (compiled.lines[tb.tb_lineno - 1] if tb.tb_lineno <= len(compiled.lines) else 0) or line
        elif filename.endswith(template_name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _reject_non_finite(value: Any, location: str | None) -> None:
    """JSON has no NaN or infinity (YAML has: `.nan`, `.inf`)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(
            f"the payload cannot be JSON: {value!r} is not a JSON number",
            location=location,
            hint="JSON has no NaN or infinity; use a number or a string",
        )
    if isinstance(value, dict):
        for item in value.values():
            _reject_non_finite(item, location)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reject_non_finite(item, location)


@dataclass(frozen=True)
class Overrides:
    """Raw payload changes applied after rendering, so they can break the shape on purpose."""

    set: Mapping[str, Any] | None = None
    unset: tuple[str, ...] = ()
    body: Any = None

    def __post_init__(self) -> None:
        if self.body is not None and (self.set or self.unset):
            raise ScenarioError(
                "'body' replaces the whole payload, so 'set'/'unset' would be ignored",
                hint="put the changes into the body, or drop 'body'",
            )

    def apply(self, payload: Any, *, location: str | None = None) -> Any:
        # copies: the payload may be changed further, and the scenario's values must not be
        if self.body is not None:
            _reject_non_finite(self.body, location)
            return copy.deepcopy(self.body)
        try:
            for path, value in (self.set or {}).items():
                _reject_non_finite(value, location)
                set_path(payload, path, copy.deepcopy(value))
            for path in self.unset:
                unset_path(payload, path)
        except ScenarioError as exc:
            exc.location = exc.location or location
            raise ScenarioError(exc.message, location=exc.location, hint=exc.hint) from None
        return payload


class _CodeGenerator(CodeGenerator):
    """jinja2's code generator, with `mapping.key` on a plain dict looked up in line.

    `x.key` compiles to `environment.getattr(x, 'key')`, a method call per field. For a key
    that is not an attribute of dict (known when compiling), a plain dict's item is what the
    sandbox returns; anything else (or a missing key) still goes through environment.getattr.
    """

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        key = node.attr
        if self.environment.is_async or key in DICT_ATTRIBUTES or not key.isidentifier():
            super().visit_Getattr(node, frame)
            return
        # the walrus name is one no template can produce (jinja's own names are l_, t_, ...)
        self.write(f"(_vod_obj[{key!r}] if type((_vod_obj := ")
        self.visit(node.node, frame)
        self.write(f")) is dict and {key!r} in _vod_obj else environment.getattr(_vod_obj, {key!r}))")


class _Sandbox(SandboxedEnvironment):
    """The sandbox with a fast path for the templates' most common lookup, `mapping.key` on a dict."""

    code_generator_class = _CodeGenerator

    def getattr(self, obj: Any, attribute: str) -> Any:
        # A plain dict has no attributes but its class's, so this is exactly what the sandbox
        # does (attribute, else item, else undefined) without raising AttributeError first.
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        if type(obj) is LoopContext and attribute[:1] != "_":
            # loop.last and friends: public and safe, as the sandbox would find after its checks
            try:
                return getattr(obj, attribute)
            except AttributeError:
                return self.undefined(obj=obj, name=attribute)
        if type(obj) is VodProvider and attribute[:1] != "_":
            # fake.draw_method: a public attribute of our own provider is what the sandbox allows
            try:
                return getattr(obj, attribute)
            except AttributeError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # A draw (a bound method of our provider) is safe and takes no jinja context: call it as
        # the sandbox would after its checks. Anything else takes the sandbox's checked path.
        if type(__obj) is MethodType and type(__obj.__self__) is VodProvider:
            if kwargs:  # jinja's bookkeeping, which context.call drops too
                kwargs.pop("_loop_vars", None)
                kwargs.pop("_block_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __context.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(__context, __obj, *args, **kwargs)


@dataclass(frozen=True)
class _Resolution:
    """How resolve() fills an event's context, worked out once per event."""

    spec: EventSpec
    base: dict[str, Any]  # every parameter in catalog order, the literal defaults in place; copied
    fact_names: tuple[str, ...]  # the parameters that are video facts,
    fact_values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # and their values from the facts
    wire_facts: bool  # whether one of its facts differs in the wire profile
    draws: tuple[tuple[str, str, str], ...]  # (name, method, argument), drawn in catalog order


def _resolution(spec: EventSpec) -> _Resolution:
    base: dict[str, Any] = {}
    facts: dict[str, str] = {}
    draws = []
    for name, param in spec.params.items():
        base[name] = param.default
        if param.fact:
            facts[name] = param.fact
        elif param.draw:
            method, _, argument = param.draw.partition(":")
            draws.append((name, method, argument))
    return _Resolution(
        spec,
        base,
        tuple(facts),
        _values_at(tuple(facts.values())),
        not VodProvider.WIRE_FACTS.isdisjoint(facts.values()),
        tuple(draws),
    )


def _values_at(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values at `keys` as a tuple (operator.itemgetter gives a bare value for one key)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        return lambda mapping: (mapping[keys[0]],)
    return lambda mapping: ()


# Formats whose templates render compiled to Python by default: all of them. Each compiles and
# renders the same bytes as jinja2 (tests/payloads/test_compiled.py); v3 twice as fast in both profiles.
COMPILED_FORMATS = ("v2", "v3", "cdnetworks")


class Renderer:
    """Compiles the catalog's templates once and renders events from semantic contexts."""

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        compiled: bool = True,
        compiled_formats: tuple[str, ...] = COMPILED_FORMATS,
    ):
        """`compiled=False` renders every template with jinja2 itself (what the compiled ones must
        equal); else the templates of `compiled_formats` render compiled to Python."""
        self.catalog = catalog or load_catalog()
        self.use_compiled = compiled
        self.compiled_formats = frozenset(compiled_formats)
        self._compiled: dict[tuple[str, str], CompiledTemplate | None] = {}
        self._resolutions: dict[int, _Resolution] = {}
        self.env = _Sandbox(
            loader=jinja2.FileSystemLoader(str(self.catalog.template_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            cache_size=-1,
            auto_reload=False,
        )
        self.env.filters["j"] = _slot
        self.env.globals["iso"] = utc_stamp
        self._templates: dict[tuple[str, str], jinja2.Template] = {}
        self._globals: dict[str, dict[str, Any]] = {}
        self._builders: dict[bool, dict[str | tuple[str, ...], Builder]] = {True: {}, False: {}}
        self._checked: set[tuple[str, tuple[tuple[str, type, Any], ...]]] = (
            set()
        )  # formats and options checked
        self._timestamps: dict[dt.datetime, int] = {}
        # the context of filters that take one only for its environment (rejectattr...)
        self._filter_context = new_context(self.env, None, {}, {}, True, None, None)

    def check_form(self, spec: EventSpec, fmt: str) -> str:
        """The name of the event's template in `fmt`; an error if the event has no such form."""
        if fmt not in spec.templates:
            self.catalog.format(fmt)
            raise TemplateError(
                f"{spec.event_type} has no {fmt} form",
                hint=f"it exists in: {', '.join(spec.formats)}",
            )
        return spec.templates[fmt]

    def template(self, spec: EventSpec, fmt: str) -> jinja2.Template:
        key = (spec.event_type, fmt)
        if key not in self._templates:
            name = self.check_form(spec, fmt)
            try:
                self._templates[key] = self.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(exc.message or "syntax error", location=f"{name}:{exc.lineno}") from None
        return self._templates[key]

    def compiled(self, spec: EventSpec, fmt: str) -> CompiledTemplate | None:
        """The event's template in `fmt` compiled to Python (once), or None: jinja2 renders it (and
        reports its errors). A compiled template is never compiled by jinja2 as well."""
        key = (spec.event_type, fmt)
        if key in self._compiled:
            return self._compiled[key]
        found = None
        loader = self.env.loader
        if (
            self.use_compiled
            and fmt in self.compiled_formats
            and fmt in spec.templates
            and loader is not None
        ):
            name = spec.templates[fmt]

            def load_source(imported: str) -> str:  # a template it imports
                return loader.get_source(self.env, imported)[0]

            try:
                source, filename, _ = loader.get_source(self.env, name)
                found = compile_template(
                    self.env,
                    name,
                    source,
                    filename or name,
                    self._filter_context,
                    VodProvider,
                    load_source,
                    dict(self.env.globals),  # what a template loaded without globals of its own has
                )
            except jinja2.TemplateError:  # not found, or a syntax error: jinja2 reports it
                found = None
        self._compiled[key] = found
        return found

    def template_globals(self, template: jinja2.Template) -> dict[str, Any]:
        """The template's globals as one dict (a ChainMap is slow to unpack on every render)."""
        name = template.name or ""
        found = self._globals.get(name)
        if found is None:
            found = self._globals[name] = dict(template.globals)
        return found

    def build(
        self,
        text: str | list[str],
        slots: list[Any],
        round_trips: list[Any],
        *,
        prune: bool,
        name: str,
        ordered: bool = False,
    ) -> Any:
        """The payload of a rendered shape with its slots filled (the shape is parsed once).

        `text` is the text, or its parts (a compiled template's: the shape is known by their tuple).
        `ordered`: every token is the same (ORDERED_TOKEN), slots in text order: numbered here.
        `round_trips` gets the floats the encoder must check (literals below 1e-4), or the text when
        it is parsed as it is."""
        builders = self._builders[prune]
        key: str | tuple[str, ...] = text if type(text) is str else tuple(text)
        builder = builders.get(key)
        if builder is None:
            text = text if type(text) is str else "".join(text)
            if ordered:
                numbers = iter(range(len(slots)))
                text = _ORDERED_TOKEN.sub(lambda _: _token(next(numbers)), text)
            decode = _load_without_nulls if prune else _load
            try:
                skeleton = decode(text)
            except json.JSONDecodeError:
                # not JSON as a shape (a token inside a string?): parse the text itself, as it was
                value_text = _TOKEN.sub(lambda m: _json_value(slots[int(m.group(1))]), text)
                round_trips.append(value_text)
                return _parse(value_text, decode, name)
            builder = _compile_shape(skeleton, text, prune)
            if len(builders) < _MAX_SHAPES:
                builders[key] = builder
        return builder(slots, round_trips)

    def resolution(self, spec: EventSpec) -> _Resolution:
        found = self._resolutions.get(id(spec))
        if found is None or found.spec is not spec:
            found = self._resolutions[id(spec)] = _resolution(spec)
        return found

    def session(
        self,
        *,
        seed: int,
        now: dt.datetime,
        fmt: str = "v2",
        options: Mapping[str, Any] | None = None,
    ) -> RenderSession:
        options = options or {}
        try:
            # with each value's type: True and 1 are equal keys, but only one is a valid bool option
            key: Any = (fmt, tuple((name, type(value), value) for name, value in options.items()))
            checked = key in self._checked
        except TypeError:  # an unhashable option value: checked each time
            key, checked = None, False
        if not checked:
            self.catalog.format(fmt)
            check_options(options)
            if key is not None and len(self._checked) < _MAX_SHAPES:
                self._checked.add(key)
        return RenderSession(self, seed=seed, now=now, fmt=fmt, options=options)

    def timestamp(self, now: dt.datetime) -> int:
        """`now` as Unix seconds (the same moment for every session of a run: worked out once)."""
        found = self._timestamps.get(now)
        if found is None:
            if len(self._timestamps) >= _MAX_SHAPES:
                self._timestamps.clear()
            found = self._timestamps[now] = int(now.timestamp())
        return found


class RenderSession:
    """One seeded run: a provider, the facts of the scenario's video, and resolved steps."""

    def __init__(
        self,
        renderer: Renderer,
        *,
        seed: int,
        now: dt.datetime,
        fmt: str,
        options: Mapping[str, Any],
    ):
        self.renderer = renderer
        self.seed = seed
        self.now = now
        self.fmt = fmt
        self.options = dict(options)
        self.fake = VodProvider.seeded(seed, locale=self.options.get("locale"), seed=seed)
        self.profile = str(self.options.get("profile", DEFAULT_PROFILE))
        self.era = str(self.options.get("era", DEFAULT_ERA))
        self._prune = not (self.options.get("keep_nulls") or self.options.get("null_event_keys"))
        self._wire_pass: Callable[[Any], Any] | None = None
        self.floats_checked = False  # of the last payload rendered (see render)
        self.facts = self.fake.video()
        # the same video in each profile: wire facts are derived from the docs facts, drawing nothing
        self._facts = {"docs": self.facts}  # "wire" derived when first needed (see _derive_wire_facts)
        self._names: dict[str, Any] = {
            "fake": self.fake,
            "facts": self.facts,
            "now": now,
            "ts": renderer.timestamp(now),
            "opts": self.options,
        }

    def _use_profile(self, profile: str | None) -> str:
        """The profile of one step (its own, else the run's); the provider shapes values by it."""
        chosen = self.profile if profile is None else check_profile(profile)
        self.fake.profile = chosen
        self._names["profile"] = chosen
        # wire: the docs facts until a step needs one that differs (see _derive_wire_facts)
        self._names["facts"] = self._facts.get(chosen, self.facts)
        return chosen

    def _derive_wire_facts(self) -> dict[str, Any]:
        """The wire facts (derived once, drawing nothing), as the wire profile's facts from now on."""
        facts = self._facts.get("wire")
        if facts is None:
            facts = self._facts["wire"] = self.fake.wire_facts(self.facts)
        self._names["facts"] = facts
        return facts

    def resolve(
        self,
        spec: EventSpec,
        params: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        location: str | None = None,
        profile: str | None = None,
        checked: bool = False,
    ) -> dict[str, Any]:
        """Semantic context: defaults <- video facts / draws <- outcome <- scenario vars <- params.

        `checked`: the params were checked against the event already (a loaded scenario's own, not
        filled from references), so they are not checked again per event."""
        chosen = self._use_profile(profile)
        params = params or {}
        if params and not checked:
            check_params(spec, params, location=location)
        accepted_vars = {k: v for k, v in variables.items() if k in spec.params} if variables else {}
        for name, value in accepted_vars.items():
            check_param(spec.params[name], value, location=location, event=spec.kind)
        resolution = self.renderer.resolution(spec)
        facts = self._names["facts"]
        if resolution.wire_facts and chosen == "wire" and facts is self.facts:
            facts = self._derive_wire_facts()
        context = resolution.base.copy()  # the keys in catalog order, each value set below
        context.update(zip(resolution.fact_names, resolution.fact_values(facts), strict=True))
        fake = self.fake
        for name, method, argument in resolution.draws:
            draw = getattr(fake, method)
            context[name] = draw(argument) if argument else draw()
        outcome = params.get("status", accepted_vars.get("status", spec.params["status"].default))
        context.update(spec.outcomes[outcome])
        if accepted_vars:
            context.update(accepted_vars)
        if params:
            context.update(params)
        return context

    def render(
        self,
        spec: EventSpec,
        context: Mapping[str, Any],
        overrides: Overrides | None = None,
        *,
        location: str | None = None,
        profile: str | None = None,
    ) -> Any:
        """Render one payload from a resolved context; returns the (overridden) JSON value.

        Afterwards `floats_checked` says whether every float of the payload was seen and is one
        orjson writes as json does (see encode_payload)."""
        self.floats_checked = False
        profile = self._use_profile(profile)
        compiled = self.renderer.compiled(spec, self.fmt)
        if (
            profile == "wire"
            and self._names["facts"] is self.facts
            and (compiled is None or "facts" in compiled.names)
        ):
            self._derive_wire_facts()  # the template reads the facts itself
        if compiled is not None:
            name = compiled.name
        else:
            template = self.renderer.template(spec, self.fmt)
            name = template.name or spec.event_type
        prune = self._prune
        decode = _load_without_nulls if prune else _load
        slots: list[Any] = []
        round_trips: list[Any] = []
        try:
            if compiled is not None:
                put = _putter(slots, decode, round_trips)
                text: str | list[str] = compiled.render(self._names, context, spec.event_type, slots, put)
            else:
                names = {
                    **self.renderer.template_globals(template),
                    **context,
                    **self._names,
                    "event_type": spec.event_type,
                    _SLOTS: slots,
                    _DECODER: decode,
                }
                text = _render_template(template, names)
        except jinja2.TemplateError as exc:
            line = _template_line(exc.__traceback__, name, compiled)
            raise TemplateError(
                str(exc.message or exc),
                location=f"{location + ' -> ' if location else ''}{name}:{line or '?'}",
                hint="a template names something the context lacks; check the catalog params",
            ) from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            line = _template_line(exc.__traceback__, name, compiled)
            raise TemplateError(
                f"{type(exc).__name__}: {exc}",
                location=f"{location + ' -> ' if location else ''}{name}:{line or '?'}",
                hint="a parameter value has a shape the template cannot use",
            ) from None
        try:
            payload = self.renderer.build(
                text,
                slots,
                round_trips,
                prune=prune,
                name=name,
                ordered=compiled is not None and compiled.ordered,
            )
        except TemplateError as exc:
            raise TemplateError(exc.message, location=exc.location or name, hint=exc.hint) from None
        complete: Callable[[Any], Any] = _unchanged
        if profile == "wire":
            complete = self._wire_pass or _unchanged
            if self._wire_pass is None:
                # a pruned render holds no null in an object: the pass need not look for them
                complete = self._wire_pass = wire_pass(self.fmt, self.era, pruned=self._prune) or _unchanged
            payload = complete(payload)
        if overrides is None or (overrides.body is None and not overrides.set and not overrides.unset):
            # the jinja2 path's slots and a wire pass's values are not seen one by one
            # the v3 wire pass adds zero values (no float) and copies the render's own values
            self.floats_checked = (
                compiled is not None
                and not round_trips
                and (complete is _unchanged or type(complete) is WireV3)
            )
            return payload
        return overrides.apply(payload, location=location)

    def render_event(
        self,
        event: str | EventSpec,
        params: Mapping[str, Any] | None = None,
        overrides: Overrides | None = None,
        *,
        variables: Mapping[str, Any] | None = None,
        location: str | None = None,
        profile: str | None = None,
    ) -> Any:
        spec = event if isinstance(event, EventSpec) else self.renderer.catalog.event(event)
        context = self.resolve(spec, params, variables, location=location, profile=profile)
        return self.render(spec, context, overrides, location=location, profile=profile)


def _unchanged(payload: Any) -> Any:
    return payload


@functools.lru_cache(maxsize=1)
def default_renderer() -> Renderer:
    """One shared renderer for callers that bring none: its templates compile once per process."""
    return Renderer()
