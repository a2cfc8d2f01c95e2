"""The runner on a fake clock and httpx.MockTransport: order, delays, speed, perturbations, stop, streams."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.delivery.runner import Runner, Timing, schedule
from emitter.errors import ScenarioError, UsageError
from emitter.outcomes import AttemptFinished, EventFinished, EventRef, Outcome, RunFinished, RunStarted
from emitter.payloads.render import Renderer
from emitter.scenarios.loader import Scenario, load_scenario, parse_scenario
from emitter.scenarios.plan import RunPlan, expand, planned_count
from tests.helpers import FakeTime, VirtualTime

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
TARGET = "http://127.0.0.1:9/cb"

SIX_STEPS = """
version: 1
steps:
  - event: upload
  - event: procedure
    delay: 1s
    repeat: 3
  - event: transcode
    delay: 500ms
    duplicate: 2
  - event: delete
    delay: 2s
"""


@pytest.fixture(scope="module")
def six(renderer: Renderer) -> Scenario:
    return parse_scenario(SIX_STEPS, "six.yaml", renderer.catalog)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


def play(
    plan: RunPlan,
    timing: Timing | None = None,
    handler: Callable[[httpx.Request], Any] = ok,
    *,
    renderer: Renderer | None = None,
    options: DeliveryOptions | None = None,
    fake: FakeTime | None = None,
    on_outcome: Callable[[Runner, Outcome], None] | None = None,
    deliveries: Callable[[], Iterator[Delivery]] | None = None,
) -> tuple[list[Outcome], list[bytes], FakeTime]:
    """Run a plan; returns the outcomes, the bodies in the order the transport saw them, and the clock."""
    fake = fake or FakeTime()
    bodies: list[bytes] = []

    def recording(request: httpx.Request) -> Any:
        bodies.append(request.content)
        return handler(request)

    async def go() -> list[Outcome]:
        async with make_client(transport=httpx.MockTransport(recording)) as client:
            sender = Sender(client, TARGET, options, clock=fake.clock, sleep=fake.sleep)
            runner = Runner(
                plan,
                sender,
                timing,
                renderer=renderer,
                clock=fake.clock,
                sleep=fake.sleep,
                deliveries=deliveries,
            )
            seen = []
            async for outcome in runner.run():
                seen.append(outcome)
                if on_outcome:
                    on_outcome(runner, outcome)
            return seen

    return asyncio.run(go()), bodies, fake


def finished(outcomes: list[Outcome]) -> list[EventFinished]:
    return [o for o in outcomes if isinstance(o, EventFinished)]


def result_of(outcomes: list[Outcome]) -> Any:
    last = outcomes[-1]
    assert isinstance(last, RunFinished)
    return last.result


def test_planned_count_multiplies_repeats_and_duplicates(six: Scenario) -> None:
    assert planned_count([six]) == 1 + 3 + 2 + 1


def test_sequential_run_sends_every_event_once_in_plan_order(six: Scenario, renderer: Renderer) -> None:
    plan = RunPlan((six,), 5, NOW)
    outcomes, bodies, _ = play(plan, Timing(speed=0), renderer=renderer)
    assert isinstance(outcomes[0], RunStarted) and outcomes[0].planned == 7
    expected = [d.body for d in expand(plan, renderer)]
    assert bodies == expected
    assert [e.ref.index for e in finished(outcomes)] == list(range(7))
    result = result_of(outcomes)
    assert (result.delivered, result.failed, result.attempts, result.exit_code) == (7, 0, 7, 0)


def test_duplicates_send_the_same_body_twice(six: Scenario, renderer: Renderer) -> None:
    outcomes, bodies, _ = play(RunPlan((six,), 5, NOW), Timing(speed=0), renderer=renderer)
    copies = [e.ref for e in finished(outcomes) if e.ref.step == "transcode"]
    assert [(r.copy, r.copies) for r in copies] == [(0, 2), (1, 2)]
    assert bodies[4] == bodies[5] and json.loads(bodies[4])["eventType"] == "TranscodeComplete"


def test_the_same_seed_renders_the_same_bodies_as_render_scenario(renderer: Renderer) -> None:
    scenario = load_scenario("happy-path", renderer.catalog)
    first = play(RunPlan((scenario,), 11, NOW), Timing(speed=0), renderer=renderer)[1]
    again = play(RunPlan((scenario,), 11, NOW), Timing(speed=0), renderer=renderer)[1]
    other = play(RunPlan((scenario,), 12, NOW), Timing(speed=0), renderer=renderer)[1]
    assert first == again and first != other


@pytest.mark.parametrize(("speed", "expected"), [(1.0, [1, 1, 1, 0.5, 2]), (2.0, [0.5, 0.5, 0.5, 0.25, 1])])
def test_delays_are_waits_after_the_previous_send_scaled_by_speed(
    six: Scenario, renderer: Renderer, speed: float, expected: list[float]
) -> None:
    _, _, fake = play(RunPlan((six,), 5, NOW), Timing(speed=speed), renderer=renderer)
    assert fake.sleeps == expected


def test_speed_zero_never_waits(six: Scenario, renderer: Renderer) -> None:
    _, bodies, fake = play(RunPlan((six,), 5, NOW), Timing(speed=0, jitter=0.3), renderer=renderer)
    assert fake.sleeps == [] and len(bodies) == 7


@pytest.mark.parametrize(("answer_after", "sent_at"), [(0.75, [0.0, 2.0]), (3.0, [0.0, 3.0])])
def test_a_delay_counts_from_the_previous_send_and_one_send_at_a_time_holds_the_next(
    renderer: Renderer, answer_after: float, sent_at: list[float]
) -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n  - event: delete\n    delay: 2s\n",
        "two.yaml",
        renderer.catalog,
    )
    virtual = VirtualTime()
    arrivals: list[float] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        arrivals.append(virtual.now)
        await virtual.sleep(answer_after)
        return httpx.Response(200)

    async def go() -> None:
        driver = asyncio.create_task(virtual.drive())
        async with make_client(transport=httpx.MockTransport(slow)) as client:
            sender = Sender(client, TARGET, clock=virtual.clock, sleep=virtual.sleep)
            runner = Runner(
                RunPlan((scenario,), 1, NOW),
                sender,
                Timing(),
                renderer=renderer,
                clock=virtual.clock,
                sleep=virtual.sleep,
            )
            async for _ in runner.run():
                pass
        driver.cancel()

    asyncio.run(go())
    assert arrivals == sent_at


def test_concurrency_limits_sends_in_flight(renderer: Renderer) -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 10\n", "ten.yaml", renderer.catalog
    )
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200)

    outcomes, _, _ = play(
        RunPlan((scenario,), 1, NOW), Timing(speed=0, concurrency=3), handler, renderer=renderer
    )
    assert peak == 3
    assert sorted(e.ref.index for e in finished(outcomes)) == list(range(10))
    peak = 0
    play(RunPlan((scenario,), 1, NOW), Timing(speed=0), handler, renderer=renderer)
    assert peak == 1


def _order(plan: RunPlan, timing: Timing, renderer: Renderer) -> list[int]:
    return [d.ref.index for d in schedule(plan, timing, renderer)]


def test_shuffle_is_seeded_and_stays_within_windows(renderer: Renderer) -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 12\n", "s.yaml", renderer.catalog
    )
    plan = RunPlan((scenario,), 21, NOW)
    order = _order(plan, Timing(shuffle_window=4), renderer)
    assert order == _order(plan, Timing(shuffle_window=4), renderer)
    assert order != list(range(12))
    assert [sorted(order[i : i + 4]) for i in (0, 4, 8)] == [list(range(i, i + 4)) for i in (0, 4, 8)]
    others = {
        tuple(_order(RunPlan((scenario,), seed, NOW), Timing(shuffle_window=4), renderer))
        for seed in range(5)
    }
    assert len(others) > 1


def test_reverse_windows_keep_the_waits_in_place(six: Scenario, renderer: Renderer) -> None:
    plan = RunPlan((six,), 5, NOW)
    reversed_ = list(schedule(plan, Timing(reverse_window=3), renderer))
    assert [d.ref.index for d in reversed_] == [2, 1, 0, 5, 4, 3, 6]
    assert [d.wait for d in reversed_] == [d.wait for d in expand(plan, renderer)]
    outcomes, bodies, _ = play(plan, Timing(speed=0, reverse_window=3), renderer=renderer)
    plain = [d.body for d in expand(plan, renderer)]
    assert bodies == [plain[i] for i in [2, 1, 0, 5, 4, 3, 6]]
    assert [e.ref.index for e in finished(outcomes)] == [2, 1, 0, 5, 4, 3, 6]


def test_jitter_is_seeded_bounded_and_does_not_touch_bodies(six: Scenario, renderer: Renderer) -> None:
    plan = RunPlan((six,), 5, NOW)
    base = [d.wait for d in expand(plan, renderer)]
    jittered = [d.wait for d in schedule(plan, Timing(jitter=0.2), renderer)]
    assert jittered == [d.wait for d in schedule(plan, Timing(jitter=0.2), renderer)]
    extras = [j - b for j, b in zip(jittered, base, strict=True)]
    assert all(0 <= e <= 0.2 for e in extras) and len(set(extras)) == len(extras)
    plain = [d.body for d in expand(plan, renderer)]
    assert [d.body for d in schedule(plan, Timing(jitter=0.2), renderer)] == plain


def test_skipped_indexes_are_not_sent_and_resume_waits_only_for_kept_sends(
    six: Scenario, renderer: Renderer
) -> None:
    plan = RunPlan((six,), 5, NOW, skip=frozenset({0, 1, 2, 5}))
    outcomes, bodies, fake = play(plan, Timing(), renderer=renderer)
    assert [e.ref.index for e in finished(outcomes)] == [3, 4, 6]
    assert outcomes[0].planned == 3 and outcomes[0].resumed == 4  # type: ignore[union-attr]
    plain = [d.body for d in expand(RunPlan((six,), 5, NOW), renderer)]
    assert bodies == [plain[3], plain[4], plain[6]]
    assert fake.sleeps == [1, 0.5, 2]
    assert result_of(outcomes).exit_code == 0


def test_stop_ends_scheduling_and_reports_an_interruption(six: Scenario, renderer: Renderer) -> None:
    def stop_after_two(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, EventFinished) and outcome.ref.index == 1:
            runner.stop()

    plan = RunPlan((six,), 5, NOW)
    outcomes, bodies, _ = play(plan, Timing(), renderer=renderer, on_outcome=stop_after_two)
    result = result_of(outcomes)
    assert len(bodies) == 2 and [e.ref.index for e in finished(outcomes)] == [0, 1]
    assert result.interrupted and result.exit_code == 130 and result.not_sent == 5


def test_stop_after_the_last_send_is_not_an_interruption(renderer: Renderer) -> None:
    scenario = parse_scenario("version: 1\nsteps:\n  - event: upload\n", "one.yaml", renderer.catalog)

    def stop_at_end(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, EventFinished):
            runner.stop()

    outcomes, _, _ = play(RunPlan((scenario,), 5, NOW), Timing(), renderer=renderer, on_outcome=stop_at_end)
    assert result_of(outcomes).exit_code == 0


def test_an_interrupt_with_every_send_started_still_counts_as_interrupted(renderer: Renderer) -> None:
    # Ctrl-C while the last event is in flight: it finishes and is reported, and the exit code says
    # the run was interrupted (it said 1 or 0, as if the run had ended by itself)
    scenario = parse_scenario("version: 1\nsteps:\n  - event: upload\n", "one.yaml", renderer.catalog)
    hold = asyncio.Event()

    async def answer_once_released(request: httpx.Request) -> httpx.Response:
        await hold.wait()
        return httpx.Response(200)

    def interrupt_in_flight(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            loop = asyncio.get_running_loop()
            loop.call_later(0.01, runner.interrupt)
            loop.call_later(0.02, hold.set)

    outcomes, _, _ = play(
        RunPlan((scenario,), 5, NOW),
        Timing(speed=0),
        answer_once_released,
        renderer=renderer,
        on_outcome=interrupt_in_flight,
    )
    assert [e.result for e in finished(outcomes)] == ["delivered"]
    result = result_of(outcomes)
    assert result.interrupted and result.not_sent == 0 and result.exit_code == 130


def test_abort_cancels_sends_in_flight_and_reports_them(renderer: Renderer) -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 4\n", "four.yaml", renderer.catalog
    )
    hold = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await hold.wait()
        return httpx.Response(200)

    def abort_on_first_attempt_start(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            asyncio.get_running_loop().call_later(0.01, runner.abort)

    outcomes, _, _ = play(
        RunPlan((scenario,), 5, NOW),
        Timing(speed=0, concurrency=2),
        hang,
        renderer=renderer,
        on_outcome=abort_on_first_attempt_start,
    )
    events = finished(outcomes)
    assert [e.reason for e in events] == ["interrupted before an answer"] * 2
    result = result_of(outcomes)
    assert result.interrupted and result.failed == 2 and result.not_sent == 2 and result.exit_code == 130


def test_abort_before_sends_start_leaves_them_not_sent(renderer: Renderer) -> None:
    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 3\n", "three.yaml", renderer.catalog
    )

    def abort_at_once(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            # runs after the scheduler created the first send's task, before that task ever ran
            asyncio.get_running_loop().call_soon(asyncio.get_running_loop().call_soon, runner.abort)

    outcomes, bodies, _ = play(
        RunPlan((scenario,), 5, NOW),
        Timing(speed=0, concurrency=3),
        renderer=renderer,
        on_outcome=abort_at_once,
    )
    events = finished(outcomes)
    result = result_of(outcomes)
    assert result.interrupted and result.finished + result.not_sent == 3
    assert len({e.ref.index for e in events}) == len(events) == result.finished
    assert all(e.ok or e.reason == "interrupted before an answer" for e in events)
    assert len(bodies) >= result.delivered


def test_failures_are_outcomes_and_exit_1(six: Scenario, renderer: Renderer) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    outcomes, _, _ = play(RunPlan((six,), 5, NOW), Timing(speed=0), refuse, renderer=renderer)
    events = finished(outcomes)
    assert len(events) == 7 and all(e.reason.startswith("connection refused") for e in events)
    assert result_of(outcomes).exit_code == 1


def test_each_attempt_precedes_its_event(six: Scenario, renderer: Renderer) -> None:
    outcomes, _, _ = play(
        RunPlan((six,), 5, NOW),
        Timing(speed=0),
        lambda r: httpx.Response(500),
        renderer=renderer,
        options=DeliveryOptions(retry_on_status=True),
    )
    per_event: dict[int, list[str]] = {}
    for outcome in outcomes:
        if isinstance(outcome, AttemptFinished | EventFinished):
            per_event.setdefault(outcome.ref.index, []).append(type(outcome).__name__)
    assert all(kinds == ["AttemptFinished"] * 3 + ["EventFinished"] for kinds in per_event.values())
    result = result_of(outcomes)
    assert (result.unexpected, result.attempts, result.exit_code) == (7, 21, 1)


def test_a_render_error_mid_run_stops_it_with_exit_2(renderer: Renderer) -> None:
    ref = EventRef(0, "s", 0, "upload", "upload", "NewFileUpload")

    def broken() -> Iterator[Delivery]:
        yield Delivery(ref, b"{}", {})
        raise ScenarioError("bad path", location="s.yaml:4", hint="fix it")

    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 2\n", "s.yaml", renderer.catalog
    )
    outcomes, bodies, _ = play(RunPlan((scenario,), 1, NOW), Timing(), deliveries=broken)
    result = result_of(outcomes)
    assert len(bodies) == 1 and result.error == "s.yaml:4: bad path; fix it" and result.exit_code == 2


def test_rendering_is_streamed_not_collected(renderer: Renderer) -> None:
    pulled = 0
    ref = EventRef(0, "s", 0, "upload", "upload", "NewFileUpload")

    def many() -> Iterator[Delivery]:
        nonlocal pulled
        for index in range(2_000):
            pulled += 1
            yield Delivery(EventRef(index, "s", index, "upload", "upload", ref.event_type), b"{}", {})

    pulled_at_first_result: list[int] = []

    def watch(runner: Runner, outcome: Outcome) -> None:
        if isinstance(outcome, EventFinished) and not pulled_at_first_result:
            pulled_at_first_result.append(pulled)

    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 2000\n", "s.yaml", renderer.catalog
    )
    outcomes, _, _ = play(
        RunPlan((scenario,), 1, NOW), Timing(speed=0, concurrency=4), deliveries=many, on_outcome=watch
    )
    assert pulled_at_first_result[0] <= 8
    assert result_of(outcomes).delivered == 2_000


@pytest.mark.parametrize(
    ("timing", "keyword"),
    [
        ({"speed": -1}, "speed"),
        ({"concurrency": 0}, "concurrency"),
        ({"shuffle_window": 3, "reverse_window": 3}, "reverse_window"),
        ({"jitter": -0.5}, "jitter"),
    ],
)
def test_bad_timing_is_a_usage_error_naming_the_keyword(timing: dict[str, Any], keyword: str) -> None:
    with pytest.raises(UsageError, match=f"^{keyword}: "):
        Timing(**timing)


def test_at_speed_zero_a_render_error_lets_the_sends_before_it_finish(renderer: Renderer) -> None:
    def broken() -> Iterator[Delivery]:
        for index in range(5):
            yield Delivery(EventRef(index, "s", index, "upload", "upload", "NewFileUpload"), b"{}", {})
        raise ScenarioError("bad path", location="s.yaml:4", hint="fix it")

    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 9\n", "s.yaml", renderer.catalog
    )
    outcomes, bodies, _ = play(
        RunPlan((scenario,), 1, NOW), Timing(speed=0, concurrency=3), deliveries=broken
    )
    result = result_of(outcomes)
    assert sorted(e.ref.index for e in finished(outcomes)) == list(range(5)) and len(bodies) == 5
    assert result.error == "s.yaml:4: bad path; fix it" and result.exit_code == 2


def test_at_speed_zero_a_bug_is_raised_once_the_sends_in_flight_finish(renderer: Renderer) -> None:
    def buggy() -> Iterator[Delivery]:
        yield Delivery(EventRef(0, "s", 0, "upload", "upload", "NewFileUpload"), b"{}", {})
        raise RuntimeError("a bug")

    scenario = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    repeat: 2\n", "s.yaml", renderer.catalog
    )
    with pytest.raises(RuntimeError, match="a bug"):
        play(RunPlan((scenario,), 1, NOW), Timing(speed=0, concurrency=2), deliveries=buggy)
