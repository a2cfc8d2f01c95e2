"""The pytest plugin through pytester: fixtures, the scenario marker, failure reports and seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import emitter.api  # noqa: F401 - loaded once here, not again by each in-process pytester run
from emitter.scenarios.loader import builtin_scenarios

pytest_plugins = ("pytester",)
# other plugins of this environment only slow the inner sessions down
QUIET = ("-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:anyio")

# An ASGI app without a framework: 500 for transcode callbacks, 200 for the rest.
FLAKY_APP = """
import json

received = []


async def app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    received.append(json.loads(body))
    failing = b"TranscodeComplete" in body
    await send({"type": "http.response.start", "status": 500 if failing else 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"transcode handler exploded" if failing else b"ok"})
"""


@pytest.fixture
def flaky(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(flaky_app=FLAKY_APP)
    pytester.syspathinsert()
    return pytester


def test_a_passing_run_against_the_builtin_receiver(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_happy_path(vod_emitter, vod_receiver):
            run = vod_emitter.run("happy-path")
            assert run.ok and run.result.delivered == 4
            assert [r.body for r in vod_receiver.records] == [s.body for s in run.sent]
            assert all(r.conforms for r in vod_receiver.records)

        def test_the_receiver_is_cleared_between_tests(vod_emitter, vod_receiver):
            assert vod_receiver.records == []
            vod_emitter.send("concat", params={"status": "fail"})
            assert [r.event_type for r in vod_receiver.records] == ["ConcatComplete"]
    """)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2)


def test_a_failed_send_fails_the_test_with_a_readable_summary(flaky: pytest.Pytester) -> None:
    flaky.makepyfile("""
        import pytest
        from flaky_app import app

        @pytest.fixture
        def vod_target():
            return app

        def test_happy_path(vod_emitter):
            vod_emitter.run("happy-path")
    """)
    result = flaky.runpytest(*QUIET, "--vod-seed", "1234", "--vod-now", "2024-05-01T12:00:00Z")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DeliveryFailed: happy-path -> in-process ASGI app at /: 4 of 4 sends: 3 delivered, "
            "1 unexpected status*seed 1234, now 2024-05-01T12:00:00Z",
            "*#3 happy-path/transcode TranscodeComplete: unexpected: status 500, expected 2xx",
            "*    attempts: 1 (500)",
            '*    request:  {"version":"4.0","eventType":"TranscodeComplete",*',
            "*    response: 500 transcode handler exploded",
            "*- vod-emitter -*",
            "seed 1234, now 2024-05-01T12:00:00Z",
            "replay: pytest 'test_a_failed_send_fails_the_test_with_a_readable_summary.py::test_happy_path' "
            "--vod-seed 1234 --vod-now 2024-05-01T12:00:00Z",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "emitter/api.py" not in result.stdout.str()  # the library's frames are hidden


def test_a_failed_run_can_be_inspected_instead(flaky: pytest.Pytester) -> None:
    flaky.makepyfile("""
        import pytest
        from flaky_app import app

        @pytest.fixture
        def vod_target():
            return app

        def test_the_transcode_is_refused(vod_emitter):
            run = vod_emitter.run("happy-path", check=False)
            assert run.exit_code == 1
            [failure] = run.failures
            assert failure.event_type == "TranscodeComplete" and failure.finished.status == 500
    """)
    flaky.runpytest(*QUIET).assert_outcomes(passed=1)


def test_the_seed_comes_from_the_option_or_a_fixture(flaky: pytest.Pytester) -> None:
    flaky.makepyfile(
        test_option="""
        import datetime as dt
        import emitter

        def test_option_seed(vod_emitter, vod_seed, vod_now):
            assert vod_seed == 42 and vod_now == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
            run = vod_emitter.run("concat-failure")
            assert run.seed == 42
            expected = emitter.render_scenario("concat-failure", seed=42, now=vod_now)
            assert [s.body for s in run.sent] == [e.body for e in expected]
    """,
        test_fixture="""
        import pytest
        from flaky_app import app

        @pytest.fixture
        def vod_seed():
            return 7

        @pytest.fixture
        def vod_target():
            return app

        def test_fixture_seed(vod_emitter):
            assert vod_emitter.run("delete").seed == 7

        def test_failure_shows_the_fixture_seed(vod_emitter):
            vod_emitter.run("transcode-fail-30009")
    """,
    )
    result = flaky.runpytest(*QUIET, "--vod-seed", "42", "--vod-now", "2024-05-01T12:00:00Z")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["seed 7, now 2024-05-01T12:00:00Z", "replay: pytest *--vod-seed 7 *"])


def test_without_an_option_the_session_draws_one_seed_and_prints_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_one(vod_seed, vod_emitter):
            print(f"used seed {vod_emitter.run('delete').seed}")

        def test_two(vod_seed):
            print(f"used seed {vod_seed}")
    """)
    result = pytester.runpytest(*QUIET, "-v", "-s")
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    header = re.search(r"vod-emitter: seed (\d+), now \S+ \(replay: --vod-seed (\d+) --vod-now", output)
    assert header is not None and header.group(1) == header.group(2)
    assert re.findall(r"used seed (\d+)", output) == [header.group(1)] * 2


def test_the_marker_runs_a_test_per_scenario(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from emitter.pytest_plugin import vod_scenarios

        @pytest.mark.vod_scenarios("happy-path", "concat-failure")
        def test_two(vod_emitter, vod_scenario):
            assert vod_emitter.run(vod_scenario).ok

        @pytest.mark.vod_scenarios("all")
        def test_all(vod_scenario):
            pass

        @pytest.mark.parametrize("name", vod_scenarios("delete", "clip"))
        def test_helper(vod_emitter, name):
            assert vod_emitter.run(name).sent[0].event_type in ("FileDeleted", "NewFileUpload")
    """)
    result = pytester.runpytest(*QUIET, "-v")
    result.assert_outcomes(passed=2 + len(builtin_scenarios()) + 2)
    result.stdout.fnmatch_lines(
        [
            "*test_two?happy-path? PASSED*",
            "*test_two?concat-failure? PASSED*",
            "*test_all?transcode-fail-30010? PASSED*",
            "*test_helper?clip? PASSED*",
        ]
    )


def test_an_unknown_scenario_in_the_marker_is_a_one_line_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.vod_scenarios("happy-pth")
        def test_typo(vod_scenario):
            pass
    """)
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*vod_scenarios: no scenario file or built-in scenario 'happy-pth'; did you mean 'happy-path'?*"]
    )


def test_vod_scenario_without_the_marker_says_how_to_get_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_forgot(vod_scenario):
            pass
    """)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*vod_scenario is set by @pytest.mark.vod_scenarios*"])


def test_the_target_option_takes_an_app_spec(flaky: pytest.Pytester) -> None:
    flaky.makepyfile("""
        import flaky_app

        def test_sent_in_process(vod_emitter):
            run = vod_emitter.send("upload", params={"file_name": "From the option"})
            assert run.target == "app:flaky_app:app/hooks"
            assert flaky_app.received[-1]["data"]["fileName"] == "From the option"
    """)
    flaky.runpytest(*QUIET, "--vod-target", "app:flaky_app:app/hooks").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--vod-target", "ftp://example.com/hooks"), "*--vod-target*"),
        (("--vod-target", "app:no_such_module:app"), "*--vod-target*no_such_module*"),
        (("--vod-seed=-5",), "*--vod-seed: a seed is a whole number >= 0, not -5*"),
    ],
)
def test_a_bad_target_or_seed_is_one_usage_error_at_startup(
    pytester: pytest.Pytester, option: tuple[str, ...], words: str
) -> None:
    # it was a traceback in every test that used vod_emitter (target) or accepted (seed)
    pytester.makepyfile("""
        def test_one(vod_emitter):
            vod_emitter.send("upload")

        def test_two(vod_emitter):
            vod_emitter.send("upload")
    """)
    result = pytester.runpytest(*QUIET, *option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([words])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_vod_format_pins_the_format(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.fixture(params=["v2", "v3"])
        def vod_format(request):
            return request.param

        def test_both(vod_emitter, vod_receiver, vod_format):
            vod_emitter.run("concat-failure")
            assert vod_receiver.records[0].format == vod_format
    """)
    pytester.runpytest(*QUIET).assert_outcomes(passed=2)


def test_the_readme_example_passes_as_written(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Testing your receiver with pytest\n", 1)[1]
    pytester.makepyfile(test_from_readme=section.split("```python\n", 1)[1].split("```", 1)[0])
    result = pytester.runpytest(*QUIET)
    both_formats = 2
    result.assert_outcomes(passed=both_formats * (1 + 2 + 1 + len(builtin_scenarios())))
