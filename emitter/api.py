"""The library API the CLI and the pytest plugin share: load, render, run and send (sync and async)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import random
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from emitter.clock import utc_stamp
from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.delivery.runner import Runner, RunPlan, Timing, schedule
from emitter.delivery.targets import Target, resolve_target
from emitter.errors import UsageError
from emitter.outcomes import (
    AttemptFinished,
    EventFinished,
    EventRef,
    Outcome,
    RunFinished,
    RunResult,
)
from emitter.payloads.paths import file_id_of, task_id_of
from emitter.payloads.render import Overrides, Renderer, check_params, default_renderer
from emitter.receiver.server import ReceivedRequest, Receiver
from emitter.reports.files import attempt_note
from emitter.scenarios.loader import Scenario, Step, builtin_scenarios, parse_expectation
from emitter.scenarios.loader import load_scenario as _load_scenario
from emitter.scenarios.plan import RenderedEvent
from emitter.scenarios.plan import render_scenario as stream_scenario

T = TypeVar("T")
ScenarioRef = str | Path | Scenario
Moment = dt.datetime | str | None


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentEvent:
    """One planned send: which it is, the payload and body rendered for it, and how it ended.

    `finished` is None when it was never sent (the run was interrupted first).

        >>> done = send("upload", target=app, params={"file_name": "Demo"})  # doctest: +SKIP
        >>> done.sent[0].payload["data"]["fileName"], done.sent[0].file_id   # doctest: +SKIP
        ('Demo', '5284594915198092497')
    """

    ref: EventRef
    payload: Any
    body: bytes
    finished: EventFinished | None
    attempts: tuple[AttemptFinished, ...] = ()

    @property
    def event_type(self) -> str:
        return self.ref.event_type

    @property
    def delivered(self) -> bool:
        return self.finished is not None and self.finished.ok

    @property
    def file_id(self) -> str | None:
        """The fileId the payload is about (v2 `data.fileId`, v3 `<X>Event.FileId`, first list item)."""
        return file_id_of(self.payload)

    @property
    def task_id(self) -> str | None:
        return task_id_of(self.payload)

    def describe(self) -> list[str]:
        """A few lines for a failure report: the send, its attempts, request and response excerpts."""
        ref = self.ref
        head = f"#{ref.index} {ref.scenario}/{ref.name} {ref.event_type}"
        if self.finished is None:
            return [f"{head}: not sent (the run stopped first)"]
        done = self.finished
        history = ", ".join(str(attempt_note(attempt)) for attempt in self.attempts)
        status = "no answer" if done.status is None else str(done.status)
        response = _one_line(done.response)
        return [
            f"{head}: {done.result}: {done.reason}" if done.reason else f"{head}: {done.result}",
            f"    attempts: {done.attempts}" + (f" ({history})" if history else ""),
            f"    request:  {_one_line(done.request)}",
            f"    response: {status}" + (f" {response}" if response else ""),
        ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class CompletedRun:
    """What a run did: its seed and `now` (to replay it), the result, every outcome and every send.

    >>> done = run("happy-path", target=app, speed=0)                     # doctest: +SKIP
    >>> done.ok, done.result.delivered, done.sent[0].event_type            # doctest: +SKIP
    (True, 4, 'NewFileUpload')
    """

    seed: int
    now: dt.datetime
    target: str
    result: RunResult
    outcomes: tuple[Outcome, ...] = ()
    sent: tuple[SentEvent, ...] = ()
    received: tuple[ReceivedRequest, ...] = ()
    scenarios: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result.exit_code == 0

    @property
    def exit_code(self) -> int:
        """What the CLI would exit with: 0, 1 (a send failed or got an unexpected status), 2, 130."""
        return self.result.exit_code

    @property
    def events(self) -> tuple[EventFinished, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, EventFinished))

    @property
    def attempts(self) -> tuple[AttemptFinished, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, AttemptFinished))

    @property
    def failures(self) -> tuple[SentEvent, ...]:
        return tuple(item for item in self.sent if not item.delivered)

    @property
    def payloads(self) -> list[Any]:
        """The rendered payloads in plan order (duplicates included)."""
        return [item.payload for item in self.sent]

    @property
    def file_ids(self) -> list[str]:
        """Every fileId the payloads mention, once each, in order."""
        return list(dict.fromkeys(item.file_id for item in self.sent if item.file_id))

    def of_type(self, event_type: str) -> list[SentEvent]:
        """The sends of one EventType (`TranscodeComplete`), in plan order."""
        return [item for item in self.sent if item.event_type == event_type]

    @property
    def stamp(self) -> str:
        return utc_stamp(self.now)

    def summary(self) -> str:
        """One line: what ran where, the totals, and the seed and `now` that replay it."""
        return (
            f"{' '.join(self.scenarios) or 'run'} -> {self.target}: {self.result.summary()}; "
            f"seed {self.seed}, now {self.stamp}"
        )

    def failure_report(self) -> str:
        """The summary, then each send that was not delivered as expected."""
        lines = [self.summary()]
        if self.result.error:
            lines.append(f"error: {self.result.error}")
        for item in self.failures:
            lines += item.describe()
        return "\n".join(lines)

    def assert_all_delivered(self) -> CompletedRun:
        """Raise DeliveryFailed (an AssertionError) with a readable report unless every send succeeded.

        >>> run("happy-path", target=app, speed=0).assert_all_delivered()  # doctest: +SKIP
        """
        __tracebackhide__ = True
        if not self.ok:
            raise DeliveryFailed(self)
        return self


class DeliveryFailed(AssertionError):
    """A run with a failed send, an unexpected status or an error; `run` is the CompletedRun."""

    def __init__(self, run: CompletedRun):
        self.run = run
        super().__init__(run.failure_report())


# --- loading and rendering ------------------------------------------------------------------


def load_scenario(reference: str | Path) -> Scenario:
    """A scenario from a YAML file or a built-in's name; errors carry `file:line`.

    >>> [step.name for step in load_scenario("happy-path").steps]
    ['upload', 'flow-started', 'flow-finished', 'transcode']
    """
    return _load_scenario(reference)


def scenario_names() -> list[str]:
    """The built-in scenarios' names.

    >>> "concat-failure" in scenario_names()
    True
    """
    return list(builtin_scenarios())


def _moment(now: Moment) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if isinstance(now, str):
        try:
            now = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"now {now!r} is not an ISO 8601 time", hint="write e.g. now='2024-05-01T12:00:00Z'"
            ) from None
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def _scenario(reference: ScenarioRef, renderer: Renderer) -> Scenario:
    return reference if isinstance(reference, Scenario) else _load_scenario(reference, renderer.catalog)


def render_scenario(
    scenario: ScenarioRef,
    *,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    renderer: Renderer | None = None,
) -> list[RenderedEvent]:
    """A scenario's payloads without sending them (seed: the given, else the scenario's, else 0).

    >>> events = render_scenario("concat-failure", seed=1, fmt="v3")
    >>> events[0].event_type, events[0].payload["ConcatCompleteEvent"]["FileInfoSet"][0]["ErrCode"]
    ('ConcatComplete', -1)
    """
    renderer = renderer or default_renderer()
    loaded = _scenario(scenario, renderer)
    chosen = seed if seed is not None else loaded.seed or 0
    return list(
        stream_scenario(loaded, seed=chosen, now=_moment(now), fmt=fmt, renderer=renderer, options=options)
    )


def render_event(
    event: str,
    *,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    seed: int = 0,
    now: Moment = None,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    renderer: Renderer | None = None,
) -> Any:
    """One event's payload: semantic `params`, then raw `set`/`unset` payload paths.

    >>> render_event("transcode", params={"status": "fail", "err_code": 30010})["data"]["status"]
    30010
    """
    renderer = renderer or default_renderer()
    spec = renderer.catalog.event(event, location="render_event")
    event_fmt = fmt or spec.default_format
    session = renderer.session(seed=seed, now=_moment(now), fmt=event_fmt, options=options)
    overrides = Overrides(set=dict(set or {}), unset=tuple(unset))
    return session.render_event(spec, dict(params or {}), overrides, location="params")


# --- planning -------------------------------------------------------------------------------


def preflight(plan: RunPlan, renderer: Renderer) -> None:
    """Render every step once before sending anything, so a scenario error costs no sends."""
    for scenario in plan.scenarios:
        steps = tuple(dataclasses.replace(step, repeat=1) for step in scenario.steps)
        once = dataclasses.replace(scenario, steps=steps)
        for _ in stream_scenario(once, seed=plan.seed, now=plan.now, fmt=plan.fmt, renderer=renderer):
            pass


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def _source(reference: ScenarioRef) -> str:
    """What a journal records to find a scenario again: an absolute path, or a built-in's name."""
    if isinstance(reference, Scenario):
        return reference.path
    path = Path(reference)
    return str(path.resolve()) if path.is_file() else str(reference)


def plan_run(
    scenarios: Sequence[ScenarioRef],
    *,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    renderer: Renderer | None = None,
    skip: frozenset[int] = frozenset(),
) -> RunPlan:
    """Load scenarios, choose the seed (given, else the first scenario's, else fresh), render once."""
    renderer = renderer or default_renderer()
    if not scenarios:
        raise UsageError(
            "no scenario given",
            location="run",
            hint="write e.g. vod-emitter run happy-path; 'vod-emitter scenarios' lists them",
        )
    if fmt:
        renderer.catalog.format(fmt, location="format")
    loaded = tuple(_scenario(reference, renderer) for reference in scenarios)
    chosen = seed if seed is not None else loaded[0].seed
    plan = RunPlan(
        loaded,
        _fresh_seed() if chosen is None else chosen,
        _moment(now),
        fmt,
        skip,
        tuple(_source(reference) for reference in scenarios),
    )
    preflight(plan, renderer)
    return plan


def plan_send(
    event: str,
    *,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    body: Any = None,
    expect: Any = None,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    renderer: Renderer | None = None,
    location: str = "set",
) -> RunPlan:
    """A one-step plan for a single event (what `vod-emitter send` sends); `location` names errors."""
    renderer = renderer or default_renderer()
    if fmt:
        renderer.catalog.format(fmt, location="format")
    spec = renderer.catalog.event(event, location="send")
    chosen_params = dict(params or {})
    check_params(spec, chosen_params, location="params")
    overrides = Overrides(set=dict(set or {}), unset=tuple(unset), body=body)
    step = Step(
        index=0,
        name=spec.kind,
        event=spec,
        params=chosen_params,
        overrides=overrides,
        expect=parse_expectation(expect, location="expect"),
        location=location,
    )
    event_fmt = fmt or spec.default_format
    scenario = Scenario(
        name=spec.kind, description=spec.summary, steps=(step,), format=event_fmt, path=f"send {event}"
    )
    plan = RunPlan(
        (scenario,), _fresh_seed() if seed is None else seed, _moment(now), fmt, sources=(f"send {event}",)
    )
    preflight(plan, renderer)
    return plan


# --- delivering -----------------------------------------------------------------------------


def builtin_receiver(
    delivery: DeliveryOptions | None = None,
    *,
    on_request: Callable[[ReceivedRequest], None] | None = None,
    keep_records: bool = True,
) -> Receiver:
    """The receiver a run without a target starts: it verifies signatures the way the run signs."""
    signing = (delivery or DeliveryOptions()).signing
    return Receiver(
        sign_key=signing.key if signing else None,
        sign_in=signing.placement if signing else "body",
        on_request=on_request,
        keep_records=keep_records,
    )


def _trap_interrupts(runner: Runner, note: Callable[[str], None], stack: contextlib.ExitStack) -> None:
    """Ctrl-C once: send nothing more and let sends in flight finish; twice: abort them."""
    loop = asyncio.get_running_loop()
    presses = 0

    def interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            note(
                f"interrupted: sending nothing more; waiting for {runner.in_flight} in flight "
                "(Ctrl-C again to abort them)"
            )
            runner.stop()
        else:
            runner.abort()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
        stack.callback(loop.remove_signal_handler, signal.SIGINT)


async def play(
    plan: RunPlan,
    target: Target | None = None,
    *,
    delivery: DeliveryOptions | None = None,
    timing: Timing | None = None,
    renderer: Renderer | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    interrupts: Callable[[str], None] | None = None,
    keep: bool = True,
    freeze_gc: bool = False,
) -> CompletedRun:
    """Deliver a plan to a target (None: a built-in receiver started for the run) and collect it.

    `on_outcome` sees every outcome as it happens; `interrupts` (the CLI's) traps Ctrl-C and gets
    its notes; `keep=False` keeps only the result (flat memory for long runs); `freeze_gc` spares
    the garbage collector objects older than the run (process-wide: for a process the run owns).
    """
    delivery = delivery or DeliveryOptions()
    timing = timing or Timing()
    renderer = renderer or default_renderer()
    deliveries: dict[int, Delivery] = {}
    outcomes: list[Outcome] = []
    result: RunResult | None = None

    def tapped() -> Iterator[Delivery]:
        for item in schedule(plan, timing, renderer):
            deliveries[item.ref.index] = item
            yield item

    async with contextlib.AsyncExitStack() as stack:
        own_receiver = builtin_receiver(delivery) if target is None else None
        receiver = own_receiver or (target if isinstance(target, Receiver) else None)
        if receiver is not None and not receiver.running:
            await stack.enter_async_context(receiver)
        endpoint = resolve_target(receiver or target)
        client = await stack.enter_async_context(
            make_client(
                timeout=delivery.timeout,
                concurrency=timing.concurrency,
                ca_bundle=ca_bundle,
                insecure=insecure,
                transport=endpoint.transport,
            )
        )
        sender = Sender(client, endpoint.name, delivery, url=endpoint.url)
        runner = Runner(
            plan, sender, timing, renderer=renderer, deliveries=tapped if keep else None, freeze_gc=freeze_gc
        )
        with contextlib.ExitStack() as traps:
            if interrupts is not None:
                _trap_interrupts(runner, interrupts, traps)
            async for outcome in runner.run():
                if on_outcome is not None:
                    on_outcome(outcome)
                if keep:
                    outcomes.append(outcome)
                if isinstance(outcome, RunFinished):
                    result = outcome.result
    assert result is not None  # the runner always ends with RunFinished, or raises
    return CompletedRun(
        plan.seed,
        plan.now,
        endpoint.name,
        result,
        tuple(outcomes),
        _sends(plan, deliveries, outcomes) if keep else (),
        tuple(own_receiver.records) if own_receiver else (),
        plan.scenario_sources,
    )


def _sends(
    plan: RunPlan, deliveries: Mapping[int, Delivery], outcomes: Sequence[Outcome]
) -> tuple[SentEvent, ...]:
    finished = {o.ref.index: o for o in outcomes if isinstance(o, EventFinished)}
    attempts: dict[int, list[AttemptFinished]] = {}
    for outcome in outcomes:
        if isinstance(outcome, AttemptFinished):
            attempts.setdefault(outcome.ref.index, []).append(outcome)
    return tuple(
        SentEvent(item.ref, item.payload, item.body, finished.get(index), tuple(attempts.get(index, ())))
        for index, item in sorted(deliveries.items())
        if index not in plan.skip
    )


def _timing(timing: Timing | None, speed: float | None) -> Timing:
    timing = timing or Timing()
    return timing if speed is None else dataclasses.replace(timing, speed=speed)


def _delivery(delivery: DeliveryOptions | None, timeout: float | None) -> DeliveryOptions:
    delivery = delivery or DeliveryOptions()
    if timeout is not None and timeout <= 0:
        raise UsageError(
            f"timeout must be more than 0, got {timeout:g}",
            location="timeout",
            hint="give seconds, e.g. timeout=0.5",
        )
    return delivery if timeout is None else dataclasses.replace(delivery, timeout=timeout)


def _checked(completed: CompletedRun, check: bool) -> CompletedRun:
    __tracebackhide__ = True
    return completed.assert_all_delivered() if check else completed


async def run_async(
    *scenarios: ScenarioRef,
    target: Target | None = None,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    speed: float | None = None,
    timeout: float | None = None,
    delivery: DeliveryOptions | None = None,
    timing: Timing | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
) -> CompletedRun:
    """`run` for coroutines (an in-process ASGI app runs on the caller's loop).

    >>> done = await run_async("happy-path", target=app, speed=0)        # doctest: +SKIP
    """
    __tracebackhide__ = True
    renderer = renderer or default_renderer()
    plan = plan_run(scenarios, seed=seed, now=now, fmt=fmt, renderer=renderer)
    completed = await play(
        plan,
        target,
        delivery=_delivery(delivery, timeout),
        timing=_timing(timing, speed),
        renderer=renderer,
        ca_bundle=ca_bundle,
        insecure=insecure,
        on_outcome=on_outcome,
    )
    return _checked(completed, check)


def run(
    *scenarios: ScenarioRef,
    target: Target | None = None,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    speed: float | None = None,
    timeout: float | None = None,
    delivery: DeliveryOptions | None = None,
    timing: Timing | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
) -> CompletedRun:
    """Send scenarios (built-in names, files or Scenario objects) like `vod-emitter run`.

    `target`: a URL, an ASGI/WSGI app, `AppTarget(app, path=...)`, `"app:module:attr/path"`, a
    running Receiver, or None for a built-in receiver started for the run (`.received`).
    `seed`: the given, else the first scenario's, else a fresh one (`.seed`). `speed=0` skips the
    scenarios' delays; `timeout` (seconds) and `delivery` (retries, signing, headers) shape every
    send, `timing` the order and concurrency. `check=True` raises DeliveryFailed on any failure.

        >>> done = run("transcode-fail-30010", target=app, speed=0, fmt="v3")  # doctest: +SKIP
        >>> done.assert_all_delivered().of_type("TranscodeComplete")[0].file_id          # doctest: +SKIP
        '5284594915198092497'
    """
    __tracebackhide__ = True
    completed = run_sync(
        run_async(
            *scenarios,
            target=target,
            seed=seed,
            now=now,
            fmt=fmt,
            speed=speed,
            timeout=timeout,
            delivery=delivery,
            timing=timing,
            ca_bundle=ca_bundle,
            insecure=insecure,
            on_outcome=on_outcome,
            renderer=renderer,
        )
    )
    return _checked(completed, check)


async def send_async(
    event: str,
    *,
    target: Target | None = None,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    body: Any = None,
    expect: Any = None,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    timeout: float | None = None,
    delivery: DeliveryOptions | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
) -> CompletedRun:
    """`send` for coroutines.

    >>> done = await send_async("upload", target=app)                    # doctest: +SKIP
    """
    __tracebackhide__ = True
    renderer = renderer or default_renderer()
    plan = plan_send(
        event,
        params=params,
        set=set,
        unset=unset,
        body=body,
        expect=expect,
        seed=seed,
        now=now,
        fmt=fmt,
        renderer=renderer,
    )
    completed = await play(
        plan,
        target,
        delivery=_delivery(delivery, timeout),
        timing=Timing(speed=0),
        renderer=renderer,
        ca_bundle=ca_bundle,
        insecure=insecure,
        on_outcome=on_outcome,
    )
    return _checked(completed, check)


def send(
    event: str,
    *,
    target: Target | None = None,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    body: Any = None,
    expect: Any = None,
    seed: int | None = None,
    now: Moment = None,
    fmt: str | None = None,
    timeout: float | None = None,
    delivery: DeliveryOptions | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
) -> CompletedRun:
    """Send one event like `vod-emitter send`: `params` (semantic), `set`/`unset` (payload paths),
    `body` (a whole raw body, e.g. malformed JSON) and `expect` (a status, `"4xx"`, a list).
    The format defaults to v2 (v3 for v3-only events); the other keywords are `run`'s.

        >>> send("concat", target=app, params={"status": "fail"}).ok                       # doctest: +SKIP
        True
        >>> send("upload", target=app, body="{not json", expect="4xx").ok                  # doctest: +SKIP
        True
    """
    __tracebackhide__ = True
    completed = run_sync(
        send_async(
            event,
            target=target,
            params=params,
            set=set,
            unset=unset,
            body=body,
            expect=expect,
            seed=seed,
            now=now,
            fmt=fmt,
            timeout=timeout,
            delivery=delivery,
            ca_bundle=ca_bundle,
            insecure=insecure,
            on_outcome=on_outcome,
            renderer=renderer,
        )
    )
    return _checked(completed, check)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, even when this thread already runs a loop."""
    __tracebackhide__ = True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # inside a running loop (an async test, a notebook): a fresh loop in a worker thread
    outcome: list[tuple[bool, Any]] = []

    def work() -> None:
        try:
            outcome.append((True, asyncio.run(coroutine)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=work, name="vod-emitter-run")
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value  # type: ignore[no-any-return]


class Emitter:
    """A target plus defaults for every run and send; the pytest plugin's `vod_emitter` is one.

    Keywords are those of `run_async`/`send_async`; a call's keywords win over the defaults.
    `runs` lists every CompletedRun so far.

        >>> hooks = Emitter(app, seed=7, speed=0, check=True)                       # doctest: +SKIP
        >>> hooks.run("happy-path").file_ids                                        # doctest: +SKIP
        ['5284594915198092497']
        >>> hooks.send("transcode", params={"status": "fail", "err_code": 30009})   # doctest: +SKIP
    """

    _RUN_ONLY = frozenset({"speed", "timing"})
    _RENDER = frozenset({"seed", "now", "fmt", "options"})

    def __init__(
        self,
        target: Target | None = None,
        *,
        check: bool = False,
        renderer: Renderer | None = None,
        **defaults: Any,
    ):
        self.target = target
        self.check = check
        self.defaults = defaults
        self.renderer = renderer or default_renderer()
        self.runs: list[CompletedRun] = []

    def _keywords(self, changes: Mapping[str, Any], *, run: bool) -> dict[str, Any]:
        merged = {"target": self.target, **self.defaults, **changes, "renderer": self.renderer}
        return merged if run else {k: v for k, v in merged.items() if k not in self._RUN_ONLY}

    def _check(self, changes: dict[str, Any]) -> bool:
        return bool(changes.pop("check", self.check))

    async def _run(self, scenarios: tuple[ScenarioRef, ...], changes: Mapping[str, Any]) -> CompletedRun:
        completed = await run_async(*scenarios, **self._keywords(changes, run=True))
        self.runs.append(completed)
        return completed

    async def _send(self, event: str, changes: Mapping[str, Any]) -> CompletedRun:
        completed = await send_async(event, **self._keywords(changes, run=False))
        self.runs.append(completed)
        return completed

    async def run_async(self, *scenarios: ScenarioRef, **changes: Any) -> CompletedRun:
        __tracebackhide__ = True
        check = self._check(changes)
        return _checked(await self._run(scenarios, changes), check)

    def run(self, *scenarios: ScenarioRef, **changes: Any) -> CompletedRun:
        """Send scenarios to the target (see `emitter.run`)."""
        __tracebackhide__ = True
        check = self._check(changes)
        return _checked(run_sync(self._run(scenarios, changes)), check)

    async def send_async(self, event: str, **changes: Any) -> CompletedRun:
        __tracebackhide__ = True
        check = self._check(changes)
        return _checked(await self._send(event, changes), check)

    def send(self, event: str, **changes: Any) -> CompletedRun:
        """Send one event to the target (see `emitter.send`)."""
        __tracebackhide__ = True
        check = self._check(changes)
        return _checked(run_sync(self._send(event, changes)), check)

    def _render_keywords(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        chosen = {**{k: v for k, v in self.defaults.items() if k in self._RENDER}, **changes}
        return {**chosen, "renderer": self.renderer}

    def render(self, scenario: ScenarioRef, **changes: Any) -> list[RenderedEvent]:
        """The events a run of the scenario sends with these defaults (see `render_scenario`)."""
        return render_scenario(scenario, **self._render_keywords(changes))

    def render_event(self, event: str, **changes: Any) -> Any:
        """One event's payload with these defaults (see `render_event`)."""
        keywords = self._render_keywords(changes)
        keywords["seed"] = keywords.get("seed") or 0
        return render_event(event, **keywords)
