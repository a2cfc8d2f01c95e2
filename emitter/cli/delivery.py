"""The `run` and `send` commands: deliver scenarios or one event and report every send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from emitter.cli.api import (
    ApiPortOption,
    ModeOption,
    PullDeadlineOption,
    SecretIdOption,
    SecretKeyOption,
    run_pull,
)
from emitter.cli.common import (
    SHARED_ENVIRONMENT,
    AppTargetOption,
    BackoffFactorOption,
    BackoffOption,
    CaBundleOption,
    ConcurrencyOption,
    EraOption,
    EventsOption,
    FormatOption,
    HeaderOption,
    HtmlOption,
    InsecureOption,
    JitterOption,
    JournalOption,
    JunitOption,
    LocaleOption,
    NowOption,
    OptionOption,
    ParamOption,
    ProfileOption,
    ReportOption,
    ResumeOption,
    RetriesOption,
    RetryOnConnectErrorOption,
    RetryOnStatusOption,
    ReverseWindowOption,
    SeedOption,
    SetOption,
    ShuffleWindowOption,
    SignCaseOption,
    SignInOption,
    SignKeyOption,
    SignTtlOption,
    SpeedOption,
    TimeoutOption,
    UnsetOption,
    announce_seed,
    app,
    delivery_from_flags,
    fail,
    parse_now,
    parse_seconds,
    render_options,
    string_params,
)

BODY_EXCERPT = 240  # characters of each received body shown by the built-in receiver


async def _play(play: Callable[[Any, Any], Awaitable[Any]], request: Any, resume: Path | None = None) -> int:
    """The library's run (`play(request, watch)` plans and delivers) with the CLI's console and
    report files; the built-in receiver shows each request when there is no target."""
    import dataclasses

    from emitter.api import Watch, builtin_receiver
    from emitter.outcomes import RunStarted
    from emitter.receiver.server import ReceivedRequest, Receiver
    from emitter.reports.files import ConsoleReport, Journal, JsonReport, JunitReport, Reporters

    console = ConsoleReport()
    reporters = Reporters([console])
    files = request.reports

    def planned(plan: Any) -> None:  # report files are opened once the plan holds
        _announce(plan, resume)
        if files.json:
            reporters.reporters.append(JsonReport(files.json))
        if files.junit:
            reporters.reporters.append(JunitReport(files.junit))
        if files.html:
            from emitter.reports.html import HtmlReport

            reporters.reporters.append(HtmlReport(files.html))
        if files.journal:
            reporters.reporters.append(
                Journal(
                    files.journal,
                    append=files.append_journal,
                    builtin_receiver=request.target is None,
                    carried=plan.skip,
                    options=plan.options,
                )
            )

    receiver: Receiver | None = None
    if request.target is None:

        def show(record: ReceivedRequest) -> None:
            console.line(f"{record.console_line()}  [built-in receiver]")
            console.line(f"    {record.body_excerpt(BODY_EXCERPT)}")

        # each request is shown as it comes: keep counts, not records; the run starts it
        receiver = builtin_receiver(request.delivery, on_request=show, keep_records=False)
        request = dataclasses.replace(request, target=receiver)

    def handle(outcome: Any) -> None:
        if receiver is not None and isinstance(outcome, RunStarted):
            console.note(f"no --target: sending to the built-in receiver at {receiver.url}")
        reporters.handle(outcome)

    watch = Watch(planned, handle, console.note, keep=False, freeze_gc=True)
    try:
        completed = await play(request, watch)
        if completed.result.error:
            console.note(f"error: {completed.result.error}")
    finally:
        reporters.close()
    if receiver is not None:
        console.note(f"built-in receiver: {receiver.summary()}")
    return int(completed.exit_code)


def _announce(plan: Any, resume: Path | None) -> None:
    announce_seed(plan.seed, plan.now)
    if plan.skip:
        typer.echo(f"resuming {resume}: {len(plan.skip)} delivered before, {plan.planned} to go", err=True)


def _deliver(
    play: Callable[[Any, Any], Awaitable[Any]], request: Any, resume: Path | None = None
) -> NoReturn:
    from emitter import eventloop
    from emitter.errors import EmitterError

    try:
        code = eventloop.run(_play(play, request, resume), waits=request.timing.speed > 0)
    except EmitterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    raise typer.Exit(code)


@app.command(context_settings=SHARED_ENVIRONMENT)
def run(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenario files or built-in names.")] = None,
    target: AppTargetOption = None,
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
    option: OptionOption = None,
    profile: ProfileOption = None,
    era: EraOption = None,
    locale: LocaleOption = None,
    timeout: TimeoutOption = "5",
    retries: RetriesOption = 2,
    retry_on_status: RetryOnStatusOption = False,
    retry_on_connect_error: RetryOnConnectErrorOption = False,
    backoff: BackoffOption = "0",
    backoff_factor: BackoffFactorOption = 2.0,
    header: HeaderOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    sign_key: SignKeyOption = None,
    sign_in: SignInOption = "body",
    sign_ttl: SignTtlOption = 600,
    sign_case: SignCaseOption = "valid",
    speed: SpeedOption = 1.0,
    concurrency: ConcurrencyOption = 1,
    shuffle_window: ShuffleWindowOption = 0,
    reverse_window: ReverseWindowOption = 0,
    jitter: JitterOption = "0",
    report: ReportOption = None,
    junit: JunitOption = None,
    html: HtmlOption = None,
    journal: JournalOption = None,
    resume: ResumeOption = None,
    mode: ModeOption = "push",
    api_port: ApiPortOption = 0,
    secret_id: SecretIdOption = None,
    secret_key: SecretKeyOption = None,
    pull_deadline: PullDeadlineOption = "60s",
    events: EventsOption = None,
) -> None:
    """Send scenarios' callbacks to a receiver (or the built-in one) and report every send.

    With --mode pull, queue them on a local VOD API instead, for a consumer that calls
    PullEvents/ConfirmEvents; the run ends when every event is confirmed (else exit 1).

    Exit codes: 0 all delivered and expected, 1 a send failed or got an unexpected status,
    2 usage or input error, 130 interrupted (Ctrl-C; report and journal are complete).
    """
    flags = dict(locals())  # the flags as given, before anything else is named here
    from emitter.api import plan_run, play
    from emitter.delivery.runner import Timing
    from emitter.errors import EmitterError, UsageError
    from emitter.payloads.render import Renderer
    from emitter.reports.files import read_journal
    from emitter.request import ReportFiles, RunRequest

    try:
        skip: frozenset[int] = frozenset()
        append = False
        recorded_options: dict[str, Any] = {}
        if resume is not None:
            if scenarios:
                raise UsageError(
                    "give scenarios or --resume, not both",
                    location="--resume",
                    hint="--resume takes the scenarios from the journal",
                )
            state = read_journal(resume)
            recorded_options = dict(state.header.get("options") or {})
            pairs = (("profile", profile), ("era", era))
            for flag, given, recorded in (
                ("--seed", seed, state.header["seed"]),
                ("--now", now and parse_now(now), parse_now(state.header["now"])),
                ("--format", fmt, state.header["format"]),
                *((f"--{name}", value, recorded_options.get(name, value)) for name, value in pairs),
                ("--locale", locale, recorded_options.get("locale")),
            ):
                if given is not None and given != recorded:
                    raise UsageError(
                        f"the journal's run used {recorded}",
                        location=flag,
                        hint="leave it out: --resume replays the journal's seed, now, format and profile",
                    )
            scenarios = list(state.header["scenarios"])
            seed, now, fmt = int(state.header["seed"]), str(state.header["now"]), state.header["format"]
            target = target or state.header.get("target")
            events = _resumed_events(events, state.header.get("events"))
            skip = frozenset(state.delivered)
            append = journal is not None and journal.resolve() == resume.resolve()
        if mode not in ("push", "pull"):
            raise UsageError(f"--mode {mode!r} is not a mode", location="--mode", hint="use push or pull")
        request = RunRequest(
            target=target or None,
            seed=seed,
            now=parse_now(now) if now else None,
            fmt=fmt,
            options={**recorded_options, **render_options(option, profile, era, locale)},
            delivery=delivery_from_flags(flags),
            timing=Timing(
                speed, concurrency, shuffle_window, reverse_window, parse_seconds(jitter, "jitter")
            ),
            ca_bundle=ca_bundle,
            insecure=insecure,
            reports=ReportFiles(report, junit, journal, append, html=html),
            events=events,
        )
        renderer = Renderer()
        if mode == "pull":
            plan = plan_run(scenarios or [], request, renderer=renderer, skip=skip)
    except EmitterError as exc:
        fail(exc)
    if mode == "pull":
        _announce(plan, resume)
        run_pull(
            plan,
            request,
            renderer,
            api_port=api_port,
            secret_id=secret_id,
            secret_key=secret_key,
            deadline=pull_deadline,
        )

    def play_scenarios(request: Any, watch: Any) -> Awaitable[Any]:
        return play(scenarios or [], request, renderer=renderer, skip=skip, watch=watch)

    _deliver(play_scenarios, request, resume)


def _resumed_events(given: str | None, recorded: list[str] | None) -> str | None:
    """The journal's event filter, which --resume replays (a different --events is an error)."""
    from emitter.errors import UsageError
    from emitter.payloads.catalog import load_catalog
    from emitter.scenarios.loader import subscription

    if given is None or recorded is None:
        return given if recorded is None else ",".join(recorded)
    if subscription(given, load_catalog(), location="--events") != set(recorded):
        raise UsageError(
            f"the journal's run used {','.join(recorded)}",
            location="--events",
            hint="leave it out: --resume replays the journal's event filter",
        )
    return given


@app.command(context_settings=SHARED_ENVIRONMENT)
def send(
    event: Annotated[str, typer.Argument(help="Alias (upload) or EventType (NewFileUpload).")],
    target: AppTargetOption = None,
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
    option: OptionOption = None,
    profile: ProfileOption = None,
    era: EraOption = None,
    locale: LocaleOption = None,
    set_: SetOption = None,
    unset: UnsetOption = None,
    param: ParamOption = None,
    timeout: TimeoutOption = "5",
    retries: RetriesOption = 2,
    retry_on_status: RetryOnStatusOption = False,
    retry_on_connect_error: RetryOnConnectErrorOption = False,
    backoff: BackoffOption = "0",
    backoff_factor: BackoffFactorOption = 2.0,
    header: HeaderOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    sign_key: SignKeyOption = None,
    sign_in: SignInOption = "body",
    sign_ttl: SignTtlOption = 600,
    sign_case: SignCaseOption = "valid",
    report: ReportOption = None,
    junit: JunitOption = None,
    html: HtmlOption = None,
    events: EventsOption = None,
) -> None:
    """Send one event (the body 'render EVENT' prints for the same seed) and report the answer.

    Exit codes: 0 delivered with a 2xx, 1 failed or another status, 2 usage error, 130 interrupted.
    """
    flags = dict(locals())  # the flags as given, before anything else is named here
    from emitter.api import play_event
    from emitter.delivery.runner import Timing
    from emitter.errors import EmitterError
    from emitter.payloads.options import parse_assignments
    from emitter.request import ReportFiles, RunRequest

    try:
        request = RunRequest(
            target=target or None,
            seed=seed,
            now=parse_now(now) if now else None,
            fmt=fmt,
            options=render_options(option, profile, era, locale),
            delivery=delivery_from_flags(flags),
            timing=Timing(speed=0),
            ca_bundle=ca_bundle,
            insecure=insecure,
            reports=ReportFiles(report, junit, html=html),
            events=events,
        )
        params = parse_assignments(param or [], flag="--param", strings=string_params(event))
        overrides = parse_assignments(set_ or [], flag="--set")
    except EmitterError as exc:
        fail(exc)

    def play_one(request: Any, watch: Any) -> Awaitable[Any]:
        return play_event(event, request, params=params, set=overrides, unset=unset or (), watch=watch)

    _deliver(play_one, request)
