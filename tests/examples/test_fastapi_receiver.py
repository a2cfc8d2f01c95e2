"""The FastAPI example receiver, tested as its author would: the plugin's fixtures, in process."""

from __future__ import annotations

import pytest

from emitter import AppTarget, Emitter
from tests.examples.fastapi_receiver import create_app
from tests.examples.videos import Videos


@pytest.fixture
def videos() -> Videos:
    return Videos()


@pytest.fixture
def vod_target(videos: Videos) -> AppTarget:
    return AppTarget(create_app(videos), path="/vod/callback")


@pytest.fixture(params=["v2", "v3"])
def vod_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_happy_path_records_the_upload_task_flow_and_transcode(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.run("happy-path")

    upload, transcode = run.of_type("NewFileUpload")[0], run.of_type("TranscodeComplete")[0]
    file_id = upload.file_id
    assert file_id is not None and transcode.file_id == file_id
    assert list(videos.uploaded) == [file_id]
    assert videos.transcoded[file_id] and all(url.startswith("http://") for url in videos.transcoded[file_id])
    flow_id = run.of_type("ProcedureStateChanged")[-1].task_id
    assert videos.flows == {flow_id: "FINISH"}
    assert videos.transcode_failed == {} and videos.flow_failures == {}


@pytest.mark.parametrize("err_code", [30009, 30010])
def test_a_failed_transcode_is_recorded_with_its_error_code(
    vod_emitter: Emitter, videos: Videos, err_code: int
) -> None:
    run = vod_emitter.run(f"transcode-fail-{err_code}")

    file_id = run.of_type("NewFileUpload")[0].file_id
    assert videos.transcode_failed == {file_id: err_code}
    assert file_id not in videos.transcoded
    flow_id = run.of_type("ProcedureStateChanged")[0].task_id
    assert videos.flow_failures == {flow_id: {"Transcode": err_code}}


def test_a_failed_concat_keeps_each_output_error(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.run("concat-failure")

    assert videos.concat_failed == {run.sent[0].task_id: [-1, 4]}
    assert videos.concatenated == {}


def test_a_successful_concat_records_both_outputs(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.run("concat-success")

    [outputs] = videos.concatenated.values()
    assert len(outputs) == 2 and run.sent[0].file_id == outputs[0]


def test_malformed_json_is_refused_with_400(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.send("upload", body='{"eventType": "NewFileUpload", "data": {', expect=400)

    assert run.events[0].status == 400 and "not JSON" in run.events[0].response
    assert videos.uploaded == {}


def test_json_without_an_event_type_is_refused_with_400(vod_emitter: Emitter) -> None:
    run = vod_emitter.send("upload", body={"data": {"fileId": "1"}}, expect="4xx")

    assert "no eventType" in run.events[0].response


def test_a_refused_callback_fails_the_run_unless_expected(vod_emitter: Emitter) -> None:
    run = vod_emitter.send("upload", body="not json", check=False)

    assert not run.ok and run.failures[0].finished is not None
    assert run.failures[0].finished.status == 400


@pytest.mark.vod_scenarios("all")
def test_every_builtin_scenario_is_acknowledged(vod_emitter: Emitter, vod_scenario: str) -> None:
    run = vod_emitter.run(vod_scenario)  # any non-2xx answer fails the test with a readable report

    assert run.result.delivered == run.result.planned > 0
