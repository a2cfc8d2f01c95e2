"""The `api` command: the local VOD API (PullEvents, ConfirmEvents, event config) until Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from emitter.cli.common import SeedOption, SpeedOption, app, fail

DEFAULT_PORT = 8766
SecretIdOption = Annotated[
    str | None,
    typer.Option(
        "--secret-id",
        envvar="VOD_EMITTER_SECRET_ID",
        help="SecretId the SDK signs with (default: a fresh local pair, printed).",
    ),
]
SecretKeyOption = Annotated[
    str | None,
    typer.Option("--secret-key", envvar="VOD_EMITTER_SECRET_KEY", help="SecretKey matching --secret-id."),
]


def check_keys(secret_id: str | None, secret_key: str | None) -> None:
    """Both or neither: one alone cannot sign."""
    from emitter.errors import UsageError

    if bool(secret_id) != bool(secret_key):
        given, missing = ("--secret-id", "--secret-key") if secret_id else ("--secret-key", "--secret-id")
        raise UsageError(
            f"{given} without {missing}",
            location=missing,
            hint="give both (or VOD_EMITTER_SECRET_ID and _KEY), or neither for a local pair",
        )


def sdk_hint(endpoint: str, secret_id: str, secret_key: str) -> list[str]:
    """What to paste into a Python consumer to talk to this endpoint."""
    return [
        f"  endpoint    {endpoint}   (HttpProfile(endpoint={endpoint!r}, protocol='http'))",
        f"  SecretId    {secret_id}",
        f"  SecretKey   {secret_key}",
    ]


@app.command()
def api(
    port: Annotated[
        int,
        typer.Option(
            "--port", envvar="VOD_EMITTER_API_PORT", min=0, max=65535, help="Port; 0 picks a free one."
        ),
    ] = DEFAULT_PORT,
    secret_id: SecretIdOption = None,
    secret_key: SecretKeyOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", envvar="VOD_EMITTER_FORMAT", help="The account's callback format: v3 or v2."
        ),
    ] = "v3",
    seed: SeedOption = None,
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", help="Queue a scenario's events for pulling at start (repeatable)."),
    ] = None,
    notification_url: Annotated[
        str | None,
        typer.Option(
            "--notification-url", help="Start in PUSH mode, posting callbacks here (else PULL mode)."
        ),
    ] = None,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Lift the service's 100 requests/s per action.")
    ] = False,
    speed: SpeedOption = 1.0,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Rule file: outcomes, delays and task flows of the app's calls."),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Keep the media library in this SQLite file (created when missing)."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Play a scenario: its `on: ACTION` steps wait for the app's calls."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print each request.")] = False,
) -> None:
    """Run the local VOD API that the Tencent Cloud SDKs talk to: PULL callbacks, event config, media library.

    Listens on 127.0.0.1 only; API 3.0 at / (TC3-HMAC-SHA256 checked against the keys), the
    legacy v2 PullEvent/ConfirmEvent at /v2/index.php. Ctrl-C or SIGTERM stops it.
    """
    import asyncio

    from emitter.cli.common import choose_seed
    from emitter.errors import EmitterError, UsageError
    from emitter.receiver.server import wait_for_signal
    from emitter.vodapi.account import FORMATS, Account
    from emitter.vodapi.actions import ApiError
    from emitter.vodapi.config import EventConfig, check_url
    from emitter.vodapi.local import local_keys
    from emitter.vodapi.server import ApiRequest, VodApiServer

    try:
        check_keys(secret_id, secret_key)
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r} has no PULL API", hint="use v3, or v2 for legacy accounts")
        config = EventConfig()
        if notification_url:
            try:
                check_url(notification_url)
            except ApiError as exc:
                raise UsageError(exc.message, location="--notification-url") from None
            config = EventConfig(mode="PUSH", notification_url=notification_url)
        chosen = choose_seed(seed)
        pair = local_keys(secret_id, secret_key)
        account = Account(
            *pair, format=fmt, seed=chosen, config=config, rate_limit=None if no_rate_limit else 100
        )
        from emitter.scenarios.loader import load_scenario
        from emitter.vodapi.flows import attach
        from emitter.vodapi.rules import load_rules

        played = load_scenario(scenario) if scenario else None
        flows = attach(account, speed=speed, rules=load_rules(rules) if rules else None, state=state)
        if queue:
            from emitter.clock import utc_now
            from emitter.scenarios.plan import render_events

            for name in queue:  # one event at a time: the queue keeps its bytes alone
                for event in render_events(load_scenario(name), seed=chosen, now=utc_now(), fmt=fmt):
                    if isinstance(event.payload, dict):
                        try:
                            account.queue.put(event.payload, body=event.body)
                        except ApiError as exc:  # over the queue's limit
                            hint = "queue fewer events"
                            raise UsageError(exc.message, location="--queue", hint=hint) from None
    except EmitterError as exc:
        fail(exc)

    def show(request: ApiRequest) -> None:
        typer.secho(request.console_line(), fg="yellow" if request.error else None)

    server = VodApiServer(account, port=port, on_request=None if quiet else show)

    async def serve() -> None:
        async with server:
            generated = "" if secret_id else " (a local pair; set --secret-id/--secret-key to choose)"
            typer.echo(
                f"local VOD API on {server.url} ({fmt}, {config.mode}, seed {chosen}){generated}", err=True
            )
            for line in sdk_hint(server.endpoint, *pair):
                typer.echo(line, err=True)
            if account.queue.events:
                typer.echo(f"  queued {len(account.queue.events)} events for PullEvents", err=True)
            if played is not None:
                await flows.play(played)
            library = flows.library
            kept = f" kept in {state}" if state else ""
            typer.echo(
                f"  library     {len(library.media)} media, {len(library.tasks)} tasks{kept}; "
                f"callbacks of the app's calls at speed {speed:g}"
                + (f", scenario {played.name}" if played is not None else ""),
                err=True,
            )
            typer.echo("Ctrl-C to stop", err=True)
            await wait_for_signal()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        fail(
            UsageError(
                f"cannot listen: {exc.strerror or exc}",
                location=f"--port {port}",
                hint="pick another port (--port 0 picks a free one)",
            )
        )
    flows.cancel()
    flows.library.close()
    events = account.queue.events
    confirmed = sum(1 for entry in events if entry.confirmed)
    typer.echo(f"stopped: {len(server.log)} requests, {len(events)} queued, {confirmed} confirmed", err=True)


def run_pull(
    plan: Any,
    request: Any,
    renderer: Any,
    *,
    api_port: int,
    secret_id: str | None,
    secret_key: str | None,
    deadline: str,
) -> NoReturn:
    """`run --mode pull`: serve the local VOD API, queue the plan's events, end when all are confirmed."""
    import asyncio

    from emitter.clock import parse_duration
    from emitter.errors import EmitterError, UsageError
    from emitter.reports.files import ConsoleReport, Journal, JsonReport, JunitReport, Reporters
    from emitter.vodapi.account import Account
    from emitter.vodapi.local import local_keys
    from emitter.vodapi.runs import play_pull
    from emitter.vodapi.server import ApiRequest, VodApiServer

    try:
        if request.target is not None:
            raise UsageError(
                "--mode pull has no target: your consumer pulls from the local VOD API",
                location="--target",
                hint="drop --target, and point the consumer's SDK at the printed endpoint",
            )
        check_keys(secret_id, secret_key)
        seconds = parse_duration(deadline, location="--pull-deadline", text_numbers=True, positive=True)
        fmt = plan.fmt or plan.scenarios[0].format
        if fmt not in ("v3", "v2") or any((plan.fmt or s.format) != fmt for s in plan.scenarios):
            raise UsageError(
                f"PULL carries v3 (PullEvents) or v2 (PullEvent) events of one format, not {fmt}",
                location="--format",
                hint="add --format v3 (or v2)",
            )
        pair = local_keys(secret_id, secret_key)
        account = Account(*pair, format=fmt, seed=plan.seed)
        console = ConsoleReport()
        reporters = Reporters([console])
        files = request.reports
        if files.json:
            reporters.reporters.append(JsonReport(files.json))
        if files.junit:
            reporters.reporters.append(JunitReport(files.junit))
        if files.journal:
            # no target in the header (as for the built-in receiver): --resume re-queues the rest
            journal = Journal(
                files.journal,
                append=files.append_journal,
                builtin_receiver=True,
                carried=plan.skip,
                options=plan.options,
            )
            reporters.reporters.append(journal)
    except EmitterError as exc:
        fail(exc)

    def ready(server: VodApiServer) -> None:
        generated = "" if secret_id else " (a local pair)"
        console.note(f"PULL mode: pull from the local VOD API on {server.url} ({fmt}){generated}")
        for line in sdk_hint(server.endpoint, *pair):
            console.note(line)
        console.note(f"the run ends when every event is confirmed, or after {seconds:g} s")

    def show(request: ApiRequest) -> None:
        console.line(request.console_line())

    try:
        pulled = asyncio.run(
            play_pull(
                plan,
                account,
                timing=request.timing,
                renderer=renderer,
                port=api_port,
                deadline=seconds,
                on_outcome=reporters.handle,
                on_request=show,
                on_ready=ready,
            )
        )
        code = pulled.result.exit_code
    except KeyboardInterrupt:
        console.note("interrupted")
        code = 130
    except EmitterError as exc:
        fail(exc)
    except OSError as exc:
        fail(
            UsageError(
                f"cannot listen: {exc.strerror or exc}",
                location=f"--api-port {api_port}",
                hint="pick another port (--api-port 0 picks a free one)",
            )
        )
    finally:
        reporters.close()
    raise typer.Exit(code)


ModeOption = Annotated[
    str,
    typer.Option(
        "--mode",
        envvar="VOD_EMITTER_MODE",
        help="push: POST to the target; pull: queue for PullEvents on a local VOD API until confirmed.",
    ),
]
ApiPortOption = Annotated[
    int,
    typer.Option(
        "--api-port", min=0, max=65535, help="--mode pull: the local VOD API's port (0: a free one)."
    ),
]
PullDeadlineOption = Annotated[
    str, typer.Option("--pull-deadline", help="--mode pull: fail events not confirmed by then (e.g. 60s).")
]
