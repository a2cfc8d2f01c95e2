"""Shared fixtures: one renderer, a fixed `now`, and seeded sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from emitter.payloads.render import Renderer, RenderSession

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def session(renderer: Renderer) -> Callable[..., RenderSession]:
    def make(seed: int = 7, fmt: str = "v2", **options: object) -> RenderSession:
        return renderer.session(seed=seed, now=NOW, fmt=fmt, options=options)

    return make
