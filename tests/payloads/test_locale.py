"""`locale`: file names, titles and authors drawn by faker in a locale; replayable; default unchanged."""

from __future__ import annotations

import json
import re

import pytest

import emitter
from emitter.errors import UsageError
from tests.helpers import cli

CJK = re.compile(r"[\u4e00-\u9fff]")


def _upload(**keywords: object) -> dict[str, object]:
    payload = emitter.render_event("upload", fmt="v2", seed=11, profile="docs", **keywords)  # type: ignore[arg-type]
    return payload["data"]  # type: ignore[no-any-return]


def test_zh_cn_names_titles_and_authors_are_chinese() -> None:
    for seed in range(5):
        data = emitter.render_event("upload", fmt="v2", seed=seed, profile="docs", locale="zh_CN")["data"]
        assert CJK.search(data["fileName"]), data["fileName"]
        assert CJK.search(data["author"]), data["author"]


def test_a_locale_replays_byte_for_byte_and_other_draws_are_the_default_ones() -> None:
    first = json.dumps(_upload(locale="zh_CN"), ensure_ascii=False)
    assert json.dumps(_upload(locale="zh_CN"), ensure_ascii=False) == first
    default, localized = _upload(), _upload(locale="zh_CN")
    assert localized["fileName"] != default["fileName"]
    assert localized["fileId"] == default["fileId"]
    assert _upload(locale="ja_JP")["author"] != localized["author"]


def test_keyword_equals_the_scenario_option() -> None:
    by_keyword = emitter.render_scenario("happy-path", seed=4, locale="zh_CN")
    by_option = emitter.render_scenario("happy-path", seed=4, options={"locale": "zh_CN"})
    assert [e.payload for e in by_keyword] == [e.payload for e in by_option]
    default = emitter.render_scenario("happy-path", seed=4)
    assert [e.payload for e in by_keyword] != [e.payload for e in default]


def test_bad_locale_keyword_names_it_with_a_suggestion() -> None:
    with pytest.raises(UsageError) as caught:
        emitter.render_event("upload", locale="zh_CM")
    assert caught.value.location == "locale"
    assert "zh_CN" in str(caught.value.hint)


def test_cli_locale_renders_and_a_bad_one_is_one_line_exit_2() -> None:
    done = cli("render", "upload", "--format", "v2", "--seed", "3", "--locale", "zh_CN")
    assert CJK.search(json.loads(done.stdout.splitlines()[0])["data"]["author"])
    bad = cli("render", "upload", "--locale", "zh_CM", check_code=2)
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "--locale" in lines[0] and "zh_CN" in lines[0]
