"""Plans a run: scenarios expanded into ordered, rendered events and sends (repeats, references)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from emitter.errors import TemplateError
from emitter.payloads.bodies import body_bytes
from emitter.payloads.render import Renderer, RenderSession, default_renderer
from emitter.scenarios.loader import REFERENCE, Scenario, Step

if TYPE_CHECKING:
    from emitter.delivery.deliver import Delivery


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


def _rendered_event(fields: dict[str, Any]) -> RenderedEvent:
    """RenderedEvent(**fields), its attributes set at once: a frozen dataclass's __init__ costs an
    object.__setattr__ per field, as much as encoding a small payload."""
    event = object.__new__(RenderedEvent)
    event.__dict__.update(fields)
    return event


def _substitute(value: Any, results: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, str):
        if "${" not in value:  # most values: no regex search
            return value
        whole = REFERENCE.fullmatch(value)
        if whole:
            return results[whole.group(1)][whole.group(2)]
        return REFERENCE.sub(lambda m: str(results[m.group(1)][m.group(2)]), value)
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    return value


# Caches by object (by id, the object kept to tell a new one at a reused id): what a scenario's
# steps need worked out once, since a scenario outlives its runs.
_MAX_REMEMBERED = 4096  # entries a cache keeps before it starts afresh
T = TypeVar("T")


def _remembered(cache: dict[Any, tuple[object, T]], key: Any, owner: object, make: Callable[[], T]) -> T:
    """make() for `owner` once (cached under `key`, which holds owner's id); a raise caches nothing."""
    found = cache.get(key)
    if found is None or found[0] is not owner:
        if len(cache) >= _MAX_REMEMBERED:
            cache.clear()
        found = cache[key] = (owner, make())
    return found[1]


# How each step's params take ${step.param} references: None, none; else the params that are one
# whole reference each (key, step, param), and whether others hold references inside them.
References = tuple[tuple[tuple[str, str, str], ...] | None, bool]
_REFERRING: dict[int, tuple[object, References]] = {}


def _references_of(step: Step) -> References:
    return _remembered(_REFERRING, id(step), step, lambda: _reference_plan(step))


def _reference_plan(step: Step) -> References:
    wholes, inside = [], False
    for key, value in step.params.items():
        whole = REFERENCE.fullmatch(value) if isinstance(value, str) else None
        if whole:
            wholes.append((key, whole.group(1), whole.group(2)))
        elif _has_reference(value):
            inside = True
    return (tuple(wholes) if wholes or inside else None), inside


def _params_of(step: Step, results: Mapping[str, Mapping[str, Any]]) -> tuple[Mapping[str, Any], bool]:
    """The step's params with its references filled in from earlier steps' contexts; whether any was."""
    wholes, inside = _references_of(step)
    if wholes is None:
        return step.params, False
    params = _substitute(dict(step.params), results) if inside else dict(step.params)
    for key, name, param in wholes:
        params[key] = results[name][param]
    return params, True


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value and REFERENCE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_reference(v) for v in value)
    return False


# scenarios whose every step exists in a format, by (scenario, format): checked once, not per run
_IN_FORMAT: dict[tuple[int, str], tuple[object, None]] = {}


def _check_forms(scenario: Scenario, fmt: str, renderer: Renderer) -> None:
    """Every step of the scenario must exist in the format before anything is yielded."""
    _remembered(_IN_FORMAT, (id(scenario), fmt), scenario, lambda: _check_each_form(scenario, fmt, renderer))


def _check_each_form(scenario: Scenario, fmt: str, renderer: Renderer) -> None:
    for step in scenario.steps:
        try:
            renderer.check_form(step.event, fmt)
        except TemplateError as exc:
            raise TemplateError(exc.message, location=step.location, hint=exc.hint) from None


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
    _check_forms(scenario, session.fmt, renderer)
    results: dict[str, dict[str, Any]] = {}
    seq = 0
    for step in scenario.steps:
        params, refers = _params_of(step, results)
        for repeat_index in range(1 if each_step_once else step.repeat):
            context = session.resolve(
                step.event,
                params,
                scenario.vars,
                location=step.location,
                profile=step.profile,
                checked=not refers,  # the loader checked a step's own values (filled-in ones: not yet)
            )
            payload = session.render(
                step.event, context, step.overrides, location=step.location, profile=step.profile
            )
            results[step.name] = context
            yield _rendered_event(
                {
                    "seq": seq,
                    "step": step,
                    "repeat_index": repeat_index,
                    "event_type": step.event.event_type,
                    "format": session.fmt,
                    "payload": payload,
                    "body": body_bytes(
                        payload, location=step.location, floats_checked=session.floats_checked
                    ),
                }
            )
            seq += 1


# Sends rendered while planning at most (see preflight): enough for any scenario's every step.
PRIMED_SENDS = 1024


@dataclass(frozen=True)
class RunPlan:
    """What to send: scenarios rendered with one seed, `now`, format and options; `skip` holds indexes
    already delivered. `primed` keeps the sends rendered while planning, for the run to use."""

    scenarios: tuple[Scenario, ...]
    seed: int
    now: dt.datetime
    fmt: str | None = None
    skip: frozenset[int] = frozenset()
    sources: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    primed: Primed | None = field(default=None, compare=False, repr=False)
    events: frozenset[str] | None = None  # the subscribed EventTypes (over each scenario's subscribe:)

    def subscribed(self, scenario: Scenario) -> frozenset[str] | None:
        """The EventTypes a scenario's sends go out for (None: all): the run's filter, else its own."""
        return self.events if self.events is not None else scenario.subscribe

    @functools.cached_property
    def planned(self) -> int:
        return planned_count(self.scenarios) - len(self.skip)

    @property
    def scenario_sources(self) -> tuple[str, ...]:
        """How reports and journals name the scenarios (given sources, else their paths)."""
        return self.sources or tuple(scenario.path for scenario in self.scenarios)


class Primed:
    """Sends rendered while planning, then the rest of the same stream: handed to one run, once."""

    def __init__(self, ready: list[Delivery], rest: Iterator[Delivery]):
        self._stream: Iterator[Delivery] | None = itertools.chain(ready, rest)

    def take(self) -> Iterator[Delivery] | None:
        stream, self._stream = self._stream, None
        return stream


def planned_count(scenarios: Iterable[Scenario]) -> int:
    """How many sends the scenarios make (repeats times duplicates), without rendering them."""
    return sum(step.repeat * step.duplicate for scenario in scenarios for step in scenario.steps)


def expand(plan: RunPlan, renderer: Renderer | None = None) -> Iterator[Delivery]:
    """Every send in plan order, rendered lazily; duplicates follow their original with no wait."""
    primed = plan.primed.take() if plan.primed is not None else None
    return primed if primed is not None else _render(plan, renderer or default_renderer())


def _render(plan: RunPlan, renderer: Renderer) -> Iterator[Delivery]:
    from emitter.delivery.deliver import Delivery  # httpx and the transport: not for `render`
    from emitter.outcomes import EventRef

    index = 0
    for scenario in plan.scenarios:
        subscribed = plan.subscribed(scenario)
        events = render_events(
            scenario, seed=plan.seed, now=plan.now, fmt=plan.fmt, renderer=renderer, options=plan.options
        )
        for event in events:
            step = event.step
            filtered = subscribed is not None and event.event_type not in subscribed
            for copy in range(step.duplicate):
                ref = EventRef(
                    index,
                    scenario.name,
                    event.seq,
                    step.name,
                    event.label,
                    event.event_type,
                    copy,
                    step.duplicate,
                )
                wait = event.delay if copy == 0 else 0.0
                yield Delivery(ref, event.body, event.payload, step.expect, step.sign, wait, filtered)
                index += 1


def preflight(plan: RunPlan, renderer: Renderer | None = None) -> RunPlan:
    """The plan with its first sends rendered, up to every step's first one: a scenario error costs
    no sends, and the run sends what was rendered here (each event renders once).

    Past PRIMED_SENDS sends (a step repeated thousands of times before the next), the steps not
    reached are checked by rendering each once on its own, and the run renders the rest as it goes.
    """
    renderer = renderer or default_renderer()
    stream = _render(plan, renderer)
    ready = list(itertools.islice(stream, min(_first_send_of_every_step(plan), PRIMED_SENDS)))
    seen = len(ready)
    offset = 0
    for scenario in plan.scenarios:
        if scenario.steps and _last_step_start(scenario, offset) >= seen:
            steps = tuple(dataclasses.replace(step, repeat=1) for step in scenario.steps)
            once = dataclasses.replace(scenario, steps=steps)
            for _ in render_events(
                once, seed=plan.seed, now=plan.now, fmt=plan.fmt, renderer=renderer, options=plan.options
            ):
                pass
        offset += planned_count((scenario,))
    return dataclasses.replace(plan, primed=Primed(ready, stream))


def _last_step_start(scenario: Scenario, offset: int) -> int:
    """Where the scenario's last step sends first, counted in the plan's sends."""
    before = scenario.steps[:-1]
    return offset + sum(step.repeat * step.duplicate for step in before)


def _first_send_of_every_step(plan: RunPlan) -> int:
    """How many sends, in plan order, until every step has sent (been rendered) once."""
    needed = offset = 0
    for scenario in plan.scenarios:
        if scenario.steps:
            needed = _last_step_start(scenario, offset) + 1
        offset += planned_count((scenario,))
    return needed
