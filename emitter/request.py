"""One run request (target, delivery, signing, format and options, seed/now, timing, reports), built once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypedDict

from emitter.clock import parse_duration, parse_moment
from emitter.delivery.deliver import DeliveryOptions, Signing, check_tls, parse_header
from emitter.delivery.runner import Timing
from emitter.delivery.targets import Target, resolve_target
from emitter.errors import UsageError
from emitter.payloads.options import check_options, with_profile

MAX_CONCURRENCY = 10_000  # sends in flight at once (each holds a connection: a file descriptor)


@dataclass(frozen=True)
class ReportFiles:
    """Files a run writes as it goes: a JSON report, JUnit XML, a journal (appended when resuming)."""

    json: Path | None = None
    junit: Path | None = None
    journal: Path | None = None
    append_journal: bool = False
    html: Path | None = None

    def __post_init__(self) -> None:
        check_distinct_files(
            {"report": self.json, "junit": self.junit, "journal": self.journal, "html": self.html}
        )


def check_distinct_files(named: Mapping[str, Path | None]) -> None:
    """Two reports in one file would overwrite each other (the rename of one loses the other):
    refused before the run, naming the second's keyword; a device such as /dev/null may take several."""
    seen: set[str] = set()
    for keyword, path in named.items():
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen and (not os.path.exists(real) or os.path.isfile(real)):
            raise UsageError(
                f"{str(path)!r} is the file of another report too",
                location=keyword,
                hint="give each report a file of its own",
            )
        seen.add(real)


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs besides what it sends, checked once when built.

    `target` None starts a built-in receiver for the run; a string target (URL or
    `app:MODULE:ATTR[/path]`) is resolved here, so a bad one fails before anything is planned.
    `seed` None: the first scenario's, else a fresh one; `now` None: the moment the run is planned.
    """

    target: Target | None = None
    seed: int | None = None
    now: dt.datetime | None = None
    fmt: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    timing: Timing = field(default_factory=Timing)
    ca_bundle: Path | None = None
    insecure: bool = False
    reports: ReportFiles = field(default_factory=ReportFiles)
    events: str | tuple[str, ...] | None = None  # the event filter (aliases or EventTypes), over subscribe:

    def __post_init__(self) -> None:
        check_tls(self.ca_bundle, self.insecure)
        if self.timing.concurrency > MAX_CONCURRENCY:  # the runner starts one sender per unit
            raise UsageError(
                f"{self.timing.concurrency} sends at once is over the limit of {MAX_CONCURRENCY}",
                location="concurrency",
                hint="each holds a connection; use at most a few hundred",
            )
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise UsageError(f"seed must be an int, got {self.seed!r}", location="seed", hint="e.g. seed=42")
        options = check_options(self.options or {}, location="options")
        object.__setattr__(self, "options", MappingProxyType(options))
        if self.now is not None:
            object.__setattr__(self, "now", parse_moment(self.now))
        if isinstance(self.target, str):
            object.__setattr__(self, "target", resolve_target(self.target))


class _Shaping(TypedDict, total=False):
    seed: int | None
    now: dt.datetime | str | None
    fmt: str | None
    options: Mapping[str, Any] | None
    profile: str | None  # payload profile (wire, docs) over `options`
    era: str | None  # wire v3: which sibling event keys are null (current, 2021)
    locale: str | None  # faker locale of file names, titles and authors (zh_CN...)
    timeout: float | str | None
    delivery: DeliveryOptions | None
    ca_bundle: Path | str | None
    insecure: bool
    events: str | Iterable[str] | None


class RunSettings(_Shaping, total=False):
    """The keywords of `send` that make a RunRequest (`run` adds its timing)."""

    target: Target | None


class RunKeywords(RunSettings, total=False):
    """The keywords of `run` that make a RunRequest: RunSettings and the timing (`speed` scales delays)."""

    speed: float | None
    timing: Timing | None


class EmitterDefaults(_Shaping, total=False):
    """What an `Emitter` keeps as defaults besides its target."""

    speed: float | None
    timing: Timing | None


RUN_KEYWORDS = RunKeywords.__required_keys__ | RunKeywords.__optional_keys__
SEND_KEYWORDS = RunSettings.__required_keys__ | RunSettings.__optional_keys__


def request_from(settings: Mapping[str, Any], *, caller: str, accepted: frozenset[str]) -> RunRequest:
    """A RunRequest from `run`/`send` keywords; an unknown keyword is a TypeError, as Python's own."""
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    delivery = settings.get("delivery") or DeliveryOptions()
    timeout = settings.get("timeout")
    if timeout is not None:
        seconds = parse_duration(timeout, location="timeout", text_numbers=True)
        delivery = dataclasses.replace(delivery, timeout=seconds)
    timing = settings.get("timing") or Timing()
    speed = settings.get("speed")
    if speed is not None:
        timing = dataclasses.replace(timing, speed=speed)
    return RunRequest(
        target=settings.get("target"),
        seed=settings.get("seed"),
        now=parse_moment(now) if (now := settings.get("now")) is not None else None,
        fmt=settings.get("fmt"),
        options=with_profile(
            settings.get("options"),
            settings.get("profile"),
            era=settings.get("era"),
            locale=settings.get("locale"),
        ),
        delivery=delivery,
        timing=timing,
        ca_bundle=Path(bundle) if (bundle := settings.get("ca_bundle")) is not None else None,
        insecure=bool(settings.get("insecure", False)),
        events=events if isinstance(events := settings.get("events"), str | None) else tuple(events),
    )


def delivery_options(
    *,
    timeout: float | str = 5.0,
    retries: int = 2,
    retry_on_status: bool = False,
    retry_on_connect_error: bool = False,
    backoff: float | str = 0.0,
    backoff_factor: float = 2.0,
    headers: Iterable[str] = (),
    sign_key: str | None = None,
    sign_in: str = "body",
    sign_ttl: int = 600,
    sign_case: str = "valid",
) -> DeliveryOptions:
    """DeliveryOptions from text as people write it: durations (`200ms`), `Name: value` headers."""
    signing = Signing(sign_key or "", sign_in, sign_ttl, sign_case)  # checks placement and case
    if not sign_key and sign_case != "valid":
        raise UsageError(
            f"a {sign_case!r} signature needs a key", location="sign_case", hint="give a sign key too"
        )
    return DeliveryOptions(
        timeout=parse_duration(timeout, location="timeout", text_numbers=True),
        retries=retries,
        retry_on_status=retry_on_status,
        retry_on_connect_error=retry_on_connect_error,
        backoff=parse_duration(backoff, location="backoff", text_numbers=True),
        backoff_factor=backoff_factor,
        headers=tuple(parse_header(item) for item in headers),
        signing=signing if sign_key else None,
    )
