"""The pytest plugin (entry point `pytest11`): fixtures that play VOD callbacks against your receiver.

Fixtures: `vod_emitter` (an Emitter bound to `vod_target`, no delays, failing the test on any
failed send), `vod_target` (override it: a URL, an ASGI/WSGI app, `AppTarget(app, path=...)`;
default `--vod-target`, else the built-in receiver), `vod_receiver` (the built-in receiver on a
free port, cleared per test), `vod_seed` (`--vod-seed`, else one fresh seed per session),
`vod_now` (`--vod-now`), `vod_format` (None: each scenario's own; override it to parametrize).
Marker: `@pytest.mark.vod_scenarios("happy-path", "concat-failure")` (or "all") runs a test once
per scenario, passing the name as `vod_scenario`. A failing test's report shows how to replay it.
`vod_api`: the local VOD API (emitter.vodapi.LocalVod) with a test clock, for PULL consumers.
`vod_flows`: its media library and the callbacks your app's own VOD calls trigger (ProcessMedia...).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from emitter.clock import utc_now, utc_stamp

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

    from emitter.api import Emitter
    from emitter.payloads.render import Renderer
    from emitter.receiver.server import Receiver
    from emitter.vodapi.flows import LocalFlows
    from emitter.vodapi.local import LocalVod

SEED = pytest.StashKey[int]()
NOW = pytest.StashKey[dt.datetime]()
EMITTER = pytest.StashKey["Emitter"]()
MARKER = "vod_scenarios"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vod-emitter", "VOD callbacks (vod-emitter)")
    group.addoption(
        "--vod-seed",
        type=int,
        default=None,
        metavar="N",
        help="Seed of every vod-emitter run (default: one fresh seed per session, shown on failures).",
    )
    group.addoption(
        "--vod-now",
        default=None,
        metavar="TIME",
        help="Moment of every run, ISO 8601 (default: when the session started).",
    )
    group.addoption(
        "--vod-target",
        default=None,
        metavar="TARGET",
        help="Default vod_target: a URL or app:MODULE:ATTRIBUTE[/path] (default: the built-in receiver).",
    )


def _parse_now(text: str) -> dt.datetime:
    from emitter.clock import parse_moment
    from emitter.errors import EmitterError

    try:
        return parse_moment(text, location="--vod-now")
    except EmitterError as exc:
        raise pytest.UsageError(str(exc)) from None


def _stamp(moment: dt.datetime) -> str:
    return utc_stamp(moment)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*names): run the test once per scenario (built-in names, files, or 'all'); "
        "the test takes the name as its `vod_scenario` argument",
    )
    seed = config.getoption("--vod-seed")
    now = config.getoption("--vod-now")
    if seed is not None and seed < 0:
        raise pytest.UsageError(f"--vod-seed: a seed is a whole number >= 0, not {seed}")
    config.stash[SEED] = random.SystemRandom().randrange(2**31) if seed is None else seed
    config.stash[NOW] = _parse_now(now) if now else utc_now()
    target = config.getoption("--vod-target")
    if target:
        _check_target(target)


def _check_target(target: str) -> None:
    """A bad --vod-target is one usage error at startup, not a traceback in every test."""
    from emitter.delivery.targets import resolve_target
    from emitter.errors import EmitterError

    try:
        resolve_target(target, location="--vod-target")
    except EmitterError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    seed, now = config.stash[SEED], _stamp(config.stash[NOW])
    return f"vod-emitter: seed {seed}, now {now} (replay: --vod-seed {seed} --vod-now {now})"


def scenario_names(names: Iterable[str]) -> list[str]:
    """Built-in names and scenario files as given; 'all' is every built-in. Unknown names fail."""
    from emitter.errors import EmitterError
    from emitter.scenarios.loader import builtin_scenarios, find_scenario

    chosen: list[str] = []
    for name in names:
        if name == "all":
            chosen += builtin_scenarios()
            continue
        try:
            find_scenario(name)
        except EmitterError as exc:
            raise pytest.UsageError(f"{MARKER}: {exc}") from None
        chosen.append(name)
    return list(dict.fromkeys(chosen))


def vod_scenarios(*names: str) -> list[ParameterSet]:
    """Parameters for `pytest.mark.parametrize`, one per scenario ('all' for every built-in).

    @pytest.mark.parametrize("scenario", vod_scenarios("happy-path", "concat-failure"))
    def test_acknowledged(vod_emitter, scenario): vod_emitter.run(scenario)
    """
    return [pytest.param(name, id=name) for name in scenario_names(names or ("all",))]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    if "vod_scenario" not in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: @pytest.mark.{MARKER} needs a `vod_scenario` "
            "argument to receive each scenario's name"
        )
    metafunc.parametrize("vod_scenario", vod_scenarios(*marker.args))


@pytest.fixture
def vod_scenario() -> str:
    """The scenario of this run of the test; it comes from @pytest.mark.vod_scenarios(...)."""
    pytest.fail(
        f"vod_scenario is set by @pytest.mark.{MARKER}('happy-path', ...); add the marker", pytrace=False
    )


@pytest.fixture
def vod_seed(request: pytest.FixtureRequest) -> int:
    """The seed of every run in the test: --vod-seed, else one fresh seed per session."""
    return request.config.stash[SEED]


@pytest.fixture
def vod_now(request: pytest.FixtureRequest) -> dt.datetime:
    """The `now` of every run in the test: --vod-now, else when the session started."""
    return request.config.stash[NOW]


@pytest.fixture
def vod_format() -> str | None:
    """The payload format (v2, v3, cdnetworks); None runs each scenario in its own. Override to pin it."""
    return None


@pytest.fixture(scope="session")
def _vod_receiver_server() -> Iterator[Receiver]:
    from emitter.receiver.server import Receiver

    with Receiver().running_in_thread() as receiver:
        yield receiver


@pytest.fixture
def vod_receiver(_vod_receiver_server: Receiver) -> Receiver:
    """The built-in receiver (127.0.0.1, free port), cleared and reset to answer 200 for each test."""
    from emitter.receiver.server import Behaviour

    receiver = _vod_receiver_server
    receiver.behaviour = Behaviour()
    receiver.sign_key, receiver.sign_in, receiver.sign_status = None, "body", 401
    receiver.clear()
    return receiver


@pytest.fixture
def vod_target(request: pytest.FixtureRequest) -> Any:
    """Where vod_emitter sends: --vod-target, else the built-in receiver. Override it with your app."""
    spec = request.config.getoption("--vod-target")
    return spec if spec else request.getfixturevalue("vod_receiver")


@pytest.fixture(scope="session")
def _vod_renderer() -> Renderer:
    from emitter.payloads.render import Renderer

    return Renderer()


@pytest.fixture
def vod_emitter(
    request: pytest.FixtureRequest,
    vod_target: Any,
    vod_seed: int,
    vod_now: dt.datetime,
    vod_format: str | None,
    _vod_renderer: Renderer,
) -> Emitter:
    """An Emitter bound to vod_target: no delays (speed=0), and any failed send fails the test."""
    from emitter.api import Emitter

    emitter = Emitter(
        vod_target, renderer=_vod_renderer, seed=vod_seed, now=vod_now, fmt=vod_format, speed=0, check=True
    )
    request.node.stash[EMITTER] = emitter
    return emitter


@pytest.fixture
def vod_api(vod_seed: int) -> Iterator[LocalVod]:
    """The local VOD API (127.0.0.1, free port, fresh keys) with a test clock: `vod_api.advance(31)`."""
    from emitter.vodapi.local import LocalVod, ManualClock

    with LocalVod(seed=vod_seed, clock=ManualClock(), hold=0.5) as vod:
        yield vod


@pytest.fixture
def vod_flows(vod_api: LocalVod) -> Iterator[LocalFlows]:
    """Media library and triggered callbacks on vod_api: your app's VOD calls get callbacks at once.

    Give the app `vod_flows.endpoint`, `.secret_id`, `.secret_key`; assert on `.library` and
    `.callbacks`; `.use_rules({...})` for failures, `.push_to(url)` or `.pull()`, `.settle()`.
    """
    from emitter.vodapi.flows import LocalFlows

    flows = LocalFlows(vod_api)
    yield flows
    flows.close()


def _replay_section(item: pytest.Item) -> str | None:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    if "vod_seed" not in funcargs:
        return None
    seed, now = funcargs["vod_seed"], funcargs.get("vod_now", item.config.stash[NOW])
    lines = [
        f"seed {seed}, now {_stamp(now)}",
        f"replay: pytest '{item.nodeid}' --vod-seed {seed} --vod-now {_stamp(now)}",
    ]
    emitter = item.stash.get(EMITTER, None)
    if emitter is not None and emitter.runs:
        lines.append("runs in this test:")
        lines += [f"  {run.summary()}" for run in emitter.runs]
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" and report.failed:
        section = _replay_section(item)
        if section:
            report.sections.append(("vod-emitter", section))
