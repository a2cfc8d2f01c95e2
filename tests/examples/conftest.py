"""The examples run their receivers in process: any socket connect or bind fails the test (the proof)."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkUsed(AssertionError):
    """A socket was about to connect or listen during an in-process example."""


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(sock: socket.socket, *args: Any) -> None:
        raise NetworkUsed(f"socket {args!r} in an in-process test")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)
