"""The live view of `vod-emitter load`: progress on stderr, a rich Live on a terminal, else plain lines."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from emitter.load.engine import LoadEngine
from emitter.load.stats import PERCENTILES, Window, format_latency, format_rate


class LiveView:
    """Progress on stderr: a rich Live on a terminal, else one plain line per interval."""

    def __init__(
        self,
        engine: LoadEngine,
        *,
        live: bool | None = None,
        interval: float | None = None,
        console: Any = None,
    ):
        from rich.console import Console

        self.engine = engine
        self.console = console or Console(stderr=True, highlight=False)
        self.live_mode = self.console.is_terminal if live is None else live
        self.interval = interval or (0.5 if self.live_mode else 1.0)
        self._live: Any = None

    def parts(self, window: Window, now: float) -> tuple[str, str, str]:
        """(progress and rate, latency of the window's answers, totals) for one look."""
        engine, stats, profile = self.engine, self.engine.stats, self.engine.profile
        span = max(now - window.started, 1e-9)
        latency = window.latency
        rate = f"{engine.elapsed:5.1f}/{profile.duration:g} s  sent {format_rate(window.sent / span)}"
        if profile.rate is not None:
            rate += f" (target {format_rate(profile.rate)})"
        points = (
            (
                " ".join(f"p{p:g} {format_latency(latency.percentile(p))}" for p in PERCENTILES)
                + f" max {format_latency(latency.maximum)}"
            )
            if latency.count
            else "no answers"
        )
        classes = " ".join(f"{name} {count}" for name, count in sorted(stats.answered.items()))
        totals = f"{classes + '  ' if classes else ''}errors {stats.error_count}"
        totals += f" (dropped {stats.dropped})" if stats.dropped else ""
        return f"{rate}  in flight {engine.in_flight}", points, totals

    def line(self, window: Window, now: float) -> str:
        return "  ".join(self.parts(window, now))

    def show(self) -> None:
        window = self.engine.take_window()
        if not self.live_mode:
            self.console.print(
                self.line(window, self.engine.clock()), markup=False, highlight=False, soft_wrap=True
            )
            return
        from rich.live import Live
        from rich.text import Text

        progress, points, totals = self.parts(window, self.engine.clock())
        text = Text(f"{progress}\n        latency {points}\n        {totals}")
        if self._live is None:
            self._live = Live(text, console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(text, refresh=True)

    async def run(self) -> None:
        started = time.monotonic()
        for tick in itertools.count(1):
            await asyncio.sleep(max(started + tick * self.interval - time.monotonic(), 0))
            self.show()

    def note(self, text: str) -> None:
        """A plain line on stderr (above the live view when there is one)."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
