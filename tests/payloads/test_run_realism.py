"""Realism inside a run under wire (issue 15 item 4): times in order, sizes ~ bitrate x duration,
output durations near the source's, ids of different events sharing no long substring."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import emitter
from emitter.payloads.profiles import ZERO_TIME
from emitter.scenarios.loader import builtin_scenarios

NOW = "2024-01-01T00:00:00Z"
SCENARIOS = sorted(builtin_scenarios())
# Ids of different kinds; the leaf key names them (v2 camelCase, v3 PascalCase).
ID_KINDS = {"fileid": "file", "taskid": "task", "vodtaskid": "task", "proceduretaskid": "task"}
LONGEST_SHARED = 11  # two ids of different things never share 12 characters or more


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _leaves(item, f"{path}[]")
    else:
        yield path, node


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module", params=["v3", "v2"])
def runs(request: pytest.FixtureRequest) -> dict[str, list[Any]]:
    fmt = request.param
    return {
        name: [
            event.payload for event in emitter.render_scenario(name, seed=5, now=NOW, fmt=fmt, profile="wire")
        ]
        for name in SCENARIOS
    }


def test_sub_task_times_follow_the_upload_and_precede_the_post(runs: dict[str, list[Any]]) -> None:
    checked = 0
    for name, payloads in runs.items():
        created = [_time(v) for p in payloads for path, v in _leaves(p) if path.endswith("Info.CreateTime")]
        for payload in payloads:
            for path, value in _leaves(payload):
                if not path.endswith(("BeginProcessTime", "FinishTime")) or value in (None, ZERO_TIME):
                    continue
                moment = _time(value)
                assert moment <= _time(NOW), (name, path, value)  # a post's own time: the run's now
                assert all(moment >= first for first in created[:1]), (name, path, value, created[:1])
                checked += 1
    if any(isinstance(p, dict) and "EventType" in p for ps in runs.values() for p in ps):
        assert checked > 100  # v3 task flows carry them; the check can fail


def test_output_sizes_follow_bitrate_times_duration(runs: dict[str, list[Any]]) -> None:
    checked = 0
    for name, payloads in runs.items():
        for item in itertools.chain.from_iterable(_objects(p) for p in payloads):
            size, bitrate = item.get("Size", item.get("size")), item.get("Bitrate", item.get("bitrate"))
            duration = item.get("Duration", item.get("duration"))
            if not all(isinstance(v, (int, float)) and v > 0 for v in (size, bitrate, duration)):
                continue
            ratio = size * 8 / (bitrate * duration)
            assert 0.5 <= ratio <= 2.0, (name, item)
            checked += 1
    assert checked > 10  # the check can fail


def test_output_durations_are_within_a_few_ms_of_the_sources(runs: dict[str, list[Any]]) -> None:
    checked = 0
    for name, payloads in runs.items():
        for payload in payloads:
            flow = payload.get("ProcedureStateChangeEvent") if "EventType" in payload else None
            if not flow or not flow.get("MetaData"):
                continue
            source = flow["MetaData"]["Duration"]
            for result in flow.get("MediaProcessResultSet") or []:
                output = (result.get("TranscodeTask") or {}).get("Output") or {}
                if output.get("Duration"):
                    assert abs(output["Duration"] - source) <= 0.05, (name, output["Duration"], source)
                    checked += 1
    if checked == 0:
        assert not any("EventType" in p for ps in runs.values() for p in ps)  # v2: no float durations


def test_ids_of_different_things_share_no_long_substring(runs: dict[str, list[Any]]) -> None:
    for name, payloads in runs.items():
        ids: dict[str, str] = {}
        for payload in payloads:
            for path, value in _leaves(payload):
                kind = ID_KINDS.get(path.rsplit(".", 1)[-1].lower())
                if kind and isinstance(value, str) and value:
                    ids.setdefault(value, kind)
        for (a, kind_a), (b, kind_b) in itertools.combinations(ids.items(), 2):
            if kind_a == kind_b == "task":
                # a task-flow id embeds the app id (<appid>-procedurev2-<32 hex>): compare the random part
                a, b = a.rpartition("-")[2], b.rpartition("-")[2]
            match = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(
                0, len(a), 0, len(b)
            )
            assert match.size <= LONGEST_SHARED, (name, a, b, a[match.a : match.a + match.size])
