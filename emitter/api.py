"""The library API the CLI and the pytest plugin share: load, render, run and send (sync and async)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypedDict, TypeVar

from emitter.clock import parse_moment, utc_stamp
from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.delivery.runner import Runner, Timing, schedule
from emitter.delivery.targets import resolve_target
from emitter.errors import ScenarioError, UsageError
from emitter.interrupts import trap
from emitter.outcomes import AttemptFinished, EventFinished, Outcome, RunFinished, RunResult
from emitter.payloads.options import with_profile
from emitter.payloads.render import Overrides, Renderer, check_params, default_renderer
from emitter.receiver.server import ReceivedRequest, Receiver
from emitter.request import RUN_KEYWORDS, SEND_KEYWORDS, RunRequest, request_from
from emitter.scenarios.loader import Scenario, Step, builtin_scenarios, parse_expectation, subscription
from emitter.scenarios.loader import load_scenario as _load_scenario
from emitter.scenarios.plan import RenderedEvent, RunPlan, preflight, render_events

if TYPE_CHECKING:
    import datetime as dt

    from typing_extensions import Unpack

    from emitter.request import EmitterDefaults, RunKeywords, RunSettings

T = TypeVar("T")
P = ParamSpec("P")
ScenarioRef = str | Path | Scenario


# --- results --------------------------------------------------------------------------------

SentEvent = Delivery  # one record per event: planned, then its attempts and how it ended


@dataclass(frozen=True, repr=False)
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

    def __repr__(self) -> str:
        # short: asyncio prints a finished task's result when a run ends, pytest a failing value;
        # every outcome and send is in .outcomes and .sent
        return f"<CompletedRun {self.summary()}>"

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
        return tuple(item for item in self.sent if not item.delivered and not _filtered(item))

    @property
    def filtered(self) -> tuple[SentEvent, ...]:
        """The sends an event filter (`events=`, `subscribe:`) kept back: planned, not sent."""
        return tuple(item for item in self.sent if _filtered(item))

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


def _filtered(item: SentEvent) -> bool:
    return item.finished is not None and item.finished.filtered


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


def _scenario(reference: ScenarioRef, renderer: Renderer) -> Scenario:
    return reference if isinstance(reference, Scenario) else _load_scenario(reference, renderer.catalog)


def render_scenario(
    scenario: ScenarioRef,
    *,
    seed: int | None = None,
    now: dt.datetime | str | None = None,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    profile: str | None = None,
    era: str | None = None,
    locale: str | None = None,
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
    moment = parse_moment(now)
    options = with_profile(options, profile, era=era, locale=locale)
    return list(render_events(loaded, seed=chosen, now=moment, fmt=fmt, renderer=renderer, options=options))


def render_event(
    event: str,
    *,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    seed: int = 0,
    now: dt.datetime | str | None = None,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    profile: str | None = None,
    era: str | None = None,
    locale: str | None = None,
    renderer: Renderer | None = None,
) -> Any:
    """One event's payload: semantic `params`, then raw `set`/`unset` payload paths.

    >>> render_event("transcode", params={"status": "fail", "err_code": 30010})["data"]["status"]
    30010
    """
    renderer = renderer or default_renderer()
    spec = renderer.catalog.event(event, location="event")
    event_fmt = fmt or spec.default_format
    options = with_profile(options, profile, era=era, locale=locale)
    session = renderer.session(seed=seed, now=parse_moment(now), fmt=event_fmt, options=options)
    overrides = Overrides(set=dict(set or {}), unset=tuple(unset))
    return session.render_event(spec, dict(params or {}), overrides, location="params")


# --- planning -------------------------------------------------------------------------------


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def _source(reference: ScenarioRef) -> str:
    """What a journal records to find a scenario again: an absolute path, or a built-in's name."""
    if isinstance(reference, Scenario):
        return reference.path
    path = Path(reference)
    return str(path.resolve()) if path.is_file() else str(reference)


def _events(request: RunRequest, renderer: Renderer) -> frozenset[str] | None:
    """The run's event filter as EventTypes (None: each scenario's subscribe:, else everything)."""
    if request.events is None:
        return None
    return subscription(request.events, renderer.catalog, location="events")


def plan_run(
    scenarios: Sequence[ScenarioRef],
    request: RunRequest | None = None,
    *,
    renderer: Renderer | None = None,
    skip: frozenset[int] = frozenset(),
) -> RunPlan:
    """Load scenarios, choose the seed (given, else the first scenario's, else fresh) and `now`,
    and render the first sends (a scenario error costs no sends; the run sends those renders)."""
    request = request or RunRequest()
    renderer = renderer or default_renderer()
    if not scenarios:
        raise UsageError(
            "no scenario given",
            location="run",
            hint="write e.g. vod-emitter run happy-path; 'vod-emitter scenarios' lists them",
        )
    if request.fmt:
        renderer.catalog.format(request.fmt, location="fmt")
    loaded = tuple(_scenario(reference, renderer) for reference in scenarios)
    _refuse_api_triggered_steps(loaded)
    chosen = request.seed if request.seed is not None else loaded[0].seed
    plan = RunPlan(
        loaded,
        _fresh_seed() if chosen is None else chosen,
        parse_moment(request.now),
        request.fmt,
        skip,
        tuple(_source(reference) for reference in scenarios),
        request.options,
        events=_events(request, renderer),
    )
    return preflight(plan, renderer)


def _refuse_api_triggered_steps(scenarios: Sequence[Scenario]) -> None:
    """A step with `on:` waits for the app's VOD API call: only the local VOD API can play it."""
    for scenario in scenarios:
        for step in scenario.steps:
            if step.on is not None:
                raise ScenarioError(
                    f"step {step.name!r} waits for the app's {step.on} call (on:): a push run never sees it",
                    location=step.location or scenario.path,
                    hint=f"play it with vod-emitter api --scenario {scenario.path}, or remove 'on:'",
                )


def plan_send(
    event: str,
    request: RunRequest | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    body: Any = None,
    expect: Any = None,
    renderer: Renderer | None = None,
) -> RunPlan:
    """A one-step plan for a single event (what `vod-emitter send` sends)."""
    request = request or RunRequest()
    renderer = renderer or default_renderer()
    if request.fmt:
        renderer.catalog.format(request.fmt, location="fmt")
    spec = renderer.catalog.event(event, location="event")
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
        location="set",
    )
    event_fmt = request.fmt or spec.default_format
    scenario = Scenario(
        name=spec.kind, description=spec.summary, steps=(step,), format=event_fmt, path=f"send {event}"
    )
    plan = RunPlan(
        (scenario,),
        _fresh_seed() if request.seed is None else request.seed,
        parse_moment(request.now),
        request.fmt,
        sources=(f"send {event}",),
        options=request.options,
        events=_events(request, renderer),
    )
    return preflight(plan, renderer)


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


@dataclass(frozen=True)
class Watch:
    """How a caller follows a run.

    `on_plan` sees the plan before anything is sent; `on_outcome` sees every outcome as it
    happens; `interrupts` (the CLI's) traps Ctrl-C and gets its notes; `keep=False` keeps only the
    result (flat memory for long runs); `freeze_gc` spares the garbage collector objects older than
    the run (process-wide: for a process the run owns).
    """

    on_plan: Callable[[RunPlan], None] | None = None
    on_outcome: Callable[[Outcome], None] | None = None
    interrupts: Callable[[str], None] | None = None
    keep: bool = True
    freeze_gc: bool = False


async def play(
    scenarios: Sequence[ScenarioRef],
    request: RunRequest | None = None,
    *,
    renderer: Renderer | None = None,
    skip: frozenset[int] = frozenset(),
    watch: Watch | None = None,
) -> CompletedRun:
    """Plan scenarios (see plan_run) and deliver them (see run_plan): what `vod-emitter run` does."""
    renderer = renderer or default_renderer()
    plan = plan_run(scenarios, request, renderer=renderer, skip=skip)
    return await run_plan(plan, request, renderer=renderer, watch=watch)


class EventStep(TypedDict, total=False):
    """plan_send's keywords for the one step it sends: `params`, `set`, `unset`, `body`, `expect`."""

    params: Mapping[str, Any] | None
    set: Mapping[str, Any] | None
    unset: Sequence[str]
    body: Any
    expect: Any


async def play_event(
    event: str,
    request: RunRequest | None = None,
    *,
    renderer: Renderer | None = None,
    watch: Watch | None = None,
    **step: Unpack[EventStep],
) -> CompletedRun:
    """Plan one event (see plan_send) and deliver it (see run_plan): what `vod-emitter send` does."""
    renderer = renderer or default_renderer()
    plan = plan_send(event, request, renderer=renderer, **step)
    return await run_plan(plan, request, renderer=renderer, watch=watch)


async def run_plan(
    plan: RunPlan,
    request: RunRequest | None = None,
    *,
    renderer: Renderer | None = None,
    watch: Watch | None = None,
) -> CompletedRun:
    """Deliver a plan as the request says (target None: a built-in receiver started for the run),
    followed as `watch` says."""
    request = request or RunRequest()
    renderer = renderer or default_renderer()
    watch = watch or Watch()
    if watch.on_plan is not None:
        watch.on_plan(plan)
    on_outcome, interrupts, keep = watch.on_outcome, watch.interrupts, watch.keep
    delivery, timing, target = request.delivery, request.timing, request.target
    records: list[Delivery] = []
    outcomes: list[Outcome] = []
    result: RunResult | None = None

    def kept() -> Iterator[Delivery]:
        for item in schedule(plan, timing, renderer):
            records.append(item)
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
                ca_bundle=request.ca_bundle,
                insecure=request.insecure,
                transport=endpoint.transport,
                # an in-process transport takes nothing from the environment (proxies, certificates)
                trust_env=endpoint.transport is None,
            )
        )
        sender = Sender(client, endpoint.name, delivery, url=endpoint.url)
        runner = Runner(
            plan,
            sender,
            timing,
            renderer=renderer,
            deliveries=kept if keep else None,
            freeze_gc=watch.freeze_gc,
        )
        with contextlib.ExitStack() as traps:
            if interrupts is not None:
                traps.enter_context(
                    trap(runner.interrupt, runner.abort, interrupts, lambda: runner.in_flight)
                )
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
        tuple(sorted(records, key=lambda record: record.ref.index)),
        tuple(own_receiver.records) if own_receiver else (),
        plan.scenario_sources,
    )


def _checked(completed: CompletedRun, check: bool) -> CompletedRun:
    __tracebackhide__ = True
    return completed.assert_all_delivered() if check else completed


def synchronous(function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking form of a coroutine function (same parameters), for synchronous callers."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        __tracebackhide__ = True
        try:
            return run_sync(function(*args, **kwargs))
        except DeliveryFailed as failure:  # raised here: no event-loop frames in a test's report
            raise DeliveryFailed(failure.run) from None

    return call


async def run_async(
    *scenarios: ScenarioRef,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
    **settings: Unpack[RunKeywords],
) -> CompletedRun:
    """Send scenarios (built-in names, files or Scenario objects) like `vod-emitter run`.

    `target`: a URL, an ASGI/WSGI app, `AppTarget(app, path=...)`, `"app:module:attr/path"`, a
    running Receiver, or None for a built-in receiver started for the run (`.received`).
    `seed`: the given, else the first scenario's, else a fresh one (`.seed`); `now`, `fmt`,
    `options` (format options), `profile` (wire, docs), `era` and `locale` (zh_CN...) shape the
    payloads. `speed=0` skips the scenarios' delays; `timeout` (seconds or `"200ms"`) and `delivery` (retries,
    signing, headers) shape every send, `timing`
    the order and concurrency; `ca_bundle`/`insecure` for https. `events` (EventTypes or aliases,
    a list or `"upload,procedure"`) sends only those types, as an account's subscription does
    (over the scenarios' `subscribe:`): the others finish as "filtered", not failed. `check=True` raises
    DeliveryFailed on any failure. `run` is the same for synchronous code (an in-process ASGI app
    runs on the caller's loop with `run_async`).

        >>> done = run("transcode-fail-30010", target=app, speed=0, fmt="v3")  # doctest: +SKIP
        >>> done.assert_all_delivered().of_type("TranscodeComplete")[0].file_id          # doctest: +SKIP
        '5284594915198092497'
        >>> done = await run_async("happy-path", target=app, speed=0)        # doctest: +SKIP
    """
    __tracebackhide__ = True
    renderer = renderer or default_renderer()
    request = request_from(settings, caller="run", accepted=RUN_KEYWORDS)
    completed = await play(scenarios, request, renderer=renderer, watch=Watch(on_outcome=on_outcome))
    return _checked(completed, check)


async def send_async(
    event: str,
    *,
    params: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    body: Any = None,
    expect: Any = None,
    check: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    renderer: Renderer | None = None,
    **settings: Unpack[RunSettings],
) -> CompletedRun:
    """Send one event like `vod-emitter send`: `params` (semantic), `set`/`unset` (payload paths),
    `body` (a whole raw body, e.g. malformed JSON) and `expect` (a status, `"4xx"`, a list).
    The format defaults to v2 (v3 for v3-only events); the other keywords are `run`'s, but for
    its timing (one send, no delay). `send` is the same for synchronous code.

        >>> send("concat", target=app, params={"status": "fail"}).ok                       # doctest: +SKIP
        True
        >>> send("upload", target=app, body="{not json", expect="4xx").ok                  # doctest: +SKIP
        True
    """
    __tracebackhide__ = True
    renderer = renderer or default_renderer()
    request = replace(request_from(settings, caller="send", accepted=SEND_KEYWORDS), timing=Timing(speed=0))
    completed = await play_event(
        event,
        request,
        params=params,
        set=set,
        unset=unset,
        body=body,
        expect=expect,
        renderer=renderer,
        watch=Watch(on_outcome=on_outcome),
    )
    return _checked(completed, check)


run = synchronous(run_async)
send = synchronous(send_async)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, even when this thread already runs a loop.

    On asyncio's own loop: a library call is short (a test's run, often to an app in process), and
    starting uvloop costs it more than uvloop saves (the CLI's long runs play on it: eventloop)."""
    __tracebackhide__ = True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
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

    Keywords are those of `run`/`send` (checked here, once); a call's keywords win over the
    defaults. `runs` lists every CompletedRun so far.

        >>> hooks = Emitter(app, seed=7, speed=0, check=True)                       # doctest: +SKIP
        >>> hooks.run("happy-path").file_ids                                        # doctest: +SKIP
        ['5284594915198092497']
        >>> hooks.send("transcode", params={"status": "fail", "err_code": 30009})   # doctest: +SKIP
    """

    _RUN_ONLY = frozenset({"speed", "timing"})
    _RENDER = frozenset({"seed", "now", "fmt", "options", "profile", "era", "locale"})

    def __init__(
        self,
        target: Any = None,
        *,
        check: bool = False,
        renderer: Renderer | None = None,
        **defaults: Unpack[EmitterDefaults],
    ):
        self.target = target
        self.check = check
        self.defaults: dict[str, Any] = dict(defaults)
        self.renderer = renderer or default_renderer()
        self.runs: list[CompletedRun] = []
        request_from({"target": target, **defaults}, caller="Emitter", accepted=RUN_KEYWORDS)

    def _settings(self, changes: Mapping[str, Any], *, run: bool) -> dict[str, Any]:
        merged = {"target": self.target, **self.defaults, **changes}
        return merged if run else {k: v for k, v in merged.items() if k not in self._RUN_ONLY}

    async def run_async(
        self,
        *scenarios: ScenarioRef,
        check: bool | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        **changes: Unpack[RunKeywords],
    ) -> CompletedRun:
        """Send scenarios to the target (see `emitter.run`)."""
        __tracebackhide__ = True
        completed = await run_async(
            *scenarios, on_outcome=on_outcome, renderer=self.renderer, **self._settings(changes, run=True)
        )
        self.runs.append(completed)
        return _checked(completed, self.check if check is None else check)

    async def send_async(
        self,
        event: str,
        *,
        check: bool | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        params: Mapping[str, Any] | None = None,
        set: Mapping[str, Any] | None = None,
        unset: Sequence[str] = (),
        body: Any = None,
        expect: Any = None,
        **changes: Unpack[RunSettings],
    ) -> CompletedRun:
        """Send one event to the target (see `emitter.send`)."""
        __tracebackhide__ = True
        completed = await send_async(
            event,
            params=params,
            set=set,
            unset=unset,
            body=body,
            expect=expect,
            on_outcome=on_outcome,
            renderer=self.renderer,
            **self._settings(changes, run=False),
        )
        self.runs.append(completed)
        return _checked(completed, self.check if check is None else check)

    run = synchronous(run_async)
    send = synchronous(send_async)

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
