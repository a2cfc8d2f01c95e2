"""Fuzz cases: real payloads per event and outcome, mutated by path (hypothesis strategies), and sequences."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from emitter.importer.build import format_path
from emitter.payloads.catalog import EventSpec
from emitter.payloads.paths import set_path, unset_path
from emitter.payloads.render import Renderer

HUGE_ITEMS = 2_000
HUGE_STRING = 100_000
KINDS = (
    "missing",
    "null",
    "wrong_type",
    "empty",
    "huge",
    "unicode",
    "extra_key",
    "unknown_event",
    "duplicate",
    "finish_before_processing",
)
Part = str | int


@dataclass(frozen=True)
class Base:
    """A real payload: one event and outcome rendered in a fresh seeded session (a scenario's first step)."""

    spec: EventSpec
    outcome: str
    payload: Any
    containers: tuple[tuple[Part, ...], ...]  # arrays first: receivers iterate them
    leaves: tuple[tuple[Part, ...], ...]


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: tuple[Part, ...] = ()
    value: Any = None

    def describe(self) -> str:
        where = format_path(self.path) if self.path else "body"
        return f"{self.kind} at {where}"


@dataclass(frozen=True, repr=False)
class Case:
    """What one example sends: a base payload with mutations, once, twice, or as a task-flow sequence."""

    base: Base
    mutations: tuple[Mutation, ...] = ()
    sequence: str = "single"  # single | duplicate | finish_before_processing
    extra: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        if self.sequence != "single":
            return self.sequence
        return self.mutations[0].kind if self.mutations else "valid"

    def bodies(self) -> list[Any]:
        payload = apply(self.base.payload, self.mutations)
        if self.sequence == "duplicate":
            return [payload, payload]
        if self.sequence == "finish_before_processing":
            return [payload, *self.extra]
        return [payload]

    def __repr__(self) -> str:  # hypothesis prints examples: the payload itself would be kilobytes
        return f"Case({self.describe()!r})"

    def describe(self) -> str:
        what = f"{self.base.spec.event_type} ({self.base.outcome})"
        if self.sequence == "duplicate":
            return f"{what} posted twice"
        if self.sequence == "finish_before_processing":
            return f"{what}: FINISH posted before PROCESSING"
        return f"{what}: " + ("; ".join(m.describe() for m in self.mutations) or "as rendered")


def _walk(value: Any, parts: tuple[Part, ...] = ()) -> Iterator[tuple[tuple[Part, ...], Any]]:
    yield parts, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):  # a few items stand for the rest
            yield from _walk(item, (*parts, index))


def _expressible(parts: tuple[Part, ...]) -> bool:
    try:
        format_path(parts)
    except Exception:
        return False
    return True


def make_base(
    renderer: Renderer,
    spec: EventSpec,
    fmt: str,
    outcome: str,
    seed: int,
    now: dt.datetime,
    options: dict[str, Any],
) -> Base:
    session = renderer.session(seed=seed, now=now, fmt=fmt, options=options)
    payload = session.render_event(spec, {"status": outcome})
    nodes = [(p, v) for p, v in _walk(payload) if p and _expressible(p)]
    lists = [p for p, v in nodes if isinstance(v, list)]
    objects = [p for p, v in nodes if isinstance(v, dict)]
    leaves = [p for p, v in nodes if not isinstance(v, dict | list)]
    return Base(spec, outcome, payload, tuple(lists + objects), tuple(leaves))


def apply(payload: Any, mutations: Sequence[Mutation]) -> Any:
    """The payload with the mutations applied in order (a mutation whose path is gone is skipped)."""
    result = copy.deepcopy(payload)
    for mutation in mutations:
        path = format_path(mutation.path) if mutation.path else ""
        try:
            if mutation.kind == "missing":
                unset_path(result, path)
            elif mutation.kind == "extra_key":
                set_path(result, format_path((*mutation.path, "fuzzExtra")), mutation.value)
            elif mutation.path:
                set_path(result, path, copy.deepcopy(mutation.value))
        except Exception:  # an earlier mutation removed or replaced the parent
            continue
    return result


def _other_type(value: Any) -> st.SearchStrategy[Any]:
    choices: list[Any] = ["1", 1, 1.5, True, [], {}]
    return st.sampled_from([c for c in choices if type(c) is not type(value)])


def _huge(value: Any) -> Any:
    if isinstance(value, list):
        return (value * (HUGE_ITEMS // max(len(value), 1) + 1))[:HUGE_ITEMS] if value else [0] * HUGE_ITEMS
    if isinstance(value, str):
        return (value or "x") * (HUGE_STRING // max(len(value), 1))
    if isinstance(value, int) and not isinstance(value, bool):
        return 2**63
    return value


def _get(payload: Any, parts: tuple[Part, ...]) -> Any:
    for part in parts:
        payload = payload[part]
    return payload


def mutation(base: Base) -> st.SearchStrategy[Mutation]:
    """One mutation of a path of `base` (hypothesis shrinks toward early kinds and early paths)."""
    every = base.containers + base.leaves
    strings = [p for p in base.leaves if isinstance(_get(base.payload, p), str)]
    sized = [p for p in every if isinstance(_get(base.payload, p), list | str)]
    options: list[st.SearchStrategy[Mutation]] = [
        st.builds(Mutation, st.just("missing"), st.sampled_from(every)),
        st.builds(Mutation, st.just("null"), st.sampled_from(every)),
        st.sampled_from(every).flatmap(
            lambda p: _other_type(_get(base.payload, p)).map(lambda v: Mutation("wrong_type", p, v))
        ),
        st.sampled_from(every).map(lambda p: Mutation("empty", p, type(_get(base.payload, p))())),
        st.builds(
            Mutation,
            st.just("extra_key"),
            st.sampled_from([()] + [p for p in base.containers if isinstance(_get(base.payload, p), dict)]),
            st.text(max_size=20),
        ),
    ]
    if sized:
        options.append(
            st.sampled_from(sized).map(lambda p: Mutation("huge", p, _huge(_get(base.payload, p))))
        )
    if strings:
        options.append(
            st.builds(
                Mutation, st.just("unicode"), st.sampled_from(strings), st.text(min_size=1, max_size=64)
            )
        )
    event_key = "EventType" if isinstance(base.payload, dict) and "EventType" in base.payload else "eventType"
    if isinstance(base.payload, dict) and event_key in base.payload:
        options.append(
            st.text(min_size=1, max_size=30).map(
                lambda t: Mutation("unknown_event", (event_key,), "NoSuch" + t)
            )
        )
    return st.one_of(options)
