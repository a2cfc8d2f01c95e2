"""`profile=`/`era=` as library keywords and flags: they reach the renderer, bad values name the keyword."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import emitter
from emitter.errors import UsageError
from emitter.receiver.server import Receiver
from tests.helpers import cli

V3_EVENT_KEYS_2021 = 13


def _wire_keys(payload: dict[str, object]) -> int:
    return sum(1 for key in payload if key.endswith("Event") or key.endswith("Task"))


def test_render_keywords_equal_the_options_they_map_to() -> None:
    for profile in ("wire", "docs"):
        for era in ("current", "2021"):
            by_keyword = emitter.render_event("transcode", fmt="v3", seed=3, profile=profile, era=era)
            by_option = emitter.render_event(
                "transcode", fmt="v3", seed=3, options={"profile": profile, "era": era}
            )
            assert by_keyword == by_option
    docs = emitter.render_event("transcode", fmt="v3", profile="docs")
    wire_2021 = emitter.render_event("transcode", fmt="v3", profile="wire", era="2021")
    assert len(docs) == 2 and len(wire_2021) > len(docs)
    scenario = emitter.render_scenario(
        "delete", seed=1, fmt="v3", profile="docs", options={"profile": "wire"}
    )
    assert [len(event.payload) for event in scenario] == [2] * len(scenario)  # the keyword wins


@pytest.mark.parametrize(
    ("keywords", "location"),
    [({"profile": "dox"}, "profile"), ({"era": "2020"}, "era"), ({"profile": "docs", "era": 7}, "era")],
)
def test_a_bad_profile_or_era_is_one_line_naming_the_keyword(
    keywords: dict[str, object], location: str
) -> None:
    for call in (
        lambda: emitter.render_event("transcode", **keywords),  # type: ignore[arg-type]
        lambda: emitter.render_scenario("delete", **keywords),  # type: ignore[arg-type]
        lambda: emitter.Emitter(None, **keywords),  # type: ignore[arg-type]
        lambda: emitter.send("transcode", **keywords),  # type: ignore[call-overload]
    ):
        with pytest.raises(UsageError) as caught:
            call()
        assert caught.value.location == location
        assert "\n" not in str(caught.value) and location in caught.value.message


def test_run_send_and_emitter_send_the_profile_they_are_given(receiver: Receiver) -> None:
    emitter.run("delete", target=receiver.url, speed=0, fmt="v3", profile="docs", seed=2, check=True)
    assert receiver.records and all(len(record.payload) == 2 for record in receiver.records)
    receiver.records.clear()
    hooks = emitter.Emitter(receiver.url, seed=4, fmt="v3", profile="wire", era="2021", check=True)
    hooks.send("transcode")
    hooks.send("transcode", profile="docs")
    wire, docs = (record.payload for record in receiver.records)
    assert len(wire) == 1 + V3_EVENT_KEYS_2021 and len(docs) == 2
    assert hooks.render_event("transcode") == wire
    assert hooks.render_event("transcode", profile="docs") == docs


def test_load_takes_profile_and_era_and_names_a_bad_flag(receiver: Receiver) -> None:
    done = cli(
        "load", "delete", "--target", receiver.url, "--profile", "dox", "--rate", "1", "--duration", "1"
    )
    assert done.returncode == 2 and done.stderr.startswith("error: --profile:"), done.stderr
    done = cli("load", "delete", "--era", "1999", "--rate", "1", "--duration", "1")
    assert done.returncode == 2 and done.stderr.startswith("error: --era:"), done.stderr
    args = ("--format", "v3", "--rate", "20", "--duration", "0.2s", "--seed", "5")
    cli("load", "delete", "--target", receiver.url, "--profile", "docs", *args, check_code=0)
    assert receiver.records and all(len(record.payload) == 2 for record in receiver.records)


def test_a_resumed_run_keeps_the_journals_profile(tmp_path: Path, receiver: Receiver) -> None:
    journal = tmp_path / "j.jsonl"
    target = ("--target", receiver.url, "--speed", "0", "--format", "v3", "--seed", "1")
    cli(
        "run",
        "delete",
        *target,
        "--profile",
        "docs",
        "--era",
        "2021",
        "--journal",
        str(journal),
        check_code=0,
    )
    first = [record.payload for record in receiver.records]
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["options"] == {"profile": "docs", "era": "2021"}
    journal.write_text(json.dumps(header) + "\n")  # as if the run stopped before any send
    receiver.records.clear()
    cli("run", "--resume", str(journal), "--target", receiver.url, check_code=0)
    assert [record.payload for record in receiver.records] == first
    assert all(len(payload) == 2 for payload in first)
    refused = cli("run", "--resume", str(journal), "--profile", "wire", check_code=2)
    assert refused.stderr.startswith("error: --profile: the journal's run used docs")


def test_era_2021_written_as_a_number_is_the_2021_era(tmp_path: Path) -> None:
    # YAML reads `era: 2021` and `--option era=2021` as the number 2021: the era the docs name
    scenario = tmp_path / "era.yaml"
    scenario.write_text("version: 1\noptions: {era: 2021}\nsteps:\n  - event: transcode\n", encoding="utf-8")
    from_file = emitter.render_scenario(str(scenario), seed=3, fmt="v3")[0].payload
    from_flag = json.loads(
        cli("render", "transcode", "-f", "v3", "--seed", "3", "--option", "era=2021").stdout
    )
    assert from_file == from_flag == emitter.render_event("transcode", fmt="v3", seed=3, era="2021")
    assert _wire_keys(from_file) == V3_EVENT_KEYS_2021
