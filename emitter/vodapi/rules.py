"""Rule files: outcomes, delays and task flows of the local VOD's actions, controlled without code.

```yaml
version: 1
delays: {ProcessMedia: 2s, PullUpload: 500ms}      # before the finishing callback, at --speed 1
procedures:                                        # task flows for ProcessMediaByProcedure & co
  MyFlow: {tasks: [Transcode, {type: Transcode, definition: 100030}, CoverBySnapshot]}
rules:                                             # first match wins, checked in file order
  - {action: ProcessMedia, name: "*corrupt*", fail: 30009}
  - {action: PullUpload, nth: 3, timeout: true}
```
"""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emitter.clock import parse_duration
from emitter.errors import ScenarioError, hint_with_suggestion
from emitter.inputs import read_limited
from emitter.payloads.providers import PROCESS_TASK_TYPES
from emitter.scenarios.loader import check_yaml_shape

# The actions whose outcome a rule can decide (the ones that start work).
RULE_ACTIONS = (
    "ProcessMedia",
    "ProcessMediaByProcedure",
    "PullUpload",
    "CommitUpload",
    "DeleteMedia",
    "EditMedia",
    "ComposeMedia",
    "WeChatMiniProgramPublish",
)
# The system's preset task flows (as in a new account's console).
SYSTEM_PROCEDURES: dict[str, tuple[dict[str, Any], ...]] = {
    "LongVideoPreset": (
        {"type": "Transcode", "definition": 100010},
        {"type": "Transcode", "definition": 100020},
        {"type": "Transcode", "definition": 100030},
        {"type": "Transcode", "definition": 100040},
        {"type": "CoverBySnapshot"},
    ),
    "ShortVideoPreset": (
        {"type": "Transcode", "definition": 100010},
        {"type": "Transcode", "definition": 100020},
        {"type": "SampleSnapshot"},
        {"type": "CoverBySnapshot"},
    ),
}
RULE_KEYS = ("action", "name", "file_id", "nth", "fail", "message", "tasks", "timeout", "delay")
FILE_KEYS = ("version", "delays", "procedures", "rules")
MAX_RULES = 1_000
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Outcome:
    """What a matching rule makes of one call: a failure code, a timeout, another delay."""

    fail: int = 0
    message: str | None = None
    failed_tasks: tuple[str, ...] = ()  # empty: every sub-task fails (when fail is set)
    timeout: bool = False  # the work never finishes: no finishing callback
    delay: float | None = None


@dataclass(frozen=True)
class Rule:
    action: str
    name: str | None = None
    file_id: str | None = None
    nth: int | None = None
    outcome: Outcome = field(default_factory=Outcome)

    def matches(self, action: str, count: int, name: str | None, file_id: str | None) -> bool:
        if action != self.action or (self.nth is not None and count != self.nth):
            return False
        if self.name is not None and not fnmatch.fnmatchcase(name or "", self.name):
            return False
        return self.file_id is None or self.file_id == file_id


class Rules:
    """Rules, delays and task flows; counts each action's calls so `nth` rules can match."""

    def __init__(
        self,
        rules: tuple[Rule, ...] = (),
        *,
        delays: Mapping[str, float] | None = None,
        procedures: Mapping[str, tuple[dict[str, Any], ...]] | None = None,
    ):
        self.rules = rules
        self.delays = dict(delays or {})
        self.procedures = {**SYSTEM_PROCEDURES, **(procedures or {})}
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def decide(self, action: str, *, name: str | None = None, file_id: str | None = None) -> Outcome:
        """Count one call of `action` and return the first matching rule's outcome (else success)."""
        with self._lock:
            self._calls[action] += 1
            count = self._calls[action]
        for rule in self.rules:
            if rule.matches(action, count, name, file_id):
                return rule.outcome
        return Outcome()

    def delay(self, action: str, default: float, outcome: Outcome | None = None) -> float:
        if outcome is not None and outcome.delay is not None:
            return outcome.delay
        return self.delays.get(action, default)


def _fail(message: str, where: str, hint: str) -> ScenarioError:
    return ScenarioError(message, location=where, hint=hint)


def _tasks(raw: Any, where: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(raw, list) or not raw or len(raw) > 50:
        raise _fail("a procedure's tasks must be a list of 1-50 sub-tasks", where, "write tasks: [Transcode]")
    result = []
    for item in raw:
        spec = dict(item) if isinstance(item, dict) else {"type": item}
        kind = spec.get("type")
        if kind not in PROCESS_TASK_TYPES or set(spec) - {"type", "definition"}:
            raise _fail(
                f"bad sub-task {item!r}",
                where,
                hint_with_suggestion(
                    str(kind),
                    PROCESS_TASK_TYPES,
                    f"a sub-task is one of {', '.join(PROCESS_TASK_TYPES)} or {{type: T, definition: N}}",
                ),
            )
        if "definition" in spec and (
            isinstance(spec["definition"], bool) or not isinstance(spec["definition"], int)
        ):
            raise _fail(
                f"sub-task definition must be a number, got {spec['definition']!r}",
                where,
                "write definition: 100030",
            )
        result.append(spec)
    return tuple(result)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail("a rule must be a mapping", where, "write e.g. - {action: ProcessMedia, fail: 30009}")
    for key in raw:
        if key not in RULE_KEYS:
            raise _fail(
                f"unknown rule key '{key}'",
                where,
                hint_with_suggestion(str(key), RULE_KEYS, f"rule keys are {', '.join(RULE_KEYS)}"),
            )
    action = raw.get("action")
    if action not in RULE_ACTIONS:
        raise _fail(
            f"rule action must be one of the actions that start work, got {action!r}",
            where,
            hint_with_suggestion(str(action), RULE_ACTIONS, f"use one of {', '.join(RULE_ACTIONS)}"),
        )
    nth = raw.get("nth")
    if nth is not None and (isinstance(nth, bool) or not isinstance(nth, int) or nth < 1):
        raise _fail(f"nth must be a whole number from 1, got {nth!r}", where, "write nth: 3 (the 3rd call)")
    fail = raw.get("fail", 0)
    if isinstance(fail, bool) or not isinstance(fail, int):
        raise _fail(f"fail must be an error code, got {fail!r}", where, "write fail: 30009")
    timeout = raw.get("timeout", False)
    if not isinstance(timeout, bool):
        raise _fail(f"timeout must be true or false, got {timeout!r}", where, "write timeout: true")
    tasks = raw.get("tasks", [])
    if not isinstance(tasks, list) or any(t not in PROCESS_TASK_TYPES for t in tasks):
        raise _fail(
            f"tasks must list sub-task types, got {tasks!r}", where, f"use {', '.join(PROCESS_TASK_TYPES)}"
        )
    for key in ("name", "file_id", "message"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _fail(f"{key} must be text, got {raw[key]!r}", where, f"quote the {key}")
    delay = raw.get("delay")
    return Rule(
        action=action,
        name=raw.get("name"),
        file_id=raw.get("file_id"),
        nth=nth,
        outcome=Outcome(
            fail=fail,
            message=raw.get("message"),
            failed_tasks=tuple(tasks),
            timeout=timeout,
            delay=None if delay is None else parse_duration(delay, location=where),
        ),
    )


def parse_rules(data: Any, path: str = "<rules>") -> Rules:
    """Validate a rule document (already parsed YAML/JSON); every error names path and item."""
    if data is None:
        return Rules()
    if not isinstance(data, dict):
        raise _fail("a rule file is a mapping", path, f"top-level keys are {', '.join(FILE_KEYS)}")
    for key in data:
        if key not in FILE_KEYS:
            raise _fail(
                f"unknown key '{key}'",
                path,
                hint_with_suggestion(str(key), FILE_KEYS, f"top-level keys are {', '.join(FILE_KEYS)}"),
            )
    if data.get("version", 1) != 1:
        raise _fail(f"unsupported rule file version {data['version']!r}", path, "write version: 1")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        raise _fail(
            f"rules must be a list of at most {MAX_RULES}", path, "write rules: [- {action: ..., ...}]"
        )
    rules = tuple(_rule(item, f"{path}: rules[{index}]") for index, item in enumerate(raw_rules))
    delays_raw = data.get("delays") or {}
    if not isinstance(delays_raw, dict):
        raise _fail("delays must map actions to durations", path, "write delays: {ProcessMedia: 2s}")
    delays = {}
    for action, value in delays_raw.items():
        if action not in RULE_ACTIONS:
            raise _fail(
                f"delays: unknown action '{action}'",
                path,
                hint_with_suggestion(str(action), RULE_ACTIONS, f"use one of {', '.join(RULE_ACTIONS)}"),
            )
        delays[action] = parse_duration(value, location=f"{path}: delays.{action}")
    procedures_raw = data.get("procedures") or {}
    if not isinstance(procedures_raw, dict):
        raise _fail(
            "procedures must map names to {tasks: [...]}",
            path,
            "write procedures: {MyFlow: {tasks: [Transcode]}}",
        )
    procedures = {}
    for name, body in procedures_raw.items():
        where = f"{path}: procedures.{name}"
        if not isinstance(body, dict) or set(body) != {"tasks"}:
            raise _fail(
                "a procedure is {tasks: [...]}", where, "write MyFlow: {tasks: [Transcode, CoverBySnapshot]}"
            )
        procedures[str(name)] = _tasks(body["tasks"], where)
    return Rules(rules, delays=delays, procedures=procedures)


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rule file (YAML or JSON); one error line on anything wrong."""
    file = Path(path)
    try:
        data = read_limited(file, MAX_FILE_BYTES)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise _fail(f"cannot read the rule file: {reason or exc}", str(file), "check the path") from None
    if len(data) > MAX_FILE_BYTES:
        raise _fail(f"rule file larger than {MAX_FILE_BYTES} bytes", str(file), "split it or trim it")
    try:
        check_yaml_shape(text)  # a scenario's bounds: depth, aliases, huge numbers
        data = yaml.safe_load(text)
    except ScenarioError as exc:
        line = (exc.location or "").removeprefix("line ")
        raise _fail(exc.message, f"{file}:{line}", exc.hint or "fix the file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        raise _fail("not valid YAML", where, "fix the indentation and quoting") from None
    return parse_rules(data, str(file))
