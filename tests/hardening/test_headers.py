"""Header injection: CR, LF and other controls in header names or values are refused, never sent."""

from __future__ import annotations

import pytest

from emitter.delivery.deliver import DeliveryOptions, parse_header
from emitter.delivery.signing import sign, verify
from emitter.errors import UsageError
from tests.hardening.cli import invoke, one_line_error

SMUGGLING = [
    "X-A: b\r\nX-Evil: 1",
    "X-A: b\nPOST /admin HTTP/1.1",
    "X-A: b\rc",
    "X-A: nul\x00byte",
    "X-A\r\nX-B: c",
]


@pytest.mark.parametrize("text", SMUGGLING)
def test_parse_header_refuses_smuggling(text: str) -> None:
    with pytest.raises(UsageError, match="-H"):
        parse_header(text)


@pytest.mark.parametrize(("name", "value"), [("X-A", "b\r\nX-Evil: 1"), ("X A", "b"), ("X-A\n", "b")])
def test_library_headers_are_checked_too(name: str, value: str) -> None:
    with pytest.raises(UsageError, match="headers"):
        DeliveryOptions(headers=((name, value),))


def test_ordinary_headers_pass() -> None:
    assert parse_header("X-Api-Key:  secret value\t") == ("X-Api-Key", "secret value")
    assert DeliveryOptions(headers=(("X-Trace", "a=b; c"),)).headers


@pytest.mark.parametrize("text", SMUGGLING[:2])
def test_the_cli_says_one_line_and_sends_nothing(text: str) -> None:
    code, stdout, stderr = invoke("run", "happy-path", "--speed", "0", "-H", text)
    assert code == 2
    assert one_line_error(stderr).startswith("error: -H: header ")
    assert "built-in receiver" not in stderr + stdout


def test_signatures_compare_in_constant_time_and_still_verify() -> None:
    good = sign("key", 2000)
    assert verify("key", 2000, good, 1000) is None
    assert verify("key", 2000, good.upper(), 1000) is None
    assert verify("key", 2000, good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1", 1000)
    assert verify("key", 2000, "é" * 32, 1000)  # non-ASCII: refused, not a TypeError
