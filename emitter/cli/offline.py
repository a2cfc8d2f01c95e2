"""Offline commands: events, events show, render, validate, scenarios (nothing is sent)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from emitter.cli.common import (
    SHARED_ENVIRONMENT,
    EnvelopeOption,
    EraOption,
    FormatOption,
    LocaleOption,
    NowOption,
    OptionOption,
    ParamOption,
    ProfileOption,
    SeedOption,
    SetOption,
    UnsetOption,
    announce_seed,
    app,
    choose_seed,
    events_app,
    fail,
    parse_now,
    render_options,
    string_params,
)

if TYPE_CHECKING:
    from emitter.payloads.catalog import EventSpec


@events_app.callback()
def events(ctx: typer.Context) -> None:
    """List every event kind with its aliases, EventType, formats and outcomes."""
    if ctx.invoked_subcommand:
        return
    from emitter.errors import EmitterError
    from emitter.payloads.catalog import load_catalog

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


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [text](target) -> text
_BARE_TARGET = re.compile(r"\s*\((?:#|https?://)[^)\s]*\)")  # a link target left without its text
_SDK_KIND = {"str": "String", "int": "Integer", "float": "Float", "bool": "Boolean", "time": "String"}


def plain_text(description: str) -> str:
    """A catalog description as text: markdown links keep their text, bare link targets go."""
    return _BARE_TARGET.sub("", _LINK.sub(r"\1", description))


def _wire_fields(sample: Any, documented: set[str]) -> list[str]:
    """The fields a v3 wire body carries from the SDK's structs beyond the documented ones."""
    from emitter.payloads.profiles import ZERO_TIME, sdk_structs

    zeros = {"str": '""', "int": "0", "float": "0", "bool": "false", "time": f'"{ZERO_TIME}"'}

    if not isinstance(sample, dict) or "EventType" not in sample:
        return []
    structs = sdk_structs()
    keys = [key for key, value in sample.items() if isinstance(value, dict) and key in structs.event_structs]
    lines: list[str] = []
    for key in keys:
        for path, kind in structs.paths(structs.event_structs[key], key):
            if path in documented:
                continue
            base, _, child = kind.partition(":")
            if base == "obj":
                shown = f"Object   {child}, null when absent"
            elif base == "list":
                shown = f"Array    {child or 'values'}, [] when empty"
            else:
                shown = f"{_SDK_KIND[base]:<8} {zeros[base]} when unset"
            lines.append(f"  {path:<40} {shown}")
    siblings = sum(1 for key in structs.era_keys["current"] if key in sample and sample[key] is None)
    if not lines and not siblings:
        return []
    header = [
        "",
        f"Fields the wire profile adds from the SDK's structs ({structs.sdk_version or 'SDK'}):",
    ]
    if siblings:
        header.append(f"  (every other event key, {siblings} in the current era, present as null)")
    return header + lines


def _describe_event(spec: EventSpec, fmt: str | None) -> str:
    import json

    from emitter.payloads.render import Renderer

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
            lines.append(f"  {doc.path:<40} {doc.type:<8} {plain_text(doc.description)}")
        session = renderer.session(seed=1, now=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), fmt=name)
        sample = session.render_event(spec)
        lines += _wire_fields(sample, {doc.path for doc in docs})
        lines += ["", f"Sample ({name}, seed 1):", json.dumps(sample, ensure_ascii=False, indent=2)]
    return "\n".join(lines)


@events_app.command("show")
def events_show(
    event: Annotated[str, typer.Argument(help="Alias (upload) or EventType (NewFileUpload).")],
    fmt: FormatOption = None,
) -> None:
    """Show an event's parameters, outcomes, documented fields and a sample payload."""
    from emitter.errors import EmitterError
    from emitter.payloads.catalog import load_catalog

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
    from emitter.errors import EmitterError, UsageError, hint_with_suggestion
    from emitter.payloads.catalog import load_catalog

    if Path(reference).is_file() or Path(reference).suffix in (".yaml", ".yml"):
        return False
    catalog = load_catalog()
    try:
        catalog.event(reference)
    except EmitterError:
        from emitter.scenarios.loader import builtin_scenarios

        builtins = builtin_scenarios()
        if reference in builtins:
            return False
        raise UsageError(
            f"'{reference}' is neither a scenario file, a built-in scenario nor an event",
            hint=hint_with_suggestion(
                reference,
                [*catalog.names(), *builtins],
                "see 'vod-emitter scenarios' and 'vod-emitter events'",
            ),
        ) from None
    return True


def _write_out(out: Path, index: int, label: str, event_type: str, body: bytes) -> None:
    from emitter.errors import UsageError

    path = out / f"{index:04d}-{label}-{event_type}.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body + b"\n")
    except OSError as exc:
        where = out if isinstance(exc, FileExistsError) or not out.is_dir() else path
        raise UsageError(
            f"cannot write {str(where)!r}: {exc.strerror or exc}",
            location="--out",
            hint="give a folder (it is created when missing)",
        ) from None


@app.command(context_settings=SHARED_ENVIRONMENT)
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
            "--out",
            "-o",
            help="Write one file per payload into this folder instead of JSON lines on stdout.",
        ),
    ] = None,
    option: OptionOption = None,
    profile: ProfileOption = None,
    era: EraOption = None,
    locale: LocaleOption = None,
    envelope: EnvelopeOption = None,
) -> None:
    """Render payloads without sending them: JSON lines on stdout, or files with --out."""
    from emitter.errors import EmitterError

    try:
        bodies = _render_bodies(
            target,
            seed,
            now,
            fmt,
            set_,
            unset,
            param,
            options=render_options(option, profile, era, locale),
            envelope=envelope,
        )
        for index, label, event_type, body in bodies:
            if out:
                _write_out(out, index, label, event_type, body)
            else:
                sys.stdout.buffer.write(body + b"\n")
        sys.stdout.flush()
    except EmitterError as exc:
        fail(exc)


def _render_bodies(
    target: str,
    seed: int | None,
    now: str | None,
    fmt: str | None,
    set_: list[str] | None,
    unset: list[str] | None,
    param: list[str] | None,
    *,
    options: dict[str, Any] | None = None,
    envelope: str | None = None,
) -> Any:
    from emitter.payloads.bodies import body_bytes
    from emitter.payloads.envelopes import check_envelope
    from emitter.payloads.options import parse_assignments
    from emitter.payloads.render import Overrides, Renderer

    overrides = Overrides(set=parse_assignments(set_ or [], flag="--set"), unset=tuple(unset or ()))
    options = options or {}
    if envelope:
        check_envelope(envelope)
    moment = parse_now(now)
    renderer = Renderer()
    if _target_is_event(target):
        params = parse_assignments(param or [], flag="--param", strings=string_params(target))
        chosen = choose_seed(seed)
        announce_seed(chosen, moment)
        spec = renderer.catalog.event(target)
        event_fmt = fmt or spec.default_format
        session = renderer.session(seed=chosen, now=moment, fmt=event_fmt, options=options)
        payload = session.render_event(spec, params, overrides, location="--param")
        if envelope:
            yield from _enveloped([payload], event_fmt, chosen)
            return
        yield 0, spec.kind, spec.event_type, body_bytes(payload)
        return
    from emitter.scenarios.loader import load_scenario  # (and PyYAML): not for a single event
    from emitter.scenarios.plan import render_events

    scenario = load_scenario(target)
    if param:
        from emitter.errors import UsageError

        raise UsageError(
            "--param applies to a single event", hint="put parameters in the scenario's vars or steps"
        )
    chosen = choose_seed(seed, scenario.seed)
    announce_seed(chosen, moment)
    events = render_events(scenario, seed=chosen, now=moment, fmt=fmt, renderer=renderer, options=options)
    if envelope:
        payloads = (overrides.apply(event.payload, location="--set") for event in events)
        yield from _enveloped(payloads, fmt or scenario.format, chosen)
        return
    for event in events:
        payload = overrides.apply(event.payload, location="--set") if (set_ or unset) else event.payload
        yield event.seq, event.label, event.event_type, body_bytes(payload) if (set_ or unset) else event.body


def _enveloped(payloads: Any, fmt: str, seed: int) -> Any:
    """(index, label, name, body) of each PULL response holding the payloads."""
    from emitter.payloads.bodies import body_bytes
    from emitter.payloads.envelopes import pull_responses

    name = "PullEvents" if fmt == "v3" else "PullEvent"
    for index, response in enumerate(pull_responses(payloads, fmt=fmt, seed=seed)):
        yield index, f"pull-{index + 1}", name, body_bytes(response)


@app.command(context_settings=SHARED_ENVIRONMENT)
def validate(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or built-in names.")],
    fmt: FormatOption = None,
) -> None:
    """Check scenarios: syntax, names, references, overrides (by rendering them once)."""
    from emitter.errors import EmitterError
    from emitter.scenarios.loader import load_scenario
    from emitter.scenarios.plan import render_events

    failed = 0
    for reference in scenarios:
        try:
            scenario = load_scenario(reference)
            events = render_events(
                scenario, seed=scenario.seed or 0, now=parse_now(None), fmt=fmt, each_step_once=True
            )
            for _ in events:  # each step rendered once: the cost follows the file, not its repeats
                pass
            typer.echo(
                f"ok  {reference}: {len(scenario.steps)} steps, {scenario.events} events "
                f"({fmt or scenario.format})"
            )
        except EmitterError as exc:
            failed += 1
            typer.echo(f"error: {exc}", err=True)
    if failed:
        raise typer.Exit(2)


@app.command(context_settings=SHARED_ENVIRONMENT)
def scenarios() -> None:
    """List the built-in scenarios with their descriptions."""
    from emitter.errors import EmitterError
    from emitter.scenarios.loader import builtin_scenarios, load_scenario

    try:
        found = builtin_scenarios()
        width = max((len(n) for n in found), default=10)
        for name, path in found.items():
            scenario = load_scenario(path)
            first_line = scenario.description.splitlines()[0] if scenario.description else ""
            typer.echo(f"{name:<{width}}  {first_line}")
    except EmitterError as exc:
        fail(exc)
