"""Tencent Cloud API 3.0 as the SDKs speak it: TC3-HMAC-SHA256 verification, parameters, envelopes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from emitter.vodapi.actions import ApiError

SERVICE = "vod"
VERSION = "2018-07-17"
ALGORITHM = "TC3-HMAC-SHA256"
# AuthFailure.SignatureExpire: "Timestamp and server time cannot differ by more than five minutes".
MAX_SKEW = 300
MAX_BODY = 1024 * 1024
MAX_TIMESTAMP_DIGITS = 12  # seconds: a 13th digit is a time in milliseconds, or no time at all
MAX_LIST_INDEX = 10_000  # of a flattened GET parameter (`EventHandles.N`): a list is built up to it
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256\s+Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/,\s]+)"
    r"/tc3_request,\s*SignedHeaders=(?P<headers>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class ApiCall:
    """A verified request: who called what, with which parameters."""

    action: str
    version: str
    region: str
    secret_id: str
    params: dict[str, Any]


def envelope(fields: Mapping[str, Any], request_id: str) -> bytes:
    """A success answer: `{"Response": {...fields, "RequestId"}}`."""
    return json.dumps({"Response": {**fields, "RequestId": request_id}}, ensure_ascii=False).encode()


def error_envelope(error: ApiError, request_id: str) -> bytes:
    body = {"Response": {"Error": {"Code": error.code, "Message": error.message}, "RequestId": request_id}}
    return json.dumps(body, ensure_ascii=False).encode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """The hex signature of the TC3 scheme (the derivation sign.py's Sign.sign_tc3 does)."""
    key = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    key = _hmac(_hmac(key, service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def string_to_sign(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
    timestamp: str,
    date: str,
    service: str,
) -> str:
    """The string the client signed, rebuilt from what arrived (lower-case header names, trimmed values)."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method, path, query, canonical_headers, ";".join(signed_headers), payload_hash])
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def sign_request(
    secret_id: str,
    secret_key: str,
    *,
    action: str,
    body: bytes,
    host: str,
    timestamp: int,
    region: str = "",
    content_type: str = JSON_TYPE,
) -> dict[str, str]:
    """The headers an SDK sends for a POST of `body` (for raw clients, tests and benchmarks)."""
    date = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    headers = {"content-type": content_type, "host": host}
    text = string_to_sign(
        method="POST",
        path="/",
        query="",
        headers=headers,
        signed_headers=["content-type", "host"],
        body=body,
        timestamp=str(timestamp),
        date=date,
        service=SERVICE,
    )
    signature = tc3_signature(secret_key, date, SERVICE, text)
    return {
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Region": region,
        "Authorization": f"{ALGORITHM} Credential={secret_id}/{date}/{SERVICE}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}",
    }


def unix_time(text: str) -> int | None:
    """The Unix seconds `text` holds (ASCII digits, at most MAX_TIMESTAMP_DIGITS), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_TIMESTAMP_DIGITS else None


def _missing(name: str) -> ApiError:
    return ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """GET parameters as the SDK flattens them (`EventHandles.0=a`) back into lists and objects.

    A key that makes one name both a value and a list or object (`A=1&A.0=2`), or a list index
    over MAX_LIST_INDEX (lists are filled up to it), is InvalidParameter, as the service says.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        node: Any = root
        parts = key.split(".")
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            if isinstance(node, list) and not (
                part.isascii() and part.isdigit() and int(part) <= MAX_LIST_INDEX
            ):
                raise _bad_flattening(key)
            if following is None:
                if isinstance(node, list):
                    node.append(value)
                elif part in node:
                    raise _bad_flattening(key)
                else:
                    node[part] = value
                break
            child: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(type(child)())
                node = node[index]
            else:
                node = node.setdefault(part, child)
            if type(node) is not type(child):
                raise _bad_flattening(key)
    return root


def _bad_flattening(key: str) -> ApiError:
    return ApiError(
        "InvalidParameter",
        f"The parameter `{key[:100]}` does not fit the others (a value, a list index over "
        f"{MAX_LIST_INDEX}, or both a value and a list or object).",
    )


def parse_call(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    now: float,
) -> ApiCall:
    """Check headers, signature and body of one API 3.0 request; ApiError with the service's code if not.

    `headers` has lower-case names. The order follows the service: action and version first,
    then the credential (unknown SecretId, then the 5-minute window, then the signature), then
    the parameters.
    """
    action = headers.get("x-tc-action", "").strip()
    if not action:
        raise _missing("Action")
    version = headers.get("x-tc-version", "").strip()
    if not version:
        raise _missing("Version")
    if version != VERSION:
        raise ApiError("NoSuchVersion", f"The API version `{version}` does not exist for vod; use {VERSION}.")
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        raise _missing("Authorization")
    timestamp = headers.get("x-tc-timestamp", "").strip()
    if not timestamp:
        raise _missing("Timestamp")
    if unix_time(timestamp) is None:
        raise ApiError(
            "InvalidParameterValue", f"X-TC-Timestamp `{timestamp[:20]}` is not a Unix time in seconds."
        )
    found = _AUTHORIZATION.match(authorization)
    if found is None:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "Authorization must be `TC3-HMAC-SHA256 Credential=ID/DATE/vod/tc3_request, "
            "SignedHeaders=content-type;host, Signature=HEX`.",
        )
    secret_key = keys.get(found["id"])
    if secret_key is None:
        raise ApiError(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )
    if abs(int(timestamp) - now) > MAX_SKEW:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            f"Signature expired. Timestamp {timestamp} and server time {int(now)} differ by more than "
            "five minutes.",
        )
    signed = found["headers"].split(";")
    stamp_date = dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc).strftime("%Y-%m-%d")
    text = string_to_sign(
        method=method,
        path=path,
        query=query,
        headers=headers,
        signed_headers=signed,
        body=body,
        timestamp=timestamp,
        date=found["date"],
        service=found["service"],
    )
    expected = tc3_signature(secret_key, found["date"], found["service"], text)
    if (
        found["service"] != SERVICE
        or found["date"] != stamp_date
        or not {"content-type", "host"} <= set(signed)
        or not hmac.compare_digest(expected, found["signature"])
    ):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    return ApiCall(
        action=action,
        version=version,
        region=headers.get("x-tc-region", "").strip(),
        secret_id=found["id"],
        params=_params(method, query, headers, body),
    )


def _params(method: str, query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    if method == "GET":
        return _unflatten(parse_qsl(query, keep_blank_values=True))
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_TYPE:
        raise ApiError(
            "InvalidParameter", f"Content-Type `{media_type or '(none)'}` is not supported; send {JSON_TYPE}."
        )
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
    except RecursionError:
        raise ApiError("InvalidParameter", "The request body is JSON nested too deeply to read.") from None
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object of parameters.")
    return params


# --- parameter helpers for handlers --------------------------------------------------------


def optional_str(params: Mapping[str, Any], name: str, choices: tuple[str, ...] = ()) -> str | None:
    """A string parameter if present; InvalidParameterValue when it is not a string (or not a choice)."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError("InvalidParameterValue", f"The parameter `{name}` must be a string.")
    if choices and value not in choices:
        raise ApiError(
            "InvalidParameterValue",
            f"The parameter `{name}` must be one of {', '.join(choices)}, not `{value}`.",
        )
    return value


def required_str_list(params: Mapping[str, Any], name: str, *, limit: int) -> list[str]:
    """A required non-empty array of at most `limit` strings."""
    value = params.get(name)
    if value is None:
        raise _missing(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError("InvalidParameterValue", f"The parameter `{name}` must be an array of strings.")
    if not value:
        raise ApiError("InvalidParameterValue", f"The parameter `{name}` must not be empty.")
    if len(value) > limit:
        raise ApiError(
            "InvalidParameterValue", f"The parameter `{name}` holds {len(value)} items; at most {limit}."
        )
    return value


def optional_int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)  # GET requests carry every value as text
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameterValue", f"The parameter `{name}` must be an integer.")
    return value
