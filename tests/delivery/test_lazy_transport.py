"""The https fallback transport is built when a request first needs it, once."""

from __future__ import annotations

import asyncio

import httpx

from emitter.delivery.deliver import BuiltOnFirstUse


def test_built_on_the_first_request_only_and_closed_with_it() -> None:
    built: list[httpx.MockTransport] = []
    closed: list[bool] = []

    class Recording(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    def build() -> httpx.AsyncBaseTransport:
        built.append(Recording(lambda request: httpx.Response(204)))
        return built[-1]

    async def main() -> list[int]:
        lazy = BuiltOnFirstUse(build)
        assert built == []
        statuses = []
        async with httpx.AsyncClient(transport=lazy) as client:
            for _ in range(3):
                statuses.append((await client.get("https://example.invalid/")).status_code)
        return statuses

    assert asyncio.run(main()) == [204, 204, 204]
    assert len(built) == 1
    assert closed == [True]


def test_never_built_when_unused() -> None:
    def build() -> httpx.AsyncBaseTransport:
        raise AssertionError("built without a request")

    async def main() -> None:
        await BuiltOnFirstUse(build).aclose()

    asyncio.run(main())
