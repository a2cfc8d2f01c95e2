"""The HTML report: self-contained, failures first, a bar per attempt; checked in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emitter import api
from emitter.cli import app
from emitter.fuzz import fuzz
from emitter.receiver.server import Behaviour, Receiver
from emitter.reports.html import HtmlReport, fuzz_page
from tests.fuzz import receivers

NOW = "2024-05-01T12:00:00Z"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
GREEN, RED = (0x2E, 0x7D, 0x32), (0xC6, 0x28, 0x28)  # the bars of 2xx and 5xx attempts


def _report(tmp_path: Path, status: int = 500) -> tuple[Path, api.CompletedRun]:
    path = tmp_path / "report.html"
    report = HtmlReport(path)
    with Receiver(behaviour=Behaviour(status=200, fail_first=2, fail_status=status)).running_in_thread() as r:
        done = api.run("happy-path", target=r.url, seed=2, now=NOW, speed=0, on_outcome=report.handle)
    report.close()
    return path, done


def test_failures_come_first_and_every_attempt_is_on_the_timeline(tmp_path: Path) -> None:
    path, done = _report(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert not done.ok
    failed = [e for e in done.events if not e.ok]
    assert (
        text.index("<h2>Failures</h2>") < text.index("<h2>Timeline</h2>") < text.index("<h2>Every send</h2>")
    )
    timeline = text[text.index("id=timeline") : text.index("<h2>Every send</h2>")]
    assert timeline.count("class='bar ") == len(done.attempts)
    assert timeline.count("class='bar s5'") == len(failed)
    assert text.count("<details class=failed>") == 2 * len(failed)  # in Failures and in Every send
    assert "in-process" not in text and str(done.events[0].ref.name) in text


def test_the_page_is_self_contained_and_escapes_bodies(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    report = HtmlReport(path)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\nsteps:\n  - event: upload\n    body: '<script>alert(1)</script>'\n")
    with Receiver().running_in_thread() as r:
        api.run(str(scenario), target=r.url, seed=1, now=NOW, speed=0, on_outcome=report.handle)
    report.close()
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text


def test_run_html_flag_and_a_bad_path(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "out" / "run.html"
    result = runner.invoke(app, ["run", "clip", "--speed", "0", "--seed", "1", "--html", str(path)])
    assert result.exit_code == 0, result.output
    assert "id=timeline" in path.read_text(encoding="utf-8")
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = runner.invoke(app, ["run", "clip", "--speed", "0", "--html", str(blocked / "x.html")])
    assert bad.exit_code == 2 and "--html" in bad.stderr


def test_fuzz_page_lists_findings_and_answers(tmp_path: Path) -> None:
    report = fuzz(
        receivers.iterates_missing_list, events=["procedure"], seed=2, max_examples=20, out=tmp_path
    )
    text = fuzz_page(report)
    assert "<h2>Failures</h2>" in text and "id=answers" in text
    assert all(str(f.path) in text for f in report.findings)


def _pixels(png: Path) -> set[tuple[int, int, int]]:
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        return {rgb.getpixel((x, y)) for x in range(0, rgb.width, 2) for y in range(0, rgb.height, 2)}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_chromium_renders_the_timeline_without_console_errors(tmp_path: Path) -> None:
    pytest.importorskip("PIL", reason="pillow decodes the screenshot")
    path, _ = _report(tmp_path)
    screenshot = tmp_path / "report.png"
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,900",
            f"--screenshot={screenshot}",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    colours = _pixels(screenshot)
    assert GREEN in colours and RED in colours  # the timeline's bars, delivered and failed
    keep = os.environ.get("VOD_EMITTER_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)


class _LoadPage(HTMLParser):
    """The cards (name -> value), per-second rows, histogram bars and resource attributes of a load page."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, str] = {}
        self.seconds: list[list[str]] = []
        self.bars = 0
        self.resources: list[str] = []
        self._stack: list[str] = []
        self._value = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.resources += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset")]
        if tag == "tr" and found.get("class") == "second":
            self._row = []
            self.seconds.append(self._row)
        if tag == "div" and "histogram" in self._stack:
            self.bars += 1
        self._stack.append(found.get("id") or found.get("class") or tag)

    def handle_endtag(self, tag: str) -> None:
        self._stack.pop()

    def handle_data(self, data: str) -> None:
        where = self._stack[-1] if self._stack else ""
        if where == "b" and len(self._stack) > 1 and self._stack[-2].startswith("card"):
            self._value = data
        elif where.startswith("card") and self._value:
            self.cards[data] = self._value
            self._value = ""
        elif where == "td" and self._row is not None and len(self._stack) > 1 and self._stack[-2] == "second":
            self._row.append(data)


def test_load_html_matches_the_json_report_and_has_a_row_per_second(tmp_path: Path) -> None:
    page, summary = tmp_path / "out" / "load.html", tmp_path / "load.json"
    args = ["load", "clip", "--rate", "10/s", "--duration", "2s", "--seed", "3", "--now", NOW]
    result = CliRunner().invoke(app, [*args, "--json", str(summary), "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    parsed = _LoadPage()
    parsed.feed(text)
    parsed.close()
    assert parsed.cards["sent"] == str(data["sent"]) and data["sent"] > 0
    assert parsed.cards["ok"] == str(data["answered"]["total"] - data["unexpected"])
    assert parsed.cards["failed"] == str(data["errors"]["total"])
    assert parsed.cards["dropped"] == str(data["dropped"])
    assert parsed.cards["rate achieved"] == f"{data['achieved_rate']:.2f}/s"
    assert parsed.cards["rate asked"] == f"{data['target_rate']:g}/s"
    assert parsed.cards["verdict"].startswith("within")
    assert parsed.bars == len(data["histogram_ms"])
    assert 2 <= len(parsed.seconds) <= 3  # a row per second sent in; a busy machine may start one late
    assert sum(int(row[1]) for row in parsed.seconds) == data["sent"]
    assert parsed.resources == [] and "url(" not in text and "<script" not in text
    assert not [u for u in re.findall(r"https?://[^\s<'\"]+", text) if "127.0.0.1" not in u]
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = CliRunner().invoke(app, [*args, "--duration", "1s", "--html", str(blocked / "x.html")])
    assert bad.exit_code == 2 and "--html" in bad.stderr and "Traceback" not in bad.output
