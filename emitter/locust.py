"""Locust users that send fresh scenario events rendered by the emitter (`pip install 'vod-emitter[locust]'`).

A locustfile subclasses VodCallbackUser (or runs it as is with the --vod-* options)::

    from emitter.locust import VodCallbackUser

    class Callbacks(VodCallbackUser):
        scenarios = ("happy-path", "concat-failure")

    # locust -f this.py --host http://receiver:8080 --vod-seed 7              (one machine)
    # locust -f this.py --master ... / --worker --master-host ...             (many machines)
    # locust -f this.py --processes 4 ...                                     (every core)

Each task sends the next event of the scenarios cycled as `vod-emitter load` cycles them: cycle k
of worker w renders with seed + w * 10**9 + k (fresh fileIds everywhere, replayable per worker),
in the run's format and options (profile...), signed like `--sign-key`, and counts as a failure
when the answer is not what the step expects. Requests are named by EventType in Locust's stats.
Scenario delays are ignored, as in `vod-emitter load`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

import httpx
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from emitter.delivery.deliver import Delivery, DeliveryOptions, Sender, Signing
from emitter.load.engine import Cycles

WORKER_SEED_SPAN = 10**9  # seeds per worker: worker w renders cycles seed + w * span + k


@events.init_command_line_parser.add_listener
def _options(parser: argparse.ArgumentParser, **_: Any) -> None:
    group = parser.add_argument_group("vod-emitter", "What VodCallbackUser sends (a subclass may fix them).")
    group.add_argument("--vod-scenarios", default="", help="Comma-separated scenario names or files.")
    group.add_argument(
        "--vod-seed", type=int, default=None, help="Base seed (default: the scenario's, else 0)."
    )
    group.add_argument("--vod-format", default="", help="v2, v3 or cdnetworks (default: the scenario's).")
    group.add_argument("--vod-profile", default="", help="wire or docs (default: wire).")
    group.add_argument("--vod-sign-key", default="", help="Sign every request with this key.")
    group.add_argument("--vod-sign-in", default="body", help="Where Sign/T go: body, query or header.")


class VodCallbackUser(FastHttpUser):
    """Sends the emitter's scenario events, one per task, to --host + `path`."""

    abstract = True
    wait_time = constant(0)
    scenarios: ClassVar[tuple[str, ...]] = ("happy-path",)
    seed: ClassVar[int | None] = None
    fmt: ClassVar[str | None] = None
    options: ClassVar[dict[str, Any]] = {}  # format options, e.g. {"profile": "docs", "keep_nulls": True}
    sign_key: ClassVar[str | None] = None
    sign_in: ClassVar[str] = "body"
    path: ClassVar[str] = "/"

    _streams: ClassVar[dict[type, tuple[Iterator[Delivery], Sender]]] = {}

    def on_start(self) -> None:
        self._deliveries, self._sender = _stream(type(self), self.environment)

    @task
    def send_event(self) -> None:
        delivery = next(self._deliveries)
        body, params, headers = self._sender.prepare(delivery)
        path = f"{self.path}?{urlencode(params)}" if params else self.path
        with self.client.post(
            path, data=body, headers=dict(headers), name=delivery.event_type, catch_response=True
        ) as response:
            status = response.status_code
            if status and delivery.expect.accepts(status):
                response.success()
            else:
                response.failure(f"status {status or 'none'}, expected {delivery.expect.describe()}")


def _stream(user: type[VodCallbackUser], environment: Environment) -> tuple[Iterator[Delivery], Sender]:
    """The deliveries of this process for one user class, shared by its users (one stream, no repeats)."""
    found = VodCallbackUser._streams.get(user)
    if found is not None:
        return found
    from emitter.api import plan_run
    from emitter.payloads.render import Renderer
    from emitter.request import RunRequest

    given = environment.parsed_options
    scenarios = user.scenarios
    if given is not None and given.vod_scenarios:
        scenarios = tuple(name.strip() for name in given.vod_scenarios.split(",") if name.strip())
    seed = given.vod_seed if given is not None and given.vod_seed is not None else user.seed
    options = dict(user.options)
    if given is not None and given.vod_profile:
        options["profile"] = given.vod_profile
    sign_key = (given.vod_sign_key if given is not None else "") or user.sign_key
    sign_in = given.vod_sign_in if given is not None and given.vod_sign_key else user.sign_in
    fmt = (given.vod_format if given is not None else "") or user.fmt
    renderer = Renderer()
    plan = plan_run(list(scenarios), RunRequest(seed=seed, fmt=fmt, options=options), renderer=renderer)
    worker = max(getattr(environment.runner, "worker_index", 0) or 0, 0)
    cycles = Cycles(
        plan.scenarios,
        seed=plan.seed + worker * WORKER_SEED_SPAN,
        now=plan.now,
        fmt=plan.fmt,
        renderer=renderer,
        options=plan.options,
    )
    delivery = DeliveryOptions(signing=Signing(sign_key, placement=sign_in) if sign_key else None)
    # prepare() (headers, fresh signatures per request) needs no client: Locust's does the sending
    sender = Sender(cast(httpx.AsyncClient, None), environment.host or "http://127.0.0.1", delivery)
    found = VodCallbackUser._streams[user] = (iter(cycles), sender)
    return found
