"""Render throughput per event type and for a mixed scenario, against jinja2+json alone."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import jinja2

from emitter.catalog import load_catalog
from emitter.plan import render_scenario
from emitter.render import Renderer, encode_payload
from emitter.scenario import load_scenario

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
MIXED = ("happy-path", "porn-review", "concat-failure", "snapshot-and-sprite", "clip", "delete", "pull-from-url")


def per_second(work: Callable[[], int], seconds: float) -> float:
    """Items per second of `work` (returns items done per call), repeated for about `seconds`."""
    work()  # warm up (compile templates, fill caches)
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += work()
    return done / elapsed


def _skeleton(node: Any, leaves: list[Any]) -> str:
    """JSON text of `node` with every leaf replaced by a template placeholder."""
    if isinstance(node, dict):
        return "{" + ",".join(f"{json.dumps(k)}: {_skeleton(v, leaves)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_skeleton(v, leaves) for v in node) + "]"
    leaves.append(json.dumps(node, ensure_ascii=False))
    return "{{ v[%d] }}" % (len(leaves) - 1)


def baseline(payload: Any) -> Callable[[], int]:
    """The floor for any jinja2+json pipeline: a template of the same shape whose leaves are
    already JSON text, rendered, parsed and encoded (no values to make, no filters)."""
    leaves: list[Any] = []
    template = jinja2.Environment().from_string(_skeleton(payload, leaves))

    def work() -> int:
        json.dumps(json.loads(template.render(v=leaves)), ensure_ascii=False, separators=(",", ":"))
        return 1

    return work


def run(fmt: str = "v2", seconds: float = 0.6) -> list[dict[str, Any]]:
    renderer = Renderer()
    catalog = load_catalog()
    rows = []
    seed = iter(range(10**9))
    for event_type, spec in catalog.events.items():
        if fmt not in spec.templates:
            continue

        def ours(event_type: str = event_type) -> int:
            session = renderer.session(seed=next(seed), now=NOW, fmt=fmt)
            encode_payload(session.render_event(event_type))
            return 1

        sample = renderer.session(seed=1, now=NOW, fmt=fmt).render_event(event_type)
        rows.append(_row(f"render {event_type} ({fmt})", per_second(ours, seconds), per_second(baseline(sample), seconds)))
    scenarios = [load_scenario(name) for name in MIXED]

    def mixed() -> int:
        count = 0
        for scenario in scenarios:
            for _ in render_scenario(scenario, seed=next(seed), now=NOW, fmt=fmt, renderer=renderer):
                count += 1
        return count

    samples = [e.payload for s in scenarios for e in render_scenario(s, seed=1, now=NOW, fmt=fmt, renderer=renderer)]
    works = [baseline(p) for p in samples]

    def mixed_baseline() -> int:
        for work in works:
            work()
        return len(works)

    rows.append(_row(f"render mixed scenarios ({fmt})", per_second(mixed, seconds * 2), per_second(mixed_baseline, seconds * 2)))
    return rows


def _row(name: str, ours: float, base: float) -> dict[str, Any]:
    return {"name": name, "unit": "payloads/s", "value": ours, "baseline": base,
            "baseline_name": "jinja2+json alone", "ratio": ours / base}


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']:<55} {row['value']:>10,.0f} {row['baseline']:>10,.0f}  x{row['ratio']:.2f}")
