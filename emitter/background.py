"""Serving an asyncio server from a daemon thread's own event loop, for synchronous callers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

_S = TypeVar("_S", bound="ServedInThread")

CANCEL_ROUNDS = 50
CANCEL_WAIT = 0.1
"""Seconds a cancelled connection has to end before it is cancelled again (at most 50 times)."""


@contextlib.contextmanager
def serving_in_thread(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    name: str,
    what: str,
    timeout: float,
) -> Iterator[None]:
    """Run `start()` then the loop in a thread until the block ends, then `stop()`; a failure to
    start is raised in the caller's thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(stop())
            loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise TimeoutError(f"{what} did not start within {timeout:g} s")
    if failure:
        raise failure[0]
    try:
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


async def close_server(server: asyncio.Server, connections: set[asyncio.Task[Any]]) -> None:
    """Stop listening, cancel the connections still open (pending delays included), wait for both.

    A connection is cancelled again until it ends: on Python 3.11, asyncio.wait_for returns what
    it waited for when that arrives in the turn it is cancelled, and the cancel is lost (the
    connection would then wait for its client's next request, minutes on a kept-alive one).
    """
    server.close()
    for _ in range(CANCEL_ROUNDS):
        still_open = [task for task in connections if not task.done()]
        if not still_open:
            break
        for task in still_open:
            task.cancel()
        await asyncio.wait(still_open, timeout=CANCEL_WAIT)
    await server.wait_closed()


MAX_CONNECTIONS = 512  # open at once; more are closed at once (each costs a file descriptor)


class ServedInThread:
    """A server with start()/stop(): an async context manager, or served from a daemon thread's own
    event loop for synchronous callers (SDK clients, tests); `THREAD` names the thread and what it is.
    Its connections are counted (admitted / let_go), at most `max_connections` at once."""

    THREAD = ("vod-emitter-server", "the server")
    max_connections: int
    refused_connections: int  # closed at once: over max_connections
    _connections: set[asyncio.Task[Any]]

    def admitted(self, writer: asyncio.StreamWriter) -> bool:
        """Whether a new connection is served: over max_connections it is closed at once (a file
        descriptor is worth more than this client), else its task counts among the open ones."""
        if len(self._connections) >= self.max_connections:
            self.refused_connections += 1
            writer.close()
            return False
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        return True

    def let_go(self, writer: asyncio.StreamWriter) -> None:
        """The end of an admitted connection: closed, and no longer counted."""
        task = asyncio.current_task()
        if task is not None:
            self._connections.discard(task)
        writer.close()

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running_in_thread(self: _S, timeout: float = 10.0) -> Iterator[_S]:
        name, what = self.THREAD
        with serving_in_thread(self.start, self.stop, name=name, what=what, timeout=timeout):
            yield self
