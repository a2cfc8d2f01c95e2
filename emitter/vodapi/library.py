"""The local VOD's media library: media and tasks drawn from the run's seed, optionally kept in SQLite."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import random
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from emitter.clock import utc_stamp
from emitter.errors import EmitterError
from emitter.payloads.providers import VodProvider

# Limits (documented in the README): a library is a test fixture, not a media store.
MAX_MEDIA = 10_000
MAX_TASKS = 50_000
_SCHEMA = 1
T = TypeVar("T")


class LibraryError(EmitterError):
    """The state file cannot be used, or the library is full."""


@dataclass
class Media:
    """One file of the library, with its SDK shapes (MediaBasicInfo, MediaMetaData) as stored."""

    file_id: str
    name: str
    created: str  # ISO 8601 UTC, what CreateTime filters compare
    facts: dict[str, Any]  # provider facts: file_url, cover_url, media (sizes, codecs...), source_context
    basic_info: dict[str, Any] = field(default_factory=dict)
    meta_data: dict[str, Any] = field(default_factory=dict)
    transcodes: list[dict[str, Any]] = field(default_factory=list)  # MediaTranscodeItem
    sequence: int = 0


@dataclass
class Task:
    """One task: what DescribeTaskDetail and DescribeTasks show, and its SDK detail object."""

    task_id: str
    task_type: str  # Procedure, EditMedia, PullUpload, ComposeMedia, WechatMiniProgramPublish
    status: str  # WAITING, PROCESSING, FINISH
    created: str
    file_id: str | None = None
    begun: str | None = None
    finished: str | None = None
    session_id: str | None = None
    session_context: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. ProcedureTask, as the callback carries it
    sequence: int = 0


class Library:
    """Media and tasks of one local VOD account; every id comes from (seed, draw number).

    Draw number n seeds its own generator (`random.Random(f"{seed}:{n}")`), and n is kept in the
    state file, so a restarted library goes on with fresh ids and a rerun with the same seed gives
    the same ids in the same order.
    """

    def __init__(self, seed: int, *, state: str | Path | None = None):
        self.seed = seed
        self.app_id = str(random.Random(f"{seed}:app").randrange(1_250_000_000, 1_260_000_000))
        self.media: dict[str, Media] = {}
        self.tasks: dict[str, Task] = {}
        self._draws = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._state_path = Path(state) if state is not None else None
        if self._state_path is not None:
            self._open(self._state_path)

    # --- draws ------------------------------------------------------------------------------
    def provider(self) -> VodProvider:
        """A provider for the next object, seeded from (seed, draw number) with this account's app id."""
        with self._lock:
            self._draws += 1
            number = self._draws
        provider = VodProvider.seeded(f"{self.seed}:{number}")
        provider.app_id_value = self.app_id
        self._save_meta()
        return provider

    def draw_seed(self) -> int:
        """A render seed for the next callback or detail, drawn like every other id."""
        return int(self.provider().generator.random.getrandbits(63))

    # --- media ------------------------------------------------------------------------------
    def new_media(self, name: str | None, *, now: dt.datetime, source_url: str | None = None) -> Media:
        """Draw a file (id, URLs, metadata) named `name` (a drawn title when None); not yet stored."""
        fake = self.provider()
        facts = fake.video()
        facts["app_id"] = fake.app_id_value = self.app_id
        file_id = facts["file_id"]
        facts["file_url"] = fake.media_url(file_id, "f0.mp4")
        facts["cover_url"] = fake.image_url(file_id, "cover", 0)
        facts["source_url"] = source_url
        return Media(file_id=file_id, name=name or facts["file_name"], created=utc_stamp(now), facts=facts)

    def add_media(self, media: Media) -> Media:
        if media.file_id not in self.media and len(self.media) >= MAX_MEDIA:
            raise LibraryError(
                f"the library holds {MAX_MEDIA} media already",
                hint="delete media (DeleteMedia) or start with a fresh --state file",
            )
        media.sequence = media.sequence or len(self.media) + 1
        self.media[media.file_id] = media
        self._save("media", media.file_id, media.sequence, media)
        return media

    def delete_media(self, file_id: str) -> Media | None:
        media = self.media.pop(file_id, None)
        if media is not None and self._db is not None:
            with self._db:
                self._db.execute("DELETE FROM media WHERE id = ?", (file_id,))
        return media

    def save_media(self, media: Media) -> None:
        self._save("media", media.file_id, media.sequence, media)

    # --- tasks ------------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        if task.task_id not in self.tasks and len(self.tasks) >= MAX_TASKS:
            raise LibraryError(
                f"the library holds {MAX_TASKS} tasks already", hint="start with a fresh --state file"
            )
        task.sequence = task.sequence or len(self.tasks) + 1
        self.tasks[task.task_id] = task
        self._save("tasks", task.task_id, task.sequence, task)
        return task

    def save_task(self, task: Task) -> None:
        self._save("tasks", task.task_id, task.sequence, task)

    def snapshot(self) -> dict[str, Any]:
        """Plain copies of everything, for assertions and for the state file's tests."""
        return {
            "media": {k: asdict(v) for k, v in self.media.items()},
            "tasks": {k: asdict(v) for k, v in self.tasks.items()},
        }

    # --- persistence ------------------------------------------------------------------------
    def _open(self, path: Path) -> None:
        where = f"--state {path}"
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.isolation_level = "DEFERRED"
            with self._db:
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                self._db.execute("CREATE TABLE IF NOT EXISTS media (id TEXT PRIMARY KEY, seq INT, body TEXT)")
                self._db.execute("CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, seq INT, body TEXT)")
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta:
                self._restore(meta, where)
            else:
                self._save_meta()
        except sqlite3.Error as exc:
            self.close()
            raise LibraryError(
                f"not a usable vod-emitter state file ({exc})",
                location=where,
                hint="move the file away or pass another path; vod-emitter creates it when missing",
            ) from None

    def _restore(self, meta: dict[str, str], where: str) -> None:
        assert self._db is not None
        try:
            if int(meta["schema"]) != _SCHEMA:
                raise ValueError(f"schema {meta['schema']}, this vod-emitter writes {_SCHEMA}")
            self.seed = int(meta["seed"])
            self.app_id = meta["app_id"]
            self._draws = int(meta["draws"])
            for (body,) in self._db.execute("SELECT body FROM media ORDER BY seq"):
                media = Media(**json.loads(body))
                self.media[media.file_id] = media
            for (body,) in self._db.execute("SELECT body FROM tasks ORDER BY seq"):
                task = Task(**json.loads(body))
                self.tasks[task.task_id] = task
        except (KeyError, ValueError, TypeError) as exc:
            self.close()
            raise LibraryError(
                f"not a vod-emitter state file, or a damaged one ({type(exc).__name__}: {exc})",
                location=where,
                hint="move the file away or pass another path; vod-emitter creates it when missing",
            ) from None

    def _save_meta(self) -> None:
        if self._db is None:
            return
        rows = [
            ("schema", str(_SCHEMA)),
            ("seed", str(self.seed)),
            ("app_id", self.app_id),
            ("draws", str(self._draws)),
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)

    def _save(self, table: str, key: str, sequence: int, item: Media | Task) -> None:
        if self._db is None:
            return
        body = json.dumps(asdict(item), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} (id, seq, body) VALUES (?, ?, ?)", (key, sequence, body)
            )

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __iter__(self) -> Iterator[Media]:
        return iter(list(self.media.values()))


def copied(value: T) -> T:
    """A deep copy of a stored SDK shape, so an answer never aliases the library's state."""
    return copy.deepcopy(value)
