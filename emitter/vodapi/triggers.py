"""Scenario steps that wait for the application's own VOD API call (`on: ProcessMedia`) before emitting.

A step with `on: ACTION` and the steps after it (up to the next `on:` step) form a group that
the next call of ACTION takes: the call answers as usual and changes the library as usual, but
its callbacks are the group's steps, rendered with the ids the call returned (task_id,
vod_task_id, file_id, the file's name, URL and metadata) unless a step sets them itself. Steps
before the first `on:` step are emitted when the scenario starts. Delays apply (scaled by speed).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from emitter.errors import TemplateError
from emitter.scenarios.loader import Scenario, Step
from emitter.scenarios.plan import _substitute

if TYPE_CHECKING:
    from emitter.vodapi.flows import Flows

Stage = tuple[float, Callable[[], Awaitable[None]]]


def groups(scenario: Scenario) -> tuple[tuple[Step, ...], list[tuple[str, tuple[Step, ...]]]]:
    """The opening steps (no `on:` before them) and each `on:` step with the steps that follow it."""
    opening: list[Step] = []
    waiting: list[tuple[str, list[Step]]] = []
    for step in scenario.steps:
        if step.on is not None:
            waiting.append((step.on, [step]))
        elif waiting:
            waiting[-1][1].append(step)
        else:
            opening.append(step)
    return tuple(opening), [(action, tuple(steps)) for action, steps in waiting]


class Triggers:
    """One scenario played against a Flows: groups wait in file order for their action's calls."""

    def __init__(self, scenario: Scenario, flows: Flows, *, seed: int):
        self.scenario = scenario
        self.flows = flows
        options = {**scenario.options, **flows.options}
        self.session = flows.renderer.session(seed=seed, now=flows.now(), fmt=flows.fmt, options=options)
        for step in scenario.steps:  # a step its format lacks fails before anything is emitted
            try:
                flows.renderer.check_form(step.event, flows.fmt)
            except TemplateError as exc:
                raise TemplateError(exc.message, location=step.location, hint=exc.hint) from None
        self.opening, waiting = groups(scenario)
        self.waiting: dict[str, deque[tuple[Step, ...]]] = {}
        for action, steps in waiting:
            self.waiting.setdefault(action, deque()).append(steps)
        self.results: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        """Emit the opening steps (call from the running loop)."""
        if self.opening:
            self.flows._later(self._stages(self.opening, {}))

    def claim(self, action: str, ids: Mapping[str, Any]) -> bool:
        """Give this call of `action` to the next group waiting for it; False when none waits."""
        queue = self.waiting.get(action)
        if not queue:
            return False
        self.flows._later(self._stages(queue.popleft(), dict(ids)))
        return True

    @property
    def left(self) -> int:
        """Groups still waiting for a call."""
        return sum(len(queue) for queue in self.waiting.values())

    def _stages(self, steps: tuple[Step, ...], ids: dict[str, Any]) -> list[Stage]:
        return [(self.flows._scaled(step.delay), self._emitter(step, ids)) for step in steps]

    def _emitter(self, step: Step, ids: Mapping[str, Any]) -> Callable[[], Awaitable[None]]:
        async def emit() -> None:
            params = _substitute(dict(step.params), self.results)
            given = {k: v for k, v in ids.items() if k in step.event.params and k not in step.params}
            for _ in range(step.repeat):
                context = self.session.resolve(
                    step.event, {**given, **params}, self.scenario.vars, location=step.location
                )
                payload = self.session.render(step.event, context, step.overrides, location=step.location)
                self.results[step.name] = context
                await self.flows.publish_payload(step.event.event_type, payload)
                await asyncio.sleep(0)

        return emit
