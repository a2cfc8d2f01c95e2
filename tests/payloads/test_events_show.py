"""`vod-emitter events show`: the SDK fields the wire adds, descriptions as plain text."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from emitter.cli import app
from emitter.cli.offline import plain_text
from emitter.payloads.catalog import load_catalog
from emitter.payloads.profiles import sdk_structs

WIRE_HEADER = "Fields the wire profile adds from the SDK's structs"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (
            "see [metaData (Video Metadata)](#metadata.EF.BC.88) for more",
            "see metaData (Video Metadata) for more",
        ),
        ("the [parameters](https://intl.cloud.tencent.com/document/product/266/34125#x).", "the parameters."),
        ("left over (#drm.EF.BC.88) and (https://example.com/a)!", "left over and!"),
        ("a normal (parenthesised) remark, [0, 100]", "a normal (parenthesised) remark, [0, 100]"),
    ],
)
def test_plain_text_keeps_link_text_and_drops_targets(text: str, plain: str) -> None:
    assert plain_text(text) == plain


def _show(*args: str) -> str:
    result = CliRunner().invoke(app, ["events", "show", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_descriptions_print_without_markdown_link_targets() -> None:
    catalog = load_catalog()
    linked = [
        (event_type, fmt)
        for event_type, spec in catalog.events.items()
        for fmt, docs in spec.fields.items()
        if any("](" in doc.description for doc in docs)
    ]
    assert linked  # the seed's v2 fields carry links: the check below can fail
    for event_type, fmt in linked:
        fields = _show(event_type, "--format", fmt).split("\nSample")[0]
        assert not re.search(r"\]\(|\((?:#|https?://)", fields), event_type
    assert "please see metaData (Video Metadata)." in _show("procedure", "--format", "v2")


def test_v3_show_lists_the_sdk_fields_the_wire_adds_and_only_those() -> None:
    structs = sdk_structs()
    output = _show("procedure", "--format", "v3")
    wire_part = output.split(WIRE_HEADER)[1].split("\nSample")[0]
    listed = [line.split()[0] for line in wire_part.splitlines()[1:] if line.startswith("  ") and "." in line]
    documented = {doc.path for doc in load_catalog().event("procedure").fields["v3"]}
    sdk = {path for path, _ in structs.paths("ProcedureTask", "ProcedureStateChangeEvent")}
    assert listed and set(listed) <= sdk and not set(listed) & documented
    assert "ProcedureStateChangeEvent.MediaProcessResultSet[].TranscodeTask.ErrCodeExt" in listed
    assert f"{len(structs.era_keys['current']) - 1} in the current era" in wire_part
    assert WIRE_HEADER not in _show("procedure", "--format", "v2")  # no SDK struct for v2 bodies
