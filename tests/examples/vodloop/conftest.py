"""This example talks to the local VOD and is pushed to over loopback: any other address fails the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.examples.conftest import NetworkUsed

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the examples' guard: loopback is allowed here, nothing else."""

    def loopback_only(real: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(sock: socket.socket, address: Any, *args: Any) -> Any:
            host = address[0] if isinstance(address, tuple) else address
            if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
                raise NetworkUsed(f"socket to {address!r} in a loopback-only test")
            return real(sock, address, *args)

        return guarded

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, loopback_only(getattr(socket.socket, name)))


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve an ASGI app on 127.0.0.1 (uvicorn in a thread) so the local VOD can push to it."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
