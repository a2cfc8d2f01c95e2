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
events_app = typer.Typer(help="List the event catalog, or show one event's fields.", invoke_without_command=True)
app.add_typer(events_app, name="events")

SeedOption = Annotated[
    int | None,
    typer.Option("--seed", envvar="VOD_EMITTER_SEED", help="Seed of the run (printed when not given).", min=0),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", envvar="VOD_EMITTER_NOW", help="Moment of the run, ISO 8601 (default: now)."),
]
FormatOption = Annotated[
    str | None,
    typer.Option("--format", "-f", envvar="VOD_EMITTER_FORMAT", help="Payload format: v2 (default: the scenario's)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", envvar="VOD_EMITTER_SET", help="Override a payload path after rendering: PATH=VALUE (repeatable)."),
]
UnsetOption = Annotated[
    list[str] | None,
    typer.Option("--unset", envvar="VOD_EMITTER_UNSET", help="Remove a payload path after rendering (repeatable)."),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", envvar="VOD_EMITTER_PARAM", help="Semantic parameter NAME=VALUE, e.g. -p status=fail (repeatable)."),
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
        fail(UsageError(f"--now {value!r} is not an ISO 8601 time", hint="write e.g. --now 2024-05-01T12:00:00Z"))
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

    try:
        catalog = load_catalog()
    except Exception as exc:  # noqa: BLE001 - EmitterError only, re-raised by fail
        fail(exc)
    width = max(len(", ".join(s.aliases)) for s in catalog.events.values())
    typer.echo(f"{'ALIASES':<{width}}  {'EVENT TYPE':<35} {'FORMATS':<14} OUTCOMES")
    for spec in catalog.events.values():
        typer.echo(
            f"{', '.join(spec.aliases):<{width}}  {spec.event_type:<35} {','.join(spec.formats):<14} "
            f"{', '.join(spec.outcomes)}"
        )
    typer.echo("\n'vod-emitter events show EVENT' shows an event's parameters, fields and a sample.")


def _describe_event(spec: EventSpec, fmt: str | None) -> str:
    import json

    from emitter.render import Renderer

    lines = [f"{spec.event_type} ({', '.join(spec.aliases)}): {spec.summary}", "", "Parameters (semantic, every format):"]
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
    target: Annotated[str, typer.Argument(help="Scenario file, built-in scenario name, or event (upload, ConcatComplete ...).")],
    seed: SeedOption = None,
    now: NowOption = None,
    fmt: FormatOption = None,
    set_: SetOption = None,
    unset: UnsetOption = None,
    param: ParamOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", envvar="VOD_EMITTER_OUT", help="Write one file per payload into this folder instead of JSON lines on stdout.")] = None,
) -> None:
    """Render payloads without sending them: JSON lines on stdout, or files with --out."""
    from emitter.errors import EmitterError

    try:
        for index, label, event_type, body in _render_bodies(target, seed, now, fmt, set_, unset, param):
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
) -> Any:
    from emitter.plan import body_bytes, render_scenario
    from emitter.render import Overrides, Renderer, parse_assignments
    from emitter.scenario import load_scenario

    overrides = Overrides(set=parse_assignments(set_ or [], flag="--set"), unset=tuple(unset or ()))
    moment = parse_now(now)
    renderer = Renderer()
    if _target_is_event(target):
        params = parse_assignments(param or [], flag="--param")
        chosen = choose_seed(seed)
        announce_seed(chosen, moment)
        session = renderer.session(seed=chosen, now=moment, fmt=fmt or "v2")
        spec = renderer.catalog.event(target)
        payload = session.render_event(spec, params, overrides, location="--param")
        yield 0, spec.kind, spec.event_type, body_bytes(payload)
        return
    scenario = load_scenario(target)
    if param:
        from emitter.errors import UsageError

        raise UsageError("--param applies to a single event", hint="put parameters in the scenario's vars or steps")
    chosen = choose_seed(seed, scenario.seed)
    announce_seed(chosen, moment)
    for event in render_scenario(scenario, seed=chosen, now=moment, fmt=fmt, renderer=renderer):
        payload = overrides.apply(event.payload, location="--set") if (set_ or unset) else event.payload
        yield event.seq, event.label, event.event_type, body_bytes(payload) if (set_ or unset) else event.body


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
            count = sum(1 for _ in render_scenario(scenario, seed=scenario.seed or 0, now=parse_now(None), fmt=fmt))
            typer.echo(f"ok  {reference}: {len(scenario.steps)} steps, {count} events ({fmt or scenario.format})")
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
            typer.echo(f"{name:<{width}}  {scenario.description.splitlines()[0] if scenario.description else ''}")
    except EmitterError as exc:
        fail(exc)


def version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"vod-emitter {version('vod-emitter')}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")] = False,
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
