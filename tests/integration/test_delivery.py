"""Delivery against real loopback receivers: down, slow, failing, dropping, late, signing, determinism."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emitter.delivery.deliver import DeliveryOptions, Sender, Signing, make_client
from emitter.delivery.runner import Runner, Timing
from emitter.payloads.render import Renderer
from emitter.receiver.server import Behaviour, Receiver
from emitter.reports.files import JsonReport, Reporters
from emitter.scenarios.loader import Scenario, load_scenario, parse_scenario
from emitter.scenarios.plan import RunPlan

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
FAST = Timing(speed=0)


@pytest.fixture(scope="module")
def happy(renderer: Renderer) -> Scenario:
    return load_scenario("happy-path", renderer.catalog)


def scenario(text: str, renderer: Renderer) -> Scenario:
    return parse_scenario("version: 1\nsteps:\n" + text, "test.yaml", renderer.catalog)


async def run_plan(
    plan: RunPlan, target: str, options: DeliveryOptions, timing: Timing, report: Path, renderer: Renderer
) -> dict[str, Any]:
    async with make_client(timeout=options.timeout, concurrency=timing.concurrency) as client:
        runner = Runner(plan, Sender(client, target, options), timing, renderer=renderer)
        reporters = Reporters([JsonReport(report)])
        async for outcome in runner.run():
            reporters.handle(outcome)
        reporters.close()
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return result


def deliver(
    plan: RunPlan,
    options: DeliveryOptions,
    tmp_path: Path,
    renderer: Renderer,
    behaviour: Behaviour | None = None,
    timing: Timing = FAST,
    **receiver_options: Any,
) -> tuple[dict[str, Any], Receiver]:
    """Run the plan against a fresh built-in receiver on 127.0.0.1; the JSON report and the receiver."""

    async def go() -> tuple[dict[str, Any], Receiver]:
        async with Receiver(behaviour=behaviour, **receiver_options) as receiver:
            report = await run_plan(plan, receiver.url, options, timing, tmp_path / "report.json", renderer)
        return report, receiver

    return asyncio.run(go())


def assert_accounted(report: dict[str, Any], planned: int, arrived: int | None = None) -> None:
    """Every planned send is in the report exactly once; attempts add up to what the receiver saw."""
    indexes = [row["index"] for row in report["events"]]
    assert sorted(indexes) == list(range(planned)), indexes
    assert all(len(row["history"]) == row["attempts"] for row in report["events"])
    summary = report["summary"]
    counts = {
        kind: sum(row["result"] == kind for row in report["events"])
        for kind in ("delivered", "unexpected", "failed")
    }
    assert {k: summary[k] for k in counts} == counts and summary["not_sent"] == 0
    assert summary["attempts"] == sum(row["attempts"] for row in report["events"])
    if arrived is not None:
        assert summary["attempts"] == arrived


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("retry", "attempts"), [(False, 1), (True, 3)])
def test_receiver_down(
    tmp_path: Path, renderer: Renderer, happy: Scenario, retry: bool, attempts: int
) -> None:
    port = closed_port()
    options = DeliveryOptions(retry_on_connect_error=retry)
    report = asyncio.run(
        run_plan(
            RunPlan((happy,), 3, NOW),
            f"http://127.0.0.1:{port}/cb",
            options,
            FAST,
            tmp_path / "r.json",
            renderer,
        )
    )
    assert_accounted(report, 4)
    assert {row["result"] for row in report["events"]} == {"failed"}
    assert {row["reason"] for row in report["events"]} == {f"connection refused (127.0.0.1:{port})"}
    assert {row["attempts"] for row in report["events"]} == {attempts}
    assert report["summary"]["exit_code"] == 1


def test_slow_receiver_beyond_the_timeout(tmp_path: Path, renderer: Renderer) -> None:
    plan = RunPlan((scenario("  - event: upload\n    repeat: 2\n", renderer),), 3, NOW)
    report, receiver = deliver(plan, DeliveryOptions(timeout=0.2), tmp_path, renderer, Behaviour(delay=5))
    assert_accounted(report, 2, arrived=len(receiver.records))
    for row in report["events"]:
        assert (row["result"], row["attempts"], row["status"]) == ("failed", 3, None)
        assert row["reason"] == "timeout: no answer within 0.2 s"
    assert len(receiver.records) == 6 and all(r.status is None for r in receiver.records)


@pytest.mark.parametrize("retry", [False, True])
def test_500s_then_200(tmp_path: Path, renderer: Renderer, happy: Scenario, retry: bool) -> None:
    options = DeliveryOptions(retry_on_status=retry)
    plan = RunPlan((happy,), 3, NOW)
    report, receiver = deliver(plan, options, tmp_path, renderer, Behaviour(fail_first=2))
    assert_accounted(report, 4, arrived=len(receiver.records))
    rows = sorted(report["events"], key=lambda row: row["index"])
    if retry:
        assert [row["history"] for row in rows] == [[500, 500, 200], [200], [200], [200]]
        assert rows[0]["result"] == "delivered" and rows[0]["reason"] == "after status 500, status 500"
        assert report["summary"]["exit_code"] == 0
    else:
        assert [row["result"] for row in rows] == ["unexpected", "unexpected", "delivered", "delivered"]
        assert rows[0]["reason"] == "status 500, expected 2xx"
        assert report["summary"]["exit_code"] == 1


@pytest.mark.parametrize("retry", [False, True])
def test_dropped_connections(tmp_path: Path, renderer: Renderer, happy: Scenario, retry: bool) -> None:
    options = DeliveryOptions(retry_on_connect_error=retry)
    plan = RunPlan((happy,), 3, NOW)
    report, receiver = deliver(plan, options, tmp_path, renderer, Behaviour(drop_first=2))
    assert_accounted(report, 4, arrived=len(receiver.records))
    rows = sorted(report["events"], key=lambda row: row["index"])
    if retry:
        assert [row["attempts"] for row in rows] == [3, 1, 1, 1]
        assert {row["result"] for row in rows} == {"delivered"}
    else:
        assert [row["result"] for row in rows] == ["failed", "failed", "delivered", "delivered"]
        assert rows[0]["reason"].startswith("connection dropped (127.0.0.1:")


def test_late_answer_within_the_timeout(tmp_path: Path, renderer: Renderer) -> None:
    plan = RunPlan((scenario("  - event: upload\n  - event: delete\n", renderer),), 3, NOW)
    report, receiver = deliver(plan, DeliveryOptions(timeout=5), tmp_path, renderer, Behaviour(delay=0.3))
    assert_accounted(report, 2, arrived=len(receiver.records))
    for row in report["events"]:
        assert (row["result"], row["attempts"], row["status"]) == ("delivered", 1, 200)
        assert row["latency_ms"] >= 250  # the receiver sleeps 0.3 s before answering


SIGNED_STEPS = """\
  - event: upload
    name: good
    sign: valid
  - event: upload
    name: expired
    sign: expired
    expect: {status: 401}
  - event: upload
    name: wrong
    sign: wrong
    expect: {status: 401}
  - event: upload
    name: missing
    sign: missing
    expect: {status: 401}
  - event: upload
    name: unsigned
    sign: none
    expect: {status: 401}
  - event: delete
    name: default
"""


@pytest.mark.parametrize("placement", ["body", "query", "header"])
def test_the_receiver_accepts_good_signatures_and_rejects_each_negative_case(
    tmp_path: Path, renderer: Renderer, placement: str
) -> None:
    plan = RunPlan((scenario(SIGNED_STEPS, renderer),), 3, NOW)
    options = DeliveryOptions(signing=Signing("Key123", placement))
    report, receiver = deliver(plan, options, tmp_path, renderer, sign_key="Key123", sign_in=placement)
    assert_accounted(report, 6, arrived=len(receiver.records))
    assert report["summary"]["exit_code"] == 0  # the negative cases expect the 401 they get
    by_step = {row["step"]: row["status"] for row in report["events"]}
    assert by_step == {
        "good": 200,
        "expired": 401,
        "wrong": 401,
        "missing": 401,
        "unsigned": 401,
        "default": 200,
    }
    problems = [r.signature_problem for r in sorted(receiver.records, key=lambda r: r.seq)]
    assert problems[0] is None and problems[5] is None
    assert problems[1] is not None and problems[1].startswith("expired")
    assert problems[2] is not None and problems[2].startswith("wrong Sign")
    assert problems[3] is not None and problems[3].startswith("missing Sign")
    assert problems[4] is not None and problems[4].startswith("missing")


def test_a_wrong_key_is_rejected(tmp_path: Path, renderer: Renderer) -> None:
    plan = RunPlan((scenario("  - event: upload\n", renderer),), 3, NOW)
    options = DeliveryOptions(signing=Signing("other", "body"))
    report, receiver = deliver(plan, options, tmp_path, renderer, sign_key="Key123", sign_in="body")
    assert report["events"][0]["result"] == "unexpected" and report["events"][0]["status"] == 401
    assert receiver.records[0].signature_problem is not None


PERTURBED = """\
  - event: upload
  - event: procedure
    repeat: 4
  - event: transcode
    duplicate: 2
  - event: snapshot
  - event: delete
"""


def test_the_same_seed_gives_the_same_deliveries_in_the_same_order(
    tmp_path: Path, renderer: Renderer
) -> None:
    perturbed = scenario(PERTURBED, renderer)
    timing = Timing(speed=0, shuffle_window=3, jitter=0.05)

    def received(seed: int) -> tuple[list[bytes], list[int]]:
        plan = RunPlan((perturbed,), seed, NOW)
        report, receiver = deliver(plan, DeliveryOptions(), tmp_path, renderer, timing=timing)
        assert_accounted(report, 9, arrived=len(receiver.records))
        return [r.body for r in receiver.records], [row["index"] for row in report["events"]]

    first, again, other = received(9), received(9), received(10)
    assert first == again
    assert first[0] != other[0] or first[1] != other[1]
    assert first[1] != sorted(first[1])  # the shuffle did reorder the sends
    assert len([b for b in first[0] if b'"TranscodeComplete"' in b]) == 2


def test_headers_and_content_type_reach_the_receiver(tmp_path: Path, renderer: Renderer) -> None:
    plan = RunPlan((scenario("  - event: upload\n", renderer),), 3, NOW)
    options = DeliveryOptions(headers=(("X-Api-Key", "k-1"), ("X-Trace", "a b")))
    _, receiver = deliver(plan, options, tmp_path, renderer)
    record = receiver.records[0]
    assert record.method == "POST" and record.header("content-type") == "application/json"
    assert (record.header("x-api-key"), record.header("x-trace")) == ("k-1", "a b")
    assert record.payload["eventType"] == "NewFileUpload" and record.problems == []


def test_an_http_proxy_from_the_environment_is_used(
    tmp_path: Path, renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The built-in receiver plays the proxy: the .test host is never resolved or contacted."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    plan = RunPlan((scenario("  - event: upload\n", renderer),), 3, NOW)

    async def go() -> tuple[dict[str, Any], Receiver]:
        async with Receiver() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("http_proxy", proxy.url)
            report = await run_plan(
                plan, "http://vod-callback.test/hook", DeliveryOptions(), FAST, tmp_path / "r.json", renderer
            )
        return report, proxy

    report, proxy = asyncio.run(go())
    assert report["events"][0]["result"] == "delivered"
    assert proxy.records[0].path == "/hook" and proxy.records[0].header("host") == "vod-callback.test"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_url(certificate: tuple[Path, Path]) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/cb"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("trust", ["ca-bundle", "insecure", "default"])
def test_https_with_a_ca_bundle_or_insecure(
    tmp_path: Path, renderer: Renderer, certificate: tuple[Path, Path], https_url: str, trust: str
) -> None:
    plan = RunPlan((scenario("  - event: upload\n", renderer),), 3, NOW)

    async def go() -> dict[str, Any]:
        client = make_client(
            ca_bundle=certificate[0] if trust == "ca-bundle" else None, insecure=trust == "insecure"
        )
        async with client:
            sender = Sender(client, https_url, DeliveryOptions(timeout=5))
            runner = Runner(plan, sender, FAST, renderer=renderer)
            reporters = Reporters([JsonReport(tmp_path / "r.json")])
            async for outcome in runner.run():
                reporters.handle(outcome)
            reporters.close()
        result: dict[str, Any] = json.loads((tmp_path / "r.json").read_text())
        return result

    row = asyncio.run(go())["events"][0]
    if trust == "default":
        assert row["result"] == "failed" and row["attempts"] == 1
        assert row["reason"].startswith("TLS error (127.0.0.1:") and "--ca-bundle" in row["reason"]
    else:
        assert (row["result"], row["status"]) == ("delivered", 200)
