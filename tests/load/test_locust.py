"""emitter.locust: Locust headless with 2 local worker processes against a loopback receiver (skipped
without locust, which is the `locust`/`bench` extra, not `test`: its install and a run cost CI time)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emitter.receiver.server import Receiver

# found, never imported here: importing locust monkey-patches this process with gevent
if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed (pip install 'vod-emitter[locust]')", allow_module_level=True)

LOCUSTFILE = """
from emitter.locust import VodCallbackUser


class Callbacks(VodCallbackUser):
    scenarios = ("delete",)
    options = {"profile": "docs"}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(keep_records=500).running_in_thread() as running:
        yield running


def test_two_worker_processes_send_fresh_events_and_the_counts_agree(
    tmp_path: Path, receiver: Receiver
) -> None:
    locustfile = tmp_path / "callbacks.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "VOD_EMITTER_"))}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    port = str(_free_port())  # not Locust's fixed 5557: two suites at once would collide
    done = subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--processes", "2",
            "-u", "4", "-r", "4", "-t", "3s", "--host", receiver.url.rstrip("/"), "--json",
            "--vod-seed", "11", "--stop-timeout", "5", "--exit-code-on-error", "0", "--loglevel", "WARNING",
            "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port,
        ],
        capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    stats = _documents(done.stdout)[-1]  # each worker prints its (empty) stats first, the master last
    sent = sum(entry["num_requests"] for entry in stats)
    assert sent > 0 and sum(entry["num_failures"] for entry in stats) == 0
    assert {entry["name"] for entry in stats} == {"FileDeleted"}
    assert receiver.received == sent
    file_ids = [record.body for record in receiver.records]
    assert len(set(file_ids)) > len(file_ids) // 2  # fresh fileIds per cycle (the failing step's is fixed)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _documents(text: str) -> list[Any]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return documents
