"""Scenario files: YAML (safe load, line numbers kept) -> validated Scenario and Step dataclasses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from emitter.clock import MAX_DURATION, parse_duration
from emitter.errors import EmitterError, ScenarioError, hint_with_suggestion
from emitter.inputs import read_limited
from emitter.payloads.catalog import Catalog, EventSpec, load_catalog, resource_dir
from emitter.payloads.options import check_options
from emitter.payloads.paths import parse_path
from emitter.payloads.profiles import check_profile
from emitter.payloads.render import Overrides, check_param

if TYPE_CHECKING:
    from emitter.vodapi.faults import PullFaults

SCENARIO_KEYS = (
    "version", "name", "description", "format", "profile", "seed", "vars", "options", "subscribe", "steps",
)  # fmt: skip
STEP_KEYS = (
    "event", "name", "delay", "repeat", "set", "unset", "body", "expect", "duplicate", "sign", "on", "pull",
    "profile",
)  # fmt: skip
SIGN_CASES = ("valid", "expired", "wrong", "missing", "none")
REFERENCE = re.compile(r"\$\{([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)\}")

# Documented limits (README "Limits"): a small file must not ask for unbounded work.
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000  # YAML nodes with every alias expanded (a "billion laughs" file is refused)
MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 30
MAX_STEPS = 1_000
MAX_REPEAT = 100_000
MAX_DUPLICATE = 100
MAX_EVENTS = 1_000_000  # sends of one scenario: the sum of repeat x duplicate over its steps
MAX_DELAY = MAX_DURATION  # seconds (one day)
MAX_SUBSCRIBED = 200  # names in an event filter (--events, subscribe:)
MAX_NAME = 64  # characters of a step name (it becomes part of file names with render --out)

_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG_PREFIX = "tag:yaml.org,2002:"
_NOT_JSON_TAGS = {f"{_TAG_PREFIX}binary", f"{_TAG_PREFIX}set"}  # bytes and sets: no JSON for them
_INT_TAG = "tag:yaml.org,2002:int"
_RESOLVER = yaml.resolver.Resolver()


class _LineDict(dict[str, Any]):
    line = 0
    key_lines: dict[str, int]


class _LineList(list[Any]):
    line = 0
    item_lines: list[int]


class _Loader(_FAST_LOADER):  # type: ignore[valid-type,misc]
    """Safe loader (libyaml's when present) that remembers the line of every mapping key and list item."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            raise ScenarioError(
                f"unsupported key {key!r}",
                location=f"line {key_node.start_mark.line + 1}",
                hint="keys must be plain strings",
            )
        if isinstance(key, bool):  # YAML 1.1 reads `on:` (and yes/no/off) as a boolean: keep the word
            key = str(key_node.value)
        key = str(key) if not isinstance(key, str) else key
        if key in result:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        result[key] = _construct_value(loader, value_node)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(_construct_value(loader, child) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_value(loader: _Loader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # a value the YAML resolver took for a date or number
        raise ScenarioError(
            f"a value YAML cannot read: {exc}",
            location=f"line {node.start_mark.line + 1}",
            hint="quote values that are text",
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def check_yaml_shape(text: str) -> None:
    """Refuse YAML that would expand beyond the limits: size, nesting, aliases, huge integers.

    One pass over libyaml's events (no recursion, no objects built), so its cost follows the
    file's length; an alias counts as the whole subtree it names. Errors are ScenarioErrors with
    `line N` as location; YAML syntax errors propagate as yaml.MarkedYAMLError.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{len(text)} characters is over the limit of {MAX_FILE_BYTES}",
            location="line 1",
            hint="split it into several scenarios",
        )
    sizes: dict[str, int] = {}
    open_nodes: list[list[Any]] = []  # [anchor, expanded node count so far]
    total = 0
    for event in _events(text):
        line = event.start_mark.line + 1 if event.start_mark else 1
        tag = getattr(event, "tag", None)
        if tag in _NOT_JSON_TAGS:
            raise ScenarioError(
                f"YAML tag {str(tag).replace(_TAG_PREFIX, '!!')} makes a value JSON cannot hold",
                location=f"line {line}",
                hint="write the value as text or a list",
            )
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > MAX_DEPTH:
                raise ScenarioError(
                    f"nesting deeper than {MAX_DEPTH} levels",
                    location=f"line {line}",
                    hint="flatten the structure",
                )
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, count = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, count = event.anchor, 1
            _check_number(event, line)
        elif isinstance(event, yaml.AliasEvent):
            if any(node[0] == event.anchor for node in open_nodes):
                raise ScenarioError(
                    f"the alias *{event.anchor} is inside its own anchor (a value that holds itself)",
                    location=f"line {line}",
                    hint="write the value out",
                )
            anchor, count = None, sizes.get(event.anchor or "", 1)
        else:
            continue
        if anchor:
            sizes[anchor] = count
        if open_nodes:
            open_nodes[-1][1] += count
            count = open_nodes[-1][1]
        else:
            total += count
            count = total
        if count > MAX_NODES:
            raise ScenarioError(
                f"the YAML expands to more than {MAX_NODES} values (aliases count in full)",
                location=f"line {line}",
                hint="write the values out, or use repeat: instead of aliases",
            )


def _events(text: str) -> Iterator[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=_FAST_LOADER)
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError(
            f"nesting deeper than {MAX_DEPTH} levels",
            location=f"line {mark.line + 1 if mark else 1}",
            hint="flatten the structure",
        ) from None


def _check_number(event: yaml.ScalarEvent, line: int) -> None:
    value = event.value
    if len(value) <= MAX_NUMBER_DIGITS:
        return
    resolved = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    implicit = event.implicit[0] and resolved == _INT_TAG
    if event.tag == _INT_TAG or implicit:
        raise ScenarioError(
            f"a number of {len(value)} characters is over the limit of {MAX_NUMBER_DIGITS} digits",
            location=f"line {line}",
            hint="quote it if it is text",
        )


def load_yaml(text: str) -> Any:
    """Plain Python values from YAML within the limits of check_yaml_shape (for flag values)."""
    check_yaml_shape(text)
    return yaml.load(text, Loader=_FAST_LOADER)


@dataclass(frozen=True)
class Expectation:
    """Which HTTP answers count as success: status codes and inclusive ranges."""

    codes: frozenset[int] = frozenset()
    ranges: tuple[tuple[int, int], ...] = ((200, 299),)

    def accepts(self, status: int) -> bool:
        return status in self.codes or any(low <= status <= high for low, high in self.ranges)

    def describe(self) -> str:
        parts = [str(c) for c in sorted(self.codes)] + [
            ("2xx" if (lo, hi) == (200, 299) else f"{lo}-{hi}") for lo, hi in self.ranges
        ]
        return " or ".join(parts)


def parse_expectation(raw: Any, *, location: str | None = None) -> Expectation:
    """`expect: {status: 200}`, `{status: [200, 202]}`, `{status: 2xx}` or `{status: 400-499}`."""
    if raw is None:
        return Expectation()
    value = raw.get("status") if isinstance(raw, dict) else raw
    if isinstance(raw, dict) and set(raw) - {"status"}:
        unknown = sorted(set(raw) - {"status"})[0]
        raise ScenarioError(
            f"unknown key '{unknown}' in expect",
            location=location,
            hint="expect takes only status: e.g. expect: {status: 200}",
        )
    items = value if isinstance(value, list) else [value]
    codes: set[int] = set()
    ranges: list[tuple[int, int]] = []
    for item in items:
        text = str(item).strip().lower()
        if re.fullmatch(r"\d{3}", text):
            codes.add(int(text))
        elif re.fullmatch(r"[1-5]xx", text):
            ranges.append((int(text[0]) * 100, int(text[0]) * 100 + 99))
        elif re.fullmatch(r"\d{3}\s*-\s*\d{3}", text):
            low, high = (int(p) for p in text.split("-"))
            if low > high:
                raise ScenarioError(
                    f"expected status range {item!r} goes backwards",
                    location=location,
                    hint=f"write it low to high: {high}-{low}",
                )
            ranges.append((low, high))
        else:
            raise ScenarioError(
                f"bad expected status {item!r}",
                location=location,
                hint="use a code (200), a class (2xx), a range (200-299) or a list of them",
            )
    return Expectation(frozenset(codes), tuple(ranges))


@dataclass(frozen=True)
class Step:
    """One step of a scenario: an event with its parameters and delivery options."""

    index: int
    name: str
    event: EventSpec
    params: Mapping[str, Any]
    delay: float = 0.0
    repeat: int = 1
    overrides: Overrides = field(default_factory=Overrides)
    expect: Expectation = field(default_factory=Expectation)
    duplicate: int = 1
    sign: str | None = None
    location: str = ""
    on: str | None = None  # wait for this VOD API call (vod-emitter api --scenario), ids from its answer
    pull: PullFaults | None = None  # faults when the run queues it for PULL (run --mode pull)
    profile: str | None = None  # the step's payload profile, over the run's


@dataclass(frozen=True)
class Scenario:
    """A named, ordered list of steps with its format, seed, variables and format options."""

    name: str
    description: str
    steps: tuple[Step, ...]
    format: str = "v2"
    seed: int | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    path: str = "<scenario>"
    subscribe: frozenset[str] | None = None  # EventTypes sent (None: all); the others are filtered

    @property
    def events(self) -> int:
        """How many events it renders (each repeat once; duplicates are copies of one event)."""
        return sum(step.repeat for step in self.steps)


class _Context:
    """Where we are in the file, to make every error say file:line."""

    def __init__(self, path: str):
        self.path = path

    def at(self, line: int | None) -> str:
        return f"{self.path}:{line}" if line else self.path


def _line(node: Any, key: str | int | None = None) -> int | None:
    if isinstance(node, _LineDict) and isinstance(key, str) and key in node.key_lines:
        return node.key_lines[key]
    if isinstance(node, _LineList) and isinstance(key, int) and key < len(node.item_lines):
        return node.item_lines[key]
    return getattr(node, "line", None)


def _references(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return REFERENCE.findall(value)
    if isinstance(value, dict):
        return [ref for v in value.values() for ref in _references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _references(v)]
    return []


def _plain(value: Any) -> Any:
    """Loader containers -> plain dicts and lists (for payloads and params)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def subscription(names: str | Iterable[str], catalog: Catalog, *, location: str) -> frozenset[str]:
    """The EventTypes an event filter names (aliases or EventTypes, a list or comma-separated text)."""
    items = names.split(",") if isinstance(names, str) else list(names)
    words = [str(item).strip() for item in items if str(item).strip()]
    hint = "write e.g. NewFileUpload,ProcedureStateChanged ('vod-emitter events' lists them)"
    if not words:
        raise ScenarioError("no event type given", location=location, hint=hint)
    if len(words) > MAX_SUBSCRIBED:
        raise ScenarioError(
            f"{len(words)} event types is over the limit of {MAX_SUBSCRIBED}", location=location, hint=hint
        )
    return frozenset(catalog.event(word, location=location).event_type for word in words)


def _subscribe(data: Any, ctx: _Context, catalog: Catalog) -> frozenset[str] | None:
    """A scenario's `subscribe:` list, each name checked where it is written."""
    node = data.get("subscribe")
    if node is None:
        return None
    if not isinstance(node, list):
        raise ScenarioError(
            "'subscribe' must be a list of event types",
            location=ctx.at(_line(data, "subscribe")),
            hint="write e.g. subscribe: [NewFileUpload, ProcedureStateChanged]",
        )
    for index, name in enumerate(node):
        subscription([str(name)], catalog, location=ctx.at(_line(node, index) or _line(data, "subscribe")))
    return subscription([str(name) for name in node], catalog, location=ctx.at(_line(data, "subscribe")))


def _positive_int(value: Any, what: str, location: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ScenarioError(
            f"{what} must be a whole number from 1 to {maximum}, got {value!r}",
            location=location,
            hint=f"write e.g. {what}: 2",
        )
    return value


def _profile(node: Any, ctx: _Context) -> str | None:
    """A `profile:` key (scenario or step): wire or docs."""
    value = node.get("profile")
    if value is None:
        return None
    try:
        return check_profile(str(value))
    except EmitterError as exc:
        raise ScenarioError(exc.message, location=ctx.at(_line(node, "profile")), hint=exc.hint) from None


def _parse_step(
    raw: Any, index: int, names: dict[str, Step], ctx: _Context, catalog: Catalog, steps_node: Any
) -> Step:
    where = ctx.at(_line(steps_node, index))
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"step {index + 1} must be a mapping with an 'event'",
            location=where,
            hint="write e.g. - event: upload",
        )
    if "event" not in raw:
        raise ScenarioError(
            f"step {index + 1} has no 'event'",
            location=where,
            hint="add e.g. event: upload (see 'vod-emitter events')",
        )
    try:
        spec = catalog.event(str(raw["event"]), location=ctx.at(_line(raw, "event")))
    except EmitterError as exc:
        raise ScenarioError(exc.message, location=exc.location, hint=exc.hint) from None
    name = raw.get("name")
    if name is None:
        name = spec.kind if spec.kind not in names else f"{spec.kind}-{index + 1}"
    name = str(name)
    if not re.fullmatch(r"[A-Za-z_][\w-]*", name) or len(name) > MAX_NAME:
        raise ScenarioError(
            f"bad step name {name[:MAX_NAME]!r}{'...' if len(name) > MAX_NAME else ''}",
            location=ctx.at(_line(raw, "name")),
            hint=f"use up to {MAX_NAME} letters, digits, _ and - (it is used in ${{name.param}})",
        )
    if name in names:
        raise ScenarioError(
            f"duplicate step name '{name}'",
            location=ctx.at(_line(raw, "name")),
            hint="give each step a unique name",
        )
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in STEP_KEYS:
            continue
        key_at = ctx.at(_line(raw, key))
        if key not in spec.params:
            raise ScenarioError(
                f"unknown key '{key}' in step '{name}' ({spec.kind})",
                location=key_at,
                hint=hint_with_suggestion(
                    key,
                    [*STEP_KEYS, *spec.params],
                    f"step keys are {', '.join(STEP_KEYS)}; "
                    f"parameters: 'vod-emitter events show {spec.kind}'",
                ),
            )
        for ref_step, ref_param in _references(value):
            if ref_step not in names:
                raise ScenarioError(
                    f"reference ${{{ref_step}.{ref_param}}} names no earlier step",
                    location=key_at,
                    hint=hint_with_suggestion(
                        ref_step, names, "references may only name steps above this one"
                    ),
                )
            if ref_param not in names[ref_step].event.params:
                raise ScenarioError(
                    f"reference ${{{ref_step}.{ref_param}}}: "
                    f"{names[ref_step].event.kind} has no parameter '{ref_param}'",
                    location=key_at,
                    hint=hint_with_suggestion(
                        ref_param,
                        names[ref_step].event.params,
                        f"see 'vod-emitter events show {names[ref_step].event.kind}'",
                    ),
                )
        if not _references(value):
            check_param(spec.params[key], _plain(value), location=key_at, event=spec.kind)
        params[key] = _plain(value)
    overrides = _parse_overrides(raw, ctx)
    sign = raw.get("sign")
    if sign is not None and sign not in SIGN_CASES:
        raise ScenarioError(
            f"bad sign case {sign!r}",
            location=ctx.at(_line(raw, "sign")),
            hint=hint_with_suggestion(str(sign), SIGN_CASES, f"use one of: {', '.join(SIGN_CASES)}"),
        )
    return Step(
        on=_trigger(raw, ctx),
        index=index,
        name=name,
        profile=_profile(raw, ctx),
        event=spec,
        params=params,
        delay=parse_duration(raw.get("delay", 0), location=ctx.at(_line(raw, "delay"))),
        repeat=_positive_int(raw.get("repeat", 1), "repeat", ctx.at(_line(raw, "repeat")), MAX_REPEAT),
        overrides=overrides,
        expect=parse_expectation(_plain(raw.get("expect")), location=ctx.at(_line(raw, "expect"))),
        duplicate=_positive_int(
            raw.get("duplicate", 1), "duplicate", ctx.at(_line(raw, "duplicate")), MAX_DUPLICATE
        ),
        sign=sign,
        location=where,
        pull=_pull_faults(raw, ctx),
    )


def _pull_faults(raw: Mapping[str, Any], ctx: _Context) -> PullFaults | None:
    """The `pull:` key (faults under run --mode pull); the local VOD API's module only when given."""
    if raw.get("pull") is None:
        return None
    from emitter.vodapi.faults import parse_pull_faults

    return parse_pull_faults(_plain(raw.get("pull")), location=ctx.at(_line(raw, "pull")))


def _trigger(raw: Any, ctx: _Context) -> str | None:
    """The `on:` key: an action of the local VOD API that starts work."""
    from emitter.vodapi.rules import RULE_ACTIONS

    action = raw.get("on")
    if action is None:
        return None
    if action not in RULE_ACTIONS:
        raise ScenarioError(
            f"'on' must name a VOD API action that starts work, got {action!r}",
            location=ctx.at(_line(raw, "on")),
            hint=hint_with_suggestion(str(action), RULE_ACTIONS, f"use one of {', '.join(RULE_ACTIONS)}"),
        )
    return str(action)


def _parse_overrides(raw: Any, ctx: _Context) -> Overrides:
    set_node = raw.get("set")
    if set_node is not None and not isinstance(set_node, dict):
        raise ScenarioError(
            "'set' must map payload paths to values",
            location=ctx.at(_line(raw, "set")),
            hint="write e.g. set: {data.fileInfo[0].status: -1}",
        )
    unset_node = raw.get("unset")
    if unset_node is not None and not (
        isinstance(unset_node, list) and all(isinstance(p, str) for p in unset_node)
    ):
        raise ScenarioError(
            "'unset' must be a list of payload paths",
            location=ctx.at(_line(raw, "unset")),
            hint="write e.g. unset: [data.fileUrl]",
        )
    for path in [*(set_node or {}), *(unset_node or [])]:
        line = _line(set_node, path) if set_node and path in set_node else _line(raw, "unset")
        try:
            parse_path(path)
        except ScenarioError as exc:
            raise ScenarioError(exc.message, location=ctx.at(line), hint=exc.hint) from None
    body = raw.get("body")
    try:
        return Overrides(set=_plain(set_node), unset=tuple(unset_node or ()), body=_plain(body))
    except ScenarioError as exc:
        raise ScenarioError(exc.message, location=ctx.at(_line(raw, "body")), hint=exc.hint) from None


def parse_scenario(text: str, path: str = "<scenario>", catalog: Catalog | None = None) -> Scenario:
    """Parse and validate scenario YAML text; every error carries `path:line`."""
    catalog = catalog or load_catalog()
    ctx = _Context(path)
    try:
        check_yaml_shape(text)
        data = yaml.load(text, Loader=_Loader)
    except _DuplicateKey as dup:
        raise ScenarioError(
            f"duplicate key '{dup.key}'",
            location=ctx.at(dup.line),
            hint="each key may appear once per mapping",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(
            f"YAML syntax error: {exc.problem or exc.context}",
            location=ctx.at(line),
            hint="check indentation, colons and quotes on that line",
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses (NUL, other controls)
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(
            f"character U+{character:04X} is not allowed in YAML ({exc.reason})",
            location=ctx.at(text.count("\n", 0, exc.position) + 1),
            hint=f'remove it, or write it as an escape in double quotes: "\\u{character:04x}"',
        ) from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())  # one line whatever the YAML library says
        raise ScenarioError(f"YAML error: {problem}", location=path, hint="check the file's syntax") from None
    except EmitterError as exc:
        raise ScenarioError(
            exc.message, location=f"{path}:{(exc.location or '').removeprefix('line ')}", hint=exc.hint
        ) from None
    except (ValueError, OverflowError) as exc:  # a value the YAML resolver took for a date or number
        raise ScenarioError(
            f"a value YAML cannot read: {exc}", location=path, hint="quote values that are text"
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario must be a YAML mapping with 'version' and 'steps'",
            location=ctx.at(1),
            hint="start from 'vod-emitter scenarios' examples",
        )
    for key in data:
        if key not in SCENARIO_KEYS:
            raise ScenarioError(
                f"unknown key '{key}'",
                location=ctx.at(_line(data, key)),
                hint=hint_with_suggestion(
                    key, SCENARIO_KEYS, f"scenario keys are {', '.join(SCENARIO_KEYS)}"
                ),
            )
    if data.get("version") != 1:
        raise ScenarioError(
            f"unsupported version {data.get('version')!r}",
            location=ctx.at(_line(data, "version") or 1),
            hint="write version: 1 at the top",
        )
    fmt = str(data.get("format", "v2"))
    try:
        catalog.format(fmt)
    except EmitterError as exc:
        raise ScenarioError(exc.message, location=ctx.at(_line(data, "format")), hint=exc.hint) from None
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ScenarioError(
            f"seed must be a whole number >= 0, got {seed!r}",
            location=ctx.at(_line(data, "seed")),
            hint="write e.g. seed: 42",
        )
    for key in ("vars", "options"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ScenarioError(
                f"'{key}' must be a mapping",
                location=ctx.at(_line(data, key)),
                hint=f"write e.g. {key}: {{file_name: Demo}}",
            )
    options = _plain(data.get("options") or {})
    if data.get("profile") is not None:
        options = {"profile": _profile(data, ctx), **options}
    for key, value in options.items():
        try:
            check_options({key: value})
        except EmitterError as exc:
            location = ctx.at(_line(data["options"], key))
            raise ScenarioError(exc.message, location=location, hint=exc.hint) from None
    variables = _plain(data.get("vars") or {})
    known_params = {p for spec in catalog.events.values() for p in spec.params}
    for key in variables:
        if key not in known_params:
            raise ScenarioError(
                f"unknown variable '{key}'",
                location=ctx.at(_line(data["vars"], key)),
                hint=hint_with_suggestion(key, known_params, "vars set event parameters by name"),
            )
    steps_node = data.get("steps")
    if not isinstance(steps_node, list) or not steps_node:
        raise ScenarioError(
            "'steps' must be a non-empty list",
            location=ctx.at(_line(data, "steps") or 1),
            hint="add steps like - event: upload",
        )
    if len(steps_node) > MAX_STEPS:
        raise ScenarioError(
            f"{len(steps_node)} steps is over the limit of {MAX_STEPS}",
            location=ctx.at(_line(data, "steps")),
            hint="split it into several scenarios, or use repeat:",
        )
    subscribe = _subscribe(data, ctx, catalog)
    names: dict[str, Step] = {}
    steps = []
    sends = 0
    for index, raw in enumerate(steps_node):
        step = _parse_step(raw, index, names, ctx, catalog, steps_node)
        names[step.name] = step
        steps.append(step)
        sends += step.repeat * step.duplicate
        if sends > MAX_EVENTS:
            raise ScenarioError(
                f"the scenario would send more than {MAX_EVENTS} events (repeat x duplicate, summed)",
                location=step.location,
                hint="lower repeat or duplicate, or split the scenario",
            )
    for step in steps:  # a var must suit every step that takes it (types, outcome names)
        for key, value in variables.items():
            if key in step.event.params and key not in step.params and not _references(value):
                check_param(
                    step.event.params[key],
                    value,
                    location=ctx.at(_line(data["vars"], key)),
                    event=step.event.kind,
                )
    name = data.get("name") or Path(path).stem
    return Scenario(
        name=str(name),
        description=str(data.get("description", "")).strip(),
        steps=tuple(steps),
        format=fmt,
        seed=seed,
        vars=variables,
        options=options,
        path=path,
        subscribe=subscribe,
    )


_listed: dict[tuple[str, int], dict[str, Path]] = {}


def builtin_scenarios() -> dict[str, Path]:
    """The built-in scenarios by name (file stem); listed once per process while the folder is unchanged."""
    directory = resource_dir("scenarios")
    try:
        key = (str(directory), directory.stat().st_mtime_ns)
    except OSError:
        key = (str(directory), -1)
    listed = _listed.get(key)
    if listed is None:
        _listed.clear()
        listed = _listed[key] = {p.stem: p for p in sorted(directory.glob("*.yaml"))}
    return dict(listed)


def find_scenario(reference: str) -> Path:
    """A scenario file path, or the name of a built-in scenario."""
    path = Path(reference)
    if path.is_file():
        return path
    builtins = builtin_scenarios()
    name = path.stem if path.suffix in (".yaml", ".yml") else reference
    if name in builtins and (not path.parent.parts or path.parent.name == "scenarios"):
        return builtins[name]
    if reference and path.exists():  # a folder, pipe or device: reading it says which, in one line
        return path
    raise ScenarioError(
        f"no scenario file or built-in scenario '{reference}'",
        hint=hint_with_suggestion(name, builtins, "run 'vod-emitter scenarios' to list the built-ins"),
    )


_PARSED_LIMIT = 256  # scenarios kept parsed per process
_parsed: dict[tuple[str, str, int, int, int], tuple[Catalog | None, Scenario]] = {}


def load_scenario(reference: str | Path, catalog: Catalog | None = None) -> Scenario:
    """Load a scenario by path or built-in name; parsed once per process while the file is unchanged.

    (A Scenario is frozen, so one parse serves every run: tests call this per test, load per process.)
    """
    path = find_scenario(str(reference))
    try:
        stat = path.stat()
    except OSError:
        return _read_scenario(reference, path, catalog)
    key = (str(path), str(reference), stat.st_mtime_ns, stat.st_size, id(catalog))
    found = _parsed.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    scenario = _read_scenario(reference, path, catalog)
    if len(_parsed) >= _PARSED_LIMIT:
        _parsed.clear()
    _parsed[key] = (catalog, scenario)
    return scenario


def _read_scenario(reference: str | Path, path: Path, catalog: Catalog | None) -> Scenario:
    where = str(reference) if Path(str(reference)).is_file() else str(path)
    try:
        data = read_limited(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise ScenarioError(
            f"cannot read the file: {exc.strerror or exc}", location=str(path), hint="check the path"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"the file is over the limit of {MAX_FILE_BYTES} bytes",
            location=str(reference),
            hint="split it into several scenarios",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text",
            location=f"{where}:{line}",
            hint="save the file as UTF-8",
        ) from None
    return parse_scenario(text, where, catalog)
