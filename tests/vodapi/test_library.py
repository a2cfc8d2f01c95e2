"""The media library: seeded ids that replay, and a --state file that survives restarts (or fails clearly)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from emitter.vodapi.library import Library, LibraryError
from tests.vodapi.test_flows import Harness


def test_same_seed_same_ids_and_values() -> None:
    one, two = Harness(seed=5), Harness(seed=5)
    assert one.upload("a") == two.upload("a")
    first = one.call("ProcessMediaByProcedure", FileId=one.upload("b"), ProcedureName="LongVideoPreset")
    second = two.call("ProcessMediaByProcedure", FileId=two.upload("b"), ProcedureName="LongVideoPreset")
    assert first == second and one.published == two.published
    assert Harness(seed=6).upload("a") != one.upload("a")


def test_restart_with_state_keeps_media_and_tasks(tmp_path: Path) -> None:
    state = tmp_path / "vod.sqlite"
    before = Harness(seed=3, state=state)
    file_id = before.upload("kept")
    task_id = before.call("ProcessMediaByProcedure", FileId=file_id, ProcedureName="LongVideoPreset")[
        "TaskId"
    ]
    answer = before.call("DescribeTaskDetail", TaskId=task_id)
    snapshot = before.library.snapshot()
    before.library.close()

    after = Harness(seed=999, state=state)  # the file's seed wins: ids go on from where they were
    assert after.library.snapshot() == snapshot
    assert after.call("DescribeTaskDetail", TaskId=task_id) == answer
    assert (
        after.call("DescribeMediaInfos", FileIds=[file_id])["MediaInfoSet"][0]["BasicInfo"]["Name"] == "kept"
    )
    new_id = after.upload("new")
    assert new_id not in snapshot["media"] and len(after.library.media) == 2
    after.library.close()
    assert set(Library(0, state=state).media) == {file_id, new_id}


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"this is not a database at all" * 100),
        lambda path: sqlite3.connect(path).executescript(
            "CREATE TABLE meta (key TEXT, value TEXT);INSERT INTO meta VALUES ('schema', '1');"
        ),
        lambda path: sqlite3.connect(path).executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);INSERT INTO meta VALUES ('schema', '7');"
        ),
    ],
    ids=["garbage", "missing-keys", "other-schema"],
)
def test_a_damaged_state_file_is_one_clear_error(tmp_path: Path, damage: object) -> None:
    state = tmp_path / "vod.sqlite"
    damage(state)  # type: ignore[operator]
    with pytest.raises(LibraryError) as raised:
        Library(1, state=state)
    text = str(raised.value)
    assert text.startswith(f"--state {state}: ") and "\n" not in text
    assert "move the file away" in text
