"""The run request: built once from keywords or flags, checked in the library's own terms, passed down."""

from __future__ import annotations

import datetime as dt
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import emitter
from emitter.api import Emitter, plan_run, run_plan
from emitter.clock import parse_duration, parse_moment
from emitter.delivery.deliver import DeliveryOptions
from emitter.delivery.runner import Timing
from emitter.errors import EmitterError, ScenarioError, UsageError
from emitter.payloads.options import parse_assignments
from emitter.payloads.render import RenderSession
from emitter.request import RunRequest, delivery_options, request_from
from emitter.scenarios.loader import parse_scenario
from emitter.scenarios.plan import PRIMED_SENDS
from tests.helpers import cli

NOW = "2024-05-01T12:00:00Z"
# the last step's override names a path its payload lacks: an error only rendering finds
BROKEN = (
    "version: 1\nsteps:\n  - event: upload\n    repeat: {repeat}\n"
    "  - event: delete\n    unset: [data.nowhere]\n"
)


def test_moments_and_durations_have_one_parser_each() -> None:
    assert parse_moment(NOW) == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    assert parse_moment("2024-05-01T12:00:00").tzinfo == dt.timezone.utc  # naive means UTC
    with pytest.raises(UsageError, match=r"^now: 'soon' is not an ISO 8601 time"):
        parse_moment("soon")
    assert parse_duration("200ms") == 0.2 and parse_duration("5", text_numbers=True) == 5.0
    with pytest.raises(ScenarioError, match="bad duration"):
        parse_duration("5")  # in a scenario, a quoted number is a mistake
    with pytest.raises(UsageError, match=r"^timeout: '0' must be more than 0"):
        parse_duration("0", location="timeout", text_numbers=True, positive=True)


@pytest.mark.parametrize(
    ("build", "keyword"),
    [
        (lambda: RunRequest(ca_bundle=Path("ca.pem"), insecure=True), "insecure"),
        (lambda: RunRequest(options={"keep_nuls": True}), "options"),
        (lambda: RunRequest(target="ftp://x"), "target"),
        (lambda: RunRequest(seed="7"), "seed"),  # type: ignore[arg-type]
        (lambda: delivery_options(sign_key="k", sign_in="cookie"), "sign_in"),
        (lambda: delivery_options(sign_case="expired"), "sign_case"),
        (lambda: delivery_options(timeout="soon"), "timeout"),
        (lambda: delivery_options(headers=["broken"]), "headers"),
        (lambda: DeliveryOptions(timeout=0), "timeout"),
        (lambda: request_from({"now": "soon"}, caller="run", accepted=frozenset({"now"})), "now"),
    ],
)
def test_library_errors_name_keywords_not_flags(build: Any, keyword: str) -> None:
    with pytest.raises(EmitterError) as caught:
        build()
    assert caught.value.location == keyword and "--" not in str(caught.value)


def test_the_sync_forms_take_the_async_forms_keywords() -> None:
    for sync, coroutine in ((emitter.run, emitter.run_async), (emitter.send, emitter.send_async)):
        assert inspect.signature(sync) == inspect.signature(coroutine)
    with pytest.raises(TypeError, match="unexpected keyword argument 'sped'"):
        emitter.run("happy-path", sped=0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'speed'"):
        emitter.send("upload", speed=0)  # type: ignore[call-arg]


def test_options_reach_the_payloads_of_run_send_and_emitter(vod_receiver: emitter.Receiver) -> None:
    def bodies(done: emitter.CompletedRun) -> list[str]:
        return [item.body.decode() for item in done.sent]

    docs = {"profile": "docs"}  # the docs profile omits nulls; keep_nulls keeps them
    plain = emitter.run("happy-path", target=vod_receiver, seed=3, now=NOW, fmt="v3", speed=0, options=docs)
    kept = emitter.run(
        "happy-path",
        target=vod_receiver,
        seed=3,
        now=NOW,
        fmt="v3",
        speed=0,
        options={**docs, "keep_nulls": True},
    )
    assert not any("null" in body for body in bodies(plain))
    assert all(plain.ok for plain in (plain, kept)) and any("null" in body for body in bodies(kept))
    sent = emitter.send(
        "upload", target=vod_receiver, seed=3, now=NOW, fmt="v3", options={**docs, "keep_nulls": True}
    )
    hooks = Emitter(vod_receiver, seed=3, now=NOW, fmt="v3", speed=0, options={**docs, "keep_nulls": True})
    assert bodies(hooks.run("happy-path")) == bodies(kept)
    assert bodies(hooks.send("upload")) == bodies(sent)
    assert [r.body.decode() for r in vod_receiver.records][-1] == bodies(sent)[0]
    with pytest.raises(UsageError, match=r"^options: unknown option 'keep_nuls'"):
        Emitter(vod_receiver, options={"keep_nuls": True})


def test_each_event_renders_once_and_errors_still_cost_no_sends(
    monkeypatch: pytest.MonkeyPatch, vod_receiver: emitter.Receiver
) -> None:
    renders: list[str] = []
    original = RenderSession.render

    def counting(self: RenderSession, spec: Any, *args: Any, **kwargs: Any) -> Any:
        renders.append(spec.event_type)
        return original(self, spec, *args, **kwargs)

    monkeypatch.setattr(RenderSession, "render", counting)
    done = emitter.run("happy-path", target=vod_receiver, seed=5, now=NOW, speed=0)
    assert done.ok and renders == [item.event_type for item in done.sent] and len(renders) == 4
    broken = parse_scenario(BROKEN.format(repeat=3))
    vod_receiver.clear()
    with pytest.raises(ScenarioError):
        emitter.run(broken, target=vod_receiver, speed=0)
    assert vod_receiver.records == []


def test_a_step_beyond_the_primed_sends_is_still_checked_before_sending() -> None:
    with pytest.raises(ScenarioError, match=r"'data\.nowhere' is not in the payload"):
        plan_run([parse_scenario(BROKEN.format(repeat=PRIMED_SENDS + 1))], RunRequest(seed=1))


def test_one_record_per_event_gains_its_attempts_and_outcome(vod_receiver: emitter.Receiver) -> None:
    vod_receiver.behaviour = emitter.Behaviour(fail_first=1, fail_status=503)
    delivery = DeliveryOptions(retries=1, retry_on_status=True)
    done = emitter.run("happy-path", target=vod_receiver, seed=2, now=NOW, speed=0, delivery=delivery)
    first = done.sent[0]
    assert [attempt.status for attempt in first.attempts] == [503, 200] and first.delivered
    assert first.finished is not None and first.finished.attempts == 2 and first.finished.ok
    assert [o for o in done.attempts if o.ref.index == 0] == list(first.attempts)
    assert isinstance(first, emitter.SentEvent) and first.describe()[1] == "    attempts: 2 (503, 200)"


def test_run_plan_delivers_a_plan_as_its_request_says(vod_receiver: emitter.Receiver) -> None:
    request = RunRequest(target=vod_receiver, seed=9, now=parse_moment(NOW), timing=Timing(speed=0))
    plan = plan_run(["happy-path"], request)
    done = emitter.api.run_sync(run_plan(plan, request))
    assert done.ok and done.seed == 9 and len(vod_receiver.records) == 4


def test_a_json_text_for_a_string_parameter_stays_text() -> None:
    assert parse_assignments(
        ['source_context={"UserId":"u"}', "n=1"], flag="-p", strings={"source_context"}
    ) == {
        "source_context": '{"UserId":"u"}',
        "n": 1,
    }
    assert parse_assignments(["procedure_task_id=null"], flag="-p", strings={"procedure_task_id"}) == {
        "procedure_task_id": None
    }
    done = cli("render", "upload", "-p", 'source_context={"UserId":"u"}', "--seed", "1", "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["sourceContext"] == '{"UserId":"u"}'


def test_run_and_send_take_format_options(vod_receiver: emitter.Receiver) -> None:
    # the docs profile omits null fields unless keep_nulls (the wire profile fills them in either way)
    common = (
        "--target",
        vod_receiver.url,
        "--seed",
        "4",
        "--now",
        NOW,
        "--format",
        "v3",
        "--profile",
        "docs",
    )
    cli("run", "happy-path", "--speed", "0", "--option", "keep_nulls=true", *common, check_code=0)
    cli("send", "upload", "--option", "keep_nulls=true", *common, check_code=0)
    docs = {"profile": "docs"}
    kept = emitter.render_scenario(
        "happy-path", seed=4, now=NOW, fmt="v3", options={**docs, "keep_nulls": True}
    )
    plain = emitter.render_scenario("happy-path", seed=4, now=NOW, fmt="v3", options=docs)
    received = [record.body for record in vod_receiver.records]
    assert received[:4] == [event.body for event in kept] != [event.body for event in plain]
    assert b"null" in received[4]
    bad = cli("send", "upload", "--option", "keep_nuls=true", *common, check_code=2)
    assert bad.stderr.startswith("error: --option: unknown option 'keep_nuls'")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--sign-in", "cookie", "--sign-key", "k"], "--sign-in"),
        (["--ca-bundle", "ca.pem", "--insecure"], "--insecure"),
        (["--concurrency", "2", "--shuffle-window", "2", "--reverse-window", "2"], "--reverse-window"),
        (["--jitter", "soon"], "--jitter"),
        (["--format", "v9"], "--format"),
    ],
)
def test_the_cli_names_the_flag_of_a_library_error(args: list[str], flag: str) -> None:
    done = cli("run", "happy-path", "--speed", "0", *args, check_code=2)
    assert done.stderr.startswith(f"error: {flag}: ") and len(done.stderr.splitlines()) == 1
