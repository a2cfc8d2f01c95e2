"""Reliable-callback (PULL) envelopes: rendered events batched as the pull API returns them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from emitter.errors import UsageError, hint_with_suggestion
from emitter.payloads.providers import VodProvider

ENVELOPES = ("pull",)
# PullEvents returns at most 16 events per call (the legacy PullEvent API is given the same batches).
MAX_EVENTS_PER_PULL = 16


def check_envelope(name: str) -> str:
    if name not in ENVELOPES:
        raise UsageError(
            f"unknown envelope '{name}'",
            location="--envelope",
            hint=hint_with_suggestion(name, ENVELOPES, f"use one of: {', '.join(ENVELOPES)}"),
        )
    return name


def pull_responses(
    payloads: Iterable[Any], *, fmt: str, seed: int, batch_size: int = MAX_EVENTS_PER_PULL
) -> Iterator[dict[str, Any]]:
    """PULL responses holding the payloads in order, at most `batch_size` each.

    v3: PullEvents, {"Response": {"EventSet": [{"EventHandle", **event}], "RequestId"}}.
    v2: the 2017 PullEvent, {"code": 0, "message": "", "eventList": [{"msgHandle", "eventContent"}]}.
    Handles and request IDs come from their own generator, seeded by the run's seed, so the
    events themselves are the same with or without an envelope.
    """
    if fmt not in ("v2", "v3"):
        raise UsageError(
            f"the {fmt} format has no pull envelope",
            location="--envelope",
            hint="PULL (reliable callback) exists for the Tencent formats: use --format v3 or v2",
        )
    if not 1 <= batch_size <= MAX_EVENTS_PER_PULL:
        raise UsageError(f"a pull returns 1 to {MAX_EVENTS_PER_PULL} events, not {batch_size}")
    fake = VodProvider.seeded(f"pull-envelope:{seed}")
    batch: list[dict[str, Any]] = []
    for index, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            raise UsageError(
                f"event {index + 1} has a raw body, which a pull response cannot hold",
                location="--envelope",
                hint="drop --envelope for scenarios whose steps send a raw 'body:'",
            )
        batch.append(payload)
        if len(batch) == batch_size:
            yield _response(batch, fmt, fake)
            batch = []
    if batch:
        yield _response(batch, fmt, fake)


def _response(batch: list[dict[str, Any]], fmt: str, fake: VodProvider) -> dict[str, Any]:
    if fmt == "v2":
        events = [{"msgHandle": fake.event_handle(), "eventContent": payload} for payload in batch]
        return {"code": 0, "message": "", "eventList": events}
    event_set = [{"EventHandle": fake.event_handle(), **payload} for payload in batch]
    return {"Response": {"EventSet": event_set, "RequestId": fake.request_id()}}
