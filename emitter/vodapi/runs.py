"""Scenario runs in PULL mode: the runner's sends become queue entries; an event ends when it is confirmed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from emitter.delivery.deliver import Delivery, excerpt
from emitter.delivery.runner import Runner, Timing
from emitter.outcomes import AttemptFinished, EventFinished, Outcome, RunFinished, RunResult
from emitter.payloads.render import Renderer
from emitter.scenarios.plan import RunPlan
from emitter.vodapi.account import Account
from emitter.vodapi.faults import PullFaults
from emitter.vodapi.pull import Moment, QueuedEvent
from emitter.vodapi.server import ApiRequest, VodApiServer

DEFAULT_DEADLINE = 60.0
HANDED = {"handed", "redelivered", "duplicated"}
EXCERPT = 120


def timeline(entry: QueuedEvent, origin: float) -> str:
    """One event's story, from the run's start: 'pullable +0.00 s, handed +0.01 s (#1 3f2a…)'."""

    def part(moment: Moment) -> str:
        words = "pullable" if moment.step == "queued" else moment.step.replace("-", " ")
        text = f"{words} +{moment.at - origin:.2f} s"
        details = [f"#{moment.attempt}"] if moment.attempt else []
        if moment.handle:
            details.append(moment.handle[:8])
        if moment.note:
            details.append(moment.note)
        return f"{text} ({' '.join(details)})" if details else text

    return ", ".join(part(moment) for moment in entry.history)


class PullSender:
    """Stands where a Sender stands in the Runner: a 'send' makes the event pullable, then follows it.

    It yields one AttemptFinished per hand-out (kind 'pull', the handle in `error`'s place, no
    HTTP status) and one EventFinished: delivered once confirmed, failed when the run's deadline
    passes first.
    """

    def __init__(
        self,
        account: Account,
        target: str,
        deadline: float,
        origin: float,
        faults: Mapping[tuple[str, str], PullFaults | None] | None = None,
    ):
        self.account = account
        self.faults = faults or {}  # by (scenario, step) name
        self.target = target
        self.deadline = deadline  # loop time
        self.origin = origin  # account clock at the run's start
        self.entries: list[QueuedEvent] = []

    async def send(self, delivery: Delivery) -> AsyncIterator[AttemptFinished | EventFinished]:
        ref = delivery.ref
        loop = asyncio.get_running_loop()
        started = loop.time()
        request = excerpt(delivery.body, EXCERPT)
        if not isinstance(delivery.payload, dict):
            reason = "a raw 'body:' cannot be pulled (PullEvents returns JSON objects)"
            yield EventFinished(ref, "failed", reason, 0, None, 0.0, 0.0, request, "")
            return
        faults = self.faults.get((ref.scenario, ref.step))
        entry = self.account.queue.put(delivery.payload, ref=ref, faults=faults, body=delivery.body)
        self.entries.append(entry)
        seen = 0
        while True:
            for moment in entry.history[seen:]:
                if moment.step in HANDED:
                    note = f"{moment.step} {moment.handle}"
                    yield AttemptFinished(ref, moment.attempt, None, note, moment.at - entry.available_at,
                                          kind="pull")  # fmt: skip
            seen = len(entry.history)
            done = entry.settled
            if done or loop.time() >= self.deadline:
                break
            await self.account.queue.wait_for_history(entry, self.deadline - loop.time())
        story = timeline(entry, self.origin)
        latency = (entry.confirmed_at or self.account.clock()) - entry.available_at
        if entry.confirmed:
            yield EventFinished(ref, "delivered", story, entry.attempts, None, latency, loop.time() - started,
                                request, "confirmed")  # fmt: skip
        else:
            never = "never handed out" if entry.attempts == 0 else "never confirmed"
            reason = f"{never} before the run's deadline; {story}"
            yield EventFinished(ref, "failed", reason, entry.attempts, None, latency, loop.time() - started,
                                request, "")  # fmt: skip


@dataclass(frozen=True)
class PullRun:
    """What a PULL run did: the result, the queue's events (histories), and the endpoint used."""

    result: RunResult
    events: tuple[QueuedEvent, ...]
    endpoint: str
    secret_id: str


async def play_pull(
    plan: RunPlan,
    account: Account,
    *,
    timing: Timing | None = None,
    renderer: Renderer | None = None,
    port: int = 0,
    deadline: float = DEFAULT_DEADLINE,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_request: Callable[[ApiRequest], None] | None = None,
    on_ready: Callable[[VodApiServer], None] | None = None,
) -> PullRun:
    """Serve the API, queue the plan's events as the timing releases them, end when all are confirmed.

    `deadline` (seconds from the start) ends the run with the unconfirmed events failed.
    Waits, duplicates and reordering decide when each event becomes pullable; concurrency is
    unbounded (a queued event does not hold up the next).
    """
    timing = timing or Timing()
    planned = max(plan.planned, 1)
    timing = Timing(timing.speed, planned, timing.shuffle_window, timing.reverse_window, timing.jitter)
    result: RunResult | None = None
    async with VodApiServer(account, port=port, on_request=on_request) as server:
        if on_ready is not None:
            on_ready(server)
        loop = asyncio.get_running_loop()
        faults = {(s.name, step.name): step.pull for s in plan.scenarios for step in s.steps}
        sender = PullSender(account, f"PULL {server.url}", loop.time() + deadline, account.clock(), faults)
        runner = Runner(plan, sender, timing, renderer=renderer)  # type: ignore[arg-type]
        # at the deadline nothing more becomes pullable: later events count as not sent (exit 1)
        stopper = loop.call_at(sender.deadline, runner.stop)
        try:
            async for outcome in runner.run():
                if isinstance(outcome, RunFinished) and loop.time() >= sender.deadline:
                    outcome = RunFinished(dataclasses.replace(outcome.result, interrupted=False))
                if on_outcome is not None:
                    on_outcome(outcome)
                if isinstance(outcome, RunFinished):
                    result = outcome.result
        finally:
            stopper.cancel()
    assert result is not None
    return PullRun(result, tuple(sender.entries), server.endpoint, account.secret_id)
