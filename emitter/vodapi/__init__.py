"""The local VOD API: Tencent Cloud API 3.0 on 127.0.0.1 that the official SDKs talk to unchanged.

Pieces: `protocol` (TC3-HMAC-SHA256, envelopes), `server` (HTTP), `account` (keys, event config,
PULL queue, publishing), `pull` (PullEvents/ConfirmEvents), `config` (Modify/DescribeEventConfig),
`legacy` (the 2017 v2 PullEvent/ConfirmEvent), `local` (LocalVod, in process), `runs` (run --mode pull).

Adding an action (the plug-in interface; keep to it, it is stable):

    from emitter.vodapi import ApiContext, ApiError, register

    async def process_media(ctx: ApiContext, params: dict) -> dict:
        file_id = params.get("FileId")
        if not isinstance(file_id, str):
            raise ApiError("MissingParameter", "The request is missing a required parameter `FileId`.")
        payload = ...  # rendered with ctx.renderer, ctx.seed, ctx.now() in ctx.format ("v3" or "v2")
        await ctx.notify(payload, delay=2.0)  # PULL queue or push to NotificationUrl, per the config
        return {"TaskId": "..."}  # the Response fields; RequestId is added

    register("ProcessMedia", process_media)

then add the module to `actions.ACTION_MODULES` so the server imports it before listening.
A handler gets the parsed JSON parameters (already authenticated); it raises ApiError(code,
message) for the service's errors; any other exception is answered as InternalError.
`ctx.state` is a per-account dict for the action's own data (e.g. a media library); `ctx.clock`
the account's wall clock (tests move it); `ctx.request_id`, `ctx.region`, `ctx.sub_app_id`.
Known VOD actions without a handler answer UnsupportedOperation, unknown ones InvalidAction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emitter.vodapi.actions import ApiContext, ApiError, Handler, action, register

if TYPE_CHECKING:
    from emitter.vodapi.local import LocalVod, ManualClock

__all__ = ["ApiContext", "ApiError", "Handler", "LocalVod", "ManualClock", "action", "register"]


def __getattr__(name: str) -> Any:
    # LocalVod pulls in the server and the renderer: only when asked for (scenario loading imports
    # this package for its PULL faults)
    if name in ("LocalVod", "ManualClock"):
        from emitter.vodapi import local

        return getattr(local, name)
    raise AttributeError(f"module 'emitter.vodapi' has no attribute {name!r}")
