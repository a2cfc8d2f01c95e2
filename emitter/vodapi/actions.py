"""The action registry of the local VOD API: ApiError, ApiContext and register(), the plug-in interface."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emitter.payloads.render import Renderer
    from emitter.vodapi.account import Account, Callback
    from emitter.vodapi.config import EventConfig
    from emitter.vodapi.pull import PullQueue


class ApiError(Exception):
    """An API error answered in the service's envelope: `{"Response": {"Error": {Code, Message}, ...}}`."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ApiContext:
    """What a handler gets besides its parameters: the account and this request's identity.

    The account (`ctx.account`) is shared by every request of one endpoint; the conveniences
    below read it. A handler publishes callbacks with `await ctx.notify(payload)` only: the
    event config decides whether that is a push to NotificationUrl or a PULL queue entry.
    """

    account: Account
    action: str
    region: str
    request_id: str
    sub_app_id: int | None = None

    @property
    def clock(self) -> Callable[[], float]:
        """Wall-clock seconds (Unix time); a test clock when the account was given one."""
        return self.account.clock

    def now(self) -> dt.datetime:
        """The account's clock as an aware UTC datetime (what rendered payloads should use)."""
        return dt.datetime.fromtimestamp(self.account.clock(), dt.timezone.utc)

    @property
    def format(self) -> str:
        """The account's callback format: 'v3', or 'v2' for legacy accounts."""
        return self.account.format

    @property
    def seed(self) -> int:
        return self.account.seed

    @property
    def renderer(self) -> Renderer:
        return self.account.renderer

    @property
    def config(self) -> EventConfig:
        return self.account.config

    @property
    def queue(self) -> PullQueue:
        return self.account.queue

    @property
    def state(self) -> dict[str, Any]:
        """Per-account storage for plugged-in actions: key it by your module (e.g. 'media')."""
        return self.account.state

    async def notify(self, payload: dict[str, Any], *, delay: float = 0.0) -> Callback:
        """Publish one callback `delay` seconds from now as the event config says (push, queue, or skip)."""
        return await self.account.publish(payload, delay=delay, source=self.action)


Handler = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]

_ACTIONS: dict[str, Handler] = {}
# Modules whose import registers their actions; the server loads them before it listens.
ACTION_MODULES = ("emitter.vodapi.config", "emitter.vodapi.pull", "emitter.vodapi.flows")


def register(action: str, handler: Handler) -> Handler:
    """Make `handler(ctx, params) -> Response fields` answer `action` (a later call replaces it)."""
    if not action or not action[0].isupper() or not action.isalnum():
        raise ValueError(f"an action name is PascalCase letters and digits, not {action!r}")
    _ACTIONS[action] = handler
    return handler


def action(name: str) -> Callable[[Handler], Handler]:
    """Decorator form of register()."""

    def decorate(handler: Handler) -> Handler:
        return register(name, handler)

    return decorate


def load_actions() -> None:
    for module in ACTION_MODULES:
        importlib.import_module(module)


def handler_for(name: str) -> Handler:
    """The action's handler; UnsupportedOperation for a VOD action not emulated, else InvalidAction."""
    found = _ACTIONS.get(name)
    if found is not None:
        return found
    if name in known_actions():
        raise ApiError(
            "UnsupportedOperation", f"The action `{name}` is not emulated by the local VOD API (vod-emitter)."
        )
    raise ApiError("InvalidAction", f"The action `{name}` does not exist for vod version 2018-07-17.")


def registered() -> list[str]:
    return sorted(_ACTIONS)


@cache
def known_actions() -> frozenset[str]:
    """Every action of VOD 2018-07-17 (from the official SDK's VodClient, tencentcloud-sdk-python 3.1.194)."""
    text = resources.files("emitter.vodapi").joinpath("vod-actions.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())
