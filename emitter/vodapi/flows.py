"""The local VOD's stateful actions: start work in the library, answer like the SDK, emit callbacks."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import posixpath
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emitter.clock import parse_moment, utc_stamp
from emitter.errors import EmitterError
from emitter.payloads.paths import file_id_of, task_id_of
from emitter.payloads.render import Renderer, default_renderer
from emitter.vodapi.actions import ApiContext, ApiError, register
from emitter.vodapi.actions import Handler as ApiHandler
from emitter.vodapi.library import Library, Media, Task, copied
from emitter.vodapi.rules import Outcome, Rules, load_rules, parse_rules

if TYPE_CHECKING:
    from emitter.scenarios.loader import Scenario
    from emitter.vodapi.account import Account
    from emitter.vodapi.local import LocalVod
    from emitter.vodapi.triggers import Triggers

Publish = Callable[[Any], Awaitable[None]]
Params = Mapping[str, Any]
Handler = Callable[[Params], Awaitable[dict[str, Any]]]

# Seconds between a call and its callbacks at --speed 1 (a rule file's `delays` override them).
DEFAULT_DELAYS = {
    "processing": 0.5,
    "ProcessMedia": 3.0,
    "ProcessMediaByProcedure": 3.0,
    "PullUpload": 2.0,
    "CommitUpload": 0.5,
    "DeleteMedia": 0.5,
    "EditMedia": 2.0,
    "ComposeMedia": 3.0,
    "WeChatMiniProgramPublish": 2.0,
}
# ProcessMedia's MediaProcessTask list keys -> sub-task types of a task flow.
_TASK_SETS = {
    "TranscodeTaskSet": "Transcode",
    "AnimatedGraphicTaskSet": "AnimatedGraphics",
    "SnapshotByTimeOffsetTaskSet": "SnapshotByTimeOffset",
    "SampleSnapshotTaskSet": "SampleSnapshot",
    "ImageSpriteTaskSet": "ImageSprites",
    "CoverBySnapshotTaskSet": "CoverBySnapshot",
}
# DescribeTaskDetail's object key for each TaskType.
DETAIL_KEYS = {
    "Procedure": "ProcedureTask",
    "EditMedia": "EditMediaTask",
    "PullUpload": "PullUploadTask",
    "ComposeMedia": "ComposeMediaTask",
    "WechatMiniProgramPublish": "WechatMiniProgramPublishTask",
}
_NOTIFY_MODES = ("Finish", "Change", "None")
_MESSAGES = {
    30009: "source file error",
    30010: "system error or unknown error",
    60000: "source file error",
    70000: "internal error",
}
NEVER = "9999-12-31T23:59:59Z"
MAX_IDS = 20  # DescribeMediaInfos / FileIds filters, as the API documents
MAX_SEARCH_WINDOW = 5000  # SearchMedia: Offset + Limit


@dataclass(frozen=True)
class Emitted:
    """One callback the local VOD published: its EventType, payload and the ids it is about."""

    event_type: str
    payload: Any
    task_id: str | None
    file_id: str | None
    at: str


def _require(params: Params, name: str) -> Any:
    value = params.get(name)
    if value in (None, "", []):
        raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    return value


def _text(params: Params, name: str, default: str | None = None, limit: int = 1000) -> str | None:
    value = params.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError("InvalidParameterValue", f"`{name}` must be a string of at most {limit} characters.")
    return value


def _int(params: Params, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameterValue", f"`{name}` must be an integer.")
    return value


def _stamp_of(text: Any, name: str) -> str:
    try:
        return utc_stamp(parse_moment(str(text), location=name))
    except EmitterError:
        raise ApiError("InvalidParameterValue", f"`{name}` must be an ISO 8601 time.") from None


def _in_range(stamp: str | None, bounds: Any, name: str) -> bool:
    """TimeRange: After <= stamp < Before (either bound optional)."""
    if not bounds:
        return True
    if not isinstance(bounds, dict):
        raise ApiError("InvalidParameterValue", f"`{name}` must be {{After, Before}}.")
    if stamp is None:
        return False
    after, before = bounds.get("After"), bounds.get("Before")
    if after and stamp < _stamp_of(after, f"{name}.After"):
        return False
    return not (before and stamp >= _stamp_of(before, f"{name}.Before"))


def _source_media(tracks: list[Any]) -> list[str]:
    """The SourceMedia file ids of ComposeMedia tracks, in track order."""
    found = []
    for track in tracks:
        for item in (track.get("TrackItems") or []) if isinstance(track, dict) else []:
            for value in item.values() if isinstance(item, dict) else []:
                if isinstance(value, dict) and isinstance(value.get("SourceMedia"), str):
                    found.append(value["SourceMedia"])
    return found


def _event_object(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The `<Xxx>Event` object of a v3 callback: the SDK model its task detail also uses."""
    for key, value in payload.items():
        if key != "EventType" and isinstance(value, dict):
            return value
    raise EmitterError(f"a v3 {payload.get('EventType')} payload has no event object")


class Flows:
    """The stateful actions of one local VOD: a library, rules, a renderer and a way to publish.

    `publish(payload)` hands a rendered callback to the event config (pushed or queued); every
    callback is also kept in `emitted`. Delays are scaled by 1/speed; speed 0 emits at once.
    """

    def __init__(
        self,
        library: Library,
        *,
        publish: Publish,
        fmt: str = "v3",
        speed: float = 1.0,
        rules: Rules | None = None,
        renderer: Renderer | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        options: Mapping[str, Any] | None = None,
    ):
        if speed < 0:
            raise EmitterError(f"speed must be 0 or more, got {speed}", hint="0 emits callbacks at once")
        self.library = library
        self.publish = publish
        self.fmt = fmt
        self.speed = speed
        self.rules = rules or Rules()
        self.renderer = renderer or default_renderer()
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.options = dict(options or {})
        self.emitted: list[Emitted] = []
        self.errors: list[str] = []
        self._uploads: dict[str, dict[str, Any]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self.triggers: Triggers | None = None
        self.handlers: dict[str, Handler] = {
            "ProcessMedia": self.process_media,
            "ProcessMediaByProcedure": self.process_media_by_procedure,
            "PullUpload": self.pull_upload,
            "ApplyUpload": self.apply_upload,
            "CommitUpload": self.commit_upload,
            "DeleteMedia": self.delete_media,
            "EditMedia": self.edit_media,
            "ComposeMedia": self.compose_media,
            "WeChatMiniProgramPublish": self.wechat_mini_program_publish,
            "DescribeTaskDetail": self.describe_task_detail,
            "DescribeTasks": self.describe_tasks,
            "DescribeMediaInfos": self.describe_media_infos,
            "SearchMedia": self.search_media,
        }

    # --- time, rendering, publishing ---------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.timezone.utc).replace(microsecond=0)

    def _scaled(self, seconds: float) -> float:
        return 0.0 if self.speed == 0 else seconds / self.speed

    def _delay(self, action: str, outcome: Outcome | None = None) -> float:
        return self._scaled(self.rules.delay(action, DEFAULT_DELAYS[action], outcome))

    def has_event(self, event_type: str, fmt: str) -> bool:
        try:
            spec = self.renderer.catalog.event(event_type)
        except EmitterError:
            return False
        return fmt in spec.templates

    def render(self, event_type: str, params: Mapping[str, Any], *, seed: int, fmt: str) -> Any:
        """One payload through the shared renderer; same seed and params give the same facts in v2 and v3."""
        options = self.options if fmt == self.fmt else {}
        session = self.renderer.session(seed=seed, now=self.now(), fmt=fmt, options=options)
        return session.render_event(event_type, params)

    def detail(self, event_type: str, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """The v3 event object for these params: what DescribeTaskDetail and DescribeMediaInfos show."""
        return _event_object(self.render(event_type, params, seed=seed, fmt="v3"))

    async def emit(
        self,
        event_type: str,
        params: Mapping[str, Any],
        *,
        seed: int,
        task: Task | None = None,
        silent: bool = False,
    ) -> None:
        """Render the callback in the account's format and publish it.

        Skipped when that format lacks the event, or when `silent`: a scenario's `on:` steps
        claimed the call and emit their own callbacks instead.
        """
        if silent or not self.has_event(event_type, self.fmt):
            return
        payload = self.render(event_type, params, seed=seed, fmt=self.fmt)
        await self.publish_payload(event_type, payload, task.task_id if task else None)

    async def publish_payload(self, event_type: str, payload: Any, task_id: str | None = None) -> None:
        """Publish one rendered callback by the event config and keep it in `emitted`."""
        self.emitted.append(
            Emitted(
                event_type,
                payload,
                task_id_of(payload) or task_id,
                file_id_of(payload),
                utc_stamp(self.now()),
            )
        )
        await self.publish(payload)

    def claim(self, action: str, media: Media | None, ids: Mapping[str, Any]) -> bool:
        """Let a scenario's `on: ACTION` steps take this call; True when they did (theirs replace ours)."""
        if self.triggers is None:
            return False
        facts = self._file_params(media) if media is not None else {}
        return self.triggers.claim(action, {**facts, **{k: v for k, v in ids.items() if v is not None}})

    def _later(self, stages: Iterable[tuple[float, Callable[[], Awaitable[None]]]]) -> None:
        """Run stages one after another, each after its delay, after the current answer is written."""
        plan = list(stages)

        async def run() -> None:
            for delay, stage in plan:
                await asyncio.sleep(delay)
                try:
                    await stage()
                except Exception as exc:  # a background failure must be seen, not lost with the task
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    return

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled callback was published (bounded by `timeout` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._pending:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(set(self._pending), timeout=left)

    async def play(self, scenario: Scenario) -> Triggers:
        """Play a scenario against the calls that follow: its `on:` steps wait for them."""
        from emitter.vodapi.triggers import Triggers

        self.triggers = Triggers(scenario, self, seed=self.library.draw_seed())
        self.triggers.start()
        return self.triggers

    def cancel(self) -> None:
        for task in list(self._pending):
            task.cancel()

    # --- lookups -----------------------------------------------------------------------------
    def media_of(self, file_id: Any) -> Media:
        media = self.library.media.get(str(file_id))
        if media is None:
            raise ApiError("ResourceNotFound.FileNotExist", f"The file does not exist: {file_id}.")
        return media

    def _new_task(self, task_type: str, task_id: str, file_id: str | None, params: Params) -> Task:
        now = utc_stamp(self.now())
        return Task(
            task_id=task_id,
            task_type=task_type,
            status="PROCESSING",
            created=now,
            begun=now,
            file_id=file_id,
            session_id=_text(params, "SessionId", limit=50),
            session_context=_text(params, "SessionContext"),
        )

    def _follow_with_procedure(
        self,
        media: Media,
        flow: Iterable[Mapping[str, Any]],
        params: Params,
        procedure_id: str | None,
        *,
        silent: bool,
    ) -> None:
        """The task flow an upload, pull or edit asked for (its Procedure), on the new media."""
        self.start_procedure(
            media,
            flow,
            action="ProcessMediaByProcedure",
            params=params,
            task_id=procedure_id,
            claim=False,
            silent=silent,
        )

    def _finish(self, task: Task, detail: dict[str, Any]) -> None:
        task.status, task.finished, task.detail = "FINISH", utc_stamp(self.now()), detail
        self.library.save_task(task)

    def _describe_new_media(
        self, media: Media, source_type: str = "ClientUpload", **extra: Any
    ) -> dict[str, Any]:
        """Fill a new file's MediaBasicInfo and MediaMetaData from its NewFileUpload v3 event object."""
        params = self._file_params(media) | {"source_type": source_type} | extra
        event = self.detail("NewFileUpload", params, self.library.draw_seed())
        media.basic_info, media.meta_data = event["MediaBasicInfo"], event["MetaData"]
        return params

    @staticmethod
    def _file_params(media: Media) -> dict[str, Any]:
        facts = media.facts
        return {
            "file_id": media.file_id,
            "file_name": media.name,
            "file_url": facts["file_url"],
            "cover_url": facts["cover_url"],
            "media": facts["media"],
            "source_context": facts.get("source_context_given") or "",
            "class_id": facts.get("class_id"),
            "expire_time": facts.get("expire_time") or NEVER,
            "storage_region": facts.get("storage_region") or "ap-chongqing",
        }

    def _procedure_tasks(self, name: Any) -> tuple[dict[str, Any], ...]:
        tasks = self.rules.procedures.get(str(name))
        if tasks is None:
            raise ApiError(
                "InvalidParameter.ProcedureNameNotExist", f"The task flow template does not exist: {name}."
            )
        return tasks

    # --- task flows --------------------------------------------------------------------------
    def start_procedure(
        self,
        media: Media,
        tasks: Iterable[Mapping[str, Any]],
        *,
        action: str,
        params: Params,
        task_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        claim: bool = True,
        silent: bool = False,
    ) -> Task:
        """A task flow on `media`: PROCESSING then FINISH callbacks per TasksNotifyMode (default Finish)."""
        mode = _text(params, "TasksNotifyMode", "Finish") or "Finish"
        if mode not in _NOTIFY_MODES:
            raise ApiError(
                "InvalidParameterValue.TasksNotifyMode",
                f"TasksNotifyMode must be one of {', '.join(_NOTIFY_MODES)}.",
            )
        priority = _int(params, "TasksPriority", 0)
        outcome = self.rules.decide(action, name=media.name, file_id=media.file_id)
        task_list = [dict(t) for t in tasks]
        kinds = [str(t.get("type")) for t in task_list]
        failed = [k for k in kinds if k in (outcome.failed_tasks or kinds)] if outcome.fail else []
        task = self._new_task(
            "Procedure", task_id or self.library.provider().task_id("Procedure"), media.file_id, params
        )
        seed = self.library.draw_seed()
        silent = silent or (claim and self.claim(action, media, {"task_id": task.task_id}))
        base = {
            **self._file_params(media),
            "task_id": task.task_id,
            "tasks": task_list,
            "failed_tasks": failed,
            "task_err_code": outcome.fail or 30010,
            "task_message": outcome.message or _MESSAGES.get(outcome.fail),
            "tasks_notify_mode": mode,
            "tasks_priority": priority,
            "session_context": task.session_context,
            "session_id": task.session_id,
            **(extra or {}),
        }
        for unused in ("cover_url", "source_context", "class_id", "expire_time", "storage_region"):
            base.pop(unused)
        processing = {**base, "state": "PROCESSING"}
        task.detail = self.detail("ProcedureStateChanged", processing, seed)
        self.library.add_task(task)

        async def processing_post() -> None:
            await self.emit("ProcedureStateChanged", processing, seed=seed, task=task, silent=silent)

        async def finish() -> None:
            finished = {**base, "state": "FINISH"}
            self._finish(task, self.detail("ProcedureStateChanged", finished, seed))
            self._keep_results(media.file_id, task.detail)
            if mode != "None":
                await self.emit("ProcedureStateChanged", finished, seed=seed, task=task, silent=silent)

        stages: list[tuple[float, Callable[[], Awaitable[None]]]] = []
        if mode == "Change":
            stages.append((self._scaled(DEFAULT_DELAYS["processing"]), processing_post))
        if not outcome.timeout:
            stages.append((self._delay(action, outcome), finish))
        self._later(stages)
        return task

    def _keep_results(self, file_id: str, procedure: Mapping[str, Any]) -> None:
        """A finished flow's outputs become the file's: transcodes (TranscodeInfo) and its cover."""
        media = self.library.media.get(file_id)
        if media is None:
            return
        for result in procedure.get("MediaProcessResultSet") or []:
            sub = result.get("TranscodeTask") or {}
            output = sub.get("Output")
            if result.get("Type") == "Transcode" and sub.get("Status") == "SUCCESS" and output:
                media.transcodes = [
                    t for t in media.transcodes if t.get("Definition") != output.get("Definition")
                ]
                media.transcodes.append(copied(output))
            cover = (result.get("CoverBySnapshotTask") or {}).get("Output") or {}
            if cover.get("CoverUrl"):
                media.basic_info["CoverUrl"] = cover["CoverUrl"]
        self.library.save_media(media)

    async def process_media(self, params: Params) -> dict[str, Any]:
        media = self.media_of(_require(params, "FileId"))
        requested = params.get("MediaProcessTask") or {}
        if not isinstance(requested, dict):
            raise ApiError("InvalidParameterValue", "`MediaProcessTask` must be an object.")
        tasks: list[dict[str, Any]] = []
        for key, kind in _TASK_SETS.items():
            for item in requested.get(key) or []:
                definition = item.get("Definition") if isinstance(item, dict) else None
                tasks.append(
                    {"type": kind} | ({"definition": int(definition)} if isinstance(definition, int) else {})
                )
        extra: dict[str, Any] = {}
        if params.get("AiContentReviewTask"):
            extra["review"] = "pass"
        if params.get("AiAnalysisTask"):
            extra["ai_analysis"] = ["Classification", "Tag"]
        if not tasks and not extra:
            raise ApiError(
                "InvalidParameter",
                "At least one of MediaProcessTask, AiContentReviewTask, AiAnalysisTask is required.",
            )
        task = self.start_procedure(media, tasks, action="ProcessMedia", params=params, extra=extra)
        return {"TaskId": task.task_id}

    async def process_media_by_procedure(self, params: Params) -> dict[str, Any]:
        media = self.media_of(_require(params, "FileId"))
        tasks = self._procedure_tasks(_require(params, "ProcedureName"))
        task = self.start_procedure(media, tasks, action="ProcessMediaByProcedure", params=params)
        return {"TaskId": task.task_id}

    # --- new files -----------------------------------------------------------------------------
    async def pull_upload(self, params: Params) -> dict[str, Any]:
        url = str(_require(params, "MediaUrl"))
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 2048:
            raise ApiError("InvalidParameterValue.MediaUrl", "MediaUrl must be an http(s) URL.")
        base_name = posixpath.basename(parsed.path)
        name = (
            _text(params, "MediaName", limit=64)
            or posixpath.splitext(base_name)[0]
            or base_name
            or "untitled"
        )
        procedure = _text(params, "Procedure")
        flow = self._procedure_tasks(procedure) if procedure else None
        media = self._new_file(name, params, source_url=url)
        provider = self.library.provider()
        task = self._new_task("PullUpload", provider.task_id("Pull"), None, params)
        procedure_id = provider.task_id("Procedure") if flow else None
        outcome = self.rules.decide("PullUpload", name=name)
        seed = self.library.draw_seed()
        ok = outcome.fail == 0
        event = {
            **self._file_params(media),
            "vod_task_id": task.task_id,
            "transcode_task_id": None,
            "procedure_task_id": procedure_id,
            "session_context": task.session_context,
            "session_id": task.session_id,
            "source_context": _text(params, "SourceContext", limit=250),
        }
        if not ok:
            event |= {
                "err_code": outcome.fail,
                "message": outcome.message or _MESSAGES.get(outcome.fail, "pull failed"),
                "file_id": None,
                "file_url": None,
                "procedure_task_id": None,
            }
        claimed = self.claim(
            "PullUpload",
            media,
            {"vod_task_id": task.task_id, "task_id": procedure_id, "procedure_task_id": procedure_id},
        )
        task.detail = self.detail("PullComplete", event, seed) | {
            "Status": "PROCESSING",
            "Progress": 0,
            "ErrCode": 0,
            "Message": "",
            "FileId": None,
        }
        self.library.add_task(task)

        async def complete() -> None:
            detail = self.detail("PullComplete", event, seed)
            if ok:
                media.basic_info, media.meta_data = detail["MediaBasicInfo"], detail["MetaData"]
                self.library.add_media(media)
                task.file_id = media.file_id
            self._finish(task, detail)
            await self.emit("PullComplete", event, seed=seed, task=task, silent=claimed)
            if ok and flow:
                self._follow_with_procedure(media, flow, params, procedure_id, silent=claimed)

        if not outcome.timeout:
            self._later([(self._delay("PullUpload", outcome), complete)])
        return {"TaskId": task.task_id}

    def _new_file(self, name: str, params: Params, *, source_url: str | None = None) -> Media:
        media = self.library.new_media(name, now=self.now(), source_url=source_url)
        media.facts["source_context_given"] = _text(params, "SourceContext", limit=250)
        class_id = params.get("ClassId")
        if class_id is not None:
            media.facts["class_id"] = _int(params, "ClassId", 0)
        if params.get("ExpireTime"):
            media.facts["expire_time"] = _stamp_of(params["ExpireTime"], "ExpireTime")
        media.facts["storage_region"] = _text(params, "StorageRegion", limit=64)
        return media

    async def apply_upload(self, params: Params) -> dict[str, Any]:
        media_type = str(_require(params, "MediaType")).lower()
        if not media_type.isalnum() or len(media_type) > 10:
            raise ApiError("InvalidParameterValue.MediaType", "MediaType is a file extension such as mp4.")
        procedure = _text(params, "Procedure")
        if procedure:
            self._procedure_tasks(procedure)
        provider = self.library.provider()
        key = base64.b64encode(
            json.dumps({"k": provider.md5(), "t": int(self.now().timestamp())}).encode()
        ).decode()
        if len(self._uploads) >= 1000:
            self._uploads.pop(next(iter(self._uploads)))
        self._uploads[key] = dict(params) | {"MediaType": media_type}
        path = f"/{self.library.app_id}/{provider.md5()[:16]}/{provider.md5()[:8]}.{media_type}"
        expires = int(self.now().timestamp()) + 1800
        return {
            "StorageBucket": f"{provider.md5()[:8]}-{self.library.app_id}",
            "StorageRegion": _text(params, "StorageRegion", limit=64) or "ap-chongqing",
            "VodSessionKey": key,
            "MediaStoragePath": path,
            "CoverStoragePath": f"{posixpath.splitext(path)[0]}.jpg" if params.get("CoverType") else "",
            "TempCertificate": {
                "SecretId": f"AKID{provider.md5()}",
                "SecretKey": provider.md5(),
                "Token": provider.md5() * 4,
                "ExpiredTime": expires,
            },
        }

    async def commit_upload(self, params: Params) -> dict[str, Any]:
        key = str(_require(params, "VodSessionKey"))
        upload = self._uploads.pop(key, None)
        if upload is None:
            raise ApiError(
                "InvalidParameterValue.VodSessionKey",
                "The VodSessionKey is invalid or was committed already.",
            )
        name = _text(upload, "MediaName", limit=64) or "untitled"
        media = self._new_file(name, upload)
        procedure = upload.get("Procedure")
        flow = self._procedure_tasks(procedure) if procedure else None
        procedure_id = self.library.provider().task_id("Procedure") if flow else None
        outcome = self.rules.decide("CommitUpload", name=name, file_id=media.file_id)
        event = self._describe_new_media(media, procedure_task_id=procedure_id, transcode_task_id=None)
        self.library.add_media(media)
        seed = self.library.draw_seed()
        claimed = self.claim(
            "CommitUpload", media, {"task_id": procedure_id, "procedure_task_id": procedure_id}
        )

        async def uploaded() -> None:
            await self.emit("NewFileUpload", event, seed=seed, silent=claimed)
            if flow:
                self._follow_with_procedure(media, flow, upload, procedure_id, silent=claimed)

        if not outcome.timeout:
            self._later([(self._delay("CommitUpload", outcome), uploaded)])
        return {
            "FileId": media.file_id,
            "MediaUrl": media.facts["file_url"],
            "CoverUrl": media.basic_info.get("CoverUrl", ""),
        }

    # --- deleting, editing, composing, publishing -------------------------------------------------
    async def delete_media(self, params: Params) -> dict[str, Any]:
        media = self.media_of(_require(params, "FileId"))
        parts_raw = params.get("DeleteParts") or []
        if not isinstance(parts_raw, list) or not all(
            isinstance(p, dict) and p.get("Type") for p in parts_raw
        ):
            raise ApiError("InvalidParameterValue", "DeleteParts is a list of {Type, Definition}.")
        parts = [str(p["Type"]) for p in parts_raw]
        outcome = self.rules.decide("DeleteMedia", name=media.name, file_id=media.file_id)
        if outcome.fail == 0:
            if not parts:
                self.library.delete_media(media.file_id)
            elif "TranscodeFiles" in parts:
                media.transcodes = []
                self.library.save_media(media)
        event: dict[str, Any] = {"file_id": media.file_id, "delete_parts": parts or None}
        if outcome.fail:
            event |= {
                "err_code": outcome.fail,
                "message": outcome.message or _MESSAGES.get(outcome.fail, "delete failed"),
            }
        seed = self.library.draw_seed()
        claimed = self.claim("DeleteMedia", media, {})

        async def deleted() -> None:
            await self.emit("FileDeleted", event, seed=seed, silent=claimed)

        if not outcome.timeout:
            self._later([(self._delay("DeleteMedia", outcome), deleted)])
        return {}

    async def edit_media(self, params: Params) -> dict[str, Any]:
        input_type = _text(params, "InputType") or ""
        if input_type not in ("File", "Stream"):
            raise ApiError("InvalidParameterValue.InputType", "InputType must be File or Stream.")
        sources: list[Media] = []
        offsets = (0.0, 0.0)
        if input_type == "File":
            infos = _require(params, "FileInfos")
            if not isinstance(infos, list) or len(infos) > 100:
                raise ApiError("InvalidParameterValue.FileInfos", "FileInfos is a list of at most 100 files.")
            sources = [
                self.media_of(info.get("FileId") if isinstance(info, dict) else None) for info in infos
            ]
            offsets = (float(infos[0].get("StartTimeOffset") or 0), float(infos[0].get("EndTimeOffset") or 0))
        elif not params.get("StreamInfos"):
            raise ApiError("MissingParameter", "The request is missing a required parameter `StreamInfos`.")
        config = params.get("OutputConfig") or {}
        procedure = _text(params, "ProcedureName")
        flow = self._procedure_tasks(procedure) if procedure else None
        source = sources[0] if sources else self.library.new_media(None, now=self.now())
        name = _text(config, "MediaName", limit=64) or source.name
        output = self._new_file(name, config)
        outcome = self.rules.decide("EditMedia", name=source.name, file_id=source.file_id)
        provider = self.library.provider()
        task = self._new_task(
            "EditMedia", provider.app_task_id("EditMedia"), sources[0].file_id if sources else None, params
        )
        procedure_id = provider.task_id("Procedure") if flow else None
        seed = self.library.draw_seed()
        event = {
            **self._file_params(source),
            "task_id": task.task_id,
            "input_type": input_type,
            "input_file_ids": [m.file_id for m in sources] or None,
            "start_time_offset": offsets[0],
            "end_time_offset": offsets[1],
            "output_file_id": output.file_id,
            "output_name": name,
            "file_type": str(config.get("Type") or "mp4"),
            "class_id": output.facts.get("class_id"),
            "expire_time": output.facts.get("expire_time") or NEVER,
            "procedure_task_id": procedure_id,
            "session_context": task.session_context,
            "session_id": task.session_id,
        }
        for unused in ("file_url", "cover_url", "source_context", "storage_region"):
            event.pop(unused)
        if outcome.fail:
            event |= {
                "err_code": outcome.fail,
                "message": outcome.message or _MESSAGES.get(outcome.fail, "edit failed"),
            }
        task.detail = self.detail("EditMediaComplete", event | {"state": "PROCESSING"}, seed)
        self.library.add_task(task)
        claimed = self.claim(
            "EditMedia",
            sources[0] if sources else None,
            {"task_id": task.task_id, "output_file_id": output.file_id, "procedure_task_id": procedure_id},
        )

        async def complete() -> None:
            detail = self.detail("EditMediaComplete", event, seed)
            if detail.get("Output"):
                output.facts["file_url"] = detail["Output"]["FileUrl"]
                self._describe_new_media(output, source_type="ServerUpload")
                output.meta_data = detail.get("MetaData") or output.meta_data
                self.library.add_media(output)
            self._finish(task, detail)
            await self.emit("EditMediaComplete", event, seed=seed, task=task, silent=claimed)
            if flow and detail.get("Output"):
                self._follow_with_procedure(output, flow, params, procedure_id, silent=claimed)

        if not outcome.timeout:
            self._later([(self._delay("EditMedia", outcome), complete)])
        return {"TaskId": task.task_id}

    async def compose_media(self, params: Params) -> dict[str, Any]:
        tracks = _require(params, "Tracks")
        out = _require(params, "Output")
        if not isinstance(tracks, list) or not isinstance(out, dict):
            raise ApiError("InvalidParameterValue", "Tracks is a list of tracks and Output an object.")
        name = _text(out, "FileName", limit=64)
        if not name:
            raise ApiError(
                "MissingParameter", "The request is missing a required parameter `Output.FileName`."
            )
        container = str(out.get("Container") or "mp4")
        output = self._new_file(name, out)
        source = next(
            (self.library.media[i] for i in _source_media(tracks) if i in self.library.media), output
        )
        outcome = self.rules.decide("ComposeMedia", name=name, file_id=source.file_id)
        task = self._new_task(
            "ComposeMedia", self.library.provider().app_task_id("ComposeMedia"), None, params
        )
        seed = self.library.draw_seed()
        event: dict[str, Any] = {
            "task_id": task.task_id,
            "file_id": source.file_id,
            "file_name": source.name,
            "media": source.facts["media"],
            "output_file_id": output.file_id,
            "output_name": name,
            "file_type": container,
            "class_id": output.facts.get("class_id"),
            "expire_time": output.facts.get("expire_time") or NEVER,
            "session_context": task.session_context,
            "session_id": task.session_id,
        }
        if outcome.fail:
            event |= {"err_code": outcome.fail, "message": outcome.message or _MESSAGES.get(outcome.fail, "")}
        asked = {"Tracks": tracks, "Output": out} | (
            {"Canvas": params["Canvas"]} if params.get("Canvas") else {}
        )

        def composed(state: str) -> Any:
            # the template draws an Input from the run's video; the task's Input is what was asked
            payload = self.render("ComposeMediaComplete", event | {"state": state}, seed=seed, fmt="v3")
            _event_object(payload)["Input"] = copied(asked)
            return payload

        task.detail = _event_object(composed("PROCESSING"))
        self.library.add_task(task)
        claimed = self.claim(
            "ComposeMedia", source, {"task_id": task.task_id, "output_file_id": output.file_id}
        )

        async def complete() -> None:
            payload = composed("FINISH")
            detail = _event_object(payload)
            if detail.get("Output"):
                output.facts["file_url"] = detail["Output"]["FileUrl"]
                self._describe_new_media(output, source_type="ServerUpload")
                output.meta_data = detail.get("MetaData") or output.meta_data
                self.library.add_media(output)
                task.file_id = output.file_id
            self._finish(task, detail)
            if not claimed and self.has_event("ComposeMediaComplete", self.fmt):
                await self.publish_payload("ComposeMediaComplete", payload, task.task_id)

        if not outcome.timeout:
            self._later([(self._delay("ComposeMedia", outcome), complete)])
        return {"TaskId": task.task_id}

    async def wechat_mini_program_publish(self, params: Params) -> dict[str, Any]:
        media = self.media_of(_require(params, "FileId"))
        definition = _int(params, "SourceDefinition", 0)
        if definition and not any(t.get("Definition") == definition for t in media.transcodes):
            raise ApiError(
                "InvalidParameterValue.SourceDefinition", f"The file has no rendition {definition}."
            )
        outcome = self.rules.decide("WeChatMiniProgramPublish", name=media.name, file_id=media.file_id)
        task_id = self.library.provider().app_task_id("WechatMiniProgramPublish")
        task = self._new_task("WechatMiniProgramPublish", task_id, media.file_id, params)
        seed = self.library.draw_seed()
        event: dict[str, Any] = {
            "task_id": task_id,
            "file_id": media.file_id,
            "source_definition": definition,
        }
        if outcome.fail:
            event |= {"err_code": outcome.fail, "message": outcome.message or "publish failed"}
        task.detail = self.detail("WechatMiniProgramPublishComplete", event | {"state": "PROCESSING"}, seed)
        self.library.add_task(task)
        claimed = self.claim("WeChatMiniProgramPublish", media, {"task_id": task_id})

        async def complete() -> None:
            finished = event | {"state": "FINISH"}
            self._finish(task, self.detail("WechatMiniProgramPublishComplete", finished, seed))
            await self.emit(
                "WechatMiniProgramPublishComplete", finished, seed=seed, task=task, silent=claimed
            )

        if not outcome.timeout:
            self._later([(self._delay("WeChatMiniProgramPublish", outcome), complete)])
        return {"TaskId": task.task_id}

    # --- reading -------------------------------------------------------------------------------
    def task_of(self, task_id: Any) -> Task:
        task = self.library.tasks.get(str(task_id))
        if task is None:
            raise ApiError("ResourceNotFound", f"The task does not exist: {task_id}.")
        return task

    async def describe_task_detail(self, params: Params) -> dict[str, Any]:
        task = self.task_of(_require(params, "TaskId"))
        answer: dict[str, Any] = {
            "TaskType": task.task_type,
            "Status": task.status,
            "CreateTime": task.created,
            "BeginProcessTime": task.begun or "",
            "FinishTime": task.finished or "",
        }
        answer[DETAIL_KEYS[task.task_type]] = copied(task.detail)
        return answer

    @staticmethod
    def _simple(task: Task) -> dict[str, Any]:
        return {
            "TaskId": task.task_id,
            "Status": task.status,
            "FileId": task.file_id or "",
            "TaskType": task.task_type,
            "CreateTime": task.created,
            "BeginProcessTime": task.begun or "",
            "FinishTime": task.finished or "",
            "SessionId": task.session_id or "",
            "SessionContext": task.session_context or "",
        }

    async def describe_tasks(self, params: Params) -> dict[str, Any]:
        limit = _int(params, "Limit", 10)
        if not 1 <= limit <= 100:
            raise ApiError("InvalidParameterValue.Limit", "Limit must be 1-100.")
        status, file_id = params.get("Status"), params.get("FileId")
        sort = params.get("Sort") or {}
        newest_first = isinstance(sort, dict) and sort.get("Order") == "Desc"
        tasks = [
            t
            for t in self.library.tasks.values()
            if (not status or t.status == status)
            and (not file_id or t.file_id == file_id)
            and _in_range(t.created, params.get("CreateTime"), "CreateTime")
            and _in_range(t.finished, params.get("FinishTime"), "FinishTime")
        ]
        tasks.sort(key=lambda t: (t.created, t.sequence), reverse=newest_first)
        token = _text(params, "ScrollToken", "")
        try:
            start = int(base64.b64decode(token, validate=True).decode("ascii")) if token else 0
            if start < 0:
                raise ValueError(start)
        except ValueError:  # not base64, not a number, or one this endpoint never gave
            raise ApiError("InvalidParameterValue.ScrollToken", "The ScrollToken is invalid.") from None
        page = tasks[start : start + limit]
        more = start + limit < len(tasks)
        return {
            "TaskSet": [self._simple(t) for t in page],
            "ScrollToken": base64.b64encode(str(start + limit).encode()).decode() if more else "",
        }

    def media_info(self, media: Media, filters: Iterable[str] | None = None) -> dict[str, Any]:
        """MediaInfo as DescribeMediaInfos and SearchMedia answer it (`filters` picks the parts)."""
        wanted = set(filters) if filters else {"basicInfo", "metaData", "transcodeInfo"}
        info: dict[str, Any] = {"FileId": media.file_id}
        if "basicInfo" in wanted:
            info["BasicInfo"] = copied(media.basic_info)
        if "metaData" in wanted:
            info["MetaData"] = copied(media.meta_data)
        if "transcodeInfo" in wanted:
            info["TranscodeInfo"] = {"TranscodeSet": copied(media.transcodes)} if media.transcodes else None
        return info

    async def describe_media_infos(self, params: Params) -> dict[str, Any]:
        ids = _require(params, "FileIds")
        if not isinstance(ids, list) or len(ids) > MAX_IDS:
            raise ApiError("InvalidParameterValue.FileIds", f"FileIds is a list of 1-{MAX_IDS} file IDs.")
        filters = params.get("Filters") or None
        found = [self.library.media[str(i)] for i in ids if str(i) in self.library.media]
        return {
            "MediaInfoSet": [self.media_info(m, filters) for m in found],
            "NotExistFileIdSet": [str(i) for i in ids if str(i) not in self.library.media],
        }

    async def search_media(self, params: Params) -> dict[str, Any]:
        offset, limit = _int(params, "Offset", 0), _int(params, "Limit", 10)
        if offset < 0 or not 1 <= limit <= 5000 or offset + limit > MAX_SEARCH_WINDOW:
            raise ApiError(
                "InvalidParameterValue.Limit", f"Offset + Limit must be at most {MAX_SEARCH_WINDOW}."
            )
        ids = params.get("FileIds") or []
        names = params.get("Names") or []
        prefixes = params.get("NamePrefixes") or []
        class_ids = params.get("ClassIds") or []
        for key, value in (
            ("FileIds", ids),
            ("Names", names),
            ("NamePrefixes", prefixes),
            ("ClassIds", class_ids),
        ):
            if not isinstance(value, list) or len(value) > 10:
                raise ApiError(f"InvalidParameterValue.{key}", f"{key} is a list of at most 10 items.")
        found = [
            m
            for m in self.library
            if (not ids or m.file_id in ids)
            and (not names or any(str(n) in m.name for n in names))
            and (not prefixes or any(m.name.startswith(str(p)) for p in prefixes))
            and (not class_ids or m.basic_info.get("ClassId") in class_ids)
            and _in_range(m.created, params.get("CreateTime"), "CreateTime")
        ]
        sort = params.get("Sort") or {}
        oldest_first = isinstance(sort, dict) and sort.get("Order") == "Asc"
        found.sort(key=lambda m: (m.created, m.sequence), reverse=not oldest_first)
        return {
            "TotalCount": len(found),
            "MediaInfoSet": [
                self.media_info(m, params.get("Filters") or None) for m in found[offset : offset + limit]
            ],
        }


# --- the plug-in: one Flows per account, its actions registered with the local VOD API ---------
STATE_KEY = "flows"
ACTIONS = (
    "ProcessMedia",
    "ProcessMediaByProcedure",
    "PullUpload",
    "ApplyUpload",
    "CommitUpload",
    "DeleteMedia",
    "EditMedia",
    "ComposeMedia",
    "WeChatMiniProgramPublish",
    "DescribeTaskDetail",
    "DescribeTasks",
    "DescribeMediaInfos",
    "SearchMedia",
)


def attach(
    account: Account,
    *,
    speed: float = 1.0,
    rules: Rules | None = None,
    state: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> Flows:
    """Give an account its library and flows (`--speed`, `--rules`, `--state`); callbacks go by its config."""
    library = Library(account.seed, state=state)

    async def publish(payload: Any) -> None:
        await account.publish(payload, source="flows")

    flows = Flows(
        library,
        publish=publish,
        fmt=account.format,
        speed=speed,
        rules=rules,
        renderer=account.renderer,
        clock=lambda: dt.datetime.fromtimestamp(account.clock(), dt.timezone.utc),
        options=options,
    )
    previous = account.state.get(STATE_KEY)
    if isinstance(previous, Flows):
        previous.cancel()
        previous.library.close()
    account.state[STATE_KEY] = flows
    return flows


def flows_of(ctx: ApiContext) -> Flows:
    """The account's flows, made with the defaults on first use (speed 1, no rules, in memory)."""
    found = ctx.state.get(STATE_KEY)
    return found if isinstance(found, Flows) else attach(ctx.account)


def _handler(name: str) -> ApiHandler:
    async def handle(ctx: ApiContext, params: dict[str, Any]) -> dict[str, Any]:
        return await flows_of(ctx).handlers[name](params)

    handle.__name__ = handle.__qualname__ = f"handle_{name}"
    return handle


for _name in ACTIONS:
    register(_name, _handler(_name))


def as_rules(rules: Rules | Mapping[str, Any] | str | Path | None) -> Rules | None:
    """A Rules object from a Rules, a rule document (dict) or a rule file path."""
    if rules is None or isinstance(rules, Rules):
        return rules
    if isinstance(rules, Mapping):
        return parse_rules(dict(rules))
    return load_rules(rules)


class LocalFlows:
    """The media library and triggered callbacks of a started LocalVod, for tests and scripts.

    Hand the application `endpoint`, `secret_id` and `secret_key`; assert on `library` (media and
    tasks) and `callbacks` (every callback published, pushed or queued); `settle()` waits until the
    callbacks already scheduled were published and their pushes ended.
    """

    region = "ap-guangzhou"

    def __init__(
        self,
        vod: LocalVod,
        *,
        speed: float = 0.0,
        rules: Rules | Mapping[str, Any] | str | Path | None = None,
        state: str | Path | None = None,
    ):
        self.vod = vod
        self.flows = attach(vod.account, speed=speed, rules=as_rules(rules), state=state)

    @property
    def endpoint(self) -> str:
        return self.vod.endpoint

    @property
    def secret_id(self) -> str:
        return self.vod.secret_id

    @property
    def secret_key(self) -> str:
        return self.vod.secret_key

    @property
    def library(self) -> Library:
        return self.flows.library

    @property
    def callbacks(self) -> list[Any]:
        """Every callback the account published (`.payload`, `.route`: pull/push/skipped, `.outcome`)."""
        return list(self.vod.callbacks)

    @property
    def emitted(self) -> list[Emitted]:
        """The callbacks the flows rendered, with the task and file each is about."""
        return list(self.flows.emitted)

    def use_rules(self, rules: Rules | Mapping[str, Any] | str | Path) -> None:
        """Replace the rules (a Rules, a rule document, or a rule file) for the calls that follow."""
        self.flows.rules = as_rules(rules) or Rules()

    def push_to(self, url: str, *, sign_key: str | None = None) -> None:
        """Event config PUSH to `url` (what ModifyEventConfig would set)."""
        from emitter.vodapi.config import EventConfig

        self.vod.account.config = EventConfig(mode="PUSH", notification_url=url, sign_key=sign_key)

    def pull(self) -> None:
        """Event config PULL: callbacks wait for PullEvents."""
        from emitter.vodapi.config import EventConfig

        self.vod.account.config = EventConfig(mode="PULL")

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (at most `timeout` s) for scheduled callbacks to be published and their pushes to end."""
        loop = self.vod.server.loop
        if loop is None:
            raise RuntimeError("the local VOD API is not started")

        async def settle() -> None:
            await self.flows.drain(timeout)
            await self.vod.account.drain(timeout)

        asyncio.run_coroutine_threadsafe(settle(), loop).result(timeout * 2 + 1)
        if self.flows.errors:
            raise AssertionError(f"local VOD flows failed: {'; '.join(self.flows.errors)}")

    def play(self, scenario: str | Path | Scenario) -> Triggers:
        """Play a scenario (name, file or Scenario): its `on: ACTION` steps wait for the app's calls."""
        from emitter.scenarios.loader import Scenario, load_scenario

        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        loop = self.vod.server.loop
        if loop is None:
            raise RuntimeError("the local VOD API is not started")
        return asyncio.run_coroutine_threadsafe(self.flows.play(loaded), loop).result(10)

    def client(self) -> Any:
        """A tencentcloud VodClient for this endpoint (needs tencentcloud-sdk-python-vod)."""
        return self.vod.sdk_client()

    def close(self) -> None:
        self.flows.cancel()
        self.flows.library.close()
