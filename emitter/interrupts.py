"""SIGINT and SIGTERM, one way for run and load: stop gracefully, then abort; 130 or 143 as exit code."""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
INTERRUPTED = 130  # what an interrupted run reports; exit_code() turns it into the signal's code

_first_signal: int | None = None  # the first signal this process received (decides the exit code)
_holding = False


class Interrupted(KeyboardInterrupt):
    """SIGTERM outside a run: unwinds like Ctrl-C (reports close on the way out)."""


def _remember(signum: int) -> None:
    global _first_signal
    if _first_signal is None:
        _first_signal = signum


def received() -> int | None:
    """The first signal the process received, if any."""
    return _first_signal


def exit_code(code: int) -> int:
    """The process exit code for a command's `code`: an interrupted one (130) says which signal it was."""
    if code == INTERRUPTED and _first_signal is not None:
        return EXIT_CODES.get(signal.Signals(_first_signal), INTERRUPTED)
    return code


def hold_at_exit() -> None:
    """Block SIGINT and SIGTERM for the last steps of the process.

    Python restores the default handlers while it shuts down, so a late signal would kill a
    process whose reports are already complete (exit -15 instead of 143); blocked, it is dropped.
    """
    if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, set(SIGNALS))


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    _remember(signum)
    raise Interrupted(signum)


def _ignore_late(signum: int, frame: FrameType | None) -> None:
    """A signal after the run stopped: reports are being finished; let them finish."""
    _remember(signum)


def install_process_handlers() -> None:
    """For the console script: SIGTERM outside a run raises like Ctrl-C does (KeyboardInterrupt),
    and no signal kills the process once it is exiting (see hold_at_exit)."""
    global _holding
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupted)
        if not _holding:
            atexit.register(hold_at_exit)  # atexit runs before Python restores the default handlers
            _holding = True


def reset() -> None:
    """Forget the signal received (tests that run commands in one process)."""
    global _first_signal
    _first_signal = None


@contextlib.contextmanager
def trap(
    stop: Callable[[], None],
    abort: Callable[[], None],
    note: Callable[[str], None],
    in_flight: Callable[[], int],
    what: str = "sending nothing more",
) -> Iterator[None]:
    """While the block runs on the main thread's loop: the first SIGINT or SIGTERM calls `stop`
    (send nothing more, let what is in flight finish) and notes it; any later one calls `abort`.

    After a signal, the handlers left in place only take note of further signals: the run's
    teardown (reports, journal) finishes whatever is pressed. Elsewhere (another thread) it traps
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import asyncio  # only a run traps signals on its loop: not at every start

    loop = asyncio.get_running_loop()
    count = 0

    def first(signum: int) -> None:
        by = " by SIGTERM" if signum == signal.SIGTERM else ""
        note(f"interrupted{by}: {what}; waiting for {in_flight()} in flight (Ctrl-C again to abort them)")
        stop()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        _remember(signum)
        loop.call_soon_threadsafe(first if count == 1 else _abort, signum)

    def _abort(signum: int) -> None:
        abort()

    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, _ignore_late if count else handler)
