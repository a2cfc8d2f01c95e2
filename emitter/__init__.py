"""vod-emitter: play Tencent Cloud VOD event-notification callbacks against a receiver."""

from __future__ import annotations

__version__ = "0.1.0"
