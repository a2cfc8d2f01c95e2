"""The YAML data cache: same data as the YAML, keyed by content (never stale), skipped when unusable."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
import yaml

from emitter.errors import CatalogError
from emitter.payloads import datacache
from emitter.payloads.catalog import CATALOG_FILE, FIELDS_FILE, resource_dir
from emitter.payloads.datacache import CACHE_ENV, cache_dir, load_yaml, same
from emitter.payloads.providers.words import WORDS_FILE


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def no_yaml(raw: bytes, path: Path) -> object:
    raise AssertionError(f"{path} parsed as YAML")


def test_a_second_load_reads_the_entry_not_the_yaml(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("b: [1, 2.5, true, null, 'x']\na: {z: 1, y: 'é'}\n", encoding="utf-8")
    first = load_yaml(source)
    assert len(list(cache.iterdir())) == 1
    monkeypatch.setattr(datacache, "_parse", no_yaml)
    second = load_yaml(source)
    assert same(second, first)
    assert list(second) == ["b", "a"] and list(second["a"]) == ["z", "y"]
    assert [type(v) for v in second["b"]] == [int, float, bool, type(None), str]


def test_an_edited_file_is_read_again_even_with_the_same_size_and_time(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("value: 1\n", encoding="utf-8")
    assert load_yaml(source) == {"value": 1}
    stat = source.stat()
    source.write_text("value: 2\n", encoding="utf-8")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_yaml(source) == {"value": 2}
    assert load_yaml(source) == {"value": 2}  # from its own entry now
    assert len(list(cache.iterdir())) == 1  # the first version's entry is gone


def test_each_file_keeps_one_entry(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, other = tmp_path / "one.yaml", tmp_path / "other.yaml"
    other.write_text("other: 0\n", encoding="utf-8")
    load_yaml(other)
    for version in range(3):
        one.write_text(f"one: {version}\n", encoding="utf-8")
        assert load_yaml(one) == {"one": version}
    assert len(list(cache.iterdir())) == 2
    monkeypatch.setattr(datacache, "_parse", no_yaml)
    assert (load_yaml(one), load_yaml(other)) == ({"one": 2}, {"other": 0})


def test_data_json_would_change_is_not_cached(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("when: 2024-05-01\n1: one\n", encoding="utf-8")
    expected = {"when": dt.date(2024, 5, 1), 1: "one"}
    assert load_yaml(source) == expected
    assert load_yaml(source) == expected
    assert not cache.exists() or list(cache.iterdir()) == []


def test_int_keys_alone_are_not_cached_as_strings(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("1: one\n", encoding="utf-8")
    assert load_yaml(source) == {1: "one"}
    assert load_yaml(source) == {1: "one"}


@pytest.mark.parametrize("setting", ["", "off", "0"])
def test_the_cache_can_be_turned_off(setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, setting)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() is None
    source = tmp_path / "data.yaml"
    source.write_text("a: 1\n", encoding="utf-8")
    assert load_yaml(source) == {"a": 1}
    assert not (tmp_path / "xdg").exists()


def test_xdg_cache_home_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "vod-emitter"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "vod-emitter"


def test_an_unwritable_cache_is_skipped_silently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))  # under a file: cannot be made
    source = tmp_path / "data.yaml"
    source.write_text("a: [1]\n", encoding="utf-8")
    assert load_yaml(source) == {"a": [1]}
    assert load_yaml(source) == {"a": [1]}


def test_a_damaged_entry_is_replaced(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("a: 1\n", encoding="utf-8")
    load_yaml(source)
    (entry,) = cache.iterdir()
    for damage in ("{trunc", '{"other": 1}', "[]"):
        entry.write_text(damage, encoding="utf-8")
        assert load_yaml(source) == {"a": 1}
    monkeypatch.setattr(datacache, "_parse", no_yaml)
    assert load_yaml(source) == {"a": 1}  # rewritten whole


def test_invalid_yaml_names_the_file(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("a: [1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="invalid YAML") as caught:
        load_yaml(source)
    assert str(source) in str(caught.value)
    source.write_bytes(b"a: \xff\n")
    with pytest.raises(CatalogError, match="not UTF-8"):
        load_yaml(source)


def test_the_shipped_data_comes_back_from_the_cache_identical(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = resource_dir("templates")
    files = [templates / CATALOG_FILE, templates / WORDS_FILE, *sorted(templates.glob(f"*/{FIELDS_FILE}"))]
    assert len(files) > 2
    parsed = {path: yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader) for path in files}
    for path in files:
        assert same(load_yaml(path), parsed[path]), path
    assert len(list(cache.iterdir())) == len(files)  # every one cacheable: none costs a YAML parse
    monkeypatch.setattr(datacache, "_parse", no_yaml)
    for path in files:
        assert same(load_yaml(path), parsed[path]), path


def test_same_tells_types_and_order_apart() -> None:
    assert same({"a": [1, "x"], "b": None}, {"a": [1, "x"], "b": None})
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same([1], [1.0]) and not same([True], [1]) and not same([1], [1, 2])


def test_an_edited_catalog_changes_the_output(cache: Path, tmp_path: Path) -> None:
    from emitter.payloads.catalog import load_catalog

    templates = tmp_path / "templates"
    shutil.copytree(resource_dir("templates"), templates)
    before = load_catalog.__wrapped__(templates).event("upload")
    assert list(cache.iterdir())
    catalog = templates / CATALOG_FILE
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace(before.summary, "An edited summary", 1), encoding="utf-8"
    )
    after = load_catalog.__wrapped__(templates).event("upload")
    assert (before.summary != "An edited summary", after.summary) == (True, "An edited summary")


def test_the_cache_keeps_only_the_newest_entries(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every checkout's files have entries of their own: deleted checkouts' must not pile up
    monkeypatch.setattr(datacache, "MAX_ENTRIES", 3)
    cache.mkdir()
    crashed = cache / "0123456789abcdef-00.json.4242.tmp"
    crashed.write_text("{", encoding="utf-8")
    os.utime(crashed, (0, 0))
    sources = []
    for number in range(5):
        source = tmp_path / f"checkout{number}" / "data.yaml"
        source.parent.mkdir()
        source.write_text(f"value: {number}\n", encoding="utf-8")
        before = set(cache.iterdir())
        load_yaml(source)
        (written,) = set(cache.iterdir()) - before
        os.utime(written, (1000 + number, 1000 + number))  # in order, whatever the clock's resolution
        sources.append(source)
    assert len(list(cache.iterdir())) == 3
    assert not crashed.exists()
    monkeypatch.setattr(datacache, "_parse", no_yaml)
    assert [load_yaml(source) for source in sources[2:]] == [{"value": 2}, {"value": 3}, {"value": 4}]
    with pytest.raises(AssertionError, match="parsed as YAML"):
        load_yaml(sources[1])  # written longest ago: removed
