"""The account's event config (Mode, NotificationUrl, switches, SignKey) and its two actions."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import httpx

from emitter.vodapi.actions import ApiContext, ApiError, register
from emitter.vodapi.protocol import optional_int, optional_str

MODES = ("PUSH", "PULL")
SWITCHES = ("ON", "OFF")
SIGN_KEY = re.compile(r"[A-Za-z0-9]{1,32}")
MAX_URL = 2048
# Which switch gates which event (both formats); every other event is always notified.
SWITCHED_EVENTS = {
    "NewFileUpload": "UploadMediaCompleteEventSwitch",
    "FileDeleted": "DeleteMediaCompleteEventSwitch",
    "PersistenceComplete": "PersistenceCompleteEventSwitch",
}


@dataclass(frozen=True)
class EventConfig:
    """How the account receives events.

    The service starts accounts with the switches OFF; the emulator starts them ON so that
    a scenario's uploads and deletions are notified without a ModifyEventConfig first.
    """

    mode: str = "PULL"
    notification_url: str = ""
    upload_switch: str = "ON"
    delete_switch: str = "ON"
    persistence_switch: str = "ON"
    sign_key: str | None = None

    def notifies(self, event_type: str) -> bool:
        """Whether an event of this type is published at all under the switches."""
        switch = SWITCHED_EVENTS.get(event_type)
        if switch is None:
            return True
        return bool(self.describe()[switch] == "ON")

    def describe(self) -> dict[str, Any]:
        """DescribeEventConfig's fields (SignKey is never returned, as the service does)."""
        return {
            "Mode": self.mode,
            "NotificationUrl": self.notification_url,
            "UploadMediaCompleteEventSwitch": self.upload_switch,
            "DeleteMediaCompleteEventSwitch": self.delete_switch,
            "PersistenceCompleteEventSwitch": self.persistence_switch,
        }


def check_url(url: str) -> str:
    if len(url) > MAX_URL:
        raise ApiError("InvalidParameterValue", f"NotificationUrl is longer than {MAX_URL} characters.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ApiError("InvalidParameterValue", f"NotificationUrl `{url}` is not an http(s) URL with a host.")
    return url


def modified(config: EventConfig, params: dict[str, Any]) -> EventConfig:
    """The config after a ModifyEventConfig with these parameters (absent ones unchanged)."""
    optional_int(params, "SubAppId")
    changes: dict[str, Any] = {}
    mode = optional_str(params, "Mode", MODES)
    if mode is not None:
        changes["mode"] = mode
    url = optional_str(params, "NotificationUrl")
    if url is not None:
        changes["notification_url"] = check_url(url) if url else ""  # "" clears it
    for name, attribute in (
        ("UploadMediaCompleteEventSwitch", "upload_switch"),
        ("DeleteMediaCompleteEventSwitch", "delete_switch"),
        ("PersistenceCompleteEventSwitch", "persistence_switch"),
    ):
        value = optional_str(params, name, SWITCHES)
        if value is not None:
            changes[attribute] = value
    key = optional_str(params, "SignKey")
    if key is not None:
        if key and not SIGN_KEY.fullmatch(key):
            raise ApiError("InvalidParameterValue", "SignKey is 1 to 32 letters and digits.")
        changes["sign_key"] = key or None
    return replace(config, **changes)


async def modify_event_config(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.account.config = modified(ctx.account.config, params)
    return {}


async def describe_event_config(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
    optional_int(params, "SubAppId")
    return ctx.account.config.describe()


register("ModifyEventConfig", modify_event_config)
register("DescribeEventConfig", describe_event_config)
