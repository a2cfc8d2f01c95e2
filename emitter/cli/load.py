"""The `load` command: a burst of callbacks at a rate (open model) or a concurrency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emitter.cli.common import (
    SHARED_ENVIRONMENT,
    CaBundleOption,
    EraOption,
    EventsOption,
    FormatOption,
    HeaderOption,
    InsecureOption,
    LocaleOption,
    NowOption,
    ProfileOption,
    SeedOption,
    SignCaseOption,
    SignInOption,
    SignKeyOption,
    SignTtlOption,
    TargetOption,
    TimeoutOption,
    announce_seed,
    app,
    delivery_from_flags,
    fail,
    parse_now,
    parse_seconds,
    render_options,
)


@app.command(context_settings=SHARED_ENVIRONMENT)
def load(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names, cycled.")],
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            "-r",
            envvar="VOD_EMITTER_LOAD_RATE",
            help="Open model: arrivals per second or minute (500/s, 500, 30000/m), each sent on time "
            "even while earlier ones wait.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            envvar="VOD_EMITTER_LOAD_CONCURRENCY",
            min=1,
            max=10_000,
            help="Closed model instead of --rate: N senders, each sends when its previous answer is in.",
        ),
    ] = None,
    duration: Annotated[
        str,
        typer.Option(
            "--duration", "-d", envvar="VOD_EMITTER_LOAD_DURATION", help="How long to send: 60s, 1m30s."
        ),
    ] = "10s",
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            "--max-in-flight",
            envvar="VOD_EMITTER_LOAD_MAX_IN_FLIGHT",
            min=1,
            help="With --rate: arrivals beyond this many unanswered sends are dropped and counted "
            "(default 1000).",
        ),
    ] = None,
    max_error_rate: Annotated[
        str,
        typer.Option(
            "--max-error-rate",
            envvar="VOD_EMITTER_LOAD_MAX_ERROR_RATE",
            help="Exit 1 above this share of errors (unexpected status, no answer, dropped): 0, 0.01, 1%.",
        ),
    ] = "0",
    connections: Annotated[
        int | None,
        typer.Option(
            "--connections",
            envvar="VOD_EMITTER_LOAD_CONNECTIONS",
            min=1,
            max=10_000,
            help="With --rate: keep-alive connections, reused by every arrival; arrivals beyond them "
            "wait for one (in their latency) rather than open more (default 64, at most --max-in-flight).",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            "-P",
            envvar="VOD_EMITTER_LOAD_PROCESSES",
            min=1,
            max=64,
            help="Load processes sharing the rate or senders, merged into one summary (default: one "
            "per core with a URL --target; one otherwise, the built-in receiver or an app in process).",
        ),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json", envvar="VOD_EMITTER_LOAD_JSON", help="Write the summary as JSON to this file."
        ),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html",
            envvar="VOD_EMITTER_LOAD_HTML",
            help="Write a self-contained HTML report: summary, latency histogram, latency per second.",
        ),
    ] = None,
    target: TargetOption = None,
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
    timeout: TimeoutOption = "5",
    header: HeaderOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    sign_key: SignKeyOption = None,
    sign_in: SignInOption = "body",
    sign_ttl: SignTtlOption = 600,
    sign_case: SignCaseOption = "valid",
    payload_profile: ProfileOption = None,
    era: EraOption = None,
    locale: LocaleOption = None,
    events: EventsOption = None,
) -> None:
    """Load a receiver: cycle scenarios at a rate (open model) or with N senders (closed model).

    Delays in the scenarios are ignored and nothing is retried. Cycle k renders with seed + k
    (fresh fileIds, replayable with --seed). A live view on stderr shows sent/s, latency
    percentiles and errors; the summary (latency histogram, totals, achieved rate) goes to stdout.

    Exit codes: 0 error rate within --max-error-rate, 1 above it, 2 usage or input error,
    130 interrupted (Ctrl-C; the summary is complete).
    """
    flags = dict(locals())  # the flags as given, before anything else is named here
    from emitter import eventloop
    from emitter.api import plan_run
    from emitter.cli.load_view import LiveView
    from emitter.delivery.targets import resolve_target
    from emitter.errors import EmitterError, UsageError
    from emitter.load import engine
    from emitter.load import processes as load_processes
    from emitter.load import profile as load_profile
    from emitter.payloads.render import Renderer
    from emitter.reports.files import OutputFile
    from emitter.request import RunRequest, check_distinct_files

    try:
        if max_in_flight is not None and concurrency is not None:
            raise UsageError(
                "--max-in-flight applies to --rate (open model)",
                location="--max-in-flight",
                hint="leave it out: --concurrency N never has more than N in flight",
            )
        if connections is not None and concurrency is not None:
            raise UsageError(
                "--connections applies to --rate (open model)",
                location="--connections",
                hint="leave it out: --concurrency N keeps N connections",
            )
        in_process = target is None or target.startswith("app:")
        if processes is not None and processes > 1 and in_process:
            raise UsageError(
                "--processes needs a URL --target",
                location="--processes",
                hint="the built-in receiver and app targets run in this process; give --target http://...",
            )
        count = processes or (1 if in_process else load_processes.default_processes())
        profile = load_profile.LoadProfile(
            duration=parse_seconds(duration, "duration"),
            rate=load_profile.parse_rate(rate) if rate is not None else None,
            concurrency=concurrency,
            max_in_flight=max_in_flight or load_profile.DEFAULT_MAX_IN_FLIGHT,
            max_error_rate=load_profile.parse_fraction(max_error_rate),
            connections=connections,
            processes=count,
        )
        request = RunRequest(
            target=target or None,
            seed=seed,
            now=parse_now(now) if now else None,
            fmt=fmt,
            options=render_options(None, payload_profile, era, locale),
            delivery=delivery_from_flags({**flags, "retries": 0}),
            ca_bundle=ca_bundle,
            insecure=insecure,
            events=events,
        )
        eventloop.chosen_loop()  # a bad $VOD_EMITTER_LOOP stops the run before it starts
        renderer = Renderer()
        plan = plan_run(scenarios, request, renderer=renderer)
        cycles = engine.Cycles(
            plan.scenarios,
            seed=plan.seed,
            now=plan.now,
            fmt=plan.fmt,
            renderer=renderer,
            options=plan.options,
            events=plan.events,
        )
        check_distinct_files({"json_file": json_file, "html_file": html_file})
        out = engine.open_json(json_file) if json_file is not None else None
        page_file = OutputFile(html_file, "--html") if html_file is not None else None  # no sends if bad
    except EmitterError as exc:
        fail(exc)
    announce_seed(plan.seed, plan.now)
    try:
        if profile.processes > 1:
            job = load_processes.LoadJob(
                tuple(scenarios),
                plan.seed,
                plan.now,
                plan.fmt,
                profile,
                request.delivery,
                target or "",
                ca_bundle=request.ca_bundle,
                insecure=request.insecure,
                options=tuple(plan.options.items()),
                events=tuple(sorted(plan.events)) if plan.events is not None else None,
            )
            report = load_processes.play_processes(
                job, profile.processes, note=lambda text: typer.echo(text, err=True)
            )
        else:
            report = eventloop.run(
                engine.play(
                    cycles,
                    profile,
                    request.delivery,
                    resolve_target(request.target) if request.target else None,
                    ca_bundle=request.ca_bundle,
                    insecure=request.insecure,
                    view=LiveView,
                )
            )
    except EmitterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    for line in report.warnings():
        typer.echo(line, err=True)
    for line in report.lines():
        typer.echo(line)
    if out is not None:
        engine.write_json(report, out)
    if page_file is not None:
        from emitter.reports.html import load_page

        page_file.write(load_page(report))
        try:
            page_file.close()
        except EmitterError as exc:
            fail(exc)
    raise typer.Exit(report.exit_code)
