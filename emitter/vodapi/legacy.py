"""The legacy 2017 PULL API of v2 accounts: PullEvent / ConfirmEvent at /v2/index.php."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from emitter.vodapi.actions import ApiError
from emitter.vodapi.protocol import FORM_TYPE, MAX_SKEW, unix_time
from emitter.vodapi.pull import MAX_EVENTS

if TYPE_CHECKING:
    from emitter.vodapi.account import Account

LEGACY_HOST = "vod.api.qcloud.com"
PATH = "/v2/index.php"
# The qcloud API 2.0 common codes: 4000 bad parameter, 4100 authentication failed, 4200 request
# expired, 4400 over quota, 6000 internal error.
CODES = {
    "InvalidParameterValue": 4000,
    "MissingParameter": 4000,
    "InvalidAction": 4000,
    "AuthFailure.SignatureFailure": 4100,
    "AuthFailure.SecretIdNotFound": 4100,
    "AuthFailure.SignatureExpire": 4200,
    "RequestLimitExceeded": 4400,
    "InternalError": 6000,
}
DIGESTS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}


def legacy_signature(secret_key: str, method: str, host: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC of `METHODhost/v2/index.php?k=v&...` (sorted, raw values), as API 2.0 signs."""
    digest = DIGESTS.get(params.get("SignatureMethod", "HmacSHA1"), hashlib.sha1)
    pairs = "&".join(f"{k.replace('_', '.')}={v}" for k, v in sorted(params.items()) if k != "Signature")
    text = f"{method}{host}{PATH}?{pairs}"
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), digest).digest()).decode()


def _verify(account: Account, method: str, host: str, params: Mapping[str, str]) -> None:
    for name in ("Action", "SecretId", "Signature", "Timestamp", "Nonce"):
        if not params.get(name):
            raise ApiError("MissingParameter", f"missing parameter {name}")
    secret_key = account.keys.get(params["SecretId"])
    if secret_key is None:
        raise ApiError("AuthFailure.SecretIdNotFound", "SecretId not found")
    stamp = params["Timestamp"]
    seconds = unix_time(stamp)
    if seconds is None or abs(seconds - account.clock()) > MAX_SKEW:
        raise ApiError("AuthFailure.SignatureExpire", f"Timestamp {stamp[:20]} is more than 5 minutes off")
    given = params["Signature"].encode()  # bytes: compare_digest refuses non-ASCII text
    # a client may have signed for the real host while connecting to this one
    for signed_host in (host, LEGACY_HOST):
        if hmac.compare_digest(legacy_signature(secret_key, method, signed_host, params).encode(), given):
            return
    raise ApiError("AuthFailure.SignatureFailure", "signature verification failed")


async def _call(account: Account, params: Mapping[str, str]) -> dict[str, Any]:
    action = params["Action"]
    if action == "PullEvent":
        handouts = await account.queue.pull()
        events = [{"msgHandle": h.handle, "eventContent": h.event.payload} for h in handouts]
        return {"eventList": events}
    if action == "ConfirmEvent":
        handles = [v for k, v in params.items() if k.startswith("msgHandle.") and v]
        if not handles:
            raise ApiError("MissingParameter", "missing parameter msgHandle.1")
        if len(handles) > MAX_EVENTS:
            raise ApiError("InvalidParameterValue", f"at most {MAX_EVENTS} msgHandle values per call")
        account.queue.confirm(handles)
        return {}
    raise ApiError("InvalidAction", f"the action {action} does not exist in the local v2 PULL API")


async def answer(account: Account, method: str, query: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """One legacy request: `{"code": 0, "message": "", ...}` or `{"code": 4xxx, "message": ...}`."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    if method == "POST" and headers.get("content-type", "").split(";")[0].strip().lower() == FORM_TYPE:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        _verify(account, method, headers.get("host", ""), params)
        account.admit(params["Action"], account.ticker())
        result = {"code": 0, "message": "", **await _call(account, params)}
    except ApiError as exc:
        result = {"code": CODES.get(exc.code, 4000), "message": exc.message, "codeDesc": exc.code}
    return json.dumps(result, ensure_ascii=False).encode()
