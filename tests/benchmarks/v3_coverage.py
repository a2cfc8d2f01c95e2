"""How many fields of each v3 event's SDK model (recursively) the v3 templates can produce."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterator
from typing import Any

from tencentcloud.vod.v20180717 import models

from emitter.payloads.catalog import load_catalog
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.payloads.render import Renderer
from tests.payloads.sdk_fields import VARIANTS

NOW = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
SEEDS = (1, 2, 3)
_CLASS = re.compile(r"tencentcloud\.vod\.v20180717\.models\.(\w+)")
_TYPE_LINE = re.compile(r"^\s*:type (\w+): (.+)$", re.MULTILINE)
# Parameter sets that switch on every optional part the templates have.
FULL_PARAMS: dict[str, list[dict[str, Any]]] = {
    "NewFileUpload": [
        {},
        {"source_type": "Record", "class_name": "Sports", "tags": ["outdoor"], "review_task_id": "r"},
    ],
    "PullComplete": [{"session_context": "{}", "session_id": "s1", "review_task_id": "r"}],
    "FileDeleted": [{"delete_parts": ["TranscodeFiles"]}],
    "ProcedureStateChanged": [
        {
            "tasks": list(PROCESS_TASK_TYPES),
            "mosaic": True,
            "review": "block",
            "ai_analysis": ["Classification", "Tag"],
            "session_context": "{}",
            "session_id": "s1",
            "operator": "System",
            "operation_type": "TSC",
        },
        {"state": "PROCESSING", "review": "review"},
    ],
    "EditMediaComplete": [
        {"procedure_task_id": "p", "review_task_id": "r", "session_id": "s1", "session_context": "{}"},
        {"input_type": "Stream"},
    ],
    **{event_type: [{}, *variants] for event_type, variants in VARIANTS.items()},
}


def model_fields(cls: type) -> dict[str, type | None]:
    """Attribute names of an SDK model with the model class of each (None for plain values)."""
    types = dict(_TYPE_LINE.findall(cls.__init__.__doc__ or ""))
    fields: dict[str, type | None] = {}
    for attribute in vars(cls()):
        name = attribute.lstrip("_")
        match = _CLASS.search(types.get(name, "")) or re.fullmatch(r"list of (\w+)", types.get(name, ""))
        nested = getattr(models, match.group(1), None) if match else None
        fields[name] = nested if isinstance(nested, type) else None
    return fields


def model_paths(cls: type, prefix: str = "", seen: tuple[type, ...] = ()) -> Iterator[str]:
    """Every field path of a model, nested models included (list items not repeated)."""
    for name, nested in model_fields(cls).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        if nested is not None and nested not in seen:
            yield from model_paths(nested, path, (*seen, cls))


def payload_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every key path of a payload in model terms (list items merged)."""
    if isinstance(node, list):
        for item in node:
            yield from payload_paths(item, prefix)
    elif isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from payload_paths(value, path)


def coverage() -> list[tuple[str, str, int, int, int, int]]:
    """(EventType, key, direct fields, direct produced, all fields, all produced) per v3 event."""
    catalog = load_catalog()
    renderer = Renderer(catalog)
    event_models = model_fields(models.EventContent)
    rows = []
    for event_type, spec in catalog.events.items():
        if "v3" not in spec.templates:
            continue
        produced: set[str] = set()
        key = ""
        for seed in SEEDS:
            for params in FULL_PARAMS.get(event_type, [{}]):
                for outcome in spec.outcomes:
                    # the templates' own output (wire adds every SDK field with its zero value)
                    session = renderer.session(seed=seed, now=NOW, fmt="v3", options={"profile": "docs"})
                    payload = session.render_event(spec, {**params, "status": outcome})
                    key = next(k for k in payload if k != "EventType")
                    produced |= set(payload_paths(payload[key]))
        model = event_models[key]
        assert model is not None, key
        everything = set(model_paths(model))
        direct = set(model_fields(model))
        unknown = produced - everything
        assert not unknown, f"{event_type} produces fields its model lacks: {sorted(unknown)}"
        rows.append((event_type, key, len(direct), len(direct & produced), len(everything), len(produced)))
    return rows


def main() -> None:
    rows = coverage()
    header = ("EventType", "object key", "top-level", "produced", "recursive", "produced", "%")
    lines = [header]
    for event_type, key, direct, direct_made, total, made in rows:
        lines.append(
            (
                event_type,
                key,
                str(direct),
                str(direct_made),
                str(total),
                str(made),
                f"{100 * made / total:.0f}%",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    for row in lines:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        sys.stdout.write("  ".join(cells).rstrip() + "\n")


if __name__ == "__main__":
    main()
