"""Shared pieces of the command line: the app, option types, and helpers every command uses."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from emitter.clock import utc_stamp

if TYPE_CHECKING:
    from emitter.delivery.deliver import DeliveryOptions

# Every option of a command reads VOD_EMITTER_<OPTION> from the environment (click's
# auto_envvar_prefix; `--help` names each variable), so shared options keep one name everywhere;
# a command whose options are its own (receive) reads VOD_EMITTER_<COMMAND>_<OPTION>.
ENVIRONMENT_PREFIX = "VOD_EMITTER"
SHARED_ENVIRONMENT = {"auto_envvar_prefix": ENVIRONMENT_PREFIX}


def own_environment(command: str) -> dict[str, str]:
    return {"auto_envvar_prefix": f"{ENVIRONMENT_PREFIX}_{command.upper()}"}


app = typer.Typer(
    name="vod-emitter",
    help="Play Tencent Cloud VOD event-notification callbacks against a receiver.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
events_app = typer.Typer(
    help="List the event catalog, or show one event's fields.",
    invoke_without_command=True,
    context_settings=SHARED_ENVIRONMENT,
)
app.add_typer(events_app, name="events")


def env_lines(ctx: typer.Context, param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """A repeatable option from the environment holds one value per line (values keep their spaces:
    VOD_EMITTER_SET='data.fileName=My Video'), not one per word as click splits by default."""
    source = ctx.get_parameter_source(param.name or "")
    if not value or source is None or source.name != "ENVIRONMENT" or not param.name:
        return value
    envvar = param.envvar or f"{ctx.auto_envvar_prefix}_{param.name.upper()}"
    names = [envvar] if isinstance(envvar, str) else list(envvar)
    text = next((os.environ[name] for name in names if os.environ.get(name)), None)
    return value if text is None else [line.strip() for line in text.splitlines() if line.strip()]


def unset_paths(ctx: typer.Context, param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """--unset paths (env_lines), each checked here so that a bad one is named as --unset's."""
    from emitter.errors import EmitterError
    from emitter.payloads.paths import parse_path

    paths = env_lines(ctx, param, value)
    for path in paths or ():
        try:
            parse_path(path)
        except EmitterError as exc:
            exc.location = "--unset"
            raise
    return paths


SeedOption = Annotated[
    int | None,
    typer.Option("--seed", help="Seed of the run (printed when not given).", min=0),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Moment of the run, ISO 8601 (default: now)."),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        envvar="VOD_EMITTER_FORMAT",
        help="Payload format: v2, v3 or cdnetworks (default: the scenario's).",
    ),
]
OptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        help="Format option NAME=VALUE, over the scenario's options (repeatable): "
        "keep_nulls=true, null_event_keys=true (2019-style v3), wechat_key=WechatPublishComplete.",
        callback=env_lines,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="VOD_EMITTER_PROFILE",
        help="Payload profile: wire (as production sends: zero values, null sibling keys, float "
        "durations; default) or docs (the documentation's shape).",
    ),
]
EraOption = Annotated[
    str | None,
    typer.Option(
        "--era",
        envvar="VOD_EMITTER_ERA",
        help="Wire profile, v3: the null sibling event keys of current (the SDK's, default) or 2021 bodies.",
    ),
]
LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale",
        envvar="VOD_EMITTER_LOCALE",
        help="File names, titles and authors in a faker locale, e.g. zh_CN (default: the built-in words).",
    ),
]
EnvelopeOption = Annotated[
    str | None,
    typer.Option(
        "--envelope",
        help="Wrap payloads as the reliable-callback API returns them: "
        "pull (responses of at most 16 events).",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        envvar="VOD_EMITTER_SET",
        help="Override a payload path after rendering: PATH=VALUE (repeatable).",
        callback=env_lines,
    ),
]
UnsetOption = Annotated[
    list[str] | None,
    typer.Option("--unset", help="Remove a payload path after rendering (repeatable).", callback=unset_paths),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Semantic parameter NAME=VALUE, e.g. -p status=fail (repeatable).",
        callback=env_lines,
    ),
]


# Library keywords whose command-line option is spelled differently.
_OPTION_OF = {"options": "option", "params": "param", "headers": "header", "set": "set_"}


def flag_for(location: str | None) -> str | None:
    """The command-line spelling of an error's location: a library keyword (`sign_in`) becomes the
    current command's flag (`--sign-in`), an argument's name the command's; others stay as they are."""
    if not location:
        return location
    import importlib

    package = typer.BadParameter.__module__.rpartition(".")[0]  # typer may vendor click
    context = importlib.import_module(f"{package}.globals").get_current_context(silent=True)
    if context is None:
        return location
    name = _OPTION_OF.get(location, location)
    for param in context.command.params:
        if param.name != name:
            continue
        if param.param_type_name == "argument":
            return str(context.info_name)
        longest = max(param.opts, key=len)
        return str(longest)
    return location


def render_options(
    option: list[str] | None = None,
    profile: str | None = None,
    era: str | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """Render options from --option NAME=VALUE, --profile, --era and --locale (the flags win), checked."""
    from emitter.payloads.options import check_options, parse_options

    options = parse_options(option or [])
    if profile is not None:
        options["profile"] = profile
        check_options({"profile": profile}, location="--profile")
    if era is not None:
        options["era"] = era
        check_options({"era": era}, location="--era")
    if locale is not None:
        options["locale"] = locale
        check_options({"locale": locale}, location="--locale")
    return options


# The flags of run, send and load that shape each send (load has no retry flags: it never retries).
DELIVERY_FLAGS = (
    "timeout",
    "retries",
    "retry_on_status",
    "retry_on_connect_error",
    "backoff",
    "backoff_factor",
    "header",
    "sign_key",
    "sign_in",
    "sign_ttl",
    "sign_case",
)


def delivery_from_flags(flags: dict[str, Any]) -> DeliveryOptions:
    """The DeliveryOptions of a command's delivery flags (its `locals()`: those of DELIVERY_FLAGS it has)."""
    from emitter.request import delivery_options

    chosen = {name: flags[name] for name in DELIVERY_FLAGS if name in flags}
    chosen["headers"] = chosen.pop("header", None) or ()
    return delivery_options(**chosen)


def fail(error: Exception) -> NoReturn:
    """Print one line for an error a user caused (naming the flag) and exit with its code."""
    from emitter.errors import EmitterError

    code = getattr(error, "exit_code", 2)
    if isinstance(error, EmitterError):
        error.location = flag_for(error.location)
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code)


def parse_now(value: str | None) -> dt.datetime:
    from emitter.clock import parse_moment

    return parse_moment(value, location="now")


def choose_seed(seed: int | None, scenario_seed: int | None = None) -> int:
    """The run's seed: the flag, else the scenario's, else a fresh one (announce_seed prints it)."""
    import random

    chosen = seed if seed is not None else scenario_seed
    if chosen is None:
        chosen = random.SystemRandom().randrange(2**31)
    return chosen


def announce_seed(seed: int, now: dt.datetime) -> None:
    stamp = utc_stamp(now)
    typer.echo(f"seed {seed} (replay: --seed {seed} --now {stamp})", err=True)


TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        "-t",
        help="Receiver URL. Without one, the built-in receiver starts and shows what it gets.",
    ),
]
AppTargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        "-t",
        help="Receiver URL, or app:MODULE:ATTR to call an ASGI or WSGI app in process, "
        "without a server (app:MODULE:ATTR/PATH for a route). Without one, the built-in "
        "receiver starts and shows what it gets.",
    ),
]
TimeoutOption = Annotated[
    str,
    typer.Option(
        "--timeout",
        help="Seconds to wait for an answer: 5, 0.2, 200ms (the real service: 5 s).",
    ),
]
RetriesOption = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        help="Retries after a timeout (the real service: 2, so 3 sends at most).",
    ),
]
RetryOnStatusOption = Annotated[
    bool,
    typer.Option(
        "--retry-on-status",
        help="Also retry when the status is not the expected one (default: 2xx).",
    ),
]
RetryOnConnectErrorOption = Annotated[
    bool,
    typer.Option(
        "--retry-on-connect-error",
        help="Also retry on refused and dropped connections.",
    ),
]
BackoffOption = Annotated[
    str,
    typer.Option(
        "--backoff",
        help="Wait before the first retry: 0.5, 500ms; multiplied by --backoff-factor after each.",
    ),
]
BackoffFactorOption = Annotated[
    float,
    typer.Option(
        "--backoff-factor",
        min=1.0,
        help="Growth of the wait between retries.",
    ),
]
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header", "-H", help="Extra request header 'Name: value' (repeatable).", callback=env_lines
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option("--ca-bundle", help="PEM file of CAs to trust for https."),
]
InsecureOption = Annotated[
    bool,
    typer.Option("--insecure", help="Do not verify the https certificate."),
]
SignKeyOption = Annotated[
    str | None,
    typer.Option(
        "--sign-key",
        help="Sign like VOD's SignKey: T = Unix expiry, Sign = md5(KEY + T). Off by default.",
    ),
]
SignInOption = Annotated[
    str,
    typer.Option(
        "--sign-in",
        help="Where Sign and T travel: body (top-level JSON keys), query or header.",
    ),
]
SignTtlOption = Annotated[
    int,
    typer.Option("--sign-ttl", min=1, help="Seconds from now to T."),
]
SignCaseOption = Annotated[
    str,
    typer.Option(
        "--sign-case",
        help="valid, or a negative case: expired, wrong, missing (T without Sign), none. "
        "A step's 'sign:' wins.",
    ),
]
EventsOption = Annotated[
    str | None,
    typer.Option(
        "--events",
        help="Send only these event types, as an account's subscription does (aliases or EventTypes, "
        "comma-separated; over a scenario's 'subscribe:'). The others are reported as filtered.",
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option("--report", help="Write a JSON report: one row per send."),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option("--html", help="Write a self-contained HTML report: summary, failures, timeline, bodies."),
]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", help="Write JUnit XML: one testcase per send."),
]
SpeedOption = Annotated[
    float,
    typer.Option(
        "--speed",
        min=0.0,
        help="Time factor for delays: 2 = twice as fast, 0 = no waiting.",
    ),
]
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-c",
        min=1,
        help="Sends in flight at once (1 = one after another, like the real service).",
    ),
]
ShuffleWindowOption = Annotated[
    int,
    typer.Option(
        "--shuffle-window",
        min=0,
        help="Shuffle the order within windows of N sends (seeded by --seed).",
    ),
]
ReverseWindowOption = Annotated[
    int,
    typer.Option(
        "--reverse-window",
        min=0,
        help="Reverse the order within windows of N sends.",
    ),
]
JitterOption = Annotated[
    str,
    typer.Option(
        "--jitter",
        help="Add a random wait of up to this before each send: 200ms (seeded by --seed).",
    ),
]
JournalOption = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        help="Write JSON lines as it goes: a header, every attempt, every result (for --resume).",
    ),
]
ResumeOption = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        help="Re-send what a --journal run did not deliver (its seed, now, format and scenarios).",
    ),
]


def parse_seconds(value: str, keyword: str) -> float:
    """A duration option: 5, 0.2, 200ms, 1m30s (errors name the keyword; fail() names the flag)."""
    from emitter.clock import parse_duration

    return parse_duration(value, location=keyword, text_numbers=True)


def string_params(event: str) -> frozenset[str]:
    """The event's string parameters (their `-p` values stay text); none for an unknown event."""
    from emitter.errors import EmitterError
    from emitter.payloads.catalog import load_catalog

    try:
        spec = load_catalog().event(event)
    except EmitterError:
        return frozenset()  # the library reports the unknown event where it looks it up
    return frozenset(name for name, param in spec.params.items() if param.type == "str")
