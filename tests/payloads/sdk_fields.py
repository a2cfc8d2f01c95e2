"""The v3 events beyond the seed's, and their field docs generated from the SDK models (run as a module)."""

from __future__ import annotations

import datetime as dt
import html
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from tencentcloud.vod.v20180717 import models

from emitter.payloads.catalog import load_catalog
from emitter.payloads.render import Renderer
from tests.payloads.test_v3 import doc_paths

# EventType -> object key of the SDK's EventContent (3.1.194) for the events this section adds;
# the spellings follow reference §2.2 (ExtractBlindWatermarkComplete has no "Event" suffix).
NEW_EVENTS: dict[str, str] = {
    "ComposeMediaComplete": "ComposeMediaCompleteEvent",
    "SplitMediaComplete": "SplitMediaCompleteEvent",
    "WechatMiniProgramPublishComplete": "WechatMiniProgramPublishCompleteEvent",
    "RemoveWatermark": "RemoveWatermarkCompleteEvent",
    "RestoreMediaComplete": "RestoreMediaCompleteEvent",
    "RebuildMediaComplete": "RebuildMediaCompleteEvent",
    "ReviewAudioVideoComplete": "ReviewAudioVideoCompleteEvent",
    "ExtractTraceWatermarkComplete": "ExtractTraceWatermarkCompleteEvent",
    "ExtractCopyRightWatermarkComplete": "ExtractCopyRightWatermarkCompleteEvent",
    "ReduceMediaBitrateComplete": "ReduceMediaBitrateCompleteEvent",
    "DescribeFileAttributesComplete": "DescribeFileAttributesCompleteEvent",
    "QualityInspectComplete": "QualityInspectCompleteEvent",
    "QualityEnhanceComplete": "QualityEnhanceCompleteEvent",
    "MediaCastStatusChanged": "MediaCastStatusChangedEvent",
    "PersistenceComplete": "PersistenceCompleteEvent",
    "ComplexAdaptiveDynamicStreamingComplete": "ComplexAdaptiveDynamicStreamingCompleteEvent",
    "ProcessMediaByMPSComplete": "ProcessMediaByMPSCompleteEvent",
    "AigcImageTaskComplete": "AigcImageCompleteEvent",
    "AigcVideoTaskComplete": "AigcVideoCompleteEvent",
    "ExtractBlindWatermarkComplete": "ExtractBlindWatermarkComplete",
    "SceneAigcImageCompleteEvent": "SceneAigcImageCompleteEvent",
    "ProcessImageAsyncCompleteEvent": "ProcessImageAsyncCompleteEvent",
    "CreateAigcAdvancedCustomElementCompleteEvent": "CreateAigcAdvancedCustomElementCompleteEvent",
    "CreateAigcCustomVoiceCompleteEvent": "CreateAigcCustomVoiceCompleteEvent",
    "DescribeAigcFaceInfoAsyncComplete": "DescribeAigcFaceInfoAsyncCompleteEvent",
    "AigcHunyuan3DTaskComplete": "AigcHunyuan3DCompleteEvent",
}
# Parameter sets that, with every outcome, switch on every optional part of the new templates.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "SplitMediaComplete": [
        {
            "segments": 3,
            "procedure_task_id": "p1",
            "review_task_id": "r1",
            "session_id": "s1",
            "session_context": "{}",
        }
    ],
    "ReviewAudioVideoComplete": [{"suggestion": "review", "form": "ASR", "label": "Ad"}],
    "ComposeMediaComplete": [{"session_id": "s1", "session_context": "{}"}],
    "ComplexAdaptiveDynamicStreamingComplete": [
        {"definitions": [12, 13], "package": "MPEG-DASH", "drm_type": "Widevine"}
    ],
    "ProcessMediaByMPSComplete": [{"task_type": "MediaProcess.Transcode"}],
    "AigcImageTaskComplete": [{"storage_mode": "Temporary", "image_count": 2, "file_type": "jpg"}],
    "AigcVideoTaskComplete": [{"storage_mode": "Temporary", "aspect_ratio": "9:16", "prompt": "a red kite"}],
    "ExtractBlindWatermarkComplete": [{"watermark_type": "blind-ab"}],
    "SceneAigcImageCompleteEvent": [{"storage_mode": "Temporary"}],
    "AigcHunyuan3DTaskComplete": [{"result_format": "FBX", "generate_type": "Geometry"}],
}


def _with_sessions(variants: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Every event that takes session_id gets a variant that sets it (so its field docs list it)."""
    catalog = load_catalog()
    session = {"session_id": "a1b2c3d4", "session_context": '{"userId":42}'}
    result = {event: list(variants.get(event, [])) for event in NEW_EVENTS}
    for event, cases in result.items():
        if "session_id" in catalog.events[event].params and not any("session_id" in c for c in cases):
            cases.append(dict(session))
    return {event: cases for event, cases in result.items() if cases}


VARIANTS = _with_sessions(VARIANTS)
SEEDS = (1, 2, 3)
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
FIELDS_FILE = Path(__file__).resolve().parents[2] / "templates" / "v3" / "fields.yaml"
MARKER = "# --- Events of the SDK's EventContent beyond the seed's: python -m tests.payloads.sdk_fields"
_SDK_TYPES = {"str": "String", "int": "Integer", "float": "Float", "bool": "Boolean"}
_NULL_KEY = (
    "Another event's key: present and null in 2019-style bodies (null_event_keys option), absent otherwise."
)
_MAY_BE_NULL = "注意：此字段可能返回 null，表示取不到有效值。"  # the SDK's "may be null" note on most fields


def _members(cls: type) -> dict[str, tuple[str, str]]:
    """{field: (SDK type text, description)} of one SDK model, from its constructor's docstring."""
    doc = cls.__init__.__doc__ or ""
    found = {}
    for match in re.finditer(r":param _(\w+): (.*?)\n\s*:type \1: ([^\n]+)", doc, re.S):
        text = re.sub(r"<[^>]+>", " ", match.group(2)).replace(_MAY_BE_NULL, "")
        text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", html.unescape(text))  # markdown links: their text
        found[match.group(1)] = (match.group(3).strip(), " ".join(text.split()))
    return found


def event_content_keys() -> list[str]:
    """Every field of the SDK's EventContent (EventHandle, EventType and one key per event)."""
    return list(_members(models.EventContent))


def _nested(kind: str) -> type | None:
    """The SDK model a field's type names (`:class:` or `list of`), if any."""
    found = re.search(r"models\.(\w+)`|^list of (\w+)$", kind)
    name = found and (found.group(1) or found.group(2))
    return getattr(models, name) if name and hasattr(models, name) else None


def can_report_errors(key: str) -> bool:
    """Whether the struct of an EventContent key, or a sub-task result in it, has an error code or message."""
    pending = [_nested(_members(models.EventContent)[key][0])]
    for _ in range(3):  # the struct, its result lists, their items' sub-tasks
        members = {name: kind for cls in pending if cls for name, (kind, _) in _members(cls).items()}
        if {"ErrCode", "ErrCodeExt", "Message"} & set(members):
            return True
        skipped = ("Input", "Output", "MetaData")  # a task's own error codes live beside these
        pending = [_nested(kind) for name, kind in members.items() if name not in skipped]
    return False


def sdk_field(path: str) -> tuple[str, str]:
    """(doc type, description) of a doc path (`A.B[].C`, `A.B[Type=X].C`) in the SDK's EventContent."""
    cls: Any = models.EventContent
    kind, text = "", ""
    for part in re.sub(r"\[[^\]]*\]", "", path).split("."):
        if cls is None:
            raise KeyError(path)
        kind, text = _members(cls)[part]
        cls = _nested(kind)
    if kind.startswith("list of"):
        return "Array", text
    return ("Object" if ":class:" in kind else _SDK_TYPES[kind]), text


def payloads(renderer: Renderer, event_type: str) -> Iterator[Any]:
    """Every outcome and variant of an event with each seed, docs-shaped and 2019-style."""
    spec = renderer.catalog.events[event_type]
    for options in ({"null_event_keys": True}, {}):
        for seed in SEEDS:
            session = renderer.session(seed=seed, now=NOW, fmt="v3", options={"profile": "docs", **options})
            for params in [{"status": outcome} for outcome in spec.outcomes] + VARIANTS.get(event_type, []):
                yield session.render_event(spec, params)


def field_docs(renderer: Renderer, event_type: str) -> list[dict[str, Any]]:
    """The field docs of one event: every path its payloads produce, typed and described by the SDK."""
    own = NEW_EVENTS[event_type]
    paths: dict[str, None] = {}
    for payload in payloads(renderer, event_type):
        paths.update(dict.fromkeys(doc_paths(payload)))
    rows: list[dict[str, Any]] = []
    # the event's own fields in payload order (templates print nulls too under null_event_keys), then
    # the other events' keys
    for path in sorted(paths, key=lambda p: "." not in p and p not in ("EventType", own)):
        if path == "EventType":
            rows.append(
                {
                    "path": path,
                    "type": "String",
                    "description": f"Event type, which is always `{event_type}`.",
                    "values": [event_type],
                }
            )
        elif "." not in path and path != own:
            rows.append({"path": path, "type": "Null", "description": _NULL_KEY})
        else:
            kind, text = sdk_field(path)
            rows.append({"path": path, "type": kind, "description": text})
    return rows


def section(renderer: Renderer) -> str:
    """The generated part of templates/v3/fields.yaml."""
    docs = {event_type: field_docs(renderer, event_type) for event_type in NEW_EVENTS}
    body = yaml.safe_dump(docs, sort_keys=False, allow_unicode=True, width=1000)
    return f"{MARKER} (descriptions: the SDK's docstrings).\n{body}"


def current_section(text: str) -> str:
    """The generated part of a fields.yaml text ("" when it has none)."""
    start = text.find(MARKER)
    return "" if start < 0 else text[start:]


def main() -> int:
    text = FIELDS_FILE.read_text(encoding="utf-8")
    start = text.find(MARKER)
    head = text if start < 0 else text[:start]
    FIELDS_FILE.write_text(head + section(Renderer()), encoding="utf-8")
    print(f"wrote {len(NEW_EVENTS)} events' field docs to {FIELDS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
