"""The built-in receiver under hostile clients: slowloris, too many connections, EMFILE, odd bodies."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from emitter.receiver.server import Receiver

BODY = json.dumps({"version": "4.0", "eventType": "NewFileUpload", "data": {"fileId": "1"}}).encode()


def post(port: int, body: bytes = BODY, extra: bytes = b"") -> bytes:
    """One raw request on its own connection; everything the receiver sent until it closed."""
    head = b"POST /cb HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\n" + extra
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        return receive_all(sock)


def receive_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_slow_request_is_answered_408_and_recorded_and_an_idle_one_closed() -> None:
    with Receiver(request_timeout=0.3, idle_timeout=0.3).running_in_thread() as receiver:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as slow:
            started = time.monotonic()
            for piece in (b"POST /cb HTTP/1.1\r\n", b"host: x\r\n", b"x-drip: 1\r\n"):
                slow.sendall(piece)
                time.sleep(0.12)
            answer = receive_all(slow)
            assert answer.startswith(b"HTTP/1.1 408 ") and time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as idle:
            assert idle.recv(10) == b""  # closed after the idle timeout, nothing said
        records = receiver.wait_for(1)
        assert [(r.status, r.problems) for r in records] == [(408, ["request not complete within 0.3 s"])]


def test_connections_over_the_cap_are_closed_and_service_resumes_when_they_go() -> None:
    with Receiver(max_connections=4).running_in_thread() as receiver:
        held = [socket.create_connection(("127.0.0.1", receiver.port), timeout=10) for _ in range(4)]
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as extra:
            assert extra.recv(10) == b""
        assert receiver.refused_connections == 1
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert post(receiver.port).startswith(b"HTTP/1.1 200 ")


EMFILE_SERVER = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from emitter.receiver.server import Receiver
with Receiver(idle_timeout=60).running_in_thread() as receiver:
    print(receiver.port, flush=True)
    sys.stdin.read()
"""


def test_the_receiver_answers_again_after_file_descriptors_ran_out() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", EMFILE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        flood = []
        for _ in range(120):  # more than its 64 descriptors
            try:
                flood.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        for sock in flood:
            sock.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/", content=BODY, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the receiver never answered again"
                time.sleep(0.2)
        assert answer.status_code == 200
    finally:
        server.kill()
        server.wait(10)


def test_hostile_bodies_are_answered_and_recorded_in_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "received.jsonl"
    with Receiver(max_body=100_000, journal=journal).running_in_thread() as receiver:
        deep = b"[" * 100_000 + b"]" * 100_000
        assert post(receiver.port, deep[:90_000]).startswith(b"HTTP/1.1 400 ")  # nested too deep to read
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 200000\r\n\r\n[[[")  # over max_body
            assert receive_all(sock).startswith(b"HTTP/1.1 413 ")
        smuggle = b"transfer-encoding: chunked\r\n"
        assert post(receiver.port, b"0\r\n\r\n", extra=smuggle).startswith(b"HTTP/1.1 400 ")
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
            sock.sendall(b"GARBAGE \x00\x01 HTTP/9\r\n\r\n")
            assert receive_all(sock).startswith(b"HTTP/1.1 400 ")
        assert post(receiver.port).startswith(b"HTTP/1.1 200 ")  # and it still serves
        records = receiver.wait_for(5)
        assert receiver.received == 5
    statuses = [r.status for r in records]
    assert statuses == [400, 413, 400, 400, 200]
    assert "nested too deeply" in records[0].problems[0]
    assert "request smuggling" in records[2].problems[0]
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [line["status"] for line in lines] == statuses
