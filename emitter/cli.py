"""The `vod-emitter` command line: thin typer commands over the library; heavy imports inside."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from emitter.catalog import EventSpec

app = typer.Typer(
    name="vod-emitter",
    help="Play Tencent Cloud VOD event-notification callbacks against a receiver.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
events_app = typer.Typer(
    help="List the event catalog, or show one event's fields.", invoke_without_command=True
)
app.add_typer(events_app, name="events")

SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", envvar="VOD_EMITTER_SEED", help="Seed of the run (printed when not given).", min=0
    ),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", envvar="VOD_EMITTER_NOW", help="Moment of the run, ISO 8601 (default: now)."),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", envvar="VOD_EMITTER_FORMAT",
        help="Payload format: v2, v3 or cdnetworks (default: the scenario's).",
    ),
]
OptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option", envvar="VOD_EMITTER_OPTION",
        help="Format option NAME=VALUE, over the scenario's options (repeatable): "
        "keep_nulls=true, null_event_keys=true (2019-style v3), wechat_key=WechatPublishComplete.",
    ),
]
EnvelopeOption = Annotated[
    str | None,
    typer.Option(
        "--envelope", envvar="VOD_EMITTER_ENVELOPE",
        help="Wrap payloads as the reliable-callback API returns them: "
        "pull (responses of at most 16 events).",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", envvar="VOD_EMITTER_SET",
        help="Override a payload path after rendering: PATH=VALUE (repeatable).",
    ),
]
UnsetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--unset", envvar="VOD_EMITTER_UNSET", help="Remove a payload path after rendering (repeatable)."
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", envvar="VOD_EMITTER_PARAM",
        help="Semantic parameter NAME=VALUE, e.g. -p status=fail (repeatable).",
    ),
]


def fail(error: Exception) -> NoReturn:
    """Print one line for an error a user caused and exit with its code."""
    code = getattr(error, "exit_code", 2)
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code)


def parse_now(value: str | None) -> dt.datetime:
    from emitter.errors import UsageError

    if not value:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(UsageError(f"--now {value!r} is not an ISO 8601 time",
                        hint="write e.g. --now 2024-05-01T12:00:00Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def choose_seed(seed: int | None, scenario_seed: int | None = None) -> int:
    """The run's seed: the flag, else the scenario's, else a fresh one; always printed to stderr."""
    import random

    chosen = seed if seed is not None else scenario_seed
    if chosen is None:
        chosen = random.SystemRandom().randrange(2**31)
    return chosen


def announce_seed(seed: int, now: dt.datetime) -> None:
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    typer.echo(f"seed {seed} (replay: --seed {seed} --now {stamp})", err=True)


@events_app.callback()
def events(ctx: typer.Context) -> None:
    """List every event kind with its aliases, EventType, formats and outcomes."""
    if ctx.invoked_subcommand:
        return
    from emitter.catalog import load_catalog
    from emitter.errors import EmitterError

    try:
        catalog = load_catalog()
    except EmitterError as exc:
        fail(exc)
    specs = list(catalog.events.values())
    alias_width = max(len(", ".join(s.aliases)) for s in specs)
    type_width = max(len(s.event_type) for s in specs)
    format_width = max(len(",".join(s.formats)) for s in specs)
    typer.echo(
        f"{'ALIASES':<{alias_width}}  {'EVENT TYPE':<{type_width}}  {'FORMATS':<{format_width}}  OUTCOMES"
    )
    for spec in specs:
        typer.echo(
            f"{', '.join(spec.aliases):<{alias_width}}  {spec.event_type:<{type_width}}  "
            f"{','.join(spec.formats):<{format_width}}  {', '.join(spec.outcomes)}"
        )
    typer.echo("\n'vod-emitter events show EVENT' shows an event's parameters, fields and a sample.")


def _describe_event(spec: EventSpec, fmt: str | None) -> str:
    import json

    from emitter.render import Renderer

    lines = [
        f"{spec.event_type} ({', '.join(spec.aliases)}): {spec.summary}",
        "",
        "Parameters (semantic, every format):",
    ]
    for param in spec.params.values():
        enum = f" [{' | '.join(map(str, param.enum))}]" if param.enum else ""
        lines.append(f"  {param.name:<20} {param.type:<5} {param.help}{enum} (default: {param.origin})")
    lines += ["", "Outcomes (status: NAME):"]
    for name, values in spec.outcomes.items():
        lines.append(f"  {name:<20} {json.dumps(values, ensure_ascii=False) if values else '(defaults)'}")
    renderer = Renderer()
    for name in [fmt] if fmt else list(spec.formats):
        lines += ["", f"Fields ({name}):"]
        docs = spec.fields.get(name, ())
        if not docs:
            lines.append("  (not documented in the catalog)")
        for doc in docs:
            lines.append(f"  {doc.path:<40} {doc.type:<8} {doc.description}")
        session = renderer.session(seed=1, now=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), fmt=name)
        sample = session.render_event(spec)
        lines += ["", f"Sample ({name}, seed 1):", json.dumps(sample, ensure_ascii=False, indent=2)]
    return "\n".join(lines)


@events_app.command("show")
def events_show(
    event: Annotated[str, typer.Argument(help="Alias (upload) or EventType (NewFileUpload).")],
    fmt: FormatOption = None,
) -> None:
    """Show an event's parameters, outcomes, documented fields and a sample payload."""
    from emitter.catalog import load_catalog
    from emitter.errors import EmitterError

    try:
        catalog = load_catalog()
        spec = catalog.event(event)
        if fmt:
            catalog.format(fmt)
        typer.echo(_describe_event(spec, fmt))
    except EmitterError as exc:
        fail(exc)


def _target_is_event(reference: str) -> bool:
    """True for an event name, False for a scenario file or built-in; else a did-you-mean error."""
    from emitter.catalog import load_catalog
    from emitter.errors import EmitterError, UsageError, hint_with_suggestion
    from emitter.scenario import builtin_scenarios

    if Path(reference).is_file() or Path(reference).suffix in (".yaml", ".yml"):
        return False
    catalog = load_catalog()
    try:
        catalog.event(reference)
    except EmitterError:
        builtins = builtin_scenarios()
        if reference in builtins:
            return False
        raise UsageError(
            f"'{reference}' is neither a scenario file, a built-in scenario nor an event",
            hint=hint_with_suggestion(
                reference, [*catalog.names(), *builtins],
                "see 'vod-emitter scenarios' and 'vod-emitter events'",
            ),
        ) from None
    return True


def _write_out(out: Path, index: int, label: str, event_type: str, body: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{index:04d}-{label}-{event_type}.json").write_bytes(body + b"\n")


@app.command()
def render(
    target: Annotated[
        str,
        typer.Argument(help="Scenario file, built-in scenario name, or event (upload, ConcatComplete ...)."),
    ],
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
    set_: SetOption = None,
    unset: UnsetOption = None,
    param: ParamOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", envvar="VOD_EMITTER_OUT",
            help="Write one file per payload into this folder instead of JSON lines on stdout.",
        ),
    ] = None,
    option: OptionOption = None,
    envelope: EnvelopeOption = None,
) -> None:
    """Render payloads without sending them: JSON lines on stdout, or files with --out."""
    from emitter.errors import EmitterError

    try:
        bodies = _render_bodies(target, seed, now, fmt, set_, unset, param, option=option, envelope=envelope)
        for index, label, event_type, body in bodies:
            if out:
                _write_out(out, index, label, event_type, body)
            else:
                sys.stdout.buffer.write(body + b"\n")
        sys.stdout.flush()
    except EmitterError as exc:
        fail(exc)


def _render_bodies(
    target: str, seed: int | None, now: str | None, fmt: str | None,
    set_: list[str] | None, unset: list[str] | None, param: list[str] | None,
    *, option: list[str] | None = None, envelope: str | None = None,
) -> Any:
    from emitter.envelope import check_envelope
    from emitter.options import parse_options
    from emitter.plan import body_bytes, render_scenario
    from emitter.render import Overrides, Renderer, parse_assignments
    from emitter.scenario import load_scenario

    overrides = Overrides(set=parse_assignments(set_ or [], flag="--set"), unset=tuple(unset or ()))
    options = parse_options(option or [])
    if envelope:
        check_envelope(envelope)
    moment = parse_now(now)
    renderer = Renderer()
    if _target_is_event(target):
        params = parse_assignments(param or [], flag="--param")
        chosen = choose_seed(seed)
        announce_seed(chosen, moment)
        spec = renderer.catalog.event(target)
        event_fmt = fmt or ("v2" if "v2" in spec.formats else spec.formats[0])
        session = renderer.session(seed=chosen, now=moment, fmt=event_fmt, options=options)
        payload = session.render_event(spec, params, overrides, location="--param")
        if envelope:
            yield from _enveloped([payload], event_fmt, chosen)
            return
        yield 0, spec.kind, spec.event_type, body_bytes(payload)
        return
    scenario = load_scenario(target)
    if param:
        from emitter.errors import UsageError

        raise UsageError(
            "--param applies to a single event", hint="put parameters in the scenario's vars or steps"
        )
    chosen = choose_seed(seed, scenario.seed)
    announce_seed(chosen, moment)
    events = render_scenario(scenario, seed=chosen, now=moment, fmt=fmt, renderer=renderer, options=options)
    if envelope:
        payloads = (overrides.apply(event.payload, location="--set") for event in events)
        yield from _enveloped(payloads, fmt or scenario.format, chosen)
        return
    for event in events:
        payload = overrides.apply(event.payload, location="--set") if (set_ or unset) else event.payload
        yield event.seq, event.label, event.event_type, body_bytes(payload) if (set_ or unset) else event.body


def _enveloped(payloads: Any, fmt: str, seed: int) -> Any:
    """(index, label, name, body) of each PULL response holding the payloads."""
    from emitter.envelope import pull_responses
    from emitter.plan import body_bytes

    name = "PullEvents" if fmt == "v3" else "PullEvent"
    for index, response in enumerate(pull_responses(payloads, fmt=fmt, seed=seed)):
        yield index, f"pull-{index + 1}", name, body_bytes(response)


@app.command()
def validate(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names.")],
    fmt: FormatOption = None,
) -> None:
    """Check scenarios: syntax, names, references, overrides (by rendering them once)."""
    from emitter.errors import EmitterError
    from emitter.plan import render_scenario
    from emitter.scenario import load_scenario

    failed = 0
    for reference in scenarios:
        try:
            scenario = load_scenario(reference)
            events = render_scenario(scenario, seed=scenario.seed or 0, now=parse_now(None), fmt=fmt)
            count = sum(1 for _ in events)
            typer.echo(
                f"ok  {reference}: {len(scenario.steps)} steps, {count} events ({fmt or scenario.format})"
            )
        except EmitterError as exc:
            failed += 1
            typer.echo(f"error: {exc}", err=True)
    if failed:
        raise typer.Exit(2)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios with their descriptions."""
    from emitter.errors import EmitterError
    from emitter.scenario import builtin_scenarios, load_scenario

    try:
        found = builtin_scenarios()
        width = max((len(n) for n in found), default=10)
        for name, path in found.items():
            scenario = load_scenario(path)
            first_line = scenario.description.splitlines()[0] if scenario.description else ""
            typer.echo(f"{name:<{width}}  {first_line}")
    except EmitterError as exc:
        fail(exc)


def _number_or_text(value: str) -> float | str:
    """'6' means 6 seconds, like '6s'; anything else is left to the duration parser."""
    try:
        return float(value)
    except ValueError:
        return value


@app.command()
def receive(
    host: Annotated[
        str,
        typer.Option(
            "--host", envvar="VOD_EMITTER_RECEIVE_HOST",
            help="Address to listen on (loopback by default).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", envvar="VOD_EMITTER_RECEIVE_PORT", min=0, max=65535,
            help="Port; 0 picks a free one (printed).",
        ),
    ] = 8765,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal", envvar="VOD_EMITTER_RECEIVE_JOURNAL",
            help="Append every request as a JSON line to this file.",
        ),
    ] = None,
    status: Annotated[
        int,
        typer.Option(
            "--status", envvar="VOD_EMITTER_RECEIVE_STATUS", min=200, max=599,
            help="HTTP status to answer.",
        ),
    ] = 200,
    fail_first: Annotated[
        int,
        typer.Option(
            "--fail-first", envvar="VOD_EMITTER_RECEIVE_FAIL_FIRST", min=0,
            help="Answer --fail-status to the first N requests.",
        ),
    ] = 0,
    fail_status: Annotated[
        int,
        typer.Option(
            "--fail-status", envvar="VOD_EMITTER_RECEIVE_FAIL_STATUS", min=200, max=599,
            help="Status of the failed requests.",
        ),
    ] = 500,
    delay: Annotated[
        str,
        typer.Option(
            "--delay", envvar="VOD_EMITTER_RECEIVE_DELAY",
            help="Wait before answering: 250ms, 6s (VOD gives up after 5 s).",
        ),
    ] = "0",
    drop_first: Annotated[
        int,
        typer.Option(
            "--drop-first", envvar="VOD_EMITTER_RECEIVE_DROP_FIRST", min=0,
            help="Close the connection without answering for the first N requests.",
        ),
    ] = 0,
    drop: Annotated[
        bool,
        typer.Option(
            "--drop", envvar="VOD_EMITTER_RECEIVE_DROP",
            help="Close every connection without answering.",
        ),
    ] = False,
    body: Annotated[
        str,
        typer.Option(
            "--body", envvar="VOD_EMITTER_RECEIVE_BODY",
            help="Response body (VOD ignores it).",
        ),
    ] = "",
    sign_key: Annotated[
        str | None,
        typer.Option(
            "--sign-key", envvar="VOD_EMITTER_SIGN_KEY",
            help="Verify Sign/T with this SignKey; bad ones get --sign-status.",
        ),
    ] = None,
    sign_in: Annotated[
        str,
        typer.Option(
            "--sign-in", envvar="VOD_EMITTER_SIGN_IN",
            help="Where Sign and T travel: body, query or header.",
        ),
    ] = "body",
    sign_status: Annotated[
        int,
        typer.Option(
            "--sign-status", envvar="VOD_EMITTER_RECEIVE_SIGN_STATUS", min=200, max=599,
            help="Status for a bad, missing or expired signature.",
        ),
    ] = 401,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", envvar="VOD_EMITTER_RECEIVE_QUIET",
            help="No line per request; only the summary.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", envvar="VOD_EMITTER_RECEIVE_VERBOSE",
            help="Also print each request's headers and body.",
        ),
    ] = False,
) -> None:
    """Run the built-in receiver: record, check and answer callbacks until Ctrl-C."""
    import asyncio

    from emitter.errors import EmitterError, UsageError
    from emitter.receiver import Behaviour, ReceivedRequest, Receiver, wait_for_signal
    from emitter.scenario import parse_duration
    from emitter.signing import PLACEMENTS

    try:
        if sign_in not in PLACEMENTS:
            raise UsageError(
                f"--sign-in {sign_in!r} is not a placement",
                hint=f"use one of: {', '.join(PLACEMENTS)}",
            )
        behaviour = Behaviour(
            status=status, fail_first=fail_first, fail_status=fail_status,
            delay=parse_duration(_number_or_text(delay), location="--delay"),
            drop_first=drop_first, drop_all=drop,
            body=body.encode("utf-8"),
        )
    except EmitterError as exc:
        fail(exc)

    def show(record: ReceivedRequest) -> None:
        flagged = record.problems or record.signature_problem or record.dropped
        typer.secho(record.console_line(), fg="yellow" if flagged else None)
        if verbose:
            for name, value in record.headers:
                typer.echo(f"    {name}: {value}")
            typer.echo("    " + record.body.decode("utf-8", "replace"))

    receiver = Receiver(
        host=host, port=port, behaviour=behaviour, sign_key=sign_key, sign_in=sign_in,
        sign_status=sign_status, journal=journal, on_request=None if quiet else show,
        keep_records=False,
    )

    async def serve() -> None:
        async with receiver:
            signing = f", verifying Sign/T in the {sign_in}" if sign_key else ""
            typer.echo(
                f"receiving on {receiver.url} ({behaviour.describe()}{signing}); Ctrl-C to stop",
                err=True,
            )
            if host not in ("127.0.0.1", "localhost", "::1"):
                typer.echo(f"warning: listening on {host}, reachable from other machines", err=True)
            await wait_for_signal()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass  # where the loop cannot trap SIGINT, Ctrl-C still ends the run cleanly
    except EmitterError as exc:
        fail(exc)
    except OSError as exc:
        on_journal = journal is not None and exc.filename is not None
        fail(UsageError(
            f"cannot {'write the journal' if on_journal else 'listen'}: {exc.strerror or exc}",
            location=f"--journal {journal}" if on_journal else f"--host {host} --port {port}",
            hint="give a writable path" if on_journal else "pick another port (--port 0 picks a free one)",
        ))
    typer.echo(f"stopped: {receiver.summary()}", err=True)


TargetOption = Annotated[
    str | None,
    typer.Option("--target", "-t", envvar="VOD_EMITTER_TARGET",
                 help="Receiver URL. Without one, the built-in receiver starts and shows what it gets."),
]
AppTargetOption = Annotated[
    str | None,
    typer.Option("--target", "-t", envvar="VOD_EMITTER_TARGET",
                 help="Receiver URL, or app:MODULE:ATTR to call an ASGI or WSGI app in process, "
                      "without a server (app:MODULE:ATTR/PATH for a route). Without one, the built-in "
                      "receiver starts and shows what it gets."),
]
TimeoutOption = Annotated[
    str,
    typer.Option("--timeout", envvar="VOD_EMITTER_TIMEOUT",
                 help="Seconds to wait for an answer: 5, 0.2, 200ms (the real service: 5 s)."),
]
RetriesOption = Annotated[
    int,
    typer.Option("--retries", envvar="VOD_EMITTER_RETRIES", min=0,
                 help="Retries after a timeout (the real service: 2, so 3 sends at most)."),
]
RetryOnStatusOption = Annotated[
    bool,
    typer.Option("--retry-on-status", envvar="VOD_EMITTER_RETRY_ON_STATUS",
                 help="Also retry when the status is not the expected one (default: 2xx)."),
]
RetryOnConnectErrorOption = Annotated[
    bool,
    typer.Option("--retry-on-connect-error", envvar="VOD_EMITTER_RETRY_ON_CONNECT_ERROR",
                 help="Also retry on refused and dropped connections."),
]
BackoffOption = Annotated[
    str,
    typer.Option("--backoff", envvar="VOD_EMITTER_BACKOFF",
                 help="Wait before the first retry: 0.5, 500ms; multiplied by --backoff-factor after each."),
]
BackoffFactorOption = Annotated[
    float,
    typer.Option("--backoff-factor", envvar="VOD_EMITTER_BACKOFF_FACTOR", min=1.0,
                 help="Growth of the wait between retries."),
]
HeaderOption = Annotated[
    list[str] | None,
    typer.Option("--header", "-H", envvar="VOD_EMITTER_HEADER",
                 help="Extra request header 'Name: value' (repeatable)."),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option("--ca-bundle", envvar="VOD_EMITTER_CA_BUNDLE", help="PEM file of CAs to trust for https."),
]
InsecureOption = Annotated[
    bool,
    typer.Option("--insecure", envvar="VOD_EMITTER_INSECURE", help="Do not verify the https certificate."),
]
SignKeyOption = Annotated[
    str | None,
    typer.Option("--sign-key", envvar="VOD_EMITTER_SIGN_KEY",
                 help="Sign like VOD's SignKey: T = Unix expiry, Sign = md5(KEY + T). Off by default."),
]
SignInOption = Annotated[
    str,
    typer.Option("--sign-in", envvar="VOD_EMITTER_SIGN_IN",
                 help="Where Sign and T travel: body (top-level JSON keys), query or header."),
]
SignTtlOption = Annotated[
    int,
    typer.Option("--sign-ttl", envvar="VOD_EMITTER_SIGN_TTL", min=1, help="Seconds from now to T."),
]
SignCaseOption = Annotated[
    str,
    typer.Option("--sign-case", envvar="VOD_EMITTER_SIGN_CASE",
                 help="valid, or a negative case: expired, wrong, missing (T without Sign), none. "
                      "A step's 'sign:' wins."),
]
ReportOption = Annotated[
    Path | None,
    typer.Option("--report", envvar="VOD_EMITTER_REPORT", help="Write a JSON report: one row per send."),
]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", envvar="VOD_EMITTER_JUNIT", help="Write JUnit XML: one testcase per send."),
]
SpeedOption = Annotated[
    float,
    typer.Option("--speed", envvar="VOD_EMITTER_SPEED", min=0.0,
                 help="Time factor for delays: 2 = twice as fast, 0 = no waiting."),
]
ConcurrencyOption = Annotated[
    int,
    typer.Option("--concurrency", "-c", envvar="VOD_EMITTER_CONCURRENCY", min=1,
                 help="Sends in flight at once (1 = one after another, like the real service)."),
]
ShuffleWindowOption = Annotated[
    int,
    typer.Option("--shuffle-window", envvar="VOD_EMITTER_SHUFFLE_WINDOW", min=0,
                 help="Shuffle the order within windows of N sends (seeded by --seed)."),
]
ReverseWindowOption = Annotated[
    int,
    typer.Option("--reverse-window", envvar="VOD_EMITTER_REVERSE_WINDOW", min=0,
                 help="Reverse the order within windows of N sends."),
]
JitterOption = Annotated[
    str,
    typer.Option("--jitter", envvar="VOD_EMITTER_JITTER",
                 help="Add a random wait of up to this before each send: 200ms (seeded by --seed)."),
]
JournalOption = Annotated[
    Path | None,
    typer.Option("--journal", envvar="VOD_EMITTER_JOURNAL",
                 help="Write JSON lines as it goes: a header, every attempt, every result (for --resume)."),
]
ResumeOption = Annotated[
    Path | None,
    typer.Option("--resume", envvar="VOD_EMITTER_RESUME",
                 help="Re-send what a --journal run did not deliver (its seed, now, format and scenarios)."),
]


def _seconds(value: str, flag: str, *, positive: bool = False) -> float:
    """A duration flag: 5, 0.2, 200ms, 1m30s."""
    from emitter.errors import EmitterError, UsageError
    from emitter.scenario import parse_duration

    try:
        seconds = parse_duration(float(value) if value.replace(".", "", 1).isdigit() else value)
    except EmitterError:
        raise UsageError(f"{value!r} is not a duration", location=flag,
                         hint=f"write e.g. {flag} 0.5 or {flag} 200ms") from None
    if positive and seconds <= 0:
        raise UsageError(f"{value!r} must be more than 0", location=flag, hint=f"write e.g. {flag} 5")
    return seconds


def _delivery_options(
    timeout: str, retries: int, retry_on_status: bool, retry_on_connect_error: bool, backoff: str,
    backoff_factor: float, header: list[str] | None, sign_key: str | None, sign_in: str, sign_ttl: int,
    sign_case: str,
) -> Any:
    from emitter.deliver import DeliveryOptions, Signing, parse_header
    from emitter.errors import UsageError

    signing = Signing(sign_key or "", sign_in, sign_ttl, sign_case)  # checks --sign-in and --sign-case
    if not sign_key and sign_case != "valid":
        raise UsageError(f"a {sign_case!r} signature needs a key", location="--sign-case",
                         hint="add --sign-key KEY")
    return DeliveryOptions(
        timeout=_seconds(timeout, "--timeout", positive=True),
        retries=retries,
        retry_on_status=retry_on_status,
        retry_on_connect_error=retry_on_connect_error,
        backoff=_seconds(backoff, "--backoff"),
        backoff_factor=backoff_factor,
        headers=tuple(parse_header(item) for item in header or ()),
        signing=signing if sign_key else None,
    )


def _endpoint(target: str | None) -> Any:
    """None (the built-in receiver), else the resolved URL or in-process app; a bad one exits 2."""
    from emitter.targets import resolve_target

    return resolve_target(target) if target else None


async def _play(
    plan: Any, timing: Any, options: Any, target: Any, renderer: Any, *, ca_bundle: Path | None,
    insecure: bool, report: Path | None, junit: Path | None, journal: Path | None, append: bool,
) -> int:
    """The library's run with the CLI's reports; the built-in receiver when there is no target."""
    import contextlib

    from emitter.api import builtin_receiver, play
    from emitter.receiver import Receiver
    from emitter.report import ConsoleReport, Journal, JsonReport, JunitReport, Reporters

    console = ConsoleReport()
    reporters = Reporters([console])
    if report:
        reporters.reporters.append(JsonReport(report))
    if junit:
        reporters.reporters.append(JunitReport(junit))
    if journal:
        reporters.reporters.append(Journal(journal, append=append, builtin_receiver=target is None,
                                           carried=plan.skip))
    receiver: Receiver | None = None
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(reporters.close)
        if target is None:
            receiver = builtin_receiver(options,
                                        on_request=lambda record: console.line(record.console_line()))
            receiver.keep_records = False  # each request is shown as it comes: keep counts, not records
            await stack.enter_async_context(receiver)
            console.note(f"no --target: sending to the built-in receiver at {receiver.url}")
        completed = await play(plan, receiver or target, delivery=options, timing=timing, renderer=renderer,
                               ca_bundle=ca_bundle, insecure=insecure, on_outcome=reporters.handle,
                               interrupts=console.note, keep=False, freeze_gc=True)
        if completed.result.error:
            console.note(f"error: {completed.result.error}")
    if receiver is not None:
        console.note(f"built-in receiver: {receiver.summary()}")
    return completed.exit_code


def _deliver(
    plan: Any, timing: Any, options: Any, target: str | None, renderer: Any, **files: Any
) -> NoReturn:
    import asyncio

    from emitter.errors import EmitterError

    try:
        code = asyncio.run(_play(plan, timing, options, target, renderer, **files))
    except EmitterError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    raise typer.Exit(code)


@app.command()
def run(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenario files or built-in names.")] = None,
    target: AppTargetOption = None,
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
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
    journal: JournalOption = None,
    resume: ResumeOption = None,
) -> None:
    """Send scenarios' callbacks to a receiver (or the built-in one) and report every send.

    Exit codes: 0 all delivered and expected, 1 a send failed or got an unexpected status,
    2 usage or input error, 130 interrupted (Ctrl-C; report and journal are complete).
    """
    from emitter.api import plan_run
    from emitter.errors import EmitterError, UsageError
    from emitter.render import Renderer
    from emitter.report import read_journal
    from emitter.runner import Timing

    try:
        options = _delivery_options(timeout, retries, retry_on_status, retry_on_connect_error, backoff,
                                    backoff_factor, header, sign_key, sign_in, sign_ttl, sign_case)
        timing = Timing(speed, concurrency, shuffle_window, reverse_window, _seconds(jitter, "--jitter"))
        target = target or None
        skip: frozenset[int] = frozenset()
        append = False
        if resume is not None:
            if scenarios:
                raise UsageError("give scenarios or --resume, not both", location="--resume",
                                 hint="--resume takes the scenarios from the journal")
            state = read_journal(resume)
            for flag, given, recorded in (("--seed", seed, state.header["seed"]),
                                          ("--now", now and parse_now(now), parse_now(state.header["now"])),
                                          ("--format", fmt, state.header["format"])):
                if given is not None and given != recorded:
                    raise UsageError(f"the journal's run used {recorded}", location=flag,
                                     hint="leave it out: --resume replays the journal's seed, now and format")
            scenarios = list(state.header["scenarios"])
            seed, now, fmt = int(state.header["seed"]), str(state.header["now"]), state.header["format"]
            target = target or state.header.get("target")
            skip = frozenset(state.delivered)
            append = journal is not None and journal.resolve() == resume.resolve()
        if not scenarios:
            raise UsageError("no scenario given", location="run",
                             hint="write e.g. vod-emitter run happy-path; 'vod-emitter scenarios' lists them")
        endpoint = _endpoint(target)
        if ca_bundle is not None and insecure:
            raise UsageError("--ca-bundle and --insecure exclude each other", location="--insecure",
                             hint="keep --ca-bundle to verify with your CA, or --insecure to skip checks")
        renderer = Renderer()
        if fmt:
            renderer.catalog.format(fmt, location="--format")
        plan = plan_run(scenarios, seed=seed, now=parse_now(now), fmt=fmt, renderer=renderer, skip=skip)
    except EmitterError as exc:
        fail(exc)
    announce_seed(plan.seed, plan.now)
    if skip:
        typer.echo(f"resuming {resume}: {len(skip)} delivered before, {plan.planned} to go", err=True)
    _deliver(plan, timing, options, endpoint, renderer, ca_bundle=ca_bundle, insecure=insecure, report=report,
             junit=junit, journal=journal, append=append)


@app.command()
def send(
    event: Annotated[str, typer.Argument(help="Alias (upload) or EventType (NewFileUpload).")],
    target: AppTargetOption = None,
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
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
) -> None:
    """Send one event (the body 'render EVENT' prints for the same seed) and report the answer.

    Exit codes: 0 delivered with a 2xx, 1 failed or another status, 2 usage error, 130 interrupted.
    """
    from emitter.api import plan_send
    from emitter.errors import EmitterError, UsageError
    from emitter.render import Renderer, check_params, parse_assignments
    from emitter.runner import Timing

    try:
        options = _delivery_options(timeout, retries, retry_on_status, retry_on_connect_error, backoff,
                                    backoff_factor, header, sign_key, sign_in, sign_ttl, sign_case)
        endpoint = _endpoint(target)
        if ca_bundle is not None and insecure:
            raise UsageError("--ca-bundle and --insecure exclude each other", location="--insecure",
                             hint="keep --ca-bundle to verify with your CA, or --insecure to skip checks")
        renderer = Renderer()
        if fmt:
            renderer.catalog.format(fmt, location="--format")
        spec = renderer.catalog.event(event, location="send")
        params = parse_assignments(param or [], flag="--param")
        check_params(spec, params, location="--param")
        plan = plan_send(event, params=params, set=parse_assignments(set_ or [], flag="--set"),
                         unset=unset or (), seed=seed, now=parse_now(now), fmt=fmt, renderer=renderer,
                         location="--set")
    except EmitterError as exc:
        fail(exc)
    announce_seed(plan.seed, plan.now)
    _deliver(plan, Timing(speed=0), options, endpoint, renderer, ca_bundle=ca_bundle, insecure=insecure,
             report=report, junit=junit, journal=None, append=False)


@app.command()
def load(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names, cycled.")],
    rate: Annotated[str | None, typer.Option(
        "--rate", "-r", envvar="VOD_EMITTER_LOAD_RATE",
        help="Open model: arrivals per second or minute (500/s, 500, 30000/m), each sent on time "
             "even while earlier ones wait.")] = None,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-c", envvar="VOD_EMITTER_LOAD_CONCURRENCY", min=1,
        help="Closed model instead of --rate: N senders, each sends when its previous answer is in.")] = None,
    duration: Annotated[str, typer.Option(
        "--duration", "-d", envvar="VOD_EMITTER_LOAD_DURATION",
        help="How long to send: 60s, 1m30s.")] = "10s",
    max_in_flight: Annotated[int | None, typer.Option(
        "--max-in-flight", envvar="VOD_EMITTER_LOAD_MAX_IN_FLIGHT", min=1,
        help="With --rate: arrivals beyond this many unanswered sends are dropped and counted "
             "(default 1000).")] = None,
    max_error_rate: Annotated[str, typer.Option(
        "--max-error-rate", envvar="VOD_EMITTER_LOAD_MAX_ERROR_RATE",
        help="Exit 1 above this share of errors (unexpected status, no answer, dropped): "
             "0, 0.01, 1%.")] = "0",
    json_file: Annotated[Path | None, typer.Option(
        "--json", envvar="VOD_EMITTER_LOAD_JSON", help="Write the summary as JSON to this file.")] = None,
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
) -> None:
    """Load a receiver: cycle scenarios at a rate (open model) or with N senders (closed model).

    Delays in the scenarios are ignored and nothing is retried. Cycle k renders with seed + k
    (fresh fileIds, replayable with --seed). A live view on stderr shows sent/s, latency
    percentiles and errors; the summary (latency histogram, totals, achieved rate) goes to stdout.

    Exit codes: 0 error rate within --max-error-rate, 1 above it, 2 usage or input error,
    130 interrupted (Ctrl-C; the summary is complete).
    """
    import asyncio

    from emitter import load as engine
    from emitter.errors import EmitterError, UsageError
    from emitter.render import Renderer
    from emitter.scenario import load_scenario
    from emitter.targets import resolve_target

    try:
        if max_in_flight is not None and concurrency is not None:
            raise UsageError("--max-in-flight applies to --rate (open model)", location="--max-in-flight",
                             hint="leave it out: --concurrency N never has more than N in flight")
        profile = engine.LoadProfile(
            duration=_seconds(duration, "--duration", positive=True),
            rate=engine.parse_rate(rate) if rate is not None else None,
            concurrency=concurrency,
            max_in_flight=max_in_flight or engine.DEFAULT_MAX_IN_FLIGHT,
            max_error_rate=engine.parse_fraction(max_error_rate),
        )
        options = _delivery_options(timeout, 0, False, False, "0", 2.0, header, sign_key, sign_in, sign_ttl,
                                    sign_case)
        endpoint = resolve_target(target) if target else None
        if ca_bundle is not None and insecure:
            raise UsageError("--ca-bundle and --insecure exclude each other", location="--insecure",
                             hint="keep --ca-bundle to verify with your CA, or --insecure to skip checks")
        renderer = Renderer()
        if fmt:
            renderer.catalog.format(fmt, location="--format")
        loaded = tuple(load_scenario(reference, renderer.catalog) for reference in scenarios)
        moment = parse_now(now)
        chosen = choose_seed(seed, loaded[0].seed)
        cycles = engine.Cycles(loaded, seed=chosen, now=moment, fmt=fmt, renderer=renderer)
        cycles.preflight()
        out = engine.open_json(json_file) if json_file is not None else None
    except EmitterError as exc:
        fail(exc)
    announce_seed(chosen, moment)
    try:
        report = asyncio.run(engine.play(cycles, profile, options, endpoint, ca_bundle=ca_bundle,
                                         insecure=insecure))
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
    raise typer.Exit(report.exit_code)


def version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"vod-emitter {version('vod-emitter')}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Play Tencent Cloud VOD event-notification callbacks against a receiver."""


def main() -> None:
    """Console entry point: click's usage errors exit 2, EmitterErrors print one line."""
    from emitter.errors import EmitterError

    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        app(standalone_mode=True)
    except EmitterError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
