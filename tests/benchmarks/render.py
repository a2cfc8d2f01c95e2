"""Render throughput per event type and for a mixed scenario, against jinja2+json alone.

The baseline is the floor of any jinja2+json pipeline: a template of the same shape as our
payload whose leaves are already JSON text, rendered, parsed and encoded (no values to make,
no filters, no sandbox). Ours makes a fresh seeded session per payload (per scenario for the
mixed figure), draws every value from the provider, renders (v2 templates compiled to Python),
builds the payload from its shape (parsed once per shape), prunes and encodes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import jinja2

from emitter.payloads.catalog import load_catalog
from emitter.payloads.render import Renderer, encode_payload
from emitter.scenarios.loader import load_scenario
from emitter.scenarios.plan import render_events
from tests.benchmarks.common import NOW, Row, per_second

MIXED = (
    "happy-path",
    "porn-review",
    "concat-failure",
    "snapshot-and-sprite",
    "clip",
    "delete",
    "pull-from-url",
)
CPU = time.process_time  # rendering is pure CPU: its cost is CPU time, not time spent waiting for a core
PROFILES = ("docs", "wire")
# issue 14: >= 3x the previous figure (15,559/s on an idle machine) and >= 0.8x jinja2+json alone
MIXED_TARGET = 3 * 15_559  # payloads/s
MIXED_RATIO_TARGET = 0.8


def _skeleton(node: Any, leaves: list[Any]) -> str:
    """JSON text of `node` with every leaf replaced by a template placeholder."""
    if isinstance(node, dict):
        return "{" + ",".join(f"{json.dumps(k)}: {_skeleton(v, leaves)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_skeleton(v, leaves) for v in node) + "]"
    leaves.append(json.dumps(node, ensure_ascii=False))
    return f"{{{{ v[{len(leaves) - 1}] }}}}"


def baseline(payload: Any) -> Callable[[], int]:
    """jinja2+json alone for a payload of this shape: render the skeleton, parse, encode."""
    leaves: list[Any] = []
    template = jinja2.Environment().from_string(_skeleton(payload, leaves))

    def work() -> int:
        json.dumps(json.loads(template.render(v=leaves)), ensure_ascii=False, separators=(",", ":"))
        return 1

    return work


def run(fmt: str = "v2", seconds: float = 0.3) -> list[Row]:
    renderer = Renderer()
    catalog = load_catalog()
    rows = []
    seeds = iter(range(10**9))
    for event_type, spec in catalog.events.items():
        if fmt not in spec.templates:
            continue

        def ours(event_type: str = event_type) -> int:
            session = renderer.session(seed=next(seeds), now=NOW, fmt=fmt)
            encode_payload(session.render_event(event_type))
            return 1

        sample = renderer.session(seed=1, now=NOW, fmt=fmt).render_event(event_type)
        rows.append(
            _row(
                f"{event_type} ({fmt})",
                per_second(ours, seconds, CPU),
                per_second(baseline(sample), seconds, CPU),
            )
        )
    scenarios = [load_scenario(name) for name in MIXED]
    for profile in PROFILES:
        rows.append(_mixed(renderer, scenarios, fmt, profile, seconds, seeds))
    rows.append(profile_row(renderer, scenarios, seconds))
    return rows


def _mixed(
    renderer: Renderer, scenarios: list[Any], fmt: str, profile: str, seconds: float, seeds: Iterator[int]
) -> Row:
    """The built-ins rendered with fresh seeds in one profile, against jinja2+json for the same payloads."""
    options = {"profile": profile}

    def mixed() -> int:
        count = 0
        for scenario in scenarios:
            for _ in render_events(
                scenario, seed=next(seeds), now=NOW, fmt=fmt, renderer=renderer, options=options
            ):
                count += 1
        return count

    samples = [
        event.payload
        for scenario in scenarios
        for event in render_events(scenario, seed=1, now=NOW, fmt=fmt, renderer=renderer, options=options)
    ]
    works = [baseline(p) for p in samples]

    def mixed_baseline() -> int:
        for work in works:
            work()
        return len(works)

    # alternate, best of three: the machine is shared and noisy
    best = best_base = 0.0
    for _ in range(3):
        best = max(best, per_second(mixed, seconds * 2, CPU))
        best_base = max(best_base, per_second(mixed_baseline, seconds * 2, CPU))
    return _row(
        f"mixed scenarios ({fmt}, {profile}, {len(MIXED)} built-ins)",
        best,
        best_base,
        value_target=MIXED_TARGET,
        ratio_target=MIXED_RATIO_TARGET,
    )


WIRE_RATIO_TARGET = 1 / 1.5  # wire costs at most 1.5x docs


def profile_row(renderer: Renderer, scenarios: list[Any], seconds: float) -> Row:
    """The wire profile's completion pass against docs: the mixed v3 scenarios in both profiles."""
    seeds = iter(range(10**9))

    def mixed(profile: str) -> Callable[[], int]:
        options = {"profile": profile}

        def work() -> int:
            count = 0
            for scenario in scenarios:
                events = render_events(
                    scenario, seed=next(seeds), now=NOW, fmt="v3", renderer=renderer, options=options
                )
                count += sum(1 for _ in events)
            return count

        return work

    wire, docs = mixed("wire"), mixed("docs")
    best = best_docs = 0.0
    for _ in range(3):  # alternate, best of three: the machine is shared and noisy
        best = max(best, per_second(wire, seconds * 2, CPU))
        best_docs = max(best_docs, per_second(docs, seconds * 2, CPU))
    return Row(
        "render",
        f"mixed scenarios (v3, {len(scenarios)} built-ins), wire profile",
        "payloads/s",
        best,
        best_docs,
        "the same in the docs profile",
        "higher",
        ratio_target=WIRE_RATIO_TARGET,
    )


def _row(
    name: str,
    ours: float,
    base: float,
    *,
    value_target: float | None = None,
    ratio_target: float | None = None,
) -> Row:
    return Row(
        "render",
        name,
        "payloads/s",
        ours,
        base,
        "jinja2+json alone",
        "higher",
        ratio_target=ratio_target,
        value_target=value_target,
    )


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<50} {row.value:>10,.0f} {row.baseline:>10,.0f}  x{row.ratio:.2f}")
