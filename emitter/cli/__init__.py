"""The `vod-emitter` command line: thin typer commands over the library; heavy imports inside."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from emitter.cli import common

# The modules that register commands, in the order --help lists them, and the commands of each:
# a command line that names a command loads its module only (every module's options and imports
# cost a cold start); help, completion and anything else load them all.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "api": ("api",),
    "delivery": ("run", "send"),
    "load": ("load",),
    "offline": ("events", "render", "validate", "scenarios"),
    "receive": ("receive",),
    "tools": ("import", "schema", "fuzz"),
}
_MODULE_OF = {command: module for module, commands in COMMAND_MODULES.items() for command in commands}


def load_commands(argv: Sequence[str] | None = None) -> typer.Typer:
    """The app with the commands `argv` (the arguments after the program name) can reach: the
    named command's module, or every module (None, an option first, an unknown name, completion)."""
    named = argv[0] if argv else None
    module = _MODULE_OF.get(named or "") if named is not None else None
    completing = any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)
    modules = [module] if module is not None and not completing else list(COMMAND_MODULES)
    for name in modules:
        importlib.import_module(f"emitter.cli.{name}")
    if len(modules) > 1:  # the order of a fresh process, whatever loaded first
        order = {name: index for index, name in enumerate(COMMAND_MODULES)}
        common.app.registered_commands.sort(
            key=lambda info: order.get(getattr(info.callback, "__module__", "").rpartition(".")[2], 0)
        )
    return common.app


def __getattr__(name: str) -> Any:
    """`emitter.cli.app`: the app with every command (tests, tools)."""
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"vod-emitter {version('vod-emitter')}")
        raise typer.Exit()


@common.app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Play Tencent Cloud VOD event-notification callbacks against a receiver."""


# Commands whose work matters more than their console: when stdout's reader goes away
# (`vod-emitter run ... | head -1`), they go on with their output dropped, so every send still
# ends up in the reports and the exit code is the run's. The others only print: they stop.
KEEP_GOING = frozenset({"run", "send", "load", "receive", "api", "fuzz"})
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for cat or grep in the same place
MAX_COLUMNS = 1000  # of COLUMNS: rich lays help out to that width (99999999 took minutes)


class StdoutClosed(Exception):
    """stdout's reader went away and the command only prints: it stops (exit 141)."""


class _PipeGuard:
    """sys.stdout (or its buffer) whose reader may go away: what follows is dropped, and for a
    command that only prints, StdoutClosed stops it (never a traceback, never exit 1)."""

    def __init__(self, stream: Any, keep_going: bool):
        self._stream = stream
        self._keep_going = keep_going

    def write(self, data: Any) -> int:
        try:
            return int(self._stream.write(data))
        except BrokenPipeError:
            self._closed()
            return len(data)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()

    @property
    def buffer(self) -> _PipeGuard:
        return _PipeGuard(self._stream.buffer, self._keep_going)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _closed(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)  # later writes, and the flush at exit, go nowhere
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        if not self._keep_going:
            raise StdoutClosed


def _open_std_streams() -> None:
    """A closed stdin, stdout or stderr (`<&-`, `>&-`) becomes /dev/null: else the first socket
    takes its number (uvloop aborts the process when it closes a socket numbered 0 to 2) and
    Python leaves sys.stdout None."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115 (for the process)


def main() -> None:
    """Console entry point: every error a user can cause is one line `error: ...` and its exit code."""
    from emitter import interrupts
    from emitter.errors import EmitterError

    _open_std_streams()
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > MAX_COLUMNS:
        os.environ["COLUMNS"] = str(MAX_COLUMNS)
    interrupts.install_process_handlers()  # SIGTERM ends a command as Ctrl-C does (exit 143)

    # typer may vendor click; its exception classes are the ones typer.BadParameter derives from.
    click_errors = sys.modules[typer.BadParameter.__module__]
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app = load_commands(sys.argv[1:])
    stdout = sys.stdout
    sys.stdout = _PipeGuard(stdout, keep_going=bool(sys.argv[1:]) and sys.argv[1] in KEEP_GOING)
    try:
        code = app(standalone_mode=False)
    except StdoutClosed:
        sys.exit(EXIT_STDOUT_CLOSED)
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
    finally:
        sys.stdout = stdout
    sys.exit(interrupts.exit_code(code if isinstance(code, int) else 0))
