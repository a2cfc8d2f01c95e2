"""Load mode on virtual time and httpx.MockTransport: arrival schedule, cap, closed model, stats, parsing."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import math
import random
import re
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from emitter.cli.load_view import LiveView
from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, make_client
from emitter.errors import ScenarioError, UsageError
from emitter.load.engine import LATE_GRACE, Cycles, LoadEngine, LoadReport
from emitter.load.profile import LoadProfile, parse_fraction, parse_rate
from emitter.load.stats import HISTOGRAM_EDGES, MAX_SECONDS, LatencyHistogram, LoadStats
from emitter.payloads.render import Renderer
from emitter.scenarios.loader import Scenario, load_scenario
from emitter.scenarios.plan import RunPlan, expand
from tests.helpers import VirtualTime

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
TARGET = "http://127.0.0.1:9/cb"


@pytest.fixture(scope="module")
def happy(renderer: Renderer) -> Scenario:
    return load_scenario("happy-path", renderer.catalog)


def stream(renderer: Renderer, scenario: Scenario, seed: int = 3) -> Iterator[Delivery]:
    return iter(Cycles((scenario,), seed=seed, now=NOW, renderer=renderer))


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def drive(
    profile: LoadProfile,
    handler: Handler,
    deliveries: Iterator[Delivery],
    virtual: VirtualTime,
    *,
    during: Callable[[LoadEngine], Awaitable[None]] | None = None,
) -> LoadEngine:
    """Run the engine on virtual time against a MockTransport; returns it when every send is over."""

    async def go() -> LoadEngine:
        driver = asyncio.create_task(virtual.drive())
        try:
            async with make_client(transport=httpx.MockTransport(handler)) as client:
                sender = Sender(
                    client, TARGET, DeliveryOptions(retries=0), clock=virtual.clock, sleep=virtual.sleep
                )
                engine = LoadEngine(deliveries, sender, profile, clock=virtual.clock, sleep=virtual.sleep)
                side = asyncio.create_task(during(engine)) if during else None
                await engine.run()
                if side is not None:
                    await side
                return engine
        finally:
            driver.cancel()

    return asyncio.run(go())


def reference_open_model(rate: float, duration: float, service: float, cap: int) -> tuple[list[float], int]:
    """Send times and peak in flight of an ideal open model whose every answer takes `service`."""
    answers: list[float] = []
    sent: list[float] = []
    peak = 0
    for index in range(math.ceil(rate * duration)):
        due = index / rate
        answers = [t for t in answers if t > due]
        if len(answers) < cap:
            answers.append(due + service)
            sent.append(due)
            peak = max(peak, len(answers))
    return sent, peak


def slow_handler(virtual: VirtualTime, service: float, seen: list[float]) -> Handler:
    async def slow(request: httpx.Request) -> httpx.Response:
        seen.append(virtual.now)
        await virtual.sleep(service)
        return httpx.Response(200)

    return slow


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("500/s", 500.0),
        ("500", 500.0),
        ("30000/m", 500.0),
        ("2.5/s", 2.5),
        ("36000/h", 10.0),
        (" 90 / min ", 1.5),
        ("0.5", 0.5),
        ("120/sec", 120.0),
    ],
)
def test_rates_are_arrivals_per_second(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


NOT_A_RATE = "write e.g. --rate 500/s, --rate 500 or --rate 30000/m"


@pytest.mark.parametrize(
    ("text", "remedy"),
    [
        ("fast", NOT_A_RATE),
        ("", NOT_A_RATE),
        ("-5/s", NOT_A_RATE),
        ("10/x", NOT_A_RATE),
        ("1e3", NOT_A_RATE),
        ("5/s/s", NOT_A_RATE),
        ("0", "must be more than 0"),
        ("0/s", "must be more than 0"),
    ],
)
def test_a_bad_rate_is_one_line_with_a_remedy(text: str, remedy: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_rate(text)
    message = str(caught.value)
    assert message.startswith(f"--rate: {text!r} ") and remedy in message
    assert "\n" not in message and caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "share"), [("0", 0.0), ("0.01", 0.01), ("1%", 0.01), ("100%", 1.0), ("1", 1.0)]
)
def test_error_budgets_are_shares(text: str, share: float) -> None:
    assert parse_fraction(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["2", "101%", "-1", "lots", "1%%"])
def test_a_bad_error_budget_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"--max-error-rate: .* is not a share"):
        parse_fraction(text)


def test_rate_and_concurrency_exclude_each_other_and_one_is_needed() -> None:
    with pytest.raises(UsageError, match="--rate and --concurrency exclude each other; use --rate"):
        LoadProfile(duration=1, rate=10, concurrency=2)
    with pytest.raises(UsageError, match=r"add --rate N/s \(open model\) or --concurrency N"):
        LoadProfile(duration=1)
    with pytest.raises(UsageError, match="--duration"):
        LoadProfile(duration=0, rate=10)


@pytest.mark.parametrize(
    ("rate", "duration", "arrivals"), [(100, 1, 100), (3, 1, 3), (0.5, 3, 2), (7, 0.5, 4)]
)
def test_the_open_model_has_one_arrival_per_tick_inside_the_duration(
    rate: float, duration: float, arrivals: int
) -> None:
    assert LoadProfile(duration=duration, rate=rate).arrivals == arrivals


# --- histogram ----------------------------------------------------------------------------


def exact_percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def test_percentiles_are_within_half_a_percent_of_the_exact_ones() -> None:
    rng = random.Random(5)
    samples = [rng.lognormvariate(-6, 1.2) for _ in range(20000)]  # around 2.5 ms, long tail
    histogram = LatencyHistogram()
    for sample in samples:
        histogram.record(sample)
    for percent in (50, 90, 99, 99.9):
        assert histogram.percentile(percent) == pytest.approx(exact_percentile(samples, percent), rel=0.005)
    assert histogram.percentile(100) == histogram.maximum == max(samples)
    assert histogram.minimum == min(samples) and histogram.count == len(samples)
    assert histogram.mean == pytest.approx(sum(samples) / len(samples))


def test_memory_stays_bounded_whatever_the_number_of_samples() -> None:
    rng = random.Random(9)
    histogram = LatencyHistogram()
    for _ in range(200_000):
        histogram.record(10 ** rng.uniform(-6, 2))  # 1 µs to 100 s
    assert histogram.count == 200_000
    # 27 powers of two between 1 µs and 100 s, 128 buckets each: independent of the sample count
    assert len(histogram.buckets) <= 28 * 128


def test_summary_rows_have_inclusive_upper_bounds_and_an_overflow_row() -> None:
    histogram = LatencyHistogram()
    for seconds in (0.0, 0.001, 0.0010001, 0.002, 0.7, 5.0, 6.0, 60.0):
        histogram.record(seconds)
    rows = dict((("over" if edge is None else edge), count) for edge, count in histogram.rows())
    assert rows[0.001] == 2 and rows[0.002] == 2 and rows[1.0] == 1 and rows[5.0] == 1 and rows["over"] == 2
    assert sum(rows.values()) == histogram.count and len(rows) == len(HISTOGRAM_EDGES) + 1


def test_an_empty_histogram_reports_zeros() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile(50) == histogram.percentile(100) == histogram.mean == 0.0
    assert histogram.to_json()["count"] == 0 and histogram.to_json()["min"] == 0.0


# --- cycles -------------------------------------------------------------------------------


def test_cycle_k_is_the_scenario_rendered_with_seed_plus_k(renderer: Renderer, happy: Scenario) -> None:
    per_cycle = sum(step.repeat * step.duplicate for step in happy.steps)
    cycles = Cycles((happy,), seed=3, now=NOW, renderer=renderer)
    bodies = [d.body for d in itertools.islice(iter(cycles), 3 * per_cycle)]
    for k in range(3):
        plan = RunPlan((happy,), 3 + k, NOW)
        assert bodies[k * per_cycle : (k + 1) * per_cycle] == [d.body for d in expand(plan, renderer)]
    file_ids = {json.loads(bodies[k * per_cycle])["data"]["fileId"] for k in range(3)}
    assert len(file_ids) == 3 and cycles.cycles == 3
    again = [
        d.body
        for d in itertools.islice(iter(Cycles((happy,), seed=3, now=NOW, renderer=renderer)), 3 * per_cycle)
    ]
    assert again == bodies


def test_preflight_finds_a_scenario_error_before_any_send(renderer: Renderer) -> None:
    from emitter.scenarios.loader import parse_scenario

    broken = parse_scenario(
        "version: 1\nsteps:\n  - event: upload\n    set: {data.nope.deeper: 1}\n",
        "broken.yaml",
        renderer.catalog,
    )
    from emitter.api import preflight
    from emitter.scenarios.plan import RunPlan

    with pytest.raises(ScenarioError, match=r"broken\.yaml"):
        preflight(RunPlan((broken,), 1, NOW, None), renderer)


# --- open model ---------------------------------------------------------------------------


def test_arrivals_keep_their_schedule_while_slow_answers_pile_up(renderer: Renderer, happy: Scenario) -> None:
    virtual, seen = VirtualTime(), []
    profile = LoadProfile(duration=1, rate=100)
    engine = drive(profile, slow_handler(virtual, 0.505, seen), stream(renderer, happy), virtual)
    expected_times, expected_peak = reference_open_model(100, 1, 0.505, cap=10**6)
    assert seen == pytest.approx(expected_times, abs=1e-9)  # scenario delays (250 ms, 1 s) are ignored
    stats = engine.stats
    assert stats.peak_in_flight == expected_peak > 50
    assert (stats.sent, stats.dropped, stats.late, stats.answered) == (100, 0, 0, {"2xx": 100})
    assert stats.latency.percentile(50) == pytest.approx(0.505, rel=0.005)
    assert stats.lag.maximum == pytest.approx(0.0, abs=1e-9)
    assert engine.elapsed == pytest.approx(1.0) and engine.finished == pytest.approx(0.99 + 0.505)


def test_arrivals_over_the_in_flight_cap_are_dropped_not_delayed(renderer: Renderer, happy: Scenario) -> None:
    virtual, seen = VirtualTime(), []
    profile = LoadProfile(duration=1, rate=100, max_in_flight=20)
    engine = drive(profile, slow_handler(virtual, 0.505, seen), stream(renderer, happy), virtual)
    expected_times, expected_peak = reference_open_model(100, 1, 0.505, cap=20)
    assert seen == pytest.approx(expected_times, abs=1e-9)
    stats = engine.stats
    assert stats.peak_in_flight == expected_peak == 20
    assert stats.dropped == 100 - len(expected_times) > 0
    assert stats.sent == len(expected_times) == stats.answered["2xx"]
    assert stats.arrivals == 100 and stats.error_count == stats.dropped


def test_dropped_arrivals_are_not_rendered_so_sends_are_the_first_n_of_the_stream(
    renderer: Renderer, happy: Scenario
) -> None:
    virtual, bodies = VirtualTime(), []

    async def record(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        await virtual.sleep(0.305)
        return httpx.Response(200)

    profile = LoadProfile(duration=1, rate=50, max_in_flight=4)
    engine = drive(profile, record, stream(renderer, happy), virtual)
    first = [d.body for d in itertools.islice(stream(renderer, happy), engine.stats.sent)]
    assert engine.stats.dropped > 0 and bodies == first


def test_a_stalled_generator_catches_up_without_drifting(renderer: Renderer, happy: Scenario) -> None:
    virtual, seen = VirtualTime(), []
    source = stream(renderer, happy)

    def stalling() -> Iterator[Delivery]:
        for index, delivery in enumerate(source):
            if index == 10:
                virtual.now += 0.3  # rendering (or a GC pause) takes 300 ms
            yield delivery

    engine = drive(LoadProfile(duration=1, rate=100), slow_handler(virtual, 0.001, seen), stalling(), virtual)
    stats = engine.stats
    assert (stats.sent, stats.late) == (100, 0)  # the schedule is absolute: no arrival is lost to the stall
    assert stats.lag.maximum == pytest.approx(0.29, abs=1e-6)  # arrival 11 was due at 0.11, fired at 0.40
    assert seen[11:41] == pytest.approx([0.4] * 30) and seen[41] == pytest.approx(0.41)


def test_arrivals_still_due_after_the_grace_are_counted_late(renderer: Renderer, happy: Scenario) -> None:
    virtual = VirtualTime()
    source = stream(renderer, happy)

    def stalling() -> Iterator[Delivery]:
        for index, delivery in enumerate(source):
            if index == 95:
                virtual.now += 1 + LATE_GRACE
            yield delivery

    engine = drive(LoadProfile(duration=1, rate=100), slow_handler(virtual, 0.001, []), stalling(), virtual)
    stats = engine.stats
    assert (stats.sent, stats.late, stats.arrivals) == (96, 4, 100)
    report = LoadReport(engine.profile, stats, engine.elapsed, 0.0)
    assert report.exit_code == 0 and "4 arrivals were due but not sent" in report.warnings()[0]


# --- closed model -------------------------------------------------------------------------


def test_closed_model_senders_wait_for_their_answers(renderer: Renderer, happy: Scenario) -> None:
    virtual = VirtualTime()
    concurrent = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal concurrent, peak
        concurrent += 1
        peak = max(peak, concurrent)
        await virtual.sleep(0.125)
        concurrent -= 1
        return httpx.Response(204)

    engine = drive(LoadProfile(duration=1, concurrency=3), slow, stream(renderer, happy), virtual)
    assert peak == 3 and engine.stats.sent == 3 * 8 == engine.stats.answered["2xx"]
    assert engine.stats.dropped == 0
    assert engine.stats.latency.percentile(99) == pytest.approx(0.125, rel=0.005)


# --- outcomes -----------------------------------------------------------------------------


def test_answers_are_counted_by_status_class_and_failures_by_kind(
    renderer: Renderer, happy: Scenario
) -> None:
    virtual = VirtualTime()
    counter = itertools.count()

    async def mixed(request: httpx.Request) -> httpx.Response:
        turn = next(counter) % 7
        if turn == 4:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if turn == 5:
            raise httpx.ReadTimeout("timed out", request=request)
        if turn == 6:
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return httpx.Response((200, 201, 404, 503)[turn])

    engine = drive(LoadProfile(duration=1, rate=70), mixed, stream(renderer, happy), virtual)
    stats = engine.stats
    assert stats.answered == {"2xx": 20, "4xx": 10, "5xx": 10} and stats.unexpected == 20
    assert stats.errors == {"timeout": 10, "connect": 10, "closed": 10, "tls": 0, "other": 0}
    assert stats.error_count == 50 and stats.error_rate == pytest.approx(50 / 70)
    assert stats.latency.count == 50  # answers and timeouts; refused and closed connections have none
    strict = LoadReport(engine.profile, stats, engine.elapsed, 0.0)
    lenient = LoadReport(LoadProfile(duration=1, rate=70, max_error_rate=0.75), stats, engine.elapsed, 0.0)
    assert (strict.exit_code, lenient.exit_code) == (1, 0)
    text = "\n".join(strict.lines())
    assert "answered 40: 2xx 20, 4xx 10, 5xx 10" in text
    assert "errors 50: 20 unexpected status, 10 timeouts, 20 connection errors" in text
    assert "over --max-error-rate" in text and "within" in "\n".join(lenient.lines())


def test_stop_sends_nothing_more_and_lets_the_sends_in_flight_finish(
    renderer: Renderer, happy: Scenario
) -> None:
    virtual = VirtualTime()

    async def press_ctrl_c(engine: LoadEngine) -> None:
        await virtual.sleep(0.505)
        engine.stop()

    engine = drive(
        LoadProfile(duration=10, rate=100),
        slow_handler(virtual, 0.25, []),
        stream(renderer, happy),
        virtual,
        during=press_ctrl_c,
    )
    stats = engine.stats
    assert stats.sent == 51 == stats.answered["2xx"] and stats.late == 0 and stats.interrupted == 0
    report = LoadReport(engine.profile, stats, engine.elapsed, 0.0, interrupted=engine.interrupted)
    assert report.exit_code == 130 and report.to_json()["interrupted"] is True


def test_abort_cancels_the_sends_in_flight_and_counts_them(renderer: Renderer, happy: Scenario) -> None:
    virtual = VirtualTime()

    async def press_twice(engine: LoadEngine) -> None:
        await virtual.sleep(0.505)
        engine.stop()
        engine.abort()

    for profile in (LoadProfile(duration=10, rate=100), LoadProfile(duration=10, concurrency=4)):
        engine = drive(
            profile, slow_handler(virtual, 100.0, []), stream(renderer, happy), virtual, during=press_twice
        )
        stats = engine.stats
        assert stats.sent > 0 and stats.interrupted == stats.sent and stats.answered_total == 0
        assert engine.interrupted and engine.in_flight == 0


def test_a_render_error_mid_run_ends_it_with_exit_2(renderer: Renderer, happy: Scenario) -> None:
    source = stream(renderer, happy)

    def failing() -> Iterator[Delivery]:
        yield from itertools.islice(source, 5)
        raise ScenarioError("cannot render", location="happy-path.yaml:3")

    for profile in (LoadProfile(duration=1, rate=100), LoadProfile(duration=1, concurrency=2)):
        virtual = VirtualTime()
        engine = drive(profile, slow_handler(virtual, 0.01, []), failing(), virtual)
        report = LoadReport(profile, engine.stats, engine.elapsed, 0.0, error=engine.error)
        assert engine.stats.sent == 5 and report.exit_code == 2
        assert report.warnings() == ["error: happy-path.yaml:3: cannot render"]
        source = stream(renderer, happy)


# --- report and live view -----------------------------------------------------------------


def test_the_json_summary_adds_up(renderer: Renderer, happy: Scenario) -> None:
    virtual = VirtualTime()
    engine = drive(
        LoadProfile(duration=1, rate=100, max_in_flight=20),
        slow_handler(virtual, 0.505, []),
        stream(renderer, happy),
        virtual,
    )
    report = LoadReport(engine.profile, engine.stats, engine.elapsed, 1.5, seed=3, scenarios=("happy-path",))
    data = json.loads(json.dumps(report.to_json()))
    assert data["arrivals"] == data["sent"] + data["dropped"] + data["late"] == 100
    assert data["sent"] == data["answered"]["total"] + data["errors"]["total"] + data["interrupted_in_flight"]
    assert sum(row["count"] for row in data["histogram_ms"]) == data["latency_ms"]["count"] == data["sent"]
    assert data["histogram_ms"][0] == {"le": 1.0, "count": 0} and data["histogram_ms"][-1]["le"] is None
    assert data["achieved_rate"] == pytest.approx(data["sent"]) and data["target_rate"] == 100
    assert data["exit_code"] == 1 and data["error_rate"] == pytest.approx(data["dropped"] / 100)


def test_the_plain_live_line_shows_rate_percentiles_and_errors(renderer: Renderer, happy: Scenario) -> None:
    from rich.console import Console

    virtual = VirtualTime()
    engine = drive(
        LoadProfile(duration=1, rate=100), slow_handler(virtual, 0.505, []), stream(renderer, happy), virtual
    )
    out = io.StringIO()
    view = LiveView(engine, console=Console(file=out, force_terminal=False, width=300))
    assert not view.live_mode and view.interval == 1.0
    virtual.now = 1.0  # one second after the start: every arrival of the window
    view.show()
    line = out.getvalue()
    assert line.count("\n") == 1 and "sent 100/s (target 100/s)" in line
    assert re.search(r"p50 50\d ms p90 50\d ms p99 5\d\d ms max 5\d\d ms", line)
    assert "2xx 100" in line and "errors 0" in line
    view.show()  # a new window: nothing sent since
    assert "sent 0/s" in out.getvalue().splitlines()[1] and "no answers" in out.getvalue().splitlines()[1]


def test_on_a_terminal_the_live_view_redraws_in_place(renderer: Renderer, happy: Scenario) -> None:
    from rich.console import Console

    virtual = VirtualTime()
    engine = drive(
        LoadProfile(duration=1, rate=100, max_in_flight=5),
        slow_handler(virtual, 0.505, []),
        stream(renderer, happy),
        virtual,
    )
    out = io.StringIO()
    view = LiveView(engine, console=Console(file=out, force_terminal=True, width=100))
    assert view.live_mode and view.interval == 0.5
    view.show()
    view.show()
    view.close()
    drawn = out.getvalue()
    assert "latency p50 50" in drawn and "latency no answers" in drawn and "(dropped 90)" in drawn
    assert "\x1b[1A" in drawn  # the cursor moves up: redrawn in place, not appended


def test_per_second_rows_merge_across_processes() -> None:
    first, second = LoadStats(), LoadStats()
    first.second(0).sent, first.second(0).ok = 3, 3
    first.second(0).latency.record(0.01)
    for index in range(3):
        second.second(index).sent = index + 1
        second.second(index).latency.record(0.1)
    second.second(MAX_SECONDS + 5).failed = 1  # past the bound: the last row
    first.merge(second)
    assert [row.sent for row in first.seconds[:3]] == [4, 2, 3]
    assert first.seconds[0].ok == 3 and first.seconds[0].latency.count == 2
    assert len(first.seconds) == MAX_SECONDS and first.seconds[-1].failed == 1


def test_the_open_model_reuses_its_pool_whatever_the_sends_in_flight(
    renderer: Renderer, happy: Scenario
) -> None:
    from emitter.delivery.targets import resolve_target
    from emitter.load.engine import play
    from emitter.receiver.server import Behaviour, Receiver

    async def go() -> tuple[LoadReport, set[str], int]:
        async with Receiver(behaviour=Behaviour(delay=0.05), keep_records=1000) as receiver:
            cycles = Cycles((happy,), seed=5, now=NOW, renderer=renderer)
            profile = LoadProfile(duration=0.5, rate=200, connections=4)
            report = await play(cycles, profile, DeliveryOptions(), resolve_target(receiver.url))
            return report, {record.client for record in receiver.records}, receiver.received

    report, clients, received = asyncio.run(asyncio.wait_for(go(), 30))
    stats = report.stats
    assert stats.sent == received == 100 and stats.answered == {"2xx": 100} and stats.dropped == 0
    assert stats.peak_in_flight > 4  # more sends in flight than connections: they queue for one
    assert len(clients) <= 4  # no new connection per arrival


def test_a_render_error_met_while_rendering_ahead_comes_when_its_arrival_is_due(
    renderer: Renderer, happy: Scenario
) -> None:
    source = stream(renderer, happy)
    pulled: list[int] = []

    def failing() -> Iterator[Delivery]:
        for delivery in itertools.islice(source, 5):
            pulled.append(delivery.ref.index)
            yield delivery
        raise ScenarioError("cannot render", location="happy-path.yaml:3")

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async def go() -> LoadEngine:  # real time: the engine renders ahead while it waits
        async with make_client(transport=httpx.MockTransport(answer)) as client:
            sender = Sender(client, TARGET, DeliveryOptions(retries=0))
            engine = LoadEngine(failing(), sender, LoadProfile(duration=0.2, rate=50))
            await engine.run()
            return engine

    engine = asyncio.run(asyncio.wait_for(go(), 10))
    assert len(pulled) == 5 and engine.stats.sent == 5  # every send rendered before the error went
    assert engine.error == "happy-path.yaml:3: cannot render"
