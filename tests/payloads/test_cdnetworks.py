"""The CDNetworks profile: every field of the seed page, its types, consistent values, paging."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emitter.errors import TemplateError
from emitter.payloads.catalog import load_catalog
from emitter.payloads.render import RenderSession

SEED = Path(__file__).parents[1] / "data" / "video-upload-callback.txt"
CATALOG = load_catalog()
SEEDS = (1, 2, 3, 42, 2024)
LIVE_SOURCES = {2, 6, 10}


def _page_tables() -> dict[str, dict[str, str]]:
    """The page's parameter tables: section (data, videoListInfo, videoResolutions) -> name -> type."""
    tables: dict[str, dict[str, str]] = {}
    section = None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.strip() in ("data", "videoListInfo", "videoResolutions"):
            section = line.strip()
            tables[section] = {}
            continue
        row = re.match(r"^(\w+) (int|string|array|long) ", line)
        if section and row:
            tables[section][row.group(1)] = row.group(2)
    return tables


def _page_sample() -> dict[str, Any]:
    text = SEED.read_text(encoding="utf-8")
    start = text.index("Output Example")
    sample: dict[str, Any] = json.loads(text[text.index("{", start) : text.index("Error code")])
    return sample


def _render(session: Callable[..., RenderSession], seed: int = 7, **params: Any) -> dict[str, Any]:
    payload: dict[str, Any] = session(seed, "cdnetworks").render_event("upload", params)
    return payload


def _json_kind(value: Any) -> str:
    return {str: "string", int: "int", list: "array", dict: "object"}[type(value)]


def test_only_the_upload_callback_has_a_cdnetworks_form() -> None:
    assert [e for e, s in CATALOG.events.items() if "cdnetworks" in s.templates] == ["NewFileUpload"]


def test_every_field_of_the_page_is_sent_with_the_samples_json_type(
    session: Callable[..., RenderSession],
) -> None:
    tables, sample = _page_tables(), _page_sample()
    assert len(tables["videoListInfo"]) == 21 and len(tables["videoResolutions"]) == 5
    payload = _render(session, video_count=3, source_type="Record", transcode="done")
    assert set(payload) == set(sample) == {"code", "data", "message"}
    assert set(payload["data"]) == set(tables["data"]) == set(sample["data"])
    sample_item = sample["data"]["videoListInfo"][0]
    sample_resolution = sample_item["videoResolutions"][0]
    for item in payload["data"]["videoListInfo"]:
        # The page's table lists createTime, its sample omits it; every other key is in both.
        assert set(item) == set(tables["videoListInfo"]) == set(sample_item) | {"createTime"}
        for key, value in item.items():
            expected = _json_kind(sample_item.get(key, item["uploadTime"]))
            assert _json_kind(value) == expected, (key, value)
        for resolution in item["videoResolutions"]:
            assert set(resolution) == set(tables["videoResolutions"]) == set(sample_resolution)
            assert all(isinstance(v, int) for v in resolution.values())


def test_the_upload_is_the_first_video_of_page_one(session: Callable[..., RenderSession]) -> None:
    facts = session(5, "cdnetworks").facts
    first = _render(session, 5, video_count=4)["data"]["videoListInfo"][0]
    assert first["videoName"] == facts["file_name"]
    assert first["createUser"] == facts["author"]
    assert first["videoDuration"] == str(facts["media"]["duration"])
    assert re.fullmatch(r"[0-9A-F]{32}", first["videoId"])
    assert first["videoSourceCode"] == 11  # ClientUpload: upload SDK
    assert first["videoId"] in first["imageUrl"] and first["publishDomain"] in first["imageUrl"]
    named = _render(session, 5, video_id="ABC", file_name="Demo", source_type="ServerUpload")
    chosen = named["data"]["videoListInfo"][0]
    assert (chosen["videoId"], chosen["videoName"], chosen["videoSourceCode"]) == ("ABC", "Demo", 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_values_agree_inside_each_video(seed: int, session: Callable[..., RenderSession]) -> None:
    payload = _render(session, seed, video_count=40, page_size=50, source_type="Record", transcode="done")
    videos = payload["data"]["videoListInfo"]
    assert payload["data"]["videoTotal"] == len(videos) == 40
    assert (payload["code"], payload["message"]) == (200, "success")
    uploads = [int(v["uploadTime"]) for v in videos]
    assert uploads == sorted(uploads, reverse=True)
    for video in videos:
        resolutions = video["videoResolutions"]
        assert int(video["videoSize"]) == sum(r["fileSize"] for r in resolutions)
        assert int(video["createTime"]) <= int(video["uploadTime"]) <= int(video["updateTime"])
        clarities = [r["clarity"] for r in resolutions]
        live = video["videoSourceCode"] in LIVE_SOURCES
        assert (clarities[0] == -99) == live
        assert 1 in clarities
        original = next(r for r in resolutions if r["clarity"] == 1)
        ratio = max(original["width"], original["height"]) / min(original["width"], original["height"])
        assert video["flashImageRatio"] == (0 if abs(ratio - 16 / 9) <= abs(ratio - 4 / 3) else 1)
        transcoded = [r for r in resolutions if r["clarity"] in (2, 3, 4, 5)]
        assert bool(transcoded) == (video["videoState"] == "1")
        assert all(r["height"] <= original["height"] for r in transcoded)
        assert video["transcodeState"] in ({"1", "2"} if transcoded else {"3", "4", "5"})
        assert video["videoClassification"] != "" and video["encrypt"] in (0, 1)


def test_transcode_state_follows_the_pages_two_code_lists(session: Callable[..., RenderSession]) -> None:
    def state(**params: Any) -> tuple[str, str]:
        video = _render(session, 3, **params)["data"]["videoListInfo"][0]
        return video["transcodeState"], video["videoState"]

    assert state() == ("5", "0")  # the page's sample: encryption on, not transcoded, unavailable
    assert state(transcode="done", encrypt=1) == ("1", "1")
    assert state(transcode="done", encrypt=0) == ("2", "1")
    assert state(transcode="processing") == ("3", "0")
    assert state(transcode="failed") == ("4", "0")
    assert state(encryption_enabled=False) == ("2", "0")
    assert state(encryption_enabled=False, transcode="done") == ("1", "1")


def test_live_recordings_look_like_the_pages_sample(session: Callable[..., RenderSession]) -> None:
    video = _render(session, 9, source_type="Record")["data"]["videoListInfo"][0]
    assert video["videoSourceCode"] == 2
    assert [(r["clarity"], r["serverType"]) for r in video["videoResolutions"]] == [(-99, -1), (1, -1)]
    assert "//live/" in video["imageUrl"] and "/cloudv-cover/" in video["imageUrl"]
    assert video["videoClassification"] == "null"


def test_pages_split_one_listing(session: Callable[..., RenderSession]) -> None:
    whole = _render(session, 11, video_count=23, page_size=50)["data"]["videoListInfo"]
    pages = [_render(session, 11, video_count=23, page_size=5, page_index=i)["data"] for i in range(1, 7)]
    assert [p["videoTotal"] for p in pages] == [5, 5, 5, 5, 3, 0]
    assert [v for p in pages for v in p["videoListInfo"]] == whole


def test_paging_limits_are_one_line_errors(session: Callable[..., RenderSession]) -> None:
    for params, message in (
        ({"page_size": 51}, "page_size must be 1-50"),
        ({"page_size": 0}, "page_size must be 1-50"),
        ({"page_index": 2000, "page_size": 50}, "page_index x page_size < 100000"),
        ({"video_count": -1}, "video_count must be >= 0"),
    ):
        with pytest.raises(TemplateError, match=re.escape(message)):
            _render(session, **params)


def test_same_seed_same_body(session: Callable[..., RenderSession]) -> None:
    assert _render(session, 4, video_count=8) == _render(session, 4, video_count=8)
    assert _render(session, 4, video_count=8) != _render(session, 5, video_count=8)


def test_cdnetworks_field_docs_match_the_payloads_both_ways(session: Callable[..., RenderSession]) -> None:
    docs = {doc.path: doc for doc in CATALOG.events["NewFileUpload"].fields["cdnetworks"]}
    kinds = {"String": str, "Integer": int, "Array": list, "Object": dict}
    produced: set[str] = set()
    for seed in SEEDS:
        payload = _render(session, seed, video_count=12, source_type="Record", transcode="done")
        for path, value in _doc_paths(payload).items():
            produced.add(path)
            assert path in docs, path
            assert isinstance(value, kinds[docs[path].type]), (path, value)
            if docs[path].values:
                assert value in docs[path].values, (path, value)
    assert produced == set(docs)


def _doc_paths(node: Any, prefix: str = "") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            paths[path] = value
            items = value if isinstance(value, list) else [value]
            for item in items:
                paths.update(_doc_paths(item, path + ("[]" if isinstance(value, list) else "")))
    return paths
