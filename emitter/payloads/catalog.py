"""The event catalog (kinds, aliases, formats, templates, parameters, outcomes) and resource lookup."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emitter.errors import CatalogError, hint_with_suggestion
from emitter.payloads.datacache import load_yaml

CATALOG_FILE = "catalog.yaml"
FIELDS_FILE = "fields.yaml"
PARAM_TYPES = {"str", "int", "float", "bool", "list", "dict", "any"}


def resource_dir(kind: str) -> Path:
    """Where `templates` or `scenarios` live: env var, then the wheel's copy, then the checkout."""
    override = os.environ.get(f"VOD_EMITTER_{kind.upper()}")
    if override:
        return Path(override)
    return _installed_resource_dir(kind)


@functools.cache
def _installed_resource_dir(kind: str) -> Path:
    """Where the installed package keeps `kind` (looked up once: runs in tests ask per call)."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_data" / kind
    if packaged.is_dir():
        return packaged
    return package.parent / kind


@dataclass(frozen=True)
class ParamSpec:
    """One semantic parameter: where its value comes from when a step does not give it."""

    name: str
    type: str
    help: str
    default: Any = None
    fact: str | None = None
    draw: str | None = None
    enum: tuple[Any, ...] | None = None

    @property
    def origin(self) -> str:
        if self.fact:
            return f"the scenario's video ({self.fact})"
        if self.draw:
            return f"random ({self.draw})"
        return "null (omitted)" if self.default is None else repr(self.default)


@dataclass(frozen=True)
class FieldDoc:
    """A documented payload field: path as the docs print it, type and meaning."""

    path: str
    type: str
    description: str
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class FormatSpec:
    name: str
    summary: str


@dataclass(frozen=True)
class EventSpec:
    """One event kind of the catalog."""

    event_type: str
    aliases: tuple[str, ...]
    summary: str
    templates: Mapping[str, str]
    params: Mapping[str, ParamSpec]
    outcomes: Mapping[str, Mapping[str, Any]]
    fields: Mapping[str, tuple[FieldDoc, ...]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.aliases[0] if self.aliases else self.event_type

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(self.templates)

    @property
    def default_format(self) -> str:
        """v2, the seeds' format, unless the event exists only in later formats."""
        return "v2" if "v2" in self.templates else self.formats[0]


@dataclass(frozen=True)
class Catalog:
    formats: Mapping[str, FormatSpec]
    events: Mapping[str, EventSpec]
    template_dir: Path

    @functools.cached_property
    def _by_name(self) -> dict[str, EventSpec]:
        names: dict[str, EventSpec] = {}
        for spec in self.events.values():
            names[spec.event_type] = spec
            names[spec.event_type.lower()] = spec
            for alias in spec.aliases:
                names[alias] = spec
        return names

    def names(self) -> list[str]:
        """Every accepted event name: aliases and EventTypes."""
        return [n for spec in self.events.values() for n in (*spec.aliases, spec.event_type)]

    def event(self, name: str, *, location: str | None = None) -> EventSpec:
        """Look up an event by alias or EventType (case-insensitive EventType)."""
        spec = self._by_name.get(name) or self._by_name.get(str(name).lower())
        if spec is None:
            raise CatalogError(
                f"unknown event '{name}'",
                location=location,
                hint=hint_with_suggestion(
                    str(name), self.names(), "run 'vod-emitter events' to list the events"
                ),
            )
        return spec

    def format(self, name: str, *, location: str | None = None) -> FormatSpec:
        if name not in self.formats:
            raise CatalogError(
                f"unknown format '{name}'",
                location=location,
                hint=hint_with_suggestion(name, self.formats, f"use one of: {', '.join(self.formats)}"),
            )
        return self.formats[name]


def _param(name: str, raw: Mapping[str, Any], where: str) -> ParamSpec:
    kind = raw.get("type", "any")
    if kind not in PARAM_TYPES:
        raise CatalogError(f"parameter '{name}' has unknown type '{kind}'", location=where)
    enum = raw.get("enum")
    return ParamSpec(
        name=name,
        type=kind,
        help=str(raw.get("help", "")),
        default=raw.get("default"),
        fact=raw.get("fact"),
        draw=raw.get("draw"),
        enum=tuple(enum) if enum else None,
    )


def _field_docs(path: Path) -> dict[str, tuple[FieldDoc, ...]]:
    """Documented fields of one format (`<format>/fields.yaml`), by EventType; {} if absent."""
    if not path.is_file():
        return {}
    data = load_yaml(path) or {}
    return {
        event_type: tuple(
            FieldDoc(
                str(row["path"]),
                str(row["type"]),
                str(row.get("description", "")),
                tuple(row["values"]) if row.get("values") else None,
            )
            for row in rows
        )
        for event_type, rows in data.items()
    }


class _FieldDocFiles:
    """Every format's field docs, read on first use: large files that rendering never needs."""

    def __init__(self, template_dir: Path, formats: Iterable[str]):
        self.template_dir = template_dir
        self.formats = tuple(formats)

    @functools.cached_property
    def by_format(self) -> dict[str, dict[str, tuple[FieldDoc, ...]]]:
        return {fmt: _field_docs(self.template_dir / fmt / FIELDS_FILE) for fmt in self.formats}


class _EventFieldDocs(Mapping[str, tuple[FieldDoc, ...]]):
    """One event's documented fields by format (EventSpec.fields), read from the files when first asked."""

    def __init__(self, files: _FieldDocFiles, event_type: str):
        self._files = files
        self._event_type = event_type

    @functools.cached_property
    def _docs(self) -> dict[str, tuple[FieldDoc, ...]]:
        event_type = self._event_type
        return {fmt: docs[event_type] for fmt, docs in self._files.by_format.items() if event_type in docs}

    def __getitem__(self, fmt: str) -> tuple[FieldDoc, ...]:
        return self._docs[fmt]

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def __repr__(self) -> str:
        return repr(self._docs)


def parse_catalog(data: Mapping[str, Any], template_dir: Path) -> Catalog:
    """Build a Catalog from its YAML data; every problem names the entry at fault."""
    where = str(template_dir / CATALOG_FILE)
    if not isinstance(data, Mapping) or "events" not in data or "formats" not in data:
        raise CatalogError("the catalog needs 'formats' and 'events'", location=where)
    formats = {name: FormatSpec(name, str(raw.get("summary", ""))) for name, raw in data["formats"].items()}
    field_docs = _FieldDocFiles(template_dir, formats)
    common = {
        name: _param(name, raw, f"{where} (common_params)")
        for name, raw in (data.get("common_params") or {}).items()
    }
    events: dict[str, EventSpec] = {}
    for event_type, raw in data["events"].items():
        at = f"{where} ({event_type})"
        templates = dict(raw.get("templates") or {})
        for fmt, rel in templates.items():
            if fmt not in formats:
                raise CatalogError(f"template for unknown format '{fmt}'", location=at)
            if not (template_dir / rel).is_file():
                raise CatalogError(f"template file '{rel}' does not exist", location=at)
        params = dict(common)
        params.update({n: _param(n, p or {}, at) for n, p in (raw.get("params") or {}).items()})
        outcomes = {str(k): dict(v or {}) for k, v in (raw.get("outcomes") or {"success": {}}).items()}
        for outcome, values in outcomes.items():
            unknown = set(values) - set(params)
            if unknown:
                raise CatalogError(
                    f"outcome '{outcome}' sets unknown parameters {sorted(unknown)}", location=at
                )
        params["status"] = ParamSpec(
            "status",
            "str",
            "outcome variant: " + ", ".join(outcomes),
            default=next(iter(outcomes)),
            enum=tuple(outcomes),
        )
        events[event_type] = EventSpec(
            event_type=event_type,
            aliases=tuple(raw.get("aliases") or ()),
            summary=str(raw.get("summary", "")),
            templates=templates,
            params=params,
            outcomes=outcomes,
            fields=_EventFieldDocs(field_docs, event_type),
        )
    return Catalog(formats, events, template_dir)


@functools.lru_cache(maxsize=8)
def load_catalog(template_dir: Path | None = None) -> Catalog:
    """Load (once per directory) the catalog that sits beside the templates (its data cached)."""
    directory = template_dir or resource_dir("templates")
    path = directory / CATALOG_FILE
    try:
        data = load_yaml(path)
    except OSError as exc:
        raise CatalogError(
            f"cannot read the catalog: {exc.strerror}",
            location=str(path),
            hint="reinstall vod-emitter or set VOD_EMITTER_TEMPLATES to a templates folder",
        ) from None
    return parse_catalog(data, directory)
