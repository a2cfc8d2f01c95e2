"""The loop runs play on: uvloop by default where installed, asyncio's when asked or without it."""

from __future__ import annotations

import asyncio
import sys

import pytest

from emitter import eventloop
from emitter.errors import UsageError
from emitter.receiver.server import Receiver
from tests.helpers import cli


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_runs_on_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(eventloop.LOOP_VARIABLE, raising=False)
    assert eventloop.chosen_loop() == "uvloop"
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_a_run_that_waits_plays_on_asyncio_for_its_finer_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_VARIABLE, raising=False)
    assert eventloop.run(_loop_module(), waits=True).startswith("asyncio")


def test_asyncio_when_the_variable_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.LOOP_VARIABLE, " Asyncio ")
    assert eventloop.chosen_loop() == "asyncio"
    assert eventloop.run(_loop_module()).startswith("asyncio")


def test_asyncio_when_uvloop_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_VARIABLE, raising=False)
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an import of a missing module finds
    assert eventloop.chosen_loop() == "asyncio"
    assert eventloop.run(_loop_module()).startswith("asyncio")


def test_an_unknown_loop_is_a_usage_error_and_the_coroutine_never_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(eventloop.LOOP_VARIABLE, "tokio")
    coroutine = _loop_module()
    with pytest.raises(UsageError) as raised:
        eventloop.run(coroutine)
    assert raised.value.location == eventloop.LOOP_VARIABLE
    assert "'tokio'" in raised.value.message and "uvloop or asyncio" in (raised.value.hint or "")
    assert coroutine.cr_frame is None  # closed: no 'never awaited' warning


@pytest.mark.parametrize("command", ["run", "load"])
def test_the_cli_refuses_an_unknown_loop_before_sending(receiver: Receiver, command: str) -> None:
    extra = ["--duration", "1s", "--rate", "5/s"] if command == "load" else []
    done = cli(
        command, "happy-path", "--target", receiver.url, *extra, env={eventloop.LOOP_VARIABLE: "tokio"}
    )
    assert done.returncode == 2
    assert "VOD_EMITTER_LOOP" in done.stderr and "Traceback" not in done.stderr
    assert receiver.received == 0


def test_a_run_delivers_the_same_on_either_loop(receiver: Receiver) -> None:
    bodies = []
    for loop in eventloop.LOOPS:
        receiver.clear()
        done = cli(
            "run",
            "happy-path",
            "--target",
            receiver.url,
            "--speed",
            "0",
            "--seed",
            "3",
            env={eventloop.LOOP_VARIABLE: loop},
        )
        assert done.returncode == 0, done.stderr
        bodies.append([record.body for record in receiver.wait_for(4)])
    assert len(bodies[0]) == 4 and bodies[0] == bodies[1]
