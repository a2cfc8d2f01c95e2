"""Test helpers shared by the test files: the command line in process or as the console script, waiting."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from typer.testing import CliRunner

SCRIPT = Path(sys.executable).with_name("vod-emitter")
TIMEOUT = 60


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without VOD_EMITTER_* settings, loopback never proxied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOD_EMITTER_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHONIOENCODING"] = "utf-8"
    return {**env, **(extra or {})}


def console_script(
    *args: str, check_code: int | None = None, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `vod-emitter` in a fresh interpreter (end-to-end; each costs an interpreter start)."""
    done = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        cwd=cwd,
        env=environment(env),
    )
    assert "Traceback" not in done.stderr, done.stderr
    if check_code is not None:
        assert done.returncode == check_code, (done.stdout, done.stderr)
    return done


def cli(
    *args: str, check_code: int | None = None, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`vod-emitter ARGS` in this process (typer's runner around the console entry point, so errors
    and exit codes are the script's), as a CompletedProcess."""
    from emitter.cli import main

    runner = CliRunner()
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VOD_EMITTER_")}
    overrides = {**unset, "NO_PROXY": "127.0.0.1,localhost", **(env or {})}
    code = 0
    here = Path.cwd()
    argv, path, modules = sys.argv, list(sys.path), set(sys.modules)
    with runner.isolation(env=overrides) as (stdout, stderr, _):
        sys.argv = ["vod-emitter", *args]
        try:
            if cwd is not None:
                os.chdir(cwd)
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        finally:
            sys.argv, sys.path[:] = argv, path
            os.chdir(here)
            if cwd is not None:  # apps imported from `cwd` (app:MODULE:ATTR) are the run's own
                for name in set(sys.modules) - modules:
                    if Path(getattr(sys.modules[name], "__file__", None) or "/").is_relative_to(cwd):
                        del sys.modules[name]
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue().decode("utf-8"), stderr.getvalue().decode("utf-8")
    done = subprocess.CompletedProcess(["vod-emitter", *args], code, out, err)
    assert "Traceback" not in done.stderr, done.stderr
    if check_code is not None:
        assert done.returncode == check_code, (done.stdout, done.stderr)
    return done


def wait_until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Poll `condition` every 20 ms until it is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class FakeTime:
    """A clock that only moves when something sleeps; every sleep is recorded (to the microsecond)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


class VirtualTime:
    """Time that jumps to the next sleeper's wake-up once every task is blocked (no real I/O here)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self.order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self.sleepers, (self.now + max(seconds, 0.0), next(self.order), future))
        await future

    async def drive(self) -> None:
        while True:
            for _ in range(50):
                await asyncio.sleep(0)
            while self.sleepers and self.sleepers[0][2].done():
                heapq.heappop(self.sleepers)
            if self.sleepers:
                wake, _, future = heapq.heappop(self.sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
