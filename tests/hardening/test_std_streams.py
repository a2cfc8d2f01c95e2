"""Closed standard streams (`<&-`, `>&-`, as some supervisors and cron lines leave them): the
commands run as with /dev/null (console script: the closing happens before the interpreter starts)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import SCRIPT, TIMEOUT, environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")


def with_closed(fds: tuple[int, ...], *args: str) -> subprocess.CompletedProcess[bytes]:
    def close() -> None:
        for fd in fds:
            os.close(fd)

    return subprocess.run(
        [str(SCRIPT), *args], preexec_fn=close, env=environment(), timeout=TIMEOUT, check=False,
        stdout=subprocess.DEVNULL if 1 in fds else subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_a_run_with_stdin_closed_sends_everything() -> None:
    done = with_closed((0,), "run", "happy-path", "--speed", "0", "--seed", "1")
    assert done.returncode == 0, done.stderr  # was -6: uvloop aborted closing a socket numbered 0
    assert b"4 of 4 sends: 4 delivered" in done.stdout


def test_render_with_stdout_closed_exits_0() -> None:
    done = with_closed((1,), "render", "happy-path", "--seed", "1")
    assert done.returncode == 0, done.stderr  # was a traceback: sys.stdout was None
    assert b"Traceback" not in done.stderr
