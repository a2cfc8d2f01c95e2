"""The `vod-emitter` command line: thin typer commands over the library; heavy imports inside."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from emitter.cli import api, delivery, load, offline, receive, tools  # noqa: F401 - they register their commands
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
    """Console entry point: every error a user can cause is one line `error: ...` and its exit code."""
    from emitter import interrupts
    from emitter.errors import EmitterError

    interrupts.install_process_handlers()  # SIGTERM ends a command as Ctrl-C does (exit 143)

    # typer may vendor click; its exception classes are the ones typer.BadParameter derives from.
    click_errors = sys.modules[typer.BadParameter.__module__]
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        code = app(standalone_mode=False)
    except getattr(click_errors, "NoArgsIsHelpError", ()) as exc:
        exc.show()  # a bare command prints its help, as click does
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "vod-emitter"
        message = " ".join(exc.format_message().split()).rstrip(".")
        typer.echo(f"error: {message}; see '{where} --help'", err=True)
        sys.exit(exc.exit_code)
    except EmitterError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        code = 130
    sys.exit(interrupts.exit_code(code if isinstance(code, int) else 0))
