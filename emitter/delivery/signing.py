"""Callback signing as VOD's SignKey does it: T = Unix expiry, Sign = md5(key + T)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

DEFAULT_TTL = 600
PLACEMENTS = ("body", "query", "header")
CASES = ("valid", "expired", "wrong", "missing", "none")


def sign(key: str, expiry: int) -> str:
    """Lower-case hex md5 of the key followed by the decimal expiry."""
    return hashlib.md5(f"{key}{expiry}".encode()).hexdigest()


@dataclass(frozen=True)
class Signature:
    """What to attach to one request; `None` fields are left out (the 'missing' case)."""

    t: int | None
    sign: str | None


def make_signature(key: str, now: int, *, ttl: int = DEFAULT_TTL, case: str = "valid") -> Signature:
    """A signature for `now`, or one of the negative cases a receiver must reject."""
    if case == "none":
        return Signature(None, None)
    if case == "expired":
        expiry = now - 60
        return Signature(expiry, sign(key, expiry))
    expiry = now + ttl
    if case == "wrong":
        return Signature(expiry, sign(key + "-wrong", expiry))
    if case == "missing":
        return Signature(expiry, None)
    return Signature(expiry, sign(key, expiry))


def verify(key: str, t: object, signature: object, now: int) -> str | None:
    """None if (t, signature) is valid at `now`, else the reason it is not."""
    if signature in (None, ""):
        return "missing Sign"
    if t in (None, ""):
        return "missing T"
    try:
        expiry = int(str(t))
    except ValueError:
        return f"T {t!r} is not a Unix time"
    if expiry < now:
        return f"expired: T {expiry} is {now - expiry} s in the past"
    if not hmac.compare_digest(str(signature).lower().encode(), sign(key, expiry).encode()):
        return "wrong Sign: md5(key + T) does not match"
    return None
