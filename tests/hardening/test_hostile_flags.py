"""Flags whose values would lose a report or never end: refused in one line before anything is sent."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import emitter
from emitter.delivery.deliver import MAX_RETRIES, DeliveryOptions
from emitter.delivery.runner import Timing
from emitter.errors import UsageError
from emitter.request import MAX_CONCURRENCY, ReportFiles, delivery_options
from tests.hardening.cli import invoke, one_line_error

RUN = ("run", "happy-path", "--speed", "0", "--seed", "1")


@pytest.mark.parametrize(("first", "second"), [("--report", "--junit"), ("--journal", "--html")])
def test_two_reports_in_one_file_are_refused_before_the_run(first: str, second: str, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path, again = tmp_path / "out", tmp_path / "sub" / ".." / "out"  # one file, spelled two ways
    code, stdout, stderr = invoke(*RUN, first, str(path), second, str(again))
    assert code == 2
    assert one_line_error(stderr).startswith(f"error: {second}: '{again}' is the file of another report")
    assert "built-in receiver" not in stdout + stderr and not path.exists()  # nothing was sent
    assert ReportFiles(json=Path("/dev/null"), junit=Path("/dev/null")).junit  # a device takes several


def test_concurrency_is_bounded_for_the_cli_and_the_library() -> None:
    code, _, stderr = invoke(*RUN, "--concurrency", "1000000000")
    assert code == 2
    assert one_line_error(stderr).startswith(
        f"error: --concurrency: 1000000000 sends at once is over the limit of {MAX_CONCURRENCY}"
    )
    with pytest.raises(UsageError, match=r"^concurrency: "):
        emitter.run("happy-path", timing=Timing(speed=0, concurrency=MAX_CONCURRENCY + 1))
    code, _, stderr = invoke("load", "happy-path", "-c", "1000000000", "-d", "1s")
    assert code == 2 and "less than or equal to 10000" in one_line_error(stderr)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--retries", "100000"), f"--retries: 100000 retries is over the limit of {MAX_RETRIES}"),
        (("--retries", "3", "--backoff", "1s", "--backoff-factor", "inf"), "--backoff-factor: the last"),
        (("--retries", "40", "--backoff", "1s"), "would wait more than 86400 s"),  # 2^39 s, at factor 2
    ],
)
def test_retries_and_their_waits_are_bounded(flags: tuple[str, ...], words: str) -> None:
    code, _, stderr = invoke(*RUN, "--retry-on-connect-error", "--target", "http://127.0.0.1:9/", *flags)
    assert code == 2
    assert words in one_line_error(stderr)


def test_retries_within_the_bounds_are_kept() -> None:
    options = delivery_options(retries=MAX_RETRIES, backoff=0)  # no waits: any count up to the limit
    assert options.retries == MAX_RETRIES
    assert delivery_options(retries=10, backoff="1s", backoff_factor=3).backoff_before(10) == 3**9


@pytest.mark.parametrize(
    ("given", "location"),
    [
        ({"retries": 2000}, "retries"),  # backoff_before overflowed a float
        ({"retries": 40, "backoff": 1.0}, "backoff_factor"),  # the last wait: 2^39 s
        ({"backoff": math.nan}, "backoff"),
        ({"backoff_factor": math.nan}, "backoff"),
    ],
)
def test_the_library_bounds_retries_and_their_waits_too(given: dict[str, float], location: str) -> None:
    with pytest.raises(UsageError) as raised:
        DeliveryOptions(**given)  # type: ignore[arg-type]
    assert raised.value.location == location


@pytest.mark.parametrize("command", [("render", "upload"), ("render", "happy-path"), ("send", "upload")])
@pytest.mark.parametrize("path", ["", "x["])
def test_a_bad_unset_path_is_named_as_unset(command: tuple[str, ...], path: str) -> None:
    code, _, stderr = invoke(*command, "--unset", path)
    assert code == 2
    assert one_line_error(stderr).startswith("error: --unset: ")  # not --set or --param


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "1970-06-01"])
def test_a_moment_out_of_range_is_one_line_not_an_overflow(now: str) -> None:
    code, _, stderr = invoke(
        "render", "happy-path", "--seed", "1", "--now", now, "--envelope", "pull", "-f", "v3"
    )
    assert code == 2
    assert one_line_error(stderr).startswith("error: --now: ") and "is out of range" in stderr
    with pytest.raises(UsageError, match=r"^now: .* is out of range"):
        emitter.render_event("upload", now=now)


def test_a_moment_of_the_wrong_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^now: 5 \(int\) is not a moment"):
        emitter.render_event("upload", now=5)  # type: ignore[arg-type]
    assert emitter.render_event("upload", seed=1, now="1971-01-01T00:00:00Z")


def test_help_under_a_huge_columns_is_laid_out_at_a_bounded_width() -> None:
    code, stdout, _ = invoke("render", "--help", env={"COLUMNS": "99999999"})  # took minutes
    assert code == 0 and "--seed" in stdout
    assert max(map(len, stdout.splitlines())) <= 1000


def test_load_refuses_its_json_and_html_in_one_file_before_it_sends(tmp_path: Path) -> None:
    path = tmp_path / "load.out"
    code, stdout, stderr = invoke(
        "load", "happy-path", "-c", "1", "-d", "1s", "--json", str(path), "--html", str(path)
    )
    assert code == 2  # was: a whole load, then the HTML over the JSON and a message about the HTML
    assert one_line_error(stderr).startswith(f"error: --html: '{path}' is the file of another report")
    assert "built-in receiver" not in stdout + stderr and not path.exists()
