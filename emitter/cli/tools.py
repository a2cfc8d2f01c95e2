"""Tools for a receiver's developer: import (bodies -> scenario), schema (scenario and payload schemas)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emitter.cli.common import FormatOption, app, fail

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
