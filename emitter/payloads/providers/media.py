"""Media facts: the scenario's video, its metadata, renditions, titles and authors."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from emitter.payloads.providers.ids import (
    IdsProvider,
    below,
    docs_image_url,
    docs_media_url,
    sha256,
    wire_image_url,
    wire_media_url,
)
from emitter.payloads.providers.words import localized, words

_FLOAT32 = struct.Struct("f")
_TWO_UINT16 = struct.Struct(">HH")  # two big-endian 16-bit numbers
_pack_float32, _unpack_float32 = _FLOAT32.pack, _FLOAT32.unpack


def _float32(value: float) -> float:
    """A duration as the media probe reports it: a float32 printed as a double (98.66159057617188)."""
    return _unpack_float32(_pack_float32(value))[0]  # type: ignore[no-any-return]


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
    100210: (360, 256_000),
    100220: (540, 512_000),
    100230: (720, 1_024_000),
    100240: (1080, 2_500_000),
}


# Transcoding templates a task flow's Transcode sub-tasks use, in order: the docs' samples use
# 10/20/30/40; production's preset family is 1000x0 (MP4) then 1002x0 (HLS).
_DOCS_TEMPLATES = (10, 20, 30, 40, 100010, 100020, 100030)
_WIRE_TEMPLATES = (100010, 100020, 100030, 100040, 100210, 100220, 100230)
# On the wire a template of production's family stands for the docs' one at the same place,
# so one seed gives both profiles renditions of the same size.
_DOCS_PRESET_OF = dict(zip(_WIRE_TEMPLATES, _DOCS_TEMPLATES, strict=True))
# TRANSCODE_PRESETS on the wire: a wire template's rendition is the size of the docs' one
_WIRE_PRESETS = {
    definition: TRANSCODE_PRESETS[_DOCS_PRESET_OF.get(definition, definition)]
    for definition in (*TRANSCODE_PRESETS, *_DOCS_PRESET_OF)
}

_AUDIO_BITRATES = (48_000, 64_000, 96_000, 128_000)
_FRAME_RATES = (24, 25, 30)
_SAMPLING_RATES = (44_100, 48_000)

_PROBE_CONTAINERS = {
    "mp4": "mov,mp4,m4a,3gp,3g2,mj2",
    "m4a": "mov,mp4,m4a,3gp,3g2,mj2",
    "mov": "mov,mp4,m4a,3gp,3g2,mj2",
    "flv": "flv",
    "m3u8": "hls,applehttp",
    "hls": "hls,applehttp",
    "webm": "matroska,webm",
}


class MediaProvider(IdsProvider):
    """The video of a run and the words that describe it."""

    # faker's generator of the run's `locale` option: names, titles and authors in that language
    _localized: Any = None

    def __init__(self, generator: Any, *, locale: str | None = None, seed: int = 0) -> None:
        super().__init__(generator)
        if locale:
            self._localized = localized(locale, seed)

    # --- words ------------------------------------------------------------------------------
    def video_title(self) -> str:
        if self._localized is not None:
            return str(self._localized.sentence(nb_words=3, variable_nb_words=False)).rstrip(".。")
        bits, known = self._bits, words()
        if self.generator.random.random() < 0.2:
            return known.titles_cjk[below(bits, len(known.titles_cjk))]
        first = known.title_words_a[below(bits, len(known.title_words_a))]
        return f"{first} {known.title_words_b[below(bits, len(known.title_words_b))]}"

    def author(self) -> str:
        if self._localized is not None:
            return str(self._localized.name())
        authors = words().authors
        return authors[below(self._bits, len(authors))]

    def session_context(self) -> str:
        bits, tags = self._bits, words().tags
        user = 10_000 + below(bits, 99_989_999)
        return f'{{"userId":{user},"biz":"{tags[below(bits, len(tags))]}"}}'

    def classification(self) -> tuple[str, str]:
        top, subs = self.generator.random.choice(words().classes)
        return top, self.generator.random.choice(subs)

    def tags(self, count: int) -> list[str]:
        return list(self.generator.random.sample(words().tags, count))

    def confidence(self, low: float = 50.0, high: float = 100.0) -> float:
        return round(float(self.generator.random.uniform(low, high)), 3)

    def class_id_for(self, class_name: str | None) -> int:
        """A stable category ID for a category name; 0 is VOD's "Other" (no draw)."""
        if not class_name or class_name == "Other":
            return 0
        return 100_000 + zlib.crc32(class_name.encode("utf-8")) % 900_000

    def created_ago(self, media: dict[str, Any]) -> float:
        """Seconds before `now` a file was created (no draw): 2 in docs (the documentation's
        examples); on the wire before any task on it began (the longest, ReduceMediaBitrate,
        takes a third of the duration, at least 20 s), so BeginProcessTime follows CreateTime."""
        if self.profile != "wire":
            return 2
        return 2 + max(float(media.get("duration") or 0) // 3, 20) + 30

    def probe_container(self, container: str) -> str:
        """The container as v3 MetaData prints it: ffprobe's format name (no draw)."""
        return _PROBE_CONTAINERS.get(container, container)

    # --- media ------------------------------------------------------------------------------
    def media(self) -> dict[str, Any]:
        """Metadata of one video whose numbers agree: size = bitrate x duration, streams add up."""
        bits = self._bits
        width, height, vbitrate = _RESOLUTIONS[below(bits, len(_RESOLUTIONS))]
        vbitrate = int(vbitrate * self.generator.random.uniform(0.85, 1.15))
        abitrate = _AUDIO_BITRATES[below(bits, len(_AUDIO_BITRATES))]
        duration = 8 + below(bits, 3592)
        return {
            "width": width,
            "height": height,
            "fps": _FRAME_RATES[below(bits, len(_FRAME_RATES))],
            "video_bitrate": vbitrate,
            "audio_bitrate": abitrate,
            "bitrate": vbitrate + abitrate,
            "duration": duration,
            "size": (vbitrate + abitrate) * duration // 8,
            "container": "mp4",
            "video_codec": "h264",
            "audio_codec": "aac",
            "sampling_rate": _SAMPLING_RATES[below(bits, len(_SAMPLING_RATES))],
            "rotate": 0,
            "md5": "%032x" % bits(128),  # noqa: UP031 (self.md5(), without its call)
        }

    def rendition(self, media: dict[str, Any], definition: int) -> dict[str, Any]:
        """A transcoded output of `media` at a preset `definition`, aspect ratio kept."""
        source_height = media["height"]
        presets = _WIRE_PRESETS if self.profile == "wire" else TRANSCODE_PRESETS
        preset = presets.get(definition) if definition else None
        height, vbitrate = (source_height, media["video_bitrate"]) if preset is None else preset
        height = min(height, source_height)
        width = round(media["width"] * height / source_height / 2) * 2
        vbitrate = int(vbitrate * self.generator.random.uniform(0.9, 1.1))
        abitrate = min(media["audio_bitrate"], 64_000) if definition else media["audio_bitrate"]
        duration = media["duration"]
        item = {
            "definition": definition,
            "width": width,
            "height": height,
            "fps": media["fps"],
            "video_bitrate": vbitrate,
            "audio_bitrate": abitrate,
            "bitrate": vbitrate + abitrate,
            "duration": duration,
            "size": (vbitrate + abitrate) * duration // 8,
            "container": "mp4",
            "video_codec": "h264",
            "audio_codec": "aac",
            "sampling_rate": media["sampling_rate"],
            "md5": "%032x" % self._bits(128),  # noqa: UP031 (self.md5(), without its call)
        }
        if "float_duration" in media:  # the probe finds an output a few ms off its source
            item["float_duration"] = _float32(media["float_duration"] + (definition % 7 - 3) / 1000)
        return item

    def wire_media(self, media: dict[str, Any]) -> dict[str, Any]:
        """`media` with the probe's float durations (audio and video streams differ by some ms), derived.

        The integer `duration` stays (v2's `duration` is its floor), so sizes agree with docs.
        """
        if "float_duration" in media:
            return media
        # the two numbers of derived_hex(f"durations:{md5}:{duration}", 8): the digest's 4 hex each
        digest = sha256(f"durations:{media.get('md5', '')}:{media['duration']}".encode()).digest()
        video_offset, audio_offset = _TWO_UINT16.unpack_from(digest)
        # the docs' integer duration is both the floor and the rounding of the probe's
        video = _float32(int(media["duration"]) + video_offset / 0x10000 * 0.4)
        audio = _float32(video + audio_offset % 60 / 1000)
        return {
            **media,
            "float_duration": audio,  # the longer stream's: audio never ends before video
            "video_duration": video,
            "audio_duration": audio,
        }

    # the facts wire_facts changes (the others are the docs ones): a step needing none of them
    # renders from the docs facts, and the session derives the wire ones only when one is needed
    WIRE_FACTS = frozenset({"file_url", "cover_url", "media", "procedure_task_id"})

    def wire_facts(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The same video as production shapes it: source name, output folder, TaskIds, durations."""
        file_id, app = facts["file_id"], self.app_id_value
        wire = facts.copy()
        wire["file_url"] = wire_media_url(app, file_id, "f0.mp4")
        wire["cover_url"] = wire_image_url(app, file_id, "coverBySnapshot", 0)
        wire["media"] = self.wire_media(facts["media"])
        wire["procedure_task_id"] = self.wire_task_id(facts["procedure_task_id"])
        return wire

    def video(self) -> dict[str, Any]:
        """The facts of the one video a scenario is about, shared by all of its steps (the docs
        shape: wire_facts derives production's)."""
        app = self.app_id_value = self.app_id()
        file_id = self.file_id()
        media = self.media()
        stream_id = self.stream_id()
        return {
            "app_id": app,
            "file_id": file_id,
            "file_name": self.video_title(),
            "file_url": docs_media_url(app, file_id, "f0.mp4"),
            "cover_url": docs_image_url(app, file_id, "cover", 0),
            "author": self.author(),
            "stream_id": stream_id,
            "source_context": self.session_context(),
            "media": media,
            "procedure_task_id": self.task_id("Procedure"),
            "transcode_task_id": self.task_id("Transcode"),
        }
