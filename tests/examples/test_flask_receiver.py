"""The Flask example receiver, tested as its author would: the plugin's fixtures, in process (WSGI)."""

from __future__ import annotations

import socket

import pytest

from emitter import AppTarget, Emitter
from tests.examples.conftest import NetworkUsed
from tests.examples.flask_receiver import create_app
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


def test_happy_path_marks_the_video_transcoded(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.run("happy-path")

    [file_id] = run.file_ids
    assert list(videos.uploaded) == [file_id]
    assert len(videos.transcoded[file_id]) >= 1
    assert set(videos.flows.values()) == {"FINISH"}


@pytest.mark.parametrize("scenario", ["transcode-fail-30009", "transcode-fail-30010"])
def test_failed_transcodes_are_not_marked_transcoded(
    vod_emitter: Emitter, videos: Videos, scenario: str
) -> None:
    run = vod_emitter.run(scenario)

    [file_id] = run.file_ids
    err_code = int(scenario.rsplit("-", 1)[1])
    assert videos.transcode_failed == {file_id: err_code}
    assert videos.transcoded == {}
    assert [failures["Transcode"] for failures in videos.flow_failures.values()] == [err_code]


def test_a_single_failed_transcode_event(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.send("transcode", params={"status": "fail", "err_code": 30010})

    assert videos.transcode_failed == {run.sent[0].file_id: 30010}


def test_concat_failure_records_the_error_of_each_output(vod_emitter: Emitter, videos: Videos) -> None:
    run = vod_emitter.run("concat-failure")

    [task_id] = videos.concat_failed
    assert task_id == run.sent[0].task_id
    assert videos.concat_failed[task_id] == [-1, 4]


def test_malformed_json_gets_a_400(vod_emitter: Emitter, videos: Videos) -> None:
    vod_emitter.send("transcode", body="{oops", expect=400)

    assert videos.transcoded == videos.transcode_failed == {}


def test_the_socket_guard_is_armed() -> None:
    with pytest.raises(NetworkUsed):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
