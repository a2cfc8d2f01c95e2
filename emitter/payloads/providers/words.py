"""Word lists of the provider (titles, authors, categories, tags), read once from templates/data."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

WORDS_FILE = "data/words.yaml"


@dataclass(frozen=True)
class Words:
    """Tuples in file order: a seeded choice over them picks the same word in every run."""

    title_words_a: tuple[str, ...]
    title_words_b: tuple[str, ...]
    titles_cjk: tuple[str, ...]
    authors: tuple[str, ...]
    classes: tuple[tuple[str, tuple[str, ...]], ...]
    tags: tuple[str, ...]
    source_sites: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def words() -> Words:
    from emitter.payloads.catalog import _SAFE_LOADER, resource_dir

    with open(resource_dir("templates") / WORDS_FILE, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_SAFE_LOADER)
    return Words(
        title_words_a=tuple(data["title_words_a"]),
        title_words_b=tuple(data["title_words_b"]),
        titles_cjk=tuple(data["titles_cjk"]),
        authors=tuple(data["authors"]),
        classes=tuple((top, tuple(subs)) for top, subs in data["classes"].items()),
        tags=tuple(data["tags"]),
        source_sites=tuple(data["source_sites"]),
    )
