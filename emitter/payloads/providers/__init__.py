"""Faker provider for realistic Tencent VOD values; the only source of randomness in a render."""

from __future__ import annotations

from emitter.payloads.providers.cdnetworks import CDN_LIVE_SOURCES, CdnProvider
from emitter.payloads.providers.media import TRANSCODE_PRESETS
from emitter.payloads.providers.tasks import PROCESS_TASK_TYPES, TaskProvider

__all__ = ["CDN_LIVE_SOURCES", "PROCESS_TASK_TYPES", "TRANSCODE_PRESETS", "VodProvider"]


class VodProvider(TaskProvider, CdnProvider):
    """VOD values drawn only from `self.generator.random`, so one seed replays a run exactly.

    Split by what it draws: ids and URLs (ids.py), media (media.py), task trees (tasks.py),
    CDNetworks listings (cdnetworks.py).
    """
