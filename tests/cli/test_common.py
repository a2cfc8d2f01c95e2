"""Helpers the commands share: delivery settings from a command's flags."""

from __future__ import annotations

from emitter.cli.common import delivery_from_flags


def test_delivery_settings_come_from_the_delivery_flags_a_command_has() -> None:
    flags = {
        "timeout": "200ms",
        "retries": 3,
        "retry_on_status": True,
        "header": ["X-Api-Key: k"],
        "sign_key": "key",
        "sign_in": "query",
        "scenarios": ["happy-path"],  # not a delivery flag: left alone
    }
    options = delivery_from_flags(flags)
    assert (options.timeout, options.retries, options.retry_on_status) == (0.2, 3, True)
    assert options.retry_on_connect_error is False and options.backoff == 0.0  # flags it lacks: defaults
    assert options.headers == (("X-Api-Key", "k"),)
    assert options.signing is not None and (options.signing.key, options.signing.placement) == (
        "key",
        "query",
    )
    assert delivery_from_flags({"timeout": "5", "header": None}).signing is None
