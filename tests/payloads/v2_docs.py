"""Test helpers: the seed's v2 tables (tests/data copy) and doc-style paths of a payload."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SEED = Path(__file__).parents[1] / "data" / "vod-legacy-callbacks-v2.md"
DISCRIMINATED_LISTS = {"processTaskList", "contentReviewList", "aIAnalysisList"}


def seed_table_names() -> dict[str, set[str]]:
    """Leaf parameter names of every table row, per event section of the seed."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        anchor = re.match(r'<span id="(\w+)"></span>', line)
        if anchor:
            current = anchor.group(1)
            sections[current] = set()
            continue
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        is_row = current and line.startswith("|") and len(cells) >= 3 and not cells[0].startswith("-")
        if is_row and cells[0] not in ("Parameter Name", "Event Notification"):
            sections[str(current)].add(cells[0].split(".")[-1])
    return sections


def doc_paths(node: Any, prefix: str = "") -> dict[str, Any]:
    """Every path of a payload in the docs' notation (`a.b[].c`, `list[taskType=X].d`)."""
    paths: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            paths[path] = value
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        marker = f"[taskType={item.get('taskType')}]" if key in DISCRIMINATED_LISTS else "[]"
                        paths.update(doc_paths(item, path + marker))
            else:
                paths.update(doc_paths(value, path))
    return paths
