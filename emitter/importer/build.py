"""Bodies -> scenario steps: the event and parameters that render each body, plus set/unset for the rest."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emitter.errors import EmitterError, ScenarioError, UsageError
from emitter.importer.read import Recorded, read_inputs
from emitter.payloads.bodies import body_bytes
from emitter.payloads.catalog import Catalog, EventSpec
from emitter.payloads.conformance import detect_format
from emitter.payloads.render import Renderer, RenderSession, check_param, default_renderer
from emitter.scenarios.loader import REFERENCE, parse_scenario
from emitter.scenarios.plan import render_events

# Two moments far apart: whatever differs between them depends on `now`, so the scenario pins it
# with `set:` and renders the recorded value at any --now.
_NOW_A = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
_NOW_B = dt.datetime(2011, 12, 13, 14, 15, 16, tzinfo=dt.timezone.utc)
# The render options an import tries (it keeps the one needing the fewest overrides).
_FORMAT_OPTIONS: Mapping[str, tuple[Mapping[str, Any], ...]] = {
    "v2": ({"profile": "wire"}, {"profile": "docs"}, {"profile": "docs", "keep_nulls": True}),
    "v3": (
        {"profile": "wire"},
        {"profile": "wire", "era": "2021"},
        {"profile": "docs"},
        {"profile": "docs", "keep_nulls": True},
        {"profile": "docs", "null_event_keys": True},
    ),
    "cdnetworks": ({"profile": "wire"}, {"profile": "docs"}),
}
_KEY = re.compile(r"[A-Za-z_$][\w$-]*")


# Two values per parameter: a path holding each in its render holds the parameter. Integers stay
# small because some drive loops (counts, page sizes).
def _sentinels(name: str, kind: str) -> list[Any]:
    return [f"zz-{name}-1", f"zz-{name}-2"] if kind == "str" else [97, 89]


Part = str | int
Path_ = tuple[Part, ...]


class _Inexpressible(Exception):
    """A difference set/unset cannot express (at the root, or a key no path syntax can name)."""


def format_path(parts: Path_) -> str:
    """Payload path text for parts, in the syntax `set:` reads (`data.a[0]["odd key"]`)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _KEY.fullmatch(part):
            text += f".{part}" if text else part
        elif '"' not in part and "'" not in part:
            text += f'["{part}"]'
        else:
            raise _Inexpressible(part)
    return text


def _same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1, 1.0 and true apart and keeps key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _same_types(a: Any, b: Any) -> bool:
    """Whether equal JSON values also agree on 1 vs 1.0 vs true, at every depth."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True


@dataclass
class _Diff:
    sets: dict[str, Any] = field(default_factory=dict)
    unsets: list[str] = field(default_factory=list)

    def size(self) -> int:
        return len(json.dumps(self.sets, ensure_ascii=False, default=str)) + sum(map(len, self.unsets))


def _diff(rendered: Any, original: Any, parts: Path_, out: _Diff, keep_order: bool = True) -> None:
    """set/unset that turn `rendered` into `original`; with keep_order, key order included."""
    if _same(rendered, original) if keep_order else rendered == original and _same_types(rendered, original):
        return
    if isinstance(rendered, dict) and isinstance(original, dict):
        kept = [k for k in rendered if k in original]
        added = [k for k in original if k not in rendered]
        if not keep_order or kept + added == list(original):
            inner = _Diff()
            try:
                for key in rendered:
                    if key not in original:
                        inner.unsets.append(format_path((*parts, key)))
                for key in original:
                    if key in rendered:
                        _diff(rendered[key], original[key], (*parts, key), inner, keep_order)
                    else:
                        inner.sets[format_path((*parts, key))] = original[key]
            except _Inexpressible:
                pass
            else:
                out.sets.update(inner.sets)
                out.unsets.extend(inner.unsets)
                return
    elif isinstance(rendered, list) and isinstance(original, list) and len(rendered) == len(original):
        for index, (mine, theirs) in enumerate(zip(rendered, original, strict=True)):
            _diff(mine, theirs, (*parts, index), out, keep_order)
        return
    if not parts:
        raise _Inexpressible("")
    out.sets[format_path(parts)] = original


def _leaves(value: Any, parts: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*parts, index))
    else:
        yield parts, value


def _get(value: Any, parts: Path_) -> tuple[bool, Any]:
    for part in parts:
        in_list = isinstance(part, int) and isinstance(value, list) and -len(value) <= part < len(value)
        in_dict = isinstance(part, str) and isinstance(value, dict) and part in value
        if not (in_list or in_dict):
            return False, None
        value = value[part]
    return True, value


class _Probe:
    """Where each scalar parameter of an event lands in its payload, found by rendering sentinels."""

    def __init__(self, renderer: Renderer):
        self.renderer = renderer

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one probe per import, a few hundred keys
    def paths(
        self, event_type: str, fmt: str, outcome: str, options: tuple[tuple[str, Any], ...]
    ) -> dict[str, tuple[Path_, ...]]:
        spec = self.renderer.catalog.events[event_type]
        session = self.renderer.session(seed=0, now=_NOW_A, fmt=fmt, options=dict(options))
        state = session.fake.generator.random.getstate()
        found: dict[str, tuple[Path_, ...]] = {}
        for name, param in spec.params.items():
            if name == "status" or param.type not in ("str", "int"):
                continue
            values = list(param.enum) if param.enum else _sentinels(name, param.type)
            common: set[Path_] | None = None
            for value in values:
                session.fake.generator.random.setstate(state)
                try:
                    payload = session.render_event(spec, {"status": outcome, name: value})
                except EmitterError:
                    common = set()
                    break
                hits = {p for p, v in _leaves(payload) if _same(v, value)}
                common = hits if common is None else common & hits
            if common:
                found[name] = tuple(sorted(common, key=str))
        return found


@functools.lru_cache(maxsize=4)
def _probe_for(renderer: Renderer) -> _Probe:
    """One probe per renderer, so its sentinel renders are made once per process."""
    return _Probe(renderer)


def _event_of(payload: Any, fmt: str, catalog: Catalog) -> EventSpec | None:
    if fmt == "cdnetworks":
        specs = [s for s in catalog.events.values() if "cdnetworks" in s.templates]
        return specs[0] if len(specs) == 1 else None
    name = payload.get("EventType" if fmt == "v3" else "eventType")
    spec = catalog.events.get(name) if isinstance(name, str) else None
    return spec if spec is not None and fmt in spec.templates else None


def _extract(spec: EventSpec, payload: Any, paths: Mapping[str, tuple[Path_, ...]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, where in paths.items():
        found = [_get(payload, p) for p in where]
        values = [v for ok, v in found if ok]
        if not values or len(values) != len(found) or any(not _same(v, values[0]) for v in values):
            continue
        value = values[0]
        if isinstance(value, str) and REFERENCE.search(value):
            continue  # would read as a ${step.param} reference
        try:
            check_param(spec.params[name], value, location=None, event=spec.kind)
        except EmitterError:
            continue
        params[name] = value
    return params


@dataclass(frozen=True)
class _Choice:
    step: dict[str, Any]
    size: int


def _render_pair(
    sessions: tuple[RenderSession, RenderSession], spec: EventSpec, params: Mapping[str, Any]
) -> tuple[Any, Any]:
    first, second = sessions
    return first.render_event(spec, dict(params)), second.render_event(spec, dict(params))


def _cheapest_diff(rendered: Any, original: Any, bytes_matter: bool) -> _Diff | None:
    """The diff that keeps key order (so bytes match), unless it costs much more than one that does not."""
    diffs: list[_Diff] = []
    for keep_order in (True, False):
        diff = _Diff()
        try:
            _diff(rendered, original, (), diff, keep_order)
        except _Inexpressible:
            continue
        diffs.append(diff)
    if not diffs:
        return None
    slack = 2 * diffs[-1].size() + 200 if bytes_matter else diffs[-1].size()
    if len(diffs) == 2 and diffs[0].size() > slack:
        return diffs[1]  # key-for-key: set: cannot move keys, and rewriting whole objects hides the facts
    return diffs[0]


def _pinned(now_a: Any, now_b: Any, original: Any, diff: _Diff) -> None:
    """Add `set:` for every path whose rendered value depends on `now` and that the diff leaves alone."""
    moving = _Diff()
    try:
        _diff(now_a, now_b, (), moving)
    except _Inexpressible:
        return
    covered = [*diff.sets, *diff.unsets]
    for path in moving.sets:
        if any(path == c or path.startswith((c + ".", c + "[")) for c in covered):
            continue
        ok, value = _get(original, _parts(path))
        if ok:
            diff.sets[path] = value


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> Path_:
    from emitter.payloads.paths import parse_path

    return parse_path(path)


def _semantic_step(
    sessions: tuple[RenderSession, RenderSession],
    spec: EventSpec,
    payload: Any,
    probe: _Probe,
    bytes_matter: bool,
) -> _Choice | None:
    """The cheapest (event, status, params, set/unset) that renders `payload`; sessions advance by one."""
    randoms = [s.fake.generator.random for s in sessions]
    state = randoms[0].getstate()
    options = tuple(sorted(sessions[0].options.items()))
    best: tuple[_Choice, dict[str, Any]] | None = None
    for outcome in spec.outcomes:
        paths = probe.paths(spec.event_type, sessions[0].fmt, outcome, options)
        extracted = _extract(spec, payload, paths)
        for r in randoms:
            r.setstate(state)
        try:
            plain, _ = _render_pair(sessions, spec, {"status": outcome})
            for r in randoms:
                r.setstate(state)
            params = {
                name: value
                for name, value in extracted.items()
                if not all(_same(_get(plain, p)[1], value) and _get(plain, p)[0] for p in paths[name])
            }
            if outcome != spec.params["status"].default:
                params = {"status": outcome, **params}
            rendered_a, rendered_b = _render_pair(sessions, spec, params)
        except EmitterError:
            continue
        diff = _cheapest_diff(rendered_a, payload, bytes_matter)
        if diff is None:
            continue
        _pinned(rendered_a, rendered_b, payload, diff)
        step: dict[str, Any] = {"event": spec.kind, **params}
        if diff.sets:
            step["set"] = diff.sets
        if diff.unsets:
            step["unset"] = diff.unsets
        choice = _Choice(step, diff.size() + len(params))
        if best is None or choice.size < best[0].size:
            best = (choice, params)
    for r in randoms:  # leave the sessions as rendering the chosen step leaves them
        r.setstate(state)
    if best is None:
        return None
    _render_pair(sessions, spec, best[1])
    return best[0]


def _raw_step(record: Recorded, catalog: Catalog, kind: str | None = None) -> dict[str, Any]:
    """A step that sends the body as recorded (`body:`): not JSON, not an object, or not an event we know."""
    event = kind or next(iter(catalog.events.values())).kind
    if isinstance(record.payload, dict):
        return {"event": event, "body": record.payload}
    return {"event": event, "body": record.body.decode("utf-8", "replace")}


def _delay(previous: float | None, current: float | None) -> str | None:
    if previous is None or current is None or current <= previous:
        return None
    millis = round((current - previous) * 1000)
    return f"{millis}ms" if millis >= 1 else None


@dataclass(frozen=True)
class ImportResult:
    """The imported scenario (as data and YAML text) and how faithfully it renders the bodies."""

    scenario: dict[str, Any]
    text: str
    bodies: int
    semantic: int
    byte_exact: int
    key_exact: int
    format: str

    def summary(self) -> str:
        raw = self.bodies - self.semantic
        return (
            f"{self.bodies} bodies ({self.format}): {self.semantic} as event steps, {raw} as raw bodies; "
            f"render gives {self.byte_exact} back byte-for-byte, {self.key_exact} key-for-key"
        )


def _steps(
    records: Sequence[Recorded], fmt: str, options: Mapping[str, Any], seed: int, renderer: Renderer
) -> tuple[list[dict[str, Any]], int, int]:
    sessions = (
        renderer.session(seed=seed, now=_NOW_A, fmt=fmt, options=options),
        renderer.session(seed=seed, now=_NOW_B, fmt=fmt, options=options),
    )
    probe = _probe_for(renderer)
    steps: list[dict[str, Any]] = []
    semantic = size = 0
    previous: float | None = None
    for record in records:
        payload = record.payload
        spec = None
        if isinstance(payload, dict) and detect_format(payload) == fmt:
            spec = _event_of(payload, fmt, renderer.catalog)
        choice = None
        if spec is not None:
            bytes_matter = body_bytes(payload) == record.body
            choice = _semantic_step(sessions, spec, payload, probe, bytes_matter)
        if choice is not None:
            step, semantic, size = choice.step, semantic + 1, size + choice.size
        else:
            step = _raw_step(record, renderer.catalog, spec.kind if spec else None)
            size += len(json.dumps(step["body"], ensure_ascii=False))
        delay = _delay(previous, record.arrived_at)
        if delay:
            step = {"event": step["event"], "delay": delay, **{k: v for k, v in step.items() if k != "event"}}
        previous = record.arrived_at if record.arrived_at is not None else previous
        steps.append(step)
    return steps, semantic, size


def _dump(scenario: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(scenario), sort_keys=False, allow_unicode=True, width=100)


def import_bodies(
    records: Sequence[Recorded],
    *,
    seed: int = 0,
    name: str = "imported",
    renderer: Renderer | None = None,
) -> ImportResult:
    """A scenario whose render gives back `records`' bodies (byte-for-byte where the JSON allows)."""
    renderer = renderer or default_renderer()
    if not records:
        raise UsageError("nothing to import", hint="pass at least one body")
    formats = Counter(f for r in records if (f := detect_format(r.payload)) != "unknown")
    fmt = formats.most_common(1)[0][0] if formats else "v2"
    best: tuple[int, list[dict[str, Any]], int, Mapping[str, Any]] | None = None
    for options in _FORMAT_OPTIONS[fmt]:
        steps, semantic, size = _steps(records, fmt, options, seed, renderer)
        if best is None or size < best[0]:
            best = (size, steps, semantic, options)
    assert best is not None
    _, steps, semantic, options = best
    described = f"Imported from {len(records)} recorded bodies by 'vod-emitter import'."
    scenario: dict[str, Any] = {"version": 1, "name": name, "description": described, "format": fmt}
    scenario["profile"] = options["profile"]
    scenario["seed"] = seed
    if len(options) > 1:
        scenario["options"] = {k: v for k, v in options.items() if k != "profile"}
    scenario["steps"] = steps
    text = _dump(scenario)
    try:
        byte_exact, key_exact = _fidelity(text, records, renderer)
    except ScenarioError as exc:  # over a scenario's limits (its size, mostly): the user sees no line N
        raise UsageError(
            f"the scenario made of the recorded bodies ({len(records)}) would not load: {exc.message}",
            location="files",
            hint="import fewer or smaller bodies at a time",
        ) from None
    return ImportResult(scenario, text, len(records), semantic, byte_exact, key_exact, fmt)


def _fidelity(text: str, records: Sequence[Recorded], renderer: Renderer) -> tuple[int, int]:
    """How many bodies the scenario renders back byte-for-byte, and key-for-key."""
    loaded = parse_scenario(text, "<imported>", renderer.catalog)
    rendered = list(render_events(loaded, seed=loaded.seed or 0, now=_NOW_B, renderer=renderer))
    byte_exact = sum(1 for r, e in zip(records, rendered, strict=True) if e.body == r.body)
    key_exact = sum(
        1
        for r, e in zip(records, rendered, strict=True)
        if (e.payload == r.payload if r.payload is not None else e.body == r.body)
    )
    return byte_exact, key_exact


def import_files(paths: Iterable[Path], *, seed: int = 0, name: str | None = None) -> ImportResult:
    """Read bodies, journals or PULL responses from files and import them as one scenario."""
    paths = [Path(p) for p in paths]
    return import_bodies(read_inputs(paths), seed=seed, name=name or paths[0].stem)
