"""The `vod-emitter` command line: thin typer commands over the library; heavy imports inside."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from emitter.cli import delivery, load, offline, receive  # noqa: F401 - they register their commands
from emitter.cli.common import app


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
