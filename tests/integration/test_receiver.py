"""The built-in receiver over real loopback sockets: recording, checks, signing, misbehaviour, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emitter.delivery.signing import make_signature
from emitter.payloads.render import Renderer, encode_payload
from emitter.receiver.server import Behaviour, ReceivedRequest, Receiver, load_journal
from tests.conftest import NOW
from tests.helpers import cli

EXE = Path(sys.executable).with_name("vod-emitter")
JSON = {"content-type": "application/json"}
CLOCK = NOW.timestamp()


def _body(event: str = "upload", seed: int = 7, **params: Any) -> bytes:
    session = Renderer().session(seed=seed, now=NOW)
    return encode_payload(session.render_event(event, params))


def _post(client: httpx.Client, url: str, body: bytes, **kwargs: Any) -> httpx.Response:
    headers = {**JSON, **kwargs.pop("headers", {})}
    return client.post(url, content=body, headers=headers, **kwargs)


def test_records_method_path_query_headers_body_and_conformance() -> None:
    body = _body("upload")
    with Receiver().running_in_thread() as receiver, httpx.Client() as client:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/"
        before = time.time()
        response = _post(client, receiver.url + "hooks/vod?token=abc&x=", body, headers={"X-Trace": "t1"})
        [record] = receiver.wait_for(1)
    assert response.status_code == 200 and response.content == b""
    assert (record.method, record.path, record.query) == ("POST", "/hooks/vod", {"token": "abc", "x": ""})
    assert record.header("x-trace") == "t1" and record.header("Content-Type") == "application/json"
    assert record.body == body and record.payload == json.loads(body)
    assert (record.format, record.event_type, record.problems) == ("v2", "NewFileUpload", [])
    assert record.status == 200 and not record.dropped and record.signature_problem is None
    assert record.arrived_at >= before - 1 and record.answered_at is not None
    assert record.file_id == record.payload["data"]["fileId"]
    assert record.client.startswith("127.0.0.1:")


def test_non_conforming_requests_are_recorded_with_their_problems() -> None:
    with Receiver().running_in_thread() as receiver, httpx.Client() as client:
        _post(client, receiver.url, b'{"version":"4.0","eventType":"NewFileUpload","data":{"fileId":1}}')
        client.post(receiver.url, content=b"fileId=1")
        client.get(receiver.url)
        first, second, third = receiver.wait_for(3)
    assert first.problems == ["data.fileId: expected String, got Integer 1"]
    assert second.problems[0] == "Content-Type (none): expected application/json"
    assert second.problems[1].startswith("body is not JSON")
    assert third.method == "GET" and third.problems[0] == "method GET: VOD sends callbacks with POST"
    assert receiver.summary() == "3 requests, 3 non-conforming"


def test_async_form_keeps_connections_alive_and_numbers_requests() -> None:
    async def scenario() -> list[ReceivedRequest]:
        async with Receiver() as receiver, httpx.AsyncClient() as client:
            for seed in range(5):
                response = await client.post(receiver.url, content=_body(seed=seed), headers=JSON)
                assert response.status_code == 200
            return await receiver.wait_for_async(5)

    records = asyncio.run(scenario())
    assert [r.seq for r in records] == [0, 1, 2, 3, 4]
    assert len({r.client for r in records}) == 1  # one keep-alive connection
    assert len({r.file_id for r in records}) == 5


def test_chunked_body_is_reassembled() -> None:
    body = _body("procedure", tasks=["Transcode", "SampleSnapshot"])

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    with Receiver().running_in_thread() as receiver, httpx.Client() as client:
        response = client.post(receiver.url, content=pieces(), headers=JSON)
        [record] = receiver.wait_for(1)
    assert response.status_code == 200
    assert record.header("transfer-encoding") == "chunked"
    assert record.body == body and record.event_type == "ProcedureStateChanged" and record.problems == []


def test_concurrent_connections_are_all_recorded_once() -> None:
    async def scenario() -> list[ReceivedRequest]:
        async with Receiver() as receiver:
            limits = httpx.Limits(max_connections=4)
            async with httpx.AsyncClient(limits=limits) as client:
                bodies = [_body(seed=seed) for seed in range(40)]
                await asyncio.gather(*(client.post(receiver.url, content=b, headers=JSON) for b in bodies))
            return await receiver.wait_for_async(40)

    records = asyncio.run(scenario())
    assert sorted(r.seq for r in records) == list(range(40))
    assert len({r.body for r in records}) == 40
    assert all(r.status == 200 and not r.problems for r in records)


def test_fixed_status_and_failing_the_first_requests() -> None:
    behaviour = Behaviour(status=503, fail_first=2, fail_status=429, body=b'{"code":0}')
    with Receiver(behaviour=behaviour).running_in_thread() as receiver, httpx.Client() as client:
        responses = [_post(client, receiver.url, _body()) for _ in range(4)]
        assert [r.status for r in receiver.wait_for(4)] == [429, 429, 503, 503]
        receiver.clear()
        assert receiver.records == []
        again = _post(client, receiver.url, _body())
    assert [r.status_code for r in responses] == [429, 429, 503, 503]
    assert responses[0].content == b'{"code":0}'
    assert responses[0].headers["content-type"] == "application/json"
    assert again.status_code == 429  # clear() restarts the count


def test_dropping_the_first_requests_then_answering() -> None:
    with Receiver(behaviour=Behaviour(drop_first=2, fail_first=1)).running_in_thread() as receiver:
        outcomes: list[int | str] = []
        for _ in range(4):
            with httpx.Client() as client:
                try:
                    outcomes.append(_post(client, receiver.url, _body()).status_code)
                except httpx.RemoteProtocolError:
                    outcomes.append("dropped")
        records = receiver.wait_for(4)
    assert outcomes == ["dropped", "dropped", 500, 200]
    assert [(r.dropped, r.status) for r in records] == [
        (True, None),
        (True, None),
        (False, 500),
        (False, 200),
    ]
    assert receiver.summary().endswith("2 dropped")


def test_drop_all() -> None:
    receiver = Receiver(behaviour=Behaviour(drop_all=True))
    with receiver.running_in_thread(), httpx.Client() as client:
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                _post(client, receiver.url, _body())
        assert all(r.dropped for r in receiver.wait_for(2))


def test_delay_lets_a_short_client_timeout_expire() -> None:
    receiver = Receiver(behaviour=Behaviour(delay=30))
    with receiver.running_in_thread(), httpx.Client() as client:
        with pytest.raises(httpx.ReadTimeout):
            _post(client, receiver.url, _body(), timeout=0.05)
        deadline = time.monotonic() + 10
        while not receiver.records and time.monotonic() < deadline:  # a busy machine may lag
            time.sleep(0.01)
    [record] = receiver.records  # arrived, and never answered: the receiver stopped first
    assert (record.event_type, record.status, record.dropped) == ("NewFileUpload", None, False)


def test_a_delayed_answer_arrives() -> None:
    receiver = Receiver(behaviour=Behaviour(delay=0.2, status=202))
    with receiver.running_in_thread(), httpx.Client() as client:
        assert _post(client, receiver.url, _body(), timeout=30).status_code == 202
        assert receiver.wait_for(1)[0].status == 202


def test_stop_aborts_pending_delays() -> None:
    async def scenario() -> None:
        async with Receiver(behaviour=Behaviour(delay=60)) as receiver, httpx.AsyncClient() as client:
            task = asyncio.ensure_future(client.post(receiver.url, content=_body(), headers=JSON))
            for _ in range(1000):
                if receiver.records:
                    break
                await asyncio.sleep(0.01)
            assert receiver.records
            await asyncio.wait_for(receiver.stop(), timeout=10)
            with pytest.raises(httpx.RemoteProtocolError):
                await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())


@pytest.mark.parametrize("placement", ["body", "query", "header"])
def test_signature_verification(placement: str) -> None:
    now = int(CLOCK)
    receiver = Receiver(sign_key="s3cret", sign_in=placement, sign_status=403, clock=lambda: CLOCK)
    with receiver.running_in_thread(), httpx.Client() as client:
        for case in ("valid", "expired", "wrong", "missing", "none"):
            signature = make_signature("s3cret", now, case=case)
            fields = {k: v for k, v in (("Sign", signature.sign), ("T", signature.t)) if v is not None}
            payload = json.loads(_body())
            params: dict[str, Any] = {}
            headers: dict[str, str] = {}
            if placement == "body":
                payload.update(fields)
            elif placement == "query":
                params = fields
            else:
                headers = {k: str(v) for k, v in fields.items()}
            _post(client, receiver.url, encode_payload(payload), params=params, headers=headers)
        records = receiver.wait_for(5)
    assert [r.status for r in records] == [200, 403, 403, 403, 403]
    reasons = [r.signature_problem for r in records]
    assert reasons[0] is None
    assert reasons[1] is not None and reasons[1].startswith("expired: T ")
    assert reasons[2] == f"wrong Sign: md5(key + T) does not match (in {placement})"
    assert reasons[3] == f"missing Sign (in {placement})"
    assert reasons[4] == f"missing Sign (in {placement})"
    assert all(r.problems == [] for r in records)  # Sign/T in the body are not undocumented fields


def test_without_a_key_signatures_are_not_checked() -> None:
    with Receiver().running_in_thread() as receiver, httpx.Client() as client:
        assert _post(client, receiver.url, _body()).status_code == 200
        assert receiver.wait_for(1)[0].signature_problem is None


def test_journal_and_callback_see_every_request_before_the_sender_does(tmp_path: Path) -> None:
    journal = tmp_path / "calls" / "journal.jsonl"
    seen: list[tuple[int, int | None, bool]] = []

    def on_request(record: ReceivedRequest) -> None:
        seen.append((record.seq, record.status, record.dropped))

    receiver = Receiver(journal=journal, on_request=on_request, behaviour=Behaviour(drop_first=1))
    with receiver.running_in_thread(), httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            _post(client, receiver.url, _body())
        assert len(journal.read_text().splitlines()) == 1
        _post(client, receiver.url, _body("concat"))
        assert len(journal.read_text().splitlines()) == 2
        client.post(receiver.url, content=b"\xff\x00binary", headers=JSON)
        records = receiver.wait_for(3)
    assert seen == [(0, None, True), (1, 200, False), (2, 200, False)]
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert lines[1]["event_type"] == "ConcatComplete" and lines[1]["body"] == records[1].body.decode()
    assert "body" not in lines[2] and lines[2]["body_base64"] == "/wBiaW5hcnk="
    assert [r.to_json() for r in load_journal(journal)] == [r.to_json() for r in records]


def test_without_keeping_records_only_counts_remain() -> None:
    receiver = Receiver(keep_records=False, behaviour=Behaviour(drop_first=1))
    with receiver.running_in_thread(), httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            _post(client, receiver.url, _body())
        _post(client, receiver.url, b"{}")
        _post(client, receiver.url, _body())
        assert receiver.wait_for(3) == []
    assert receiver.received == 3
    assert receiver.summary() == "3 requests, 1 non-conforming, 1 dropped"


def test_a_failing_callback_does_not_break_the_receiver() -> None:
    def explode(record: ReceivedRequest) -> None:
        raise RuntimeError("boom")

    with Receiver(on_request=explode).running_in_thread() as receiver, httpx.Client() as client:
        assert _post(client, receiver.url, _body()).status_code == 200
        receiver.wait_for(1)
    assert [str(e) for e in receiver.errors] == ["boom"]


def _raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_http_gets_400_and_oversized_body_413() -> None:
    with Receiver(max_body=1000).running_in_thread() as receiver:
        assert _raw_exchange(receiver.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        big = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000
        assert _raw_exchange(receiver.port, big).startswith(b"HTTP/1.1 413 ")
        # every request that reached it is recorded, with what it answered and why
        assert [(r.status, r.problems[0].split(":")[0]) for r in receiver.wait_for(2)] == [
            (400, "bad request"),
            (413, "body of 5000 bytes is over 1000"),
        ]


def test_expect_100_continue_is_honoured() -> None:
    body = _body()
    with Receiver().running_in_thread() as receiver:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"expect: 100-continue\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
            )
            assert sock.recv(1024).startswith(b"HTTP/1.1 100 ")
            sock.sendall(body)
            assert sock.recv(1024).startswith(b"HTTP/1.1 200 ")
        assert receiver.wait_for(1)[0].body == body


def test_start_failure_is_raised_in_the_caller() -> None:
    with (
        Receiver().running_in_thread() as first,
        pytest.raises(OSError),
        Receiver(port=first.port).running_in_thread(),
    ):
        pass


# --- the `receive` command --------------------------------------------------------------------


class Serving:
    """A `vod-emitter receive` process: its URL (from the banner) and its output."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        environment = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
        self.process = subprocess.Popen(
            [str(EXE), "receive", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        self.banner = self._read_banner()
        self.url = self.banner.split("receiving on ", 1)[1].split(" ", 1)[0]

    def _read_banner(self) -> str:
        assert self.process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = self.process.stderr.readline().decode("utf-8")
                if "receiving on " in line or not line:
                    assert line, "the receiver exited before listening"
                    return line
        self.process.kill()
        raise AssertionError("the receiver did not print its URL within 30 s")

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out.decode("utf-8"), err.decode("utf-8")


def test_receive_command_records_answers_and_summarises_on_ctrl_c(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    serving = Serving("--fail-first", "1", "--journal", str(journal))
    assert "answers 500 to the next 1, then 200" in serving.banner
    with httpx.Client() as client:
        assert _post(client, serving.url, _body("upload")).status_code == 500
        unknown = b'{"version":"4.0","eventType":"Nope","data":{}}'
        assert _post(client, serving.url, unknown).status_code == 200
    code, out, err = serving.stop()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert "#0  NewFileUpload  fileId=" in lines[0] and "-> 500  ok" in lines[0]
    assert "Nope?" in lines[1] and "unknown event type 'Nope'" in lines[1]
    assert err.splitlines()[-1] == "stopped: 2 requests, 1 non-conforming"
    assert [r.status for r in load_journal(journal)] == [500, 200]


def test_receive_command_options_from_the_environment() -> None:
    serving = Serving(
        env={
            "VOD_EMITTER_RECEIVE_STATUS": "503",
            "VOD_EMITTER_SIGN_KEY": "k1",
            "VOD_EMITTER_SIGN_IN": "query",
            "VOD_EMITTER_RECEIVE_QUIET": "1",
        }
    )
    signature = make_signature("k1", int(time.time()))
    with httpx.Client() as client:
        good = _post(client, serving.url, _body(), params={"Sign": signature.sign, "T": signature.t})
        bad = _post(client, serving.url, _body())
    code, out, err = serving.stop(signal.SIGTERM)
    assert (good.status_code, bad.status_code) == (503, 401)
    assert code == 0 and out == ""
    assert err.splitlines()[-1] == "stopped: 2 requests, 0 non-conforming, 1 bad signature"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "soon"], "error: --delay: bad duration 'soon'"),
        (["--sign-in", "cookie"], "error: --sign-in 'cookie' is not a placement; use one of: body, query"),
        (["--status", "42"], "Invalid value for '--status'"),
    ],
)
def test_receive_command_usage_errors(args: list[str], message: str) -> None:
    result = cli("receive", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_receive_command_on_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("receive", "--port", str(port))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen: ")
