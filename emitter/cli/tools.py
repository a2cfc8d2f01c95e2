"""Tools for a receiver's developer: import (bodies -> scenario), schema (scenario and payload schemas)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emitter.cli.common import FormatOption, ProfileOption, SeedOption, app, choose_seed, fail

OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write to this file instead of stdout."),
]


def _write(text: str, out: Path | None, flag: str = "--out") -> None:
    from emitter.errors import UsageError

    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(
            UsageError(
                f"cannot write {str(out)!r}: {exc.strerror or exc}",
                location=flag,
                hint="pick a writable path",
            )
        )


@app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Bodies to reproduce: JSON bodies, JSON arrays or lines of bodies, receiver journals "
            "('receive --journal'), PullEvents responses (v2, v3, cdnetworks)."
        ),
    ],
    out: OutOption = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed the scenario renders with (the recording's, if known).")
    ] = 0,
    name: Annotated[
        str | None, typer.Option("--name", help="Scenario name (default: the first file's).")
    ] = None,
) -> None:
    """Turn recorded or captured bodies into a scenario whose render gives them back."""
    from emitter.errors import EmitterError
    from emitter.importer import import_files

    try:
        result = import_files(files, seed=seed, name=name)
    except EmitterError as exc:
        fail(exc)
    _write(result.text, out)
    typer.echo(result.summary(), err=True)


@app.command("schema")
def schema(
    what: Annotated[
        str,
        typer.Argument(help="'scenario' (scenario files), or an event (upload, ProcedureStateChanged ...)."),
    ],
    fmt: FormatOption = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Payload profile: wire (nullable, as production) or docs.")
    ] = "wire",
    out: OutOption = None,
) -> None:
    """Print a JSON Schema (2020-12): of scenario files, or of one event's payload for receivers."""
    from emitter.errors import EmitterError, UsageError
    from emitter.schemas.scenario import schema_text

    try:
        if what == "scenario":
            from emitter.schemas.scenario import SHIPPED

            if fmt is not None:
                raise UsageError("--format applies to event schemas", location="--format", hint="drop it")
            text = SHIPPED.read_text(encoding="utf-8")
        else:
            from emitter.schemas.payload import payload_schema

            try:
                text = schema_text(payload_schema(what, fmt, profile=profile))
            except EmitterError as exc:
                flag = {"event": "WHAT", "format": "--format", "profile": "--profile"}.get(exc.location or "")
                raise UsageError(exc.message, location=flag or exc.location, hint=exc.hint) from None
    except EmitterError as exc:
        fail(exc)
    _write(text, out)


@app.command("fuzz")
def fuzz_command(
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            envvar="VOD_EMITTER_TARGET",
            help="Receiver URL, or app:MODULE:ATTR for an ASGI or WSGI app in process "
            "(app:MODULE:ATTR/PATH for a route).",
        ),
    ],
    fmt: FormatOption = None,
    profile: ProfileOption = None,
    events: Annotated[
        str | None,
        typer.Option("--events", help="Comma-separated events to fuzz (default: every event of the format)."),
    ] = None,
    seed: SeedOption = None,
    max_examples: Annotated[
        int,
        typer.Option(
            "--max-examples", min=1, max=100_000, help="Examples per phase (sweep, then hypothesis)."
        ),
    ] = 200,
    budget: Annotated[
        str, typer.Option("--budget", help="Time budget of the whole run: 60s, 5m ...")
    ] = "60s",
    timeout: Annotated[str, typer.Option("--timeout", help="Deadline of one request.")] = "2s",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the reproducer scenarios of failures.")
    ] = Path("fuzz-findings"),
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report.")] = None,
) -> None:
    """Fuzz a receiver with mutated real payloads; failures (5xx, timeout, dropped) become scenario files.

    Exit 1 when the receiver failed on any case; each failure is shrunk to a minimal body and
    written as a scenario: 'vod-emitter run FILE --target ...' replays it.
    """
    from emitter.clock import parse_duration
    from emitter.errors import EmitterError, UsageError
    from emitter.fuzz import fuzz

    chosen = choose_seed(seed)
    page_file = None
    if html is not None:
        from emitter.reports.files import OutputFile

        try:
            page_file = OutputFile(html, "--html")  # opened first: a bad path costs no requests
        except EmitterError as exc:
            fail(exc)
    try:
        seconds = {
            flag: parse_duration(value, location=flag)
            for flag, value in (("--budget", budget), ("--timeout", timeout))
        }
        names = [e.strip() for e in events.split(",") if e.strip()] if events else None
        typer.echo(
            f"fuzzing {target}: format {fmt or 'v3'}, seed {chosen} (replay: --seed {chosen})", err=True
        )
        report = fuzz(
            target,
            events=names,
            fmt=fmt or "v3",
            profile=profile,
            seed=chosen,
            max_examples=max_examples,
            budget=seconds["--budget"],
            timeout=seconds["--timeout"],
            out=out,
        )
    except EmitterError as exc:
        flags = {"events": "--events", "format": "--format", "profile": "--profile", "target": "--target"}
        flags.update({"budget": "--budget", "timeout": "--timeout", "out": "--out"})
        fail(UsageError(exc.message, location=flags.get(exc.location or "", exc.location), hint=exc.hint))
    for line in report.table():
        typer.echo(line)
    for finding in report.findings:
        answer = finding.answer
        typer.echo(
            f"FAIL {finding.case.describe()} -> {answer.status or answer.klass}: {answer.detail[:120]}"
        )
        typer.echo(f"     reproduce: vod-emitter run {finding.path} --target {target}")
    typer.echo(report.summary())
    if page_file is not None:
        from emitter.reports.html import fuzz_page

        page_file.write(fuzz_page(report))
        try:
            page_file.close()
        except EmitterError as exc:
            fail(exc)
    raise typer.Exit(report.exit_code)
