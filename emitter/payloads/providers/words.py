"""Word lists of the provider (titles, authors, categories, tags), read once from templates/data,
and faker's generators of a `locale` option (names, titles and authors in that language)."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

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
    from emitter.payloads.catalog import resource_dir
    from emitter.payloads.datacache import load_yaml

    data = load_yaml(resource_dir("templates") / WORDS_FILE)
    return Words(
        title_words_a=tuple(data["title_words_a"]),
        title_words_b=tuple(data["title_words_b"]),
        titles_cjk=tuple(data["titles_cjk"]),
        authors=tuple(data["authors"]),
        classes=tuple((top, tuple(subs)) for top, subs in data["classes"].items()),
        tags=tuple(data["tags"]),
        source_sites=tuple(data["source_sites"]),
    )


def available_locales() -> tuple[str, ...]:
    """faker's locales (zh_CN, ja_JP, en_US...): known without importing any locale's data."""
    from faker.config import AVAILABLE_LOCALES

    return tuple(AVAILABLE_LOCALES)


def localized(locale: str, seed: int) -> Any:
    """faker's generator of `locale`, its own Random seeded from the run's seed and the locale, so
    the other draws of a run are the default's; the locale's data is imported here, on first use."""
    from faker import Factory

    generator = Factory.create(locale)
    generator.random = random.Random(f"{locale}:{seed}")
    return generator
