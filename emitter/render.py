"""Pure, seeded rendering: semantic context -> sandboxed jinja2 template -> JSON -> overrides."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import jinja2
from faker import Generator
from jinja2.sandbox import SandboxedEnvironment

from emitter.catalog import Catalog, EventSpec, ParamSpec, load_catalog
from emitter.errors import ScenarioError, TemplateError, hint_with_suggestion
from emitter.paths import set_path, unset_path
from emitter.providers import VodProvider

_encode_string: Callable[[str], str] = json.encoder.encode_basestring
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def encode_payload(payload: Any) -> bytes:
    """Compact UTF-8 JSON without \\u escapes of non-ASCII (lone surrogates are escaped)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        escaped = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return escaped.encode("utf-8")


def _json_value(value: Any) -> str:
    """The `|j` filter: one value as JSON text (the hot path of rendering, hence the fast cases)."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def prune_nulls(node: Any) -> Any:
    """Drop object keys whose value is null: a template's null means 'field absent'."""
    if isinstance(node, dict):
        return {k: prune_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [prune_nulls(v) for v in node]
    return node


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


def _template_line(tb: TracebackType | None, template_name: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(template_name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@dataclass(frozen=True)
class Overrides:
    """Raw payload changes applied after rendering, so they can break the shape on purpose."""

    set: Mapping[str, Any] | None = None
    unset: tuple[str, ...] = ()
    body: Any = None

    def apply(self, payload: Any, *, location: str | None = None) -> Any:
        if self.body is not None:
            return self.body
        try:
            for path, value in (self.set or {}).items():
                set_path(payload, path, value)
            for path in self.unset:
                unset_path(payload, path)
        except ScenarioError as exc:
            exc.location = exc.location or location
            raise ScenarioError(exc.message, location=exc.location, hint=exc.hint) from None
        return payload


class Renderer:
    """Compiles the catalog's templates once and renders events from semantic contexts."""

    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or load_catalog()
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(self.catalog.template_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            cache_size=-1,
            auto_reload=False,
        )
        self.env.filters["j"] = _json_value
        self.env.globals["iso"] = _iso
        self._templates: dict[tuple[str, str], jinja2.Template] = {}

    def template(self, spec: EventSpec, fmt: str) -> jinja2.Template:
        key = (spec.event_type, fmt)
        if key not in self._templates:
            if fmt not in spec.templates:
                self.catalog.format(fmt)
                raise TemplateError(
                    f"{spec.event_type} has no {fmt} form",
                    hint=f"it exists in: {', '.join(spec.formats)}",
                )
            name = spec.templates[fmt]
            try:
                self._templates[key] = self.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(exc.message or "syntax error", location=f"{name}:{exc.lineno}") from None
        return self._templates[key]

    def session(
        self,
        *,
        seed: int,
        now: dt.datetime,
        fmt: str = "v2",
        options: Mapping[str, Any] | None = None,
    ) -> RenderSession:
        self.catalog.format(fmt)
        return RenderSession(self, seed=seed, now=now, fmt=fmt, options=options or {})


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
        generator = Generator()
        generator.seed_instance(seed)
        self.fake = VodProvider(generator)
        self.facts = self.fake.video()

    def resolve(
        self,
        spec: EventSpec,
        params: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        location: str | None = None,
    ) -> dict[str, Any]:
        """Semantic context: defaults <- video facts / draws <- outcome <- scenario vars <- params."""
        params = dict(params or {})
        check_params(spec, params, location=location)
        accepted_vars = {k: v for k, v in (variables or {}).items() if k in spec.params}
        context: dict[str, Any] = {}
        for name, param in spec.params.items():
            if param.fact:
                context[name] = self.facts[param.fact]
            elif param.draw:
                method, _, argument = param.draw.partition(":")
                draw = getattr(self.fake, method)
                context[name] = draw(argument) if argument else draw()
            else:
                context[name] = param.default
        outcome = params.get("status", accepted_vars.get("status", spec.params["status"].default))
        context.update(spec.outcomes[outcome])
        context.update(accepted_vars)
        context.update(params)
        return context

    def render(
        self,
        spec: EventSpec,
        context: Mapping[str, Any],
        overrides: Overrides | None = None,
        *,
        location: str | None = None,
    ) -> Any:
        """Render one payload from a resolved context; returns the (overridden) JSON value."""
        template = self.renderer.template(spec, self.fmt)
        name = template.name or spec.event_type
        try:
            text = template.render(
                context,
                fake=self.fake,
                facts=self.facts,
                now=self.now,
                ts=int(self.now.timestamp()),
                opts=self.options,
                event_type=spec.event_type,
            )
        except jinja2.TemplateError as exc:
            line = _template_line(exc.__traceback__, name)
            raise TemplateError(
                str(exc.message or exc),
                location=f"{location + ' -> ' if location else ''}{name}:{line or '?'}",
                hint="a template names something the context lacks; check the catalog params",
            ) from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            line = _template_line(exc.__traceback__, name)
            raise TemplateError(
                f"{type(exc).__name__}: {exc}",
                location=f"{location + ' -> ' if location else ''}{name}:{line or '?'}",
                hint="a parameter value has a shape the template cannot use",
            ) from None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"rendered text is not JSON: {exc.msg} (rendered line {exc.lineno})",
                location=name,
                hint="fix the template's commas and quoting; use the |j filter for values",
            ) from None
        if not (self.options.get("keep_nulls") or self.options.get("null_event_keys")):
            payload = prune_nulls(payload)
        return (overrides or Overrides()).apply(payload, location=location)

    def render_event(
        self,
        event: str | EventSpec,
        params: Mapping[str, Any] | None = None,
        overrides: Overrides | None = None,
        *,
        variables: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> Any:
        spec = event if isinstance(event, EventSpec) else self.renderer.catalog.event(event)
        context = self.resolve(spec, params, variables, location=location)
        return self.render(spec, context, overrides, location=location)


def parse_assignments(items: Iterable[str], *, flag: str) -> dict[str, Any]:
    """Parse `PATH=VALUE` flags; VALUE is read as YAML (so 0, -1, true, [a, b] keep their type)."""
    import yaml

    result: dict[str, Any] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise ScenarioError(
                f"{flag} '{item}' is not PATH=VALUE", hint=f"write e.g. {flag} data.status=-1"
            )
        try:
            result[path.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            result[path.strip()] = raw
    return result
