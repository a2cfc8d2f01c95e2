"""Expands a scenario into the ordered, rendered events of one run (repeats and references)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from emitter.errors import ScenarioError, TemplateError
from emitter.payloads.render import Renderer, RenderSession, default_renderer, encode_payload
from emitter.scenarios.loader import REFERENCE, Scenario, Step


@dataclass(frozen=True)
class RenderedEvent:
    """One payload ready to send: which step made it, its body, and its delay before sending."""

    seq: int
    step: Step
    repeat_index: int
    event_type: str
    format: str
    payload: Any
    body: bytes

    @property
    def label(self) -> str:
        suffix = f"#{self.repeat_index + 1}" if self.step.repeat > 1 else ""
        return f"{self.step.name}{suffix}"

    @property
    def delay(self) -> float:
        return self.step.delay


def _substitute(value: Any, results: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return results[whole.group(1)][whole.group(2)]
        return REFERENCE.sub(lambda m: str(results[m.group(1)][m.group(2)]), value)
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    return value


def body_bytes(payload: Any, *, location: str | None = None) -> bytes:
    """A raw string body is sent as is (malformed-input cases); anything else as JSON."""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    try:
        return encode_payload(payload)
    except ValueError as exc:  # NaN or infinity from a YAML override
        raise ScenarioError(
            f"the payload cannot be JSON: {exc}",
            location=location,
            hint="JSON has no NaN or infinity; use a number or a string",
        ) from None


def render_events(
    scenario: Scenario,
    *,
    seed: int,
    now: dt.datetime,
    fmt: str | None = None,
    renderer: Renderer | None = None,
    options: Mapping[str, Any] | None = None,
    each_step_once: bool = False,
) -> Iterator[RenderedEvent]:
    """Yield every event of the scenario in scenario order, rendered lazily (streamed).

    `each_step_once` renders one event per step whatever its repeat: what validation needs, at a
    cost that follows the file rather than the events it would send.
    """
    renderer = renderer or default_renderer()
    session: RenderSession = renderer.session(
        seed=seed, now=now, fmt=fmt or scenario.format, options={**scenario.options, **(options or {})}
    )
    for step in scenario.steps:  # every step must exist in the format before anything is yielded
        try:
            renderer.template(step.event, session.fmt)
        except TemplateError as exc:
            raise TemplateError(exc.message, location=step.location, hint=exc.hint) from None
    results: dict[str, dict[str, Any]] = {}
    seq = 0
    for step in scenario.steps:
        params = _substitute(dict(step.params), results)
        for repeat_index in range(1 if each_step_once else step.repeat):
            context = session.resolve(
                step.event, params, scenario.vars, location=step.location, profile=step.profile
            )
            payload = session.render(
                step.event, context, step.overrides, location=step.location, profile=step.profile
            )
            results[step.name] = context
            yield RenderedEvent(
                seq=seq,
                step=step,
                repeat_index=repeat_index,
                event_type=step.event.event_type,
                format=session.fmt,
                payload=payload,
                body=body_bytes(payload, location=step.location),
            )
            seq += 1
