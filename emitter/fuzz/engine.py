"""The fuzzing run: sweep and hypothesis phases against a target, findings shrunk and written as scenarios."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from emitter.delivery.deliver import classify, make_client
from emitter.delivery.targets import Target, resolve_target
from emitter.errors import UsageError
from emitter.fuzz.cases import Base, Case, Mutation, apply, make_base, mutation
from emitter.importer.build import format_path
from emitter.payloads.bodies import body_bytes
from emitter.payloads.options import with_profile
from emitter.payloads.render import Overrides, Renderer, default_renderer

FAILING = ("5xx", "timeout", "dropped")
CLASSES = ("2xx", "3xx", "4xx", *FAILING)
MAX_EXAMPLES_LIMIT = 100_000
MAX_BUDGET = 24 * 3600.0
EXCERPT = 300


@dataclass(frozen=True)
class Answer:
    klass: str
    status: int | None
    detail: str


@dataclass(frozen=True)
class Finding:
    """A case the receiver failed on (5xx, timeout, dropped), minimal, with its reproducer file."""

    case: Case
    answer: Answer
    path: Path | None = None

    @property
    def signature(self) -> tuple[str, str, str]:
        return (self.case.base.spec.event_type, self.case.kind, self.answer.klass)


@dataclass
class FuzzReport:
    """What the receiver did with each kind of case, and the failures found (one per signature)."""

    target: str
    seed: int
    format: str
    profile: str
    sent: int = 0
    examples: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, class) -> examples
    findings: list[Finding] = field(default_factory=list)
    duration: float = 0.0
    stopped_by_budget: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def table(self) -> list[str]:
        kinds = sorted({k for k, _ in self.counts})
        lines = ["kind".ljust(26) + "".join(c.rjust(9) for c in CLASSES)]
        for kind in kinds:
            lines.append(
                kind.ljust(26) + "".join(str(self.counts[(kind, c)] or "").rjust(9) for c in CLASSES)
            )
        return lines

    def summary(self) -> str:
        budget = "; time budget reached" if self.stopped_by_budget else ""
        return (
            f"{self.examples} examples, {self.sent} requests to {self.target} in {self.duration:.1f} s: "
            f"{len(self.findings)} failure{'s' if len(self.findings) != 1 else ''}{budget} "
            f"(replay: --seed {self.seed})"
        )


class _Failed(Exception):
    """Raised inside hypothesis for a failing case; one subclass per signature keeps failures apart."""

    case: Case
    answer: Answer


_FAILURE_TYPES: dict[tuple[str, str, str], type[_Failed]] = {}


def _failure(signature: tuple[str, str, str], case: Case, answer: Answer) -> _Failed:
    kind = _FAILURE_TYPES.get(signature)
    if kind is None:
        name = "Fuzz_" + "_".join(s.replace("-", "_") for s in signature)
        kind = _FAILURE_TYPES[signature] = type(name, (_Failed,), {})
    error = kind(f"{case.describe()} -> {answer.klass}")
    error.case, error.answer = case, answer
    return error


class _Sender:
    """Posts bodies to the target on a private event loop; answers are classified, never raised."""

    def __init__(self, target: Target, timeout: float):
        self.endpoint = resolve_target(target)
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.client: httpx.AsyncClient = self.loop.run_until_complete(self._client())
        self.sent = 0

    async def _client(self) -> httpx.AsyncClient:
        return make_client(timeout=self.timeout, transport=self.endpoint.transport, trust_env=False)

    async def _post(self, body: bytes) -> Answer:
        self.sent += 1
        try:
            response = await asyncio.wait_for(
                self.client.post(
                    self.endpoint.url, content=body, headers={"Content-Type": "application/json"}
                ),
                self.timeout,
            )
        except Exception as exc:
            kind, reason = classify(exc, self.timeout, self.endpoint.url)
            return Answer("timeout" if kind == "timeout" else "dropped", None, reason)
        klass = f"{response.status_code // 100}xx"
        text = response.content[: EXCERPT * 4].decode("utf-8", "replace").replace("\n", " ")[:EXCERPT]
        return Answer(klass if klass in CLASSES else "4xx", response.status_code, text)

    def post_all(self, bodies: Sequence[bytes]) -> Answer:
        worst: Answer | None = None
        for body in bodies:
            answer = self.loop.run_until_complete(self._post(body))
            if worst is None or (answer.klass in FAILING and worst.klass not in FAILING):
                worst = answer
        assert worst is not None
        return worst

    def close(self) -> None:
        # a post that Ctrl-C left pending ends here, not as "Task was destroyed" noise at exit
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def _encode(payload: Any) -> bytes:
    try:
        return body_bytes(payload)
    except Exception:
        return json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


def _sequence_extra(
    renderer: Renderer, base: Base, fmt: str, seed: int, now: dt.datetime, options: dict[str, Any]
) -> tuple[Any, ...]:
    session = renderer.session(seed=seed, now=now, fmt=fmt, options=options)
    session.render_event(base.spec, {"status": base.outcome, "state": "FINISH"})
    return (session.render_event(base.spec, {"status": base.outcome, "state": "PROCESSING"}),)


def _check_limits(max_examples: int, budget: float, timeout: float) -> None:
    if not 1 <= max_examples <= MAX_EXAMPLES_LIMIT:
        raise UsageError(
            f"max_examples must be 1 to {MAX_EXAMPLES_LIMIT}", location="max_examples", hint="e.g. 200"
        )
    if not 0 < budget <= MAX_BUDGET:
        raise UsageError("budget must be over 0 s and at most 24 h", location="budget", hint="e.g. 60")
    if not 0 < timeout <= 600:
        raise UsageError("timeout must be over 0 s and at most 600 s", location="timeout", hint="e.g. 2")


def fuzz(
    target: Target,
    *,
    events: Iterable[str] | None = None,
    fmt: str = "v3",
    profile: str | None = None,
    seed: int = 0,
    max_examples: int = 200,
    budget: float = 60.0,
    timeout: float = 2.0,
    out: Path | str | None = Path("fuzz-findings"),
    now: dt.datetime | None = None,
    renderer: Renderer | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> FuzzReport:
    """Fuzz a receiver with mutated real payloads; returns the report (findings written into `out`).

    A sweep sends every event and outcome as rendered, each of its arrays missing and null, each
    task flow twice and FINISH before PROCESSING; then hypothesis mutates paths (missing, null,
    wrong type, empty, huge, unicode, extra keys, unknown event types) and shrinks each failure.
    """
    _check_limits(max_examples, budget, timeout)
    renderer = renderer or default_renderer()
    catalog = renderer.catalog
    catalog.format(fmt, location="format")
    options = with_profile({}, profile)
    chosen_profile = str(options.get("profile", "wire"))
    moment = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    specs = (
        [catalog.event(e, location="events") for e in events]
        if events
        else [s for s in catalog.events.values() if fmt in s.templates]
    )
    for spec in specs:
        if fmt not in spec.templates:
            raise UsageError(
                f"{spec.event_type} has no {fmt} form",
                location="events",
                hint=f"it exists in: {', '.join(spec.formats)}",
            )
    bases = [make_base(renderer, s, fmt, o, seed, moment, options) for s in specs for o in s.outcomes]
    sender = _Sender(target, timeout)
    report = FuzzReport(sender.endpoint.name, seed, fmt, chosen_profile)
    started = time.monotonic()
    deadline = started + budget
    found: dict[tuple[str, str, str], Finding] = {}
    broken: set[int] = set()  # bases the receiver fails on as rendered: their variants add nothing

    def attempt(case: Case) -> Answer:
        answer = sender.post_all([_encode(b) for b in case.bodies()])
        report.examples += 1
        report.counts[(case.kind, answer.klass)] += 1
        return answer

    try:
        sweep: list[Case] = []
        for base in bases:
            sweep.append(Case(base))
            lists = [p for p in base.containers if isinstance(_at(base.payload, p), list)]
            sweep += [Case(base, (Mutation(kind, p),)) for p in lists for kind in ("missing", "null")]
            if base.spec.event_type == "ProcedureStateChanged" and "state" in base.spec.params:
                sweep.append(Case(base, sequence="duplicate"))
                extra = _sequence_extra(renderer, base, fmt, seed, moment, options)
                sweep.append(Case(base, sequence="finish_before_processing", extra=extra))
        for case in sweep[:max_examples]:
            if time.monotonic() > deadline:
                report.stopped_by_budget = True
                break
            if id(case.base) in broken:
                continue
            answer = attempt(case)
            signature = (case.base.spec.event_type, case.kind, answer.klass)
            if answer.klass in FAILING and case.kind == "valid":
                broken.add(id(case.base))
            if answer.klass in FAILING and signature not in found:
                found[signature] = Finding(case, answer)
        if on_progress:
            on_progress(f"sweep: {report.examples} cases, {len(found)} failures")
        if time.monotonic() < deadline:
            healthy = [b for b in bases if id(b) not in broken]
            if healthy:
                _hypothesis_phase(healthy, attempt, found, report, seed, max_examples, deadline)
    finally:
        sender.close()
        report.sent = sender.sent
        report.duration = time.monotonic() - started
    report.findings = list(found.values())
    if out is not None and report.findings:
        report.findings = [
            Finding(
                f.case, f.answer, write_reproducer(f, Path(out), index, fmt, chosen_profile, seed, options)
            )
            for index, f in enumerate(report.findings, 1)
        ]
    return report


def _at(payload: Any, parts: tuple[Any, ...]) -> Any:
    for part in parts:
        payload = payload[part]
    return payload


def _hypothesis_phase(
    bases: list[Base],
    attempt: Callable[[Case], Answer],
    found: dict[tuple[str, str, str], Finding],
    report: FuzzReport,
    seed: int,
    max_examples: int,
    deadline: float,
) -> None:
    cases = st.sampled_from(bases).flatmap(
        lambda b: st.lists(mutation(b), min_size=1, max_size=3).map(lambda ms: Case(b, tuple(ms)))
    )

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=True,
        print_blob=False,
    )
    @given(cases)
    def probe(case: Case) -> None:
        if time.monotonic() > deadline:
            report.stopped_by_budget = True
            return
        answer = attempt(case)
        if answer.klass in FAILING:
            signature = (case.base.spec.event_type, case.kind, answer.klass)
            raise _failure(signature, case, answer)

    try:
        probe()
    except BaseException as exc:  # one failure, or a group of them (one per signature), all shrunk
        for failure in _leaves(exc):
            if not isinstance(failure, _Failed):
                raise
            signature = (failure.case.base.spec.event_type, failure.case.kind, failure.answer.klass)
            previous = found.get(signature)
            if previous is None or len(failure.case.mutations) < len(previous.case.mutations):
                found[signature] = Finding(failure.case, failure.answer)


def _leaves(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple | list):
        return [leaf for e in inner for leaf in _leaves(e)]
    return [exc]


def _step(case: Case) -> dict[str, Any]:
    step: dict[str, Any] = {"event": case.base.spec.kind}
    if case.base.outcome != case.base.spec.params["status"].default:
        step["status"] = case.base.outcome
    sets: dict[str, Any] = {}
    unsets: list[str] = []
    for m in case.mutations:
        if m.kind == "missing":
            unsets.append(format_path(m.path))
        elif m.kind == "extra_key":
            sets[format_path((*m.path, "fuzzExtra"))] = m.value
        else:
            sets[format_path(m.path)] = m.value
    expected = apply(case.base.payload, case.mutations)
    overrides = Overrides(set=sets or None, unset=tuple(unsets))
    try:
        same = overrides.apply(json.loads(json.dumps(case.base.payload))) == expected
    except Exception:
        same = False
    if not same:  # set: applies before unset:, so this order of mutations needs the whole body
        return {**step, "body": expected}
    if sets:
        step["set"] = sets
    if unsets:
        step["unset"] = unsets
    return step


def reproducer(
    finding: Finding, fmt: str, profile: str, seed: int, options: dict[str, Any]
) -> dict[str, Any]:
    """A scenario that sends what the failing case sent (`run` it against the receiver to see it fail)."""
    case = finding.case
    if case.sequence == "duplicate":
        steps = [{**_step(case), "duplicate": 2}]
    elif case.sequence == "finish_before_processing":
        first = {**_step(case), "state": "FINISH", "name": "finished"}
        second = {"event": case.base.spec.kind, "state": "PROCESSING", "task_id": "${finished.task_id}"}
        if "status" in first:
            second["status"] = first["status"]
        steps = [first, second]
    else:
        steps = [_step(case)]
    scenario: dict[str, Any] = {
        "version": 1,
        "description": f"fuzz finding: {case.describe()} -> {finding.answer.klass}"
        + (f" ({finding.answer.status})" if finding.answer.status else ""),
        "format": fmt,
        "profile": profile,
        "seed": seed,
    }
    extra_options = {k: v for k, v in options.items() if k != "profile"}
    if extra_options:
        scenario["options"] = extra_options
    scenario["steps"] = steps
    return scenario


def write_reproducer(
    finding: Finding, out: Path, index: int, fmt: str, profile: str, seed: int, options: dict[str, Any]
) -> Path:
    event, kind, klass = finding.signature
    path = out / f"{index:03d}-{event}-{kind}-{klass}.yaml"
    try:
        out.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            reproducer(finding, fmt, profile, seed, options), sort_keys=False, allow_unicode=True, width=100
        )
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}",
            location="out",
            hint="pick a writable folder",
        ) from None
    return path
