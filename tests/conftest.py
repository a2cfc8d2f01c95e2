"""Shared fixtures: one renderer, a fixed `now`, seeded sessions, a fresh receiver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from emitter.payloads.datacache import CACHE_ENV
from emitter.payloads.render import Renderer, RenderSession
from emitter.receiver.server import Receiver

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's own YAML data cache (never the user's), inherited by the commands it starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("data-cache")))
        yield


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def session(renderer: Renderer) -> Callable[..., RenderSession]:
    def make(seed: int = 7, fmt: str = "v2", **options: object) -> RenderSession:
        return renderer.session(seed=seed, now=NOW, fmt=fmt, options=options)

    return make


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A built-in receiver of the test's own on a free loopback port."""
    with Receiver().running_in_thread() as running:
        yield running
