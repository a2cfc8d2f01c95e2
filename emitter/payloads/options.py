"""Format options (scenario `options:` and `--option NAME=VALUE`): their names, types and checks."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emitter.errors import ScenarioError, UsageError, hint_with_suggestion
from emitter.payloads.profiles import DEFAULT_ERA, DEFAULT_PROFILE, ERAS, PROFILES
from emitter.payloads.providers.words import available_locales


@dataclass(frozen=True)
class OptionSpec:
    """One render option: the formats it changes, its type, default and accepted values."""

    name: str
    type: type
    default: Any
    help: str
    formats: tuple[str, ...]
    choices: tuple[Any, ...] | None = None
    known: Callable[[], tuple[str, ...]] | None = None  # accepted values, too many to list in an error


OPTIONS: dict[str, OptionSpec] = {
    spec.name: spec
    for spec in (
        OptionSpec(
            "keep_nulls",
            bool,
            False,
            "keep fields whose value is null instead of omitting them",
            ("v2", "v3", "cdnetworks"),
        ),
        OptionSpec(
            "null_event_keys",
            bool,
            False,
            "2019-style v3 body: every event key of the 2019 docs present (null but this event's), "
            "null fields kept; the SDK warns about EditMediaComplete/WechatPublishComplete",
            ("v3",),
        ),
        OptionSpec(
            "wechat_key",
            str,
            "WechatPublishCompleteEvent",
            "object key of WechatPublishComplete: WechatPublishCompleteEvent (SDK, data types) "
            "or WechatPublishComplete (the event's doc page)",
            ("v3",),
            ("WechatPublishCompleteEvent", "WechatPublishComplete"),
        ),
        OptionSpec(
            "profile",
            str,
            DEFAULT_PROFILE,
            "payload profile: wire (as production serializes: zero values present, sibling keys null, "
            "float durations, real id and URL shapes) or docs (the documentation's shape)",
            ("v2", "v3", "cdnetworks"),
            PROFILES,
        ),
        OptionSpec(
            "era",
            str,
            DEFAULT_ERA,
            "wire profile, v3: the sibling event keys sent as null: current (the SDK's) or 2021 (13 keys)",
            ("v3",),
            ERAS,
        ),
        OptionSpec(
            "locale",
            str,
            None,
            "faker locale of file names, titles and authors (e.g. zh_CN); default: the built-in word lists",
            ("v2", "v3", "cdnetworks"),
            known=available_locales,
        ),
    )
}


def check_options(options: Mapping[str, Any], *, location: str | None = None) -> dict[str, Any]:
    """Reject unknown option names (with a did-you-mean) and values of the wrong type or choice."""
    checked = dict(options)
    for name, value in options.items():
        spec = OPTIONS.get(name)
        if spec is None:
            raise UsageError(
                f"unknown option '{name}'",
                location=location,
                hint=hint_with_suggestion(name, OPTIONS, f"options are {', '.join(OPTIONS)}"),
            )
        if spec.type is str and type(value) is int and spec.choices and str(value) in spec.choices:
            value = checked[name] = str(value)  # YAML reads `era: 2021` as a number
        if not isinstance(value, spec.type) or (spec.type is not bool and isinstance(value, bool)):
            raise UsageError(
                f"option '{name}' must be {spec.type.__name__}, got {value!r}",
                location=location,
                hint=f"write e.g. {name}={'true' if spec.type is bool else spec.default}",
            )
        if spec.choices and value not in spec.choices:
            raise UsageError(
                f"option '{name}' must be one of {', '.join(map(str, spec.choices))}, got {value!r}",
                location=location,
                hint=hint_with_suggestion(str(value), map(str, spec.choices), "pick one of those values"),
            )
        if spec.known and value not in (known := spec.known()):
            raise UsageError(
                f"option '{name}' must be one of faker's {len(known)} locales, got {value!r}",
                location=location,
                hint=hint_with_suggestion(str(value), known, "e.g. zh_CN, ja_JP, en_US"),
            )
    return checked


def with_profile(
    options: Mapping[str, Any] | None,
    profile: str | None,
    *,
    era: str | None = None,
    locale: str | None = None,
    location: str = "profile",
) -> dict[str, Any]:
    """Render options with the `profile`/`era`/`locale` keywords (or their flags) over them, checked;
    a bad value names its keyword."""
    merged = dict(options or {})
    keywords = (("profile", profile, location), ("era", era, "era"), ("locale", locale, "locale"))
    for name, value, where in keywords:
        if value is None:
            continue
        try:
            check_options({name: value}, location=where)
        except UsageError as exc:
            message = exc.message.replace(f"option '{name}'", name)
            raise UsageError(message, location=where, hint=exc.hint) from None
        merged[name] = value
    return check_options(merged, location="options")


def parse_assignments(items: Iterable[str], *, flag: str, strings: Collection[str] = ()) -> dict[str, Any]:
    """`NAME=VALUE` items; VALUE is read as YAML (so 0, -1, true, [a, b] keep their type), but
    names in `strings` (string parameters) keep VALUE as written when YAML reads something else
    than a string or null: `source_context={"UserId":"u"}` stays that text, `x=null` is None."""
    items = list(items)
    if not items:  # nothing to read: no need for PyYAML and the scenario loader (a start's cost)
        return {}
    import yaml

    from emitter.scenarios.loader import load_yaml  # the scenario files' limits (depth, aliases, digits)

    result: dict[str, Any] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise ScenarioError(
                f"{flag} '{item}' is not PATH=VALUE", hint=f"write e.g. {flag} data.status=-1"
            )
        name = path.strip()
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        except (ValueError, OverflowError) as exc:
            raise ScenarioError(f"{flag} '{name}': {exc}", hint="quote values that are text") from None
        except ScenarioError as exc:
            raise ScenarioError(f"{flag} '{name}': {exc.message}", hint=exc.hint) from None
        result[name] = raw if name in strings and value is not None and not isinstance(value, str) else value
    return result


def parse_options(items: Iterable[str], *, flag: str = "--option") -> dict[str, Any]:
    """`NAME=VALUE` option items (VALUE read as YAML, so true/false are booleans), checked."""
    return check_options(parse_assignments(items, flag=flag), location="options")
