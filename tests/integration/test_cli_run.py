"""`vod-emitter run` and `send` against loopback receivers: in process (typer's runner), the
console script for the end-to-end and Ctrl-C cases."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from emitter.receiver.server import Behaviour, Receiver
from tests.helpers import SCRIPT, TIMEOUT, cli, console_script, environment, wait_until

NOW = "2024-05-01T12:00:00Z"


def test_run_happy_path_without_a_target_uses_the_builtin_receiver() -> None:
    done = console_script("run", "happy-path", "--speed", "0", check_code=0)
    received = [line for line in done.stdout.splitlines() if " -> 200" in line]
    assert len(received) == 4
    assert [line.split()[2] for line in received] == [
        "NewFileUpload",
        "ProcedureStateChanged",
        "ProcedureStateChanged",
        "TranscodeComplete",
    ]
    assert "4 of 4 sends: 4 delivered" in done.stdout
    assert done.stderr.startswith("seed ") and "built-in receiver" in done.stderr
    bodies = [line.strip() for line in done.stdout.splitlines() if line.startswith("    {")]
    assert [body.split('"eventType":"')[1].split('"')[0] for body in bodies] == [
        "NewFileUpload",
        "ProcedureStateChanged",
        "ProcedureStateChanged",
        "TranscodeComplete",
    ]


def test_run_sends_to_a_target_and_writes_reports(tmp_path: Path, receiver: Receiver) -> None:
    report, junit, journal = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "j.jsonl"
    done = cli(
        "run",
        "happy-path",
        "--target",
        receiver.url,
        "--speed",
        "0",
        "--seed",
        "4",
        "--now",
        NOW,
        "--report",
        str(report),
        "--junit",
        str(junit),
        "--journal",
        str(journal),
        check_code=0,
    )
    assert "seed 4 (replay: --seed 4 --now 2024-05-01T12:00:00Z)" in done.stderr
    assert len(receiver.records) == 4
    rendered = cli("render", "happy-path", "--seed", "4", "--now", NOW, check_code=0).stdout.splitlines()
    assert [r.body.decode() for r in receiver.records] == rendered
    assert json.loads(report.read_text())["summary"]["delivered"] == 4
    assert 'tests="4" failures="0"' in junit.read_text()
    kinds = [json.loads(line)["type"] for line in journal.read_text().splitlines()]
    assert kinds[0] == "run" and kinds.count("attempt") == 4 and kinds[-1] == "end"


def test_send_posts_what_render_prints(receiver: Receiver) -> None:
    args = ("upload", "--seed", "5", "--now", NOW, "-p", "file_name=Clip 1", "--set", "data.fileId=42")
    cli("send", *args, "--target", receiver.url, check_code=0)
    rendered = cli("render", *args, check_code=0).stdout.strip()
    assert receiver.records[0].body.decode() == rendered
    assert json.loads(rendered)["data"]["fileId"] == 42


def test_send_signs_in_the_header(tmp_path: Path) -> None:
    with Receiver(sign_key="K1", sign_in="header").running_in_thread() as signed:
        cli("send", "delete", "--target", signed.url, "--sign-key", "K1", "--sign-in", "header", check_code=0)
        done = cli(
            "send",
            "delete",
            "--target",
            signed.url,
            "--sign-key",
            "K1",
            "--sign-in",
            "header",
            "--sign-case",
            "expired",
        )
    assert done.returncode == 1 and "#0 delete: status 401, expected 2xx" in done.stdout
    assert signed.records[0].signature_problem is None
    assert (signed.records[1].signature_problem or "").startswith("expired")


def test_an_unreachable_target_fails_each_event_with_exit_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = cli("run", "happy-path", "--speed", "0", "--target", f"http://127.0.0.1:{port}/")
    assert done.returncode == 1
    assert done.stdout.count(f"connection refused (127.0.0.1:{port})") == 4
    assert "4 failed" in done.stdout


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["run", "happy-path", "--target", "htp:/nowhere"], "error: --target: "),
        (["run", "happy-pth"], "error: no scenario file or built-in scenario 'happy-pth'"),
        (["run", "happy-path", "--sign-case", "expired"], "error: --sign-case: "),
        (["run", "happy-path", "--timeout", "soon"], "error: --timeout: "),
        (["run", "happy-path", "-H", "broken"], "error: --header: "),
        (
            ["run", "happy-path", "--shuffle-window", "3", "--reverse-window", "3"],
            "error: --reverse-window: ",
        ),
        (["run"], "error: run: no scenario given"),
        (["send", "uplaod"], "error: send: unknown event 'uplaod'"),
        (["send", "upload", "-p", "status=maybe"], "error: --param: "),
        (
            ["run", "happy-path", "--ca-bundle", "/nonexistent.pem", "--target", "https://127.0.0.1:1/"],
            "error: --ca-bundle: ",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], start: str) -> None:
    done = cli(*args, check_code=2)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("seed ")]
    assert len(lines) == 1 and lines[0].startswith(start), done.stderr
    assert ";" in lines[0]


SLOW_SCENARIO = """\
version: 1
steps:
  - event: upload
  - event: procedure
    delay: 30s
  - event: transcode
    delay: 1s
"""


def test_ctrl_c_stops_writes_everything_and_resume_sends_the_rest(tmp_path: Path, receiver: Receiver) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW_SCENARIO)
    journal, report = tmp_path / "journal.jsonl", tmp_path / "report.json"
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "run",
            str(path),
            "--target",
            receiver.url,
            "--seed",
            "8",
            "--now",
            NOW,
            "--journal",
            str(journal),
            "--report",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        wait_until(lambda: len(receiver.records) == 1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "1 of 3 sends: 1 delivered, 2 not sent" in out
    summary = json.loads(report.read_text())["summary"]
    assert (summary["interrupted"], summary["not_sent"], summary["exit_code"]) == (True, 2, 130)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[-1]["type"] == "end" and records[-1]["interrupted"] is True

    done = cli("run", "--resume", str(journal), "--journal", str(journal), "--speed", "0", check_code=0)
    assert "resuming" in done.stderr and "2 of 2 sends: 2 delivered" in done.stdout
    full = cli("render", str(path), "--seed", "8", "--now", NOW, check_code=0).stdout.splitlines()
    assert [r.body.decode() for r in receiver.records] == full
    again = cli("run", "--resume", str(journal), "--speed", "0", check_code=0)
    assert "0 of 0 sends" in again.stdout and len(receiver.records) == 3


def test_a_second_ctrl_c_aborts_sends_in_flight(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with Receiver(behaviour=Behaviour(delay=30)).running_in_thread() as hanging:
        process = subprocess.Popen(
            [
                str(SCRIPT),
                "send",
                "upload",
                "--target",
                hanging.url,
                "--timeout",
                "40",
                "--report",
                str(report),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        try:
            wait_until(lambda: len(hanging.records) == 1)
            process.send_signal(signal.SIGINT)
            time.sleep(0.3)
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            process.kill()
    assert process.returncode == 130, err
    row = json.loads(report.read_text())["events"][0]
    assert (row["result"], row["reason"]) == ("failed", "interrupted before an answer")


def test_resume_refuses_a_different_seed(tmp_path: Path, receiver: Receiver) -> None:
    journal = tmp_path / "j.jsonl"
    cli(
        "run",
        "delete",
        "--target",
        receiver.url,
        "--seed",
        "1",
        "--speed",
        "0",
        "--journal",
        str(journal),
        check_code=0,
    )
    done = cli("run", "--resume", str(journal), "--seed", "2", check_code=2)
    assert done.stderr.startswith("error: --seed: the journal's run used 1")
