"""Regenerates templates/data/sdk-structs.json from the installed Tencent VOD SDK's models.

Run `python -m tests.payloads.sdk_structs` after upgrading tencentcloud-sdk-python-vod; a test
checks that the shipped file still matches the installed SDK.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parents[2] / "templates" / "data" / "sdk-structs.json"
_CLASS = re.compile(r"^class (\w+)\(AbstractModel\):", re.M)
_PARAM = re.compile(r":param _(\w+):(.*?):type \1: ([^\n]+)", re.S)
# The event keys of the 2021 captured body, in its order (WechatMiniProgramPublishEvent is
# production's spelling; the SDK says WechatMiniProgramPublishCompleteEvent).
KEYS_2021 = (
    "FileUploadEvent",
    "ProcedureStateChangeEvent",
    "FileDeleteEvent",
    "PullCompleteEvent",
    "EditMediaCompleteEvent",
    "ComposeMediaCompleteEvent",
    "WechatPublishCompleteEvent",
    "TranscodeCompleteEvent",
    "ConcatCompleteEvent",
    "ClipCompleteEvent",
    "CreateImageSpriteCompleteEvent",
    "SnapshotByTimeOffsetCompleteEvent",
    "WechatMiniProgramPublishEvent",
)


def _kind(type_text: str, doc: str, structs: set[str]) -> str:
    type_text = type_text.strip()
    found = re.search(r"models\.(\w+)`", type_text)
    if found:
        return f"obj:{found.group(1)}"
    if type_text.startswith("list of "):
        item = type_text[8:].split()[0]
        return f"list:{item}" if item in structs else "list"
    if type_text == "str" and "ISO" in doc and "日期" in doc:
        return "time"
    return {"str": "str", "int": "int", "float": "float", "bool": "bool"}.get(type_text, "str")


def sdk_structs() -> dict[str, Any]:
    """Every struct reachable from EventContent: name -> [[field, kind], ...] in SDK order."""
    from tencentcloud.vod.v20180717 import models

    source = Path(models.__file__).read_text(encoding="utf-8")
    starts = [(m.group(1), m.start()) for m in _CLASS.finditer(source)]
    names = {name for name, _ in starts}
    parsed: dict[str, list[list[str]]] = {}
    for index, (name, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(source)
        body = source[start:end]
        init = body.split("def __init__(self):", 1)[-1].split('"""', 2)
        doc = init[1] if len(init) > 2 else ""
        parsed[name] = [[m.group(1), _kind(m.group(3), m.group(2), names)] for m in _PARAM.finditer(doc)]
    reachable: dict[str, list[list[str]]] = {}
    pending = ["EventContent"]
    while pending:
        name = pending.pop()
        if name in reachable or name not in parsed:
            continue
        reachable[name] = parsed[name]
        pending.extend(kind.split(":", 1)[1] for _, kind in parsed[name] if ":" in kind)
    return {
        "sdk_version": _sdk_version(),
        "event_keys": {
            "2021": list(KEYS_2021),
            "current": [f for f, _ in reachable["EventContent"] if f not in ("EventHandle", "EventType")],
        },
        "structs": dict(sorted(reachable.items())),
    }


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("tencentcloud-sdk-python-vod")


def render_file() -> str:
    return json.dumps(sdk_structs(), ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


if __name__ == "__main__":
    DATA_FILE.write_text(render_file(), encoding="utf-8")
    print(f"wrote {DATA_FILE}")
