"""The one exception tree: errors a user can cause, each with a location and a remedy."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EmitterError(Exception):
    """Base of every error vod-emitter raises on purpose; `exit_code` is what the CLI returns."""

    exit_code = 2

    def __init__(self, message: str, *, location: str | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text}; {self.hint}" if self.hint else text


class CatalogError(EmitterError):
    """The catalog or an event/format name is wrong."""


class TemplateError(EmitterError):
    """A template failed to compile or render, or produced invalid JSON."""


class ScenarioError(EmitterError):
    """A scenario file (or a step's parameters or overrides) is invalid."""


class UsageError(EmitterError):
    """A command-line flag or argument is invalid."""


class DeliveryError(EmitterError):
    """Delivery could not even start (bad target, bad TLS settings); failed sends are outcomes."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' did you mean X?' suffix when a close match exists, else ''."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else ""


def hint_with_suggestion(word: str, choices: Iterable[str], remedy: str) -> str:
    """Join a did-you-mean (when there is one) and a remedy into one hint."""
    suggestion = did_you_mean(word, choices)
    return f"{suggestion} {remedy}" if suggestion else remedy
