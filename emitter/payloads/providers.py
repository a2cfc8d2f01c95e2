"""Faker provider for realistic Tencent VOD values; the only source of randomness in a render."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
import zlib
from typing import Any

from faker import Generator
from faker.providers import BaseProvider

from emitter.clock import utc_stamp

_HEX = "0123456789abcdef"

_TITLE_WORDS_A = (
    "Animal",
    "Morning",
    "Summer",
    "City",
    "Ocean",
    "Mountain",
    "Night",
    "Street",
    "Winter",
    "Product",
    "Quarterly",
    "Team",
    "Family",
    "Travel",
    "Cooking",
    "Launch",
    "Cat",
    "Drone",
)
_TITLE_WORDS_B = (
    "World",
    "Run",
    "Vlog",
    "Lights",
    "Review",
    "Highlights",
    "Demo",
    "Trip",
    "Recap",
    "Tutorial",
    "Interview",
    "Livestream",
    "Trailer",
    "Walkthrough",
    "Diary",
    "Party",
)
_TITLE_CJK = ("动物世界", "城市夜景", "产品发布会", "旅行日记", "美食教程", "年会精彩回顾", "直播回放")
_AUTHORS = (
    "CCTV recording",
    "Marketing Team",
    "Live Ops",
    "Lin Wei",
    "Alice Chen",
    "studio-7",
    "Zhang San",
    "Product Demo Bot",
    "Maria Garcia",
    "Kenji Sato",
)
_CLASSES = (
    ("Entertainment", ("Music", "Variety", "Movies")),
    ("Sports", ("Football", "Basketball", "Esports")),
    ("Knowledge", ("Technology", "Science", "Education")),
    ("News", ("Domestic", "International")),
)
_TAGS = ("outdoor", "people", "car", "cat", "dog", "food", "sea", "mountain", "night", "crowd")
# (width, height, typical video bitrate in bps)
_RESOLUTIONS = (
    (640, 360, 600_000),
    (640, 480, 246_000),
    (854, 480, 900_000),
    (960, 540, 1_200_000),
    (1280, 720, 2_500_000),
    (1920, 1080, 4_500_000),
    (720, 1280, 2_400_000),
    (1080, 1920, 4_200_000),
)
# VOD's preset transcoding templates: definition -> (height, video bitrate bps)
TRANSCODE_PRESETS = {
    10: (240, 149_193),
    20: (480, 297_656),
    30: (720, 899_976),
    40: (1080, 1_800_000),
    100010: (360, 256_000),
    100020: (540, 512_000),
    100030: (720, 1_024_000),
    100040: (1080, 2_500_000),
}
_SOURCE_SITES = ("https://media.example.com", "http://cdn.example.org", "https://videos.example.net")


@functools.lru_cache(maxsize=1024)
def _file_dir(app: str, file_id: str) -> str:
    """VOD keeps all of a file's outputs under one bucket/folder pair derived from app and file."""
    bucket = hashlib.md5(app.encode()).hexdigest()[:8]
    folder = hashlib.md5(file_id.encode()).hexdigest()[:8]
    return f"http://{app}.vod2.myqcloud.com/{bucket}vodcq{app}/{folder}{file_id}"


class VodProvider(BaseProvider):
    """VOD values drawn only from `self.generator.random`, so one seed replays a run exactly."""

    app_id_value = "1256768367"

    # --- primitives -------------------------------------------------------------------------
    def _hex(self, length: int) -> str:
        bits = self.generator.random.getrandbits(4 * length)
        return format(bits, f"0{length}x")

    def md5(self, raw_output: bool = False) -> str:
        return self._hex(32)

    def app_id(self) -> str:
        return str(self.generator.random.randrange(1_250_000_000, 1_260_000_000))

    def file_id(self) -> str:
        """A 19-digit VOD fileId, as VOD has issued since 2018 (5285890784273533167)."""
        return str(self.generator.random.randrange(5_280_000_000_000_000_000, 5_290_000_000_000_000_000))

    def task_id(self, prefix: str) -> str:
        """A vodTaskId in the shape the docs print for that kind of task."""
        random = self.generator.random
        if prefix == "Procedure":
            return f"{self.app_id_value}-Procedure-{self._hex(20)}t{random.randrange(10)}"
        if prefix == "procedure-legacy":
            return f"{self.app_id_value}-{random.choice(('mango', 'pear', 'kiwi'))}-{self._hex(32)}"
        if prefix == "clipVideo":
            return f"clipVideo-{self._hex(19)}"
        if prefix == "Pull":
            return f"Pull-{self._hex(31)}"
        return f"{prefix}-{self._hex(32)}"

    # --- urls -------------------------------------------------------------------------------
    def _file_dir(self, file_id: str) -> str:
        return _file_dir(self.app_id_value, file_id)

    def media_url(self, file_id: str, name: str) -> str:
        return f"{self._file_dir(file_id)}/{name}"

    def image_url(self, file_id: str, kind: str, index: int, ext: str = "jpg") -> str:
        return f"{self._file_dir(file_id)}/{kind}/{kind}_{index}.{ext}"

    def source_url(self, name: str) -> str:
        site = self.generator.random.choice(_SOURCE_SITES)
        return f"{site}/uploads/{self._hex(6)}/{name}"

    def key_url(self) -> str:
        return f"https://{self.app_id_value}.vod-drm.myqcloud.com/getkey?k={self._hex(16)}"

    # --- words ------------------------------------------------------------------------------
    def video_title(self) -> str:
        random = self.generator.random
        if random.random() < 0.2:
            return str(random.choice(_TITLE_CJK))
        return f"{random.choice(_TITLE_WORDS_A)} {random.choice(_TITLE_WORDS_B)}"

    def author(self) -> str:
        return str(self.generator.random.choice(_AUTHORS))

    def stream_id(self) -> str:
        random = self.generator.random
        return f"{random.randrange(1000, 99999)}_{self._hex(8)}"

    def session_context(self) -> str:
        random = self.generator.random
        return f'{{"userId":{random.randrange(10_000, 99_999_999)},"biz":"{random.choice(_TAGS)}"}}'

    def classification(self) -> tuple[str, str]:
        top, subs = self.generator.random.choice(_CLASSES)
        return top, self.generator.random.choice(subs)

    def tags(self, count: int) -> list[str]:
        return list(self.generator.random.sample(_TAGS, count))

    def confidence(self, low: float = 50.0, high: float = 100.0) -> float:
        return round(float(self.generator.random.uniform(low, high)), 3)

    def edk(self) -> str:
        return self._hex(self.generator.random.choice((8, 16, 32)))

    # --- media ------------------------------------------------------------------------------
    def media(self) -> dict[str, Any]:
        """Metadata of one video whose numbers agree: size = bitrate x duration, streams add up."""
        random = self.generator.random
        width, height, vbitrate = random.choice(_RESOLUTIONS)
        vbitrate = int(vbitrate * random.uniform(0.85, 1.15))
        abitrate = random.choice((48_000, 64_000, 96_000, 128_000))
        duration = random.randrange(8, 3600)
        return {
            "width": width,
            "height": height,
            "fps": random.choice((24, 25, 30)),
            "video_bitrate": vbitrate,
            "audio_bitrate": abitrate,
            "bitrate": vbitrate + abitrate,
            "duration": duration,
            "size": (vbitrate + abitrate) * duration // 8,
            "container": "mp4",
            "video_codec": "h264",
            "audio_codec": "aac",
            "sampling_rate": random.choice((44_100, 48_000)),
            "rotate": 0,
            "md5": self._hex(32),
        }

    def rendition(self, media: dict[str, Any], definition: int) -> dict[str, Any]:
        """A transcoded output of `media` at a preset `definition`, aspect ratio kept."""
        random = self.generator.random
        height, vbitrate = TRANSCODE_PRESETS.get(definition, (media["height"], media["video_bitrate"]))
        if definition == 0:
            height, vbitrate = media["height"], media["video_bitrate"]
        height = min(height, media["height"])
        width = round(media["width"] * height / media["height"] / 2) * 2
        vbitrate = int(vbitrate * random.uniform(0.9, 1.1))
        abitrate = min(media["audio_bitrate"], 64_000) if definition else media["audio_bitrate"]
        return {
            "definition": definition,
            "width": width,
            "height": height,
            "fps": media["fps"],
            "video_bitrate": vbitrate,
            "audio_bitrate": abitrate,
            "bitrate": vbitrate + abitrate,
            "duration": media["duration"],
            "size": (vbitrate + abitrate) * media["duration"] // 8,
            "container": "mp4",
            "video_codec": "h264",
            "audio_codec": "aac",
            "sampling_rate": media["sampling_rate"],
            "md5": self._hex(32),
        }

    def video(self) -> dict[str, Any]:
        """The facts of the one video a scenario is about, shared by all of its steps."""
        self.app_id_value = self.app_id()
        file_id = self.file_id()
        media = self.media()
        stream_id = self.stream_id()
        return {
            "app_id": self.app_id_value,
            "file_id": file_id,
            "file_name": self.video_title(),
            "file_url": self.media_url(file_id, "f0.mp4"),
            "cover_url": self.image_url(file_id, "cover", 0),
            "author": self.author(),
            "stream_id": stream_id,
            "source_context": self.session_context(),
            "media": media,
            "procedure_task_id": self.task_id("Procedure"),
            "transcode_task_id": self.task_id("Transcode"),
        }

    # --- composite results shared by every format's templates --------------------------------
    def play_set(self, media: dict[str, Any], file_id: str, definitions: list[int]) -> list[dict[str, Any]]:
        """Transcoded renditions with their URLs (definition 0 is the source)."""
        result = []
        for definition in definitions:
            item = self.rendition(media, int(definition))
            item["url"] = self.media_url(
                file_id, f"f{definition}.mp4" if definition < 200 else f"v.f{definition}.m3u8"
            )
            result.append(item)
        return result

    def time_offsets(self, media: dict[str, Any], count: int | None = None) -> list[int]:
        random = self.generator.random
        duration_ms = max(int(media["duration"]) * 1000, 2000)
        count = count or random.randrange(2, 5)
        step = duration_ms // (count + 1)
        return [step * (i + 1) // 1000 * 1000 for i in range(count)]

    def sprite(self, media: dict[str, Any], file_id: str, total_count: int | None) -> dict[str, Any]:
        total = total_count if total_count is not None else max(int(media["duration"]) // 10, 1)
        sheets = max((total + 99) // 100, 1)
        return {
            "total_count": total,
            "urls": [self.image_url(file_id, "imageSprite", i, "jpg") for i in range(sheets)],
            "webvtt_url": self.image_url(file_id, "imageSprite", 0, "vtt"),
            "width": 142,
            "height": 80,
        }

    def outputs(
        self, file_types: list[str], err_codes: list[int], messages: list[str] | None
    ) -> list[dict[str, Any]]:
        """Spliced/clipped outputs: a failed one (status -1 or 4) has no fileId or URL."""
        result = []
        for index, file_type in enumerate(file_types):
            code = int(err_codes[index]) if index < len(err_codes) else 0
            message = (
                messages[index] if messages and index < len(messages) else _OUTPUT_MESSAGES.get(code, "error")
            )
            file_id = self.file_id()
            name = "playlist.f6.m3u8" if file_type == "m3u8" else f"f0.{file_type}"
            result.append(
                {
                    "file_type": file_type,
                    "err_code": code,
                    "message": message,
                    "file_id": file_id if code == 0 else None,
                    "file_url": self.media_url(file_id, name) if code == 0 else None,
                }
            )
        return result

    def review(
        self,
        suggestion: str,
        segments: list[str] | None,
        status: str,
        media: dict[str, Any],
        file_id: str,
        expire_at: int,
    ) -> dict[str, Any]:
        """A Porn content review; its segments cover the video in time order."""
        random = self.generator.random
        if segments is None:
            segments = {"block": ["block", "review"], "review": ["review"], "pass": []}[suggestion]
        duration = float(media["duration"])
        bounds = sorted(round(random.uniform(0, duration), 1) for _ in range(2 * len(segments)))
        ranges = {"block": (90.0, 99.9), "review": (50.0, 89.9), "pass": (0.0, 49.9)}
        items = [
            {
                "start": bounds[2 * i],
                "end": bounds[2 * i + 1],
                "confidence": round(random.uniform(*ranges.get(s, (0.0, 100.0))), 1),
                "suggestion": s,
                "url": self.image_url(file_id, "porn", i),
                "expire": expire_at,
            }
            for i, s in enumerate(segments)
        ]
        ok = status == "SUCCESS"
        return {
            "type": "Porn",
            "status": status,
            "err_code": 0 if status != "FAIL" else 30010,
            "message": "" if status != "FAIL" else _TASK_MESSAGES[30010],
            "definition": 10,
            "confidence": round(random.uniform(*ranges[suggestion]), 1) if ok else None,
            "suggestion": suggestion if ok else None,
            "segments": items if ok else None,
        }

    def ai_results(self, kinds: list[str]) -> list[dict[str, Any]]:
        results = []
        for kind in kinds:
            item: dict[str, Any] = {
                "type": kind,
                "status": "SUCCESS",
                "err_code": 0,
                "message": "",
                "definition": 10,
            }
            if kind == "Classification":
                top, sub = self.classification()
                item["classifications"] = [
                    {"classification": top, "confidence": self.confidence(80, 99)},
                    {"classification": sub, "confidence": self.confidence(50, 80)},
                ]
            else:
                item["tags"] = [{"tag": t, "confidence": self.confidence(40, 99)} for t in self.tags(3)]
            results.append(item)
        return results

    def drm_info(self) -> dict[str, Any]:
        return {
            "definition": 10,
            "key_source": "VodBuildInKMS",
            "get_key_url": self.key_url(),
            "edk_list": [self.edk() for _ in range(self.generator.random.randrange(1, 3))],
        }

    def process_tasks(
        self,
        tasks: list[Any],
        *,
        state: str,
        media: dict[str, Any],
        file_id: str,
        file_name: str,
        failed: list[str],
        err_code: int,
        message: str | None,
        mosaic: bool,
        watermark: int,
        pull_url: str | None,
    ) -> list[dict[str, Any]]:
        """Sub-task results of a task flow in a format-neutral shape.

        While the flow is PROCESSING the first task is still running (as in the docs' sample);
        at FINISH every task has succeeded except those named in `failed`. `output` exists only
        for SUCCESS, as the docs say.
        """
        random = self.generator.random
        transcode_definitions = iter((10, 20, 30, 40, 100010, 100020, 100030))
        results = []
        for index, raw in enumerate(tasks):
            spec = raw if isinstance(raw, dict) else {"type": str(raw)}
            kind = str(spec.get("type", "Transcode"))
            status = "PROCESSING" if state == "PROCESSING" and index == 0 else "SUCCESS"
            if kind in failed:
                status = "FAIL"
            status = str(spec.get("status", status))
            code = int(spec.get("err_code", err_code if status == "FAIL" else 0))
            text = spec.get(
                "message", (message or _TASK_MESSAGES.get(code, "error")) if status == "FAIL" else ""
            )
            definition = int(
                spec.get("definition", next(transcode_definitions) if kind == "Transcode" else 10)
            )
            task_input, output = self._task_detail(
                kind, definition, media, file_id, file_name, mosaic, watermark, pull_url, random
            )
            results.append(
                {
                    "type": kind,
                    "status": status,
                    "err_code": code,
                    "message": text,
                    "definition": definition,
                    "input": task_input,
                    "output": output if status == "SUCCESS" else None,
                }
            )
        return results

    def _task_detail(
        self,
        kind: str,
        definition: int,
        media: dict[str, Any],
        file_id: str,
        file_name: str,
        mosaic: bool,
        watermark: int,
        pull_url: str | None,
        random: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        duration = int(media["duration"])
        watermarks = [random.choice((100, 110, 120))]
        if kind == "Transcode":
            mosaics = (
                [
                    {
                        "width": "10%",
                        "height": "10%",
                        "left": f"{random.randrange(0, 90)}%",
                        "top": f"{random.randrange(0, 90)}%",
                        "start": 0.0,
                        "end": float(min(duration, random.randrange(5, 60))),
                    }
                    for _ in range(random.randrange(1, 3))
                ]
                if mosaic
                else None
            )
            output = self.rendition(media, definition)
            output["url"] = self.media_url(file_id, f"f{definition}.mp4")
            return {"definition": definition, "watermark": watermark, "mosaics": mosaics}, output
        if kind == "AnimatedGraphics":
            start = random.randrange(0, max(duration - 5, 1))
            end = min(start + random.randrange(2, 6), duration)
            container = random.choice(("gif", "webp"))
            height = min(media["height"], 240)
            width = round(media["width"] * height / media["height"] / 2) * 2
            return (
                {"definition": definition, "start_time": start, "end_time": end},
                {
                    "url": self.image_url(file_id, "animatedGraphics", 0, container),
                    "container": container.upper(),
                    "fps": random.choice((5, 10, 15)),
                    "width": width,
                    "height": height,
                },
            )
        if kind == "SampleSnapshot":
            count = random.randrange(2, 6)
            return (
                {"definition": definition, "watermark_definitions": watermarks},
                {
                    "image_urls": [self.image_url(file_id, "sampleSnapshot", i, "png") for i in range(count)],
                    "sample_type": "Percent",
                    "interval": 100 // count,
                },
            )
        if kind == "SnapshotByTimeOffset":
            offsets = self.time_offsets(media)
            return (
                {"definition": definition, "time_offsets": offsets, "watermark_definitions": watermarks},
                {
                    "images": [
                        {"time_offset": t, "url": self.image_url(file_id, "snapshotByTimeOffset", i)}
                        for i, t in enumerate(offsets)
                    ]
                },
            )
        if kind == "CoverBySnapshot":
            position_type = random.choice(("Time", "Percent"))
            position = (
                random.randrange(0, 100)
                if position_type == "Percent"
                else random.randrange(0, max(duration, 1))
            )
            return (
                {
                    "definition": definition,
                    "position_type": position_type,
                    "position": position,
                    "watermark_definitions": watermarks,
                },
                {"cover_url": self.image_url(file_id, "coverBySnapshot", 0)},
            )
        if kind == "PullFile":
            return (
                {
                    "url": pull_url or self.source_url(f"{self._hex(6)}.mp4"),
                    "file_name": file_name,
                    "md5": media["md5"],
                },
                {"file_id": file_id, "file_size": media["size"], "url": self.media_url(file_id, "f0.mp4")},
            )
        if kind == "ImageSprites":
            sprite = self.sprite(media, file_id, None)
            return {"definition": definition}, sprite
        raise ValueError(f"unknown task type {kind!r}; use one of {', '.join(PROCESS_TASK_TYPES)}")

    # --- v3, PULL envelope and CDNetworks values ------------------------------------------
    # Draw-free helpers come first: v3 templates make exactly the v2 draws, in the v2 order,
    # so one seed gives both formats the same facts; v3-only values are derived, not drawn.
    def iso_before(self, moment: dt.datetime, seconds: float = 0) -> str:
        """ISO 8601 UTC time `seconds` before `moment`, as v3 prints times (no draw)."""
        earlier = moment - dt.timedelta(seconds=seconds)
        return utc_stamp(earlier)

    def iso_at(self, timestamp: int) -> str:
        """ISO 8601 UTC time of a Unix timestamp (no draw)."""
        return utc_stamp(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc))

    def class_id_for(self, class_name: str | None) -> int:
        """A stable category ID for a category name; 0 is VOD's "Other" (no draw)."""
        if not class_name or class_name == "Other":
            return 0
        return 100_000 + zlib.crc32(class_name.encode("utf-8")) % 900_000

    def probe_container(self, container: str) -> str:
        """The container as v3 MetaData prints it: ffprobe's format name (no draw)."""
        return _PROBE_CONTAINERS.get(container, container)

    def err_code_ext(self, code: int) -> str:
        """v3 ErrCodeExt for a legacy integer ErrCode; "" means success (no draw)."""
        return "" if code == 0 else _ERR_CODE_EXT.get(code, "InternalError")

    def stable_hex(self, text: str, length: int = 32) -> str:
        """Upper-case hex derived from `text`, for IDs that must follow another value (no draw)."""
        return hashlib.md5(text.encode("utf-8")).hexdigest()[:length].upper()

    def app_task_id(self, kind: str) -> str:
        """A v3 task ID prefixed with the app ID (1256768367-EditMedia-...)."""
        return f"{self.app_id_value}-{kind}-{self._hex(32)}"

    def wechat_vid(self) -> str:
        """A WeChat video ID as WeChat issues them (wxv_ and 19 digits)."""
        return f"wxv_{self.generator.random.randrange(10**18, 10**19)}"

    def event_handle(self) -> str:
        """An opaque reliable-callback EventHandle."""
        return self._hex(32)

    def request_id(self) -> str:
        """A Tencent Cloud API RequestId (a version-4 UUID)."""
        return str(uuid.UUID(int=self.generator.random.getrandbits(128), version=4))

    def cdnetworks_page(
        self,
        first: dict[str, Any],
        *,
        page_size: int,
        page_index: int,
        video_count: int,
        now: dt.datetime,
        domain: str,
        encryption_enabled: bool,
    ) -> list[dict[str, Any]]:
        """One page of a CDNetworks video list, newest first; video 0 is `first` (the upload).

        Every video is drawn from its own generator, seeded by one draw of this run plus its
        index, so a video looks the same whatever page size or page index shows it.
        """
        if not 1 <= page_size <= 50:
            raise ValueError(f"page_size must be 1-50 (CDNetworks pageSize), got {page_size}")
        if page_index < 1 or page_index * page_size >= 100_000:
            raise ValueError(
                f"page_index must be >= 1 with page_index x page_size < 100000, got {page_index}"
            )
        if video_count < 0:
            raise ValueError(f"video_count must be >= 0, got {video_count}")
        account = self.generator.random.getrandbits(64)
        start = (page_index - 1) * page_size
        page = []
        for index in range(start, min(start + page_size, video_count)):
            generator = Generator()
            generator.seed_instance(account + index)
            video = VodProvider(generator)
            spec = first if index == 0 else video._cdn_other_video()
            page.append(video._cdn_listing_item(spec, index, now, domain, encryption_enabled))
        return page

    def _cdn_other_video(self) -> dict[str, Any]:
        random = self.generator.random
        top, sub = self.classification()
        return {
            "name": self.video_title(),
            "user": random.choice(("testUser", "admin", "ops-upload")),
            "media": self.media(),
            "source_code": random.choice((1, 1, 2, 3, 11, 12)),
            "encrypt": random.choice((0, 0, 0, 1)),
            "transcode": random.choice(("done", "done", "none", "failed")),
            "description": "",
            "category": random.choice((None, top, sub)),
            "video_id": self._hex(32).upper(),
        }

    def _cdn_listing_item(
        self, spec: dict[str, Any], index: int, now: dt.datetime, domain: str, encryption_enabled: bool
    ) -> dict[str, Any]:
        random = self.generator.random
        media = spec["media"]
        live = spec["source_code"] in CDN_LIVE_SOURCES
        now_ts = int(now.timestamp())
        if index == 0:
            update_ts = now_ts
            upload_ts = now_ts - random.randrange(2, 10)
        else:
            upload_ts = now_ts - index * 21_600 - random.randrange(60, 21_600)
            update_ts = upload_ts + random.randrange(2, 15)
        create_ts = upload_ts - (media["duration"] if live else 0) - random.randrange(30, 120)
        stamp = dt.datetime.fromtimestamp(create_ts, _CHINA_TIME)
        original = {
            "clarity": 1,
            "server_type": -1 if live else 1,
            "width": media["width"],
            "height": media["height"],
            "file_size": media["size"],
        }
        resolutions = [original]
        if live:
            resolutions.insert(
                0, {**original, "clarity": -99, "file_size": media["size"] + random.randrange(1_000, 10_000)}
            )
        if spec["transcode"] == "done":
            for clarity, height in _CDN_CLARITIES:
                if height > media["height"] and clarity != _CDN_CLARITIES[0][0]:
                    break
                height = min(height, media["height"])
                width = round(media["width"] * height / media["height"] / 2) * 2
                bitrate = int(media["bitrate"] * (height / media["height"]) ** 2 * random.uniform(0.8, 1.0))
                resolutions.append(
                    {
                        "clarity": clarity,
                        "server_type": 0,
                        "width": width,
                        "height": height,
                        "file_size": bitrate * media["duration"] // 8,
                    }
                )
        states = _CDN_TRANSCODE_STATES[bool(encryption_enabled)]
        state = states[spec["transcode"]]
        if encryption_enabled and spec["transcode"] == "done" and not spec["encrypt"]:
            state = 2
        ratio = max(media["width"], media["height"]) / min(media["width"], media["height"])
        kind = "live" if live else "vod"
        return {
            "name": spec["name"],
            "id": spec["video_id"],
            "user": spec["user"],
            "encrypt": spec["encrypt"],
            "size": sum(r["file_size"] for r in resolutions),
            "duration": media["duration"],
            "create_time": create_ts,
            "upload_time": upload_ts,
            "update_time": update_ts,
            "description": spec["description"],
            "category": spec["category"],
            "image_url": f"http://{domain}//{kind}/{stamp:%Y%m}/{self._hex(32)}_{stamp:%Y%m%d%H%M%S}"
            f"/cloudv-cover/{spec['video_id']}.jpg",
            "image_ratio": 0 if abs(ratio - 16 / 9) <= abs(ratio - 4 / 3) else 1,
            "state": 1 if spec["transcode"] == "done" else 0,
            "transcode_state": state,
            "source_code": spec["source_code"],
            "resolutions": resolutions,
        }


PROCESS_TASK_TYPES = (
    "Transcode",
    "AnimatedGraphics",
    "SampleSnapshot",
    "SnapshotByTimeOffset",
    "CoverBySnapshot",
    "PullFile",
    "ImageSprites",
)
_TASK_MESSAGES = {
    30009: "source file error",
    30010: "system error or unknown error",
}
_OUTPUT_MESSAGES = {0: "", -1: "concat failed: source file error", 4: "concat failed: internal error"}

_PROBE_CONTAINERS = {
    "mp4": "mov,mp4,m4a,3gp,3g2,mj2",
    "m4a": "mov,mp4,m4a,3gp,3g2,mj2",
    "mov": "mov,mp4,m4a,3gp,3g2,mj2",
    "flv": "flv",
    "m3u8": "hls,applehttp",
    "hls": "hls,applehttp",
    "webm": "matroska,webm",
}
# Legacy ErrCode -> ErrCodeExt (VOD's video-processing error code names).
_ERR_CODE_EXT = {
    30009: "SourceFileError",
    30010: "InternalError",
    40000: "InvalidInput",
    60000: "SourceFileError",
    70000: "InternalError",
}
_CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
# CDNetworks clarity codes of transcoded renditions with their heights: FD, LD, SD, HD.
_CDN_CLARITIES = ((2, 360), (3, 480), (4, 720), (5, 1080))
# videoSourceCode values that are live recordings (listed with an extra clarity -99 rendition).
CDN_LIVE_SOURCES = (2, 6, 10)
# transcodeState by "encryption enabled" (the page has two code lists) and transcoding progress.
_CDN_TRANSCODE_STATES = {
    True: {"done": 1, "none": 5, "processing": 3, "failed": 4},
    False: {"done": 1, "none": 2, "processing": 3, "failed": 4},
}
