"""Faker provider for realistic Tencent VOD values; the only source of randomness in a render."""

from __future__ import annotations

from emitter.payloads.providers.ai import ANALYSIS_TYPES, RECOGNITION_TYPES, REVIEW_TYPES, AiProvider
from emitter.payloads.providers.cdnetworks import CDN_LIVE_SOURCES, CdnProvider
from emitter.payloads.providers.media import TRANSCODE_PRESETS
from emitter.payloads.providers.tasks import PROCESS_TASK_TYPES, TaskProvider

__all__ = [
    "ANALYSIS_TYPES",
    "CDN_LIVE_SOURCES",
    "PROCESS_TASK_TYPES",
    "RECOGNITION_TYPES",
    "REVIEW_TYPES",
    "TRANSCODE_PRESETS",
    "VodProvider",
]


class VodProvider(TaskProvider, AiProvider, CdnProvider):
    """VOD values drawn only from `self.generator.random`, so one seed replays a run exactly.

    Split by what it draws: ids and URLs (ids.py), media (media.py), task trees (tasks.py),
    AI results (ai.py), CDNetworks listings (cdnetworks.py).
    """
