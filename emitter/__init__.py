"""vod-emitter: play Tencent Cloud VOD event-notification callbacks against a receiver.

The library API (names load on first use, so `import emitter` stays cheap):

    >>> import emitter
    >>> done = emitter.run("happy-path", target=app, speed=0)   # doctest: +SKIP
    >>> done.assert_all_delivered().file_ids                     # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emitter._version import __version__ as __version__

if TYPE_CHECKING:
    from emitter.api import (
        CompletedRun,
        DeliveryFailed,
        Emitter,
        SentEvent,
        load_scenario,
        render_event,
        render_scenario,
        run,
        run_async,
        scenario_names,
        send,
        send_async,
    )
    from emitter.delivery.deliver import DeliveryOptions, Signing
    from emitter.delivery.runner import Timing
    from emitter.delivery.targets import AppTarget
    from emitter.errors import EmitterError
    from emitter.outcomes import (
        AttemptFinished,
        EventFinished,
        EventRef,
        Outcome,
        RunFinished,
        RunResult,
        RunStarted,
    )
    from emitter.receiver.server import Behaviour, ReceivedRequest, Receiver
    from emitter.scenarios.loader import Scenario
    from emitter.scenarios.plan import RenderedEvent

_HOMES = {
    "emitter.api": (
        "CompletedRun",
        "DeliveryFailed",
        "Emitter",
        "SentEvent",
        "load_scenario",
        "render_event",
        "render_scenario",
        "run",
        "run_async",
        "scenario_names",
        "send",
        "send_async",
    ),
    "emitter.delivery.deliver": ("DeliveryOptions", "Signing"),
    "emitter.errors": ("EmitterError",),
    "emitter.outcomes": (
        "AttemptFinished",
        "EventFinished",
        "EventRef",
        "Outcome",
        "RunFinished",
        "RunResult",
        "RunStarted",
    ),
    "emitter.scenarios.plan": ("RenderedEvent",),
    "emitter.receiver.server": ("Behaviour", "ReceivedRequest", "Receiver"),
    "emitter.delivery.runner": ("Timing",),
    "emitter.scenarios.loader": ("Scenario",),
    "emitter.delivery.targets": ("AppTarget",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AppTarget",
    "AttemptFinished",
    "Behaviour",
    "CompletedRun",
    "DeliveryFailed",
    "DeliveryOptions",
    "Emitter",
    "EmitterError",
    "EventFinished",
    "EventRef",
    "Outcome",
    "ReceivedRequest",
    "Receiver",
    "RenderedEvent",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "Scenario",
    "SentEvent",
    "Signing",
    "Timing",
    "load_scenario",
    "render_event",
    "render_scenario",
    "run",
    "run_async",
    "scenario_names",
    "send",
    "send_async",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'emitter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
