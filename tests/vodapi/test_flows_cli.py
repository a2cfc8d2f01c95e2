"""`vod-emitter api --rules/--state/--scenario` errors, and a restart on the same --state through the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models
from typer.testing import CliRunner

from emitter.cli import app
from emitter.vodapi.flows import LocalFlows
from emitter.vodapi.local import LocalVod


def call(client: Any, action: str, **params: Any) -> Any:
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


@pytest.mark.parametrize(
    ("flag", "content", "expected"),
    [
        ("--rules", "rules: [{action: ProcesMedia}]", "did you mean 'ProcessMedia'"),
        ("--state", "not a database " * 100, "not a usable vod-emitter state file"),
        ("--scenario", "version: 1\nsteps:\n  - {event: procedure, on: Nope}\n", "'on' must name"),
    ],
)
def test_bad_files_are_one_line_and_exit_2(tmp_path: Path, flag: str, content: str, expected: str) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(content)
    result = CliRunner().invoke(app, ["api", "--port", "0", flag, str(path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert str(path) in result.output


def test_a_restart_on_the_same_state_keeps_media_and_tasks(tmp_path: Path) -> None:
    state = tmp_path / "vod.sqlite"
    with LocalVod(seed=4) as vod:
        flows = LocalFlows(vod, state=state)
        client = vod.sdk_client()
        key = call(client, "ApplyUpload", MediaType="mp4", MediaName="survivor").VodSessionKey
        file_id = call(client, "CommitUpload", VodSessionKey=key).FileId
        task_id = call(
            client, "ProcessMediaByProcedure", FileId=file_id, ProcedureName="LongVideoPreset"
        ).TaskId
        flows.settle()
        before = call(client, "DescribeTaskDetail", TaskId=task_id).to_json_string()
        flows.close()
    with LocalVod(seed=4) as vod:
        flows = LocalFlows(vod, state=state)
        client = vod.sdk_client()
        after = call(client, "DescribeTaskDetail", TaskId=task_id).to_json_string()
        assert json.loads(after) | {"RequestId": None} == json.loads(before) | {"RequestId": None}
        info = call(client, "DescribeMediaInfos", FileIds=[file_id]).MediaInfoSet[0]
        assert info.BasicInfo.Name == "survivor" and len(info.TranscodeInfo.TranscodeSet) == 4
        key = call(client, "ApplyUpload", MediaType="mp4", MediaName="newcomer").VodSessionKey
        assert call(client, "CommitUpload", VodSessionKey=key).FileId != file_id
        assert call(client, "SearchMedia").TotalCount == 2
        flows.close()
