"""`vod-emitter load` (in process; Ctrl-C through the console script) against loopback receivers."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emitter.cli.load_view import LiveView
from emitter.delivery.deliver import DeliveryOptions
from emitter.delivery.targets import resolve_target
from emitter.load.engine import Cycles, play
from emitter.load.profile import LoadProfile
from emitter.receiver.server import Behaviour, Receiver
from emitter.scenarios.loader import load_scenario
from tests.helpers import SCRIPT, TIMEOUT, cli, environment, wait_until

NOW = "2024-05-01T12:00:00Z"
MOMENT = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)


def check_totals(summary: dict[str, Any]) -> None:
    assert summary["arrivals"] == summary["sent"] + summary["dropped"] + summary["late"]
    assert summary["sent"] == (
        summary["answered"]["total"] + summary["errors"]["total"] + summary["interrupted_in_flight"]
    )
    assert sum(row["count"] for row in summary["histogram_ms"]) == summary["latency_ms"]["count"]


def test_load_sends_the_seeds_stream_on_schedule_and_the_totals_add_up(
    tmp_path: Path, receiver: Receiver
) -> None:
    out = tmp_path / "load.json"
    done = cli(
        "load",
        "happy-path",
        "--rate",
        "40/s",
        "--duration",
        "1s",
        "--target",
        receiver.url,
        "--seed",
        "3",
        "--now",
        NOW,
        "--json",
        str(out),
        check_code=0,
    )
    summary = json.loads(out.read_text())
    check_totals(summary)
    assert summary["arrivals"] == 40 and summary["dropped"] == 0 and summary["errors"]["total"] == 0
    assert receiver.received == summary["answered"]["total"] == summary["answered"]["2xx"] == summary["sent"]
    assert (summary["model"], summary["target_rate"], summary["seed"]) == ("open", 40, 3)
    assert "seed 3 (replay: --seed 3 --now 2024-05-01T12:00:00Z)" in done.stderr
    assert "arrivals 40: sent" in done.stdout and "<= 1 ms" in done.stdout and "> 5 s" in done.stdout
    # cycle k is the scenario rendered with seed 3 + k: the sends are the first N of that stream
    stream = iter(Cycles((load_scenario("happy-path"),), seed=3, now=MOMENT))
    expected = [d.body for d in itertools.islice(stream, summary["sent"])]
    assert sorted(r.body for r in receiver.records) == sorted(expected)
    rendered = cli("render", "happy-path", "--seed", "3", "--now", NOW, check_code=0).stdout.splitlines()
    assert [body.decode() for body in expected[: len(rendered)]] == rendered


def test_a_receiver_answering_500_fails_the_run_by_status_class(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    with Receiver(behaviour=Behaviour(status=500)).running_in_thread() as failing:
        done = cli(
            "load",
            "delete",
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--target",
            failing.url,
            "--json",
            str(out),
            check_code=1,
        )
        summary = json.loads(out.read_text())
        check_totals(summary)
        assert (
            summary["answered"]
            == {"total": summary["sent"], "5xx": summary["sent"]}
            == {"total": failing.received, "5xx": failing.received}
        )
        assert summary["unexpected"] == summary["sent"] and summary["error_rate"] == 1.0
        assert f"answered {summary['sent']}: 5xx {summary['sent']}" in done.stdout
        assert "over --max-error-rate" in done.stdout
        cli(
            "load",
            "delete",
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--target",
            failing.url,
            "--max-error-rate",
            "100%",
            check_code=0,
        )


def test_without_a_target_the_builtin_receiver_counts_what_was_answered(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    done = cli(
        "load", "happy-path", "--concurrency", "2", "--duration", "1s", "--json", str(out), check_code=0
    )
    summary = json.loads(out.read_text())
    check_totals(summary)
    assert summary["model"] == "closed" and summary["concurrency"] == 2 and summary["dropped"] == 0
    assert f"built-in receiver: {summary['answered']['total']} requests, 0 non-conforming" in done.stderr
    assert "no --target: sending to the built-in receiver" in done.stderr


def test_slow_answers_are_timeouts_and_a_full_cap_drops_arrivals(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    with Receiver(behaviour=Behaviour(delay=3)).running_in_thread() as slow:
        cli(
            "load",
            "delete",
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--target",
            slow.url,
            "--timeout",
            "1.5",
            "--max-in-flight",
            "3",
            "--json",
            str(out),
            check_code=1,
        )
    summary = json.loads(out.read_text())
    check_totals(summary)
    assert summary["peak_in_flight"] == 3 and summary["sent"] == summary["errors"]["timeout"] >= 3
    assert summary["dropped"] == summary["arrivals"] - summary["sent"] > 0
    assert summary["latency_ms"]["count"] == summary["sent"] and summary["latency_ms"]["min"] >= 1500


def test_ctrl_c_prints_a_complete_summary_and_exits_130(tmp_path: Path, receiver: Receiver) -> None:
    out = tmp_path / "load.json"
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "load",
            "happy-path",
            "--rate",
            "20/s",
            "--duration",
            "30s",
            "--target",
            receiver.url,
            "--json",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        wait_until(lambda: receiver.received >= 5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted: no more arrivals" in stderr
    summary = json.loads(out.read_text())
    check_totals(summary)
    assert summary["interrupted"] is True and summary["exit_code"] == 130
    assert summary["answered"]["total"] == receiver.received and 5 <= summary["sent"] < 600
    assert "arrivals" in stdout and "; interrupted" in stdout


def test_an_asgi_app_in_process_is_a_target_like_for_run() -> None:
    from rich.console import Console

    bodies: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        bodies.append(body)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    cycles = Cycles((load_scenario("delete"),), seed=1, now=MOMENT)
    out = io.StringIO()
    endpoint = resolve_target(app)
    report = asyncio.run(
        play(
            cycles,
            LoadProfile(duration=0.5, rate=20),
            DeliveryOptions(retries=0),
            endpoint,
            view=lambda engine: LiveView(engine, live=False, console=Console(file=out)),
        )
    )
    summary = report.to_json()
    check_totals(summary)
    assert summary["arrivals"] == 10 and summary["answered"] == {"total": len(bodies), "2xx": len(bodies)}
    assert summary["target"] == endpoint.name and report.exit_code == 0
    assert "built-in receiver" not in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "fast"), "error: --rate: 'fast' is not a rate; write e.g. --rate 500/s"),
        (("--rate", "10/s", "-c", "2"), "error: --concurrency: --rate and --concurrency exclude each other"),
        ((), "error: load: no load given; add --rate N/s"),
        (("--rate", "10", "--duration", "soon"), "error: --duration: bad duration 'soon'"),
        (
            ("--rate", "10", "--target", "ftp://x"),
            "error: --target: 'ftp://x' is not an http:// or https:// URL",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = cli("load", "happy-path", *args, check_code=2)
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1 and done.stdout == ""


def test_help_says_that_delays_are_ignored() -> None:
    done = cli("load", "--help", check_code=0)
    assert "Delays in the scenarios are ignored" in done.stdout and "--max-in-flight" in done.stdout


def test_two_processes_give_one_merged_summary(tmp_path: Path, receiver: Receiver) -> None:
    out = tmp_path / "load.json"
    done = cli(
        "load", "delete", "--rate", "40/s", "--duration", "1s", "--processes", "2",
        "--target", receiver.url, "--seed", "3", "--now", NOW, "--json", str(out),
        check_code=0,
    )  # fmt: skip
    summary = json.loads(out.read_text())
    check_totals(summary)
    assert summary["arrivals"] == 40 and summary["answered"] == {"total": 40, "2xx": 40}
    assert receiver.received == 40 and "in 2 processes" in done.stdout


def test_processes_need_a_url_target() -> None:
    done = cli("load", "delete", "--rate", "10", "--processes", "2", check_code=2)
    assert done.stderr.startswith("error: --processes: --processes needs a URL --target")
