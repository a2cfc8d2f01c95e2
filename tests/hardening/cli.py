"""The console script's main() in process (typer's CliRunner isolation): exit code, stdout, stderr."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping

from typer.testing import CliRunner

from emitter import interrupts
from emitter.cli import main

RUNNER = CliRunner()


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> tuple[int, str, str]:
    """Run `vod-emitter ARGS` as the console script would; any exception but SystemExit propagates."""
    environment = {"VOD_EMITTER_SEED": None, "VOD_EMITTER_TARGET": None, **(env or {})}
    previous = signal.getsignal(signal.SIGTERM), sys.argv
    code: int = 0
    with RUNNER.isolation(env=environment) as (out, err, _):
        sys.argv = ["vod-emitter", *args]
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            sys.argv = previous[1]
            interrupts.reset()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return code, stdout, stderr


def one_line_error(stderr: str) -> str:
    """The single `error: ...` line of a failed command (asserts there is exactly one, no traceback)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]
