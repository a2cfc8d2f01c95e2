"""YAML data files (catalog, words, field docs) read through a JSON cache keyed by their content."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from emitter.errors import CatalogError

CACHE_ENV = "VOD_EMITTER_CACHE_DIR"
# in every key: a change of what is stored (or of how YAML is read) leaves the old entries unused
_KEY_PREFIX = b"vod-emitter yaml->json 1\0"
_DISABLED = {"", "0", "off", "false", "no"}
MAX_ENTRIES = 64
"""Entries kept in the cache directory; beyond that, the ones written longest ago are removed (each
checkout's files have entries of their own: without a bound, deleted checkouts' would pile up)."""


def cache_dir() -> Path | None:
    """VOD_EMITTER_CACHE_DIR (empty or `off`: no cache), else $XDG_CACHE_HOME/vod-emitter, else
    ~/.cache/vod-emitter."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in _DISABLED else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vod-emitter"


def load_yaml(path: Path) -> Any:
    """The file's YAML data (safe loader), from the cache when an entry for these exact bytes exists.

    The entry is named by a hash of the bytes, so an edited file never meets a stale entry (and its
    older entries are removed when the new one is written). Only data
    that JSON gives back identical (types and key order) is stored; a cache that cannot be read or
    written is skipped silently. OSError of `path` itself propagates; invalid YAML is a CatalogError.
    """
    raw = path.read_bytes()
    directory = cache_dir()
    entry = directory / f"{_source_key(path)}-{_digest(raw)}.json" if directory else None
    if entry is not None:
        try:
            return json.loads(entry.read_bytes())["data"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or unreadable: parse the YAML (and write the entry again)
    data = _parse(raw, path)
    if entry is not None:
        _store(entry, data)
    return data


def _digest(raw: bytes) -> str:
    return hashlib.sha256(_KEY_PREFIX + raw).hexdigest()


def _source_key(path: Path) -> str:
    """The file's own prefix of its entries: a new entry replaces the file's older ones."""
    return _digest(os.fsencode(path.resolve()))[:16]


def _parse(raw: bytes, path: Path) -> Any:
    import yaml  # only on a cache miss: importing PyYAML costs a start more than reading the entry

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it (10x faster)
    try:
        return yaml.load(raw.decode("utf-8"), Loader=loader)
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 text: {exc.reason}", location=str(path)) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"invalid YAML: {exc}", location=str(path)) from None


def _store(entry: Path, data: Any) -> None:
    try:
        text = json.dumps({"data": data}, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # dates, sets, NaN...: not JSON, so not cached
        return
    if not same(json.loads(text)["data"], data):  # keys that are not strings, tuples...
        return
    partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, entry)  # readers see the whole entry or none
    except OSError:  # unwritable: the next start parses the YAML again
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return
    source_key = entry.name.partition("-")[0]
    for older in entry.parent.glob(f"{source_key}-*.json"):  # the file's earlier versions: one entry each
        if older != entry:
            with contextlib.suppress(OSError):
                older.unlink()
    _keep_newest(entry.parent, MAX_ENTRIES)


def _keep_newest(directory: Path, count: int) -> None:
    """Remove all but the `count` entries written last (and partial writes left by a crash)."""
    written: list[tuple[float, Path]] = []
    for path in directory.glob("*.json*"):
        with contextlib.suppress(OSError):  # another process may remove it first
            written.append((path.stat().st_mtime, path))
    written.sort(reverse=True)
    for _, path in written[count:]:
        with contextlib.suppress(OSError):
            path.unlink()


def same(left: Any, right: Any) -> bool:
    """Equal with the same types and the same key order throughout (1 and 1.0 and True differ)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)
