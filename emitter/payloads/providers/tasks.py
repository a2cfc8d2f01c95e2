"""Task trees: sub-task results of task flows, reviews, AI analysis, DRM, spliced outputs."""

from __future__ import annotations

import itertools
from typing import Any

from emitter.payloads.providers.ai import WIRE_REVIEW_TYPES
from emitter.payloads.providers.ids import below
from emitter.payloads.providers.media import _DOCS_TEMPLATES, _WIRE_TEMPLATES, MediaProvider

PROCESS_TASK_TYPES = (
    "Transcode",
    "AnimatedGraphics",
    "SampleSnapshot",
    "SnapshotByTimeOffset",
    "CoverBySnapshot",
    "PullFile",
    "ImageSprites",
    "AdaptiveDynamicStreaming",
)
# Task types of a v2 task flow (adaptive streaming came with v3).
V2_TASK_TYPES = PROCESS_TASK_TYPES[:-1]


_TASK_MESSAGES = {
    30009: "source file error",
    30010: "system error or unknown error",
}


_OUTPUT_MESSAGES = {0: "", -1: "concat failed: source file error", 4: "concat failed: internal error"}


_WATERMARKS = (100, 110, 120)
_ANIMATED_CONTAINERS = ("gif", "webp")
_ANIMATED_FRAME_RATES = (5, 10, 15)
_POSITION_TYPES = ("Time", "Percent")


# Legacy ErrCode -> ErrCodeExt (VOD's video-processing error code names).
_ERR_CODE_EXT = {
    30009: "SourceFileError",
    30010: "InternalError",
    40000: "InvalidInput",
    60000: "SourceFileError",
    70000: "InternalError",
}


class TaskProvider(MediaProvider):
    """Format-neutral results of processing tasks, shared by every format's templates."""

    def err_code_ext(self, code: int) -> str:
        """v3 ErrCodeExt for a legacy integer ErrCode; "" means success (no draw)."""
        return "" if code == 0 else _ERR_CODE_EXT.get(code, "InternalError")

    # --- composite results shared by every format's templates --------------------------------
    def play_set(
        self, media: dict[str, Any], file_id: str, definitions: list[int] | None
    ) -> list[dict[str, Any]]:
        """Transcoded renditions with their URLs (definition 0 is the source); by default the
        preset templates of the profile (10/20/30 in the docs, 100010/100020/100030 on the wire)."""
        if definitions is None:
            definitions = [0, *(_WIRE_TEMPLATES if self.profile == "wire" else _DOCS_TEMPLATES)[:3]]
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
            "urls": self.image_urls(file_id, "imageSprite", sheets, "jpg"),
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
        urls = self.image_urls(file_id, "porn", len(segments))
        items = [
            {
                "start": bounds[2 * i],
                "end": bounds[2 * i + 1],
                "confidence": round(random.uniform(*ranges.get(s, (0.0, 100.0))), 1),
                "suggestion": s,
                "url": urls[i],
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
        """Classification and Tag, the analyses the docs show (ai.py makes the others)."""
        results = []
        for kind in kinds:
            if kind not in ("Classification", "Tag"):
                continue
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

    def review_types(self, types: list[str] | None) -> list[str]:
        """The content-review types of a flow: Porn in the docs, a real flow's seven on the wire."""
        if types is not None:
            return list(types)
        return list(WIRE_REVIEW_TYPES) if self.profile == "wire" else ["Porn"]

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
        # more Transcode tasks than preset templates take them again (the 8th had no definition)
        transcode_definitions = itertools.cycle(
            _WIRE_TEMPLATES if self.profile == "wire" else _DOCS_TEMPLATES
        )
        results = []
        for index, raw in enumerate(tasks):
            spec = raw if isinstance(raw, dict) else None  # a task given by its type alone has none
            kind = str(raw) if spec is None else str(spec.get("type", "Transcode"))
            status = "PROCESSING" if index == 0 and state == "PROCESSING" else "SUCCESS"
            if kind in failed:
                status = "FAIL"
            # a Transcode task takes the next template even when its spec names a definition
            definition = next(transcode_definitions) if kind == "Transcode" else 10
            if spec is None:
                code = int(err_code) if status == "FAIL" else 0
                text = (message or _TASK_MESSAGES.get(code, "error")) if status == "FAIL" else ""
            else:
                status = str(spec.get("status", status))
                code = int(spec.get("err_code", err_code if status == "FAIL" else 0))
                text = spec.get(
                    "message", (message or _TASK_MESSAGES.get(code, "error")) if status == "FAIL" else ""
                )
                definition = int(spec.get("definition", definition))
            task_input, output = self._task_detail(
                kind, definition, media, file_id, file_name, mosaic, watermark, pull_url
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
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        bits = self._bits
        duration = int(media["duration"])
        watermark_definition = _WATERMARKS[below(bits, 3)]  # every task draws one, in task order
        if kind == "Transcode":
            mosaics = (
                [
                    {
                        "width": "10%",
                        "height": "10%",
                        "left": f"{below(bits, 90)}%",
                        "top": f"{below(bits, 90)}%",
                        "start": 0.0,
                        "end": float(min(duration, 5 + below(bits, 55))),
                    }
                    for _ in range(1 + below(bits, 2))
                ]
                if mosaic
                else None
            )
            output = self.rendition(media, definition)
            output["url"] = self.media_url(file_id, f"f{definition}.mp4")
            return {"definition": definition, "watermark": watermark, "mosaics": mosaics}, output
        if kind == "AnimatedGraphics":
            start = below(bits, max(duration - 5, 1))
            end = min(start + 2 + below(bits, 4), duration)
            container = _ANIMATED_CONTAINERS[below(bits, 2)]
            height = min(media["height"], 240)
            width = round(media["width"] * height / media["height"] / 2) * 2
            return (
                {"definition": definition, "start_time": start, "end_time": end},
                {
                    "url": self.image_url(file_id, "animatedGraphics", 0, container),
                    "container": container.upper(),
                    "fps": _ANIMATED_FRAME_RATES[below(bits, 3)],
                    "width": width,
                    "height": height,
                },
            )
        if kind == "SampleSnapshot":
            count = 2 + below(bits, 4)
            return (
                {"definition": definition, "watermark_definitions": [watermark_definition]},
                {
                    "image_urls": self.image_urls(file_id, "sampleSnapshot", count, "png"),
                    "sample_type": "Percent",
                    "interval": 100 // count,
                },
            )
        if kind == "SnapshotByTimeOffset":
            offsets = self.time_offsets(media)
            return (
                {
                    "definition": definition,
                    "time_offsets": offsets,
                    "watermark_definitions": [watermark_definition],
                },
                {
                    "images": [
                        {"time_offset": t, "url": url}
                        for t, url in zip(
                            offsets,
                            self.image_urls(file_id, "snapshotByTimeOffset", len(offsets)),
                            strict=True,
                        )
                    ]
                },
            )
        if kind == "CoverBySnapshot":
            position_type = _POSITION_TYPES[below(bits, 2)]
            position = below(bits, 100) if position_type == "Percent" else below(bits, max(duration, 1))
            return (
                {
                    "definition": definition,
                    "position_type": position_type,
                    "position": position,
                    "watermark_definitions": [watermark_definition],
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
        if kind == "AdaptiveDynamicStreaming":
            return (
                {"definition": definition, "watermark": watermark},
                {
                    "definition": definition,
                    "package": "HLS",
                    "drm_type": "",
                    "url": self.media_url(file_id, f"adp.{definition}.m3u8"),
                },
            )
        if kind == "ImageSprites":
            sprite = self.sprite(media, file_id, None)
            return {"definition": definition}, sprite
        raise ValueError(f"unknown task type {kind!r}; use one of {', '.join(PROCESS_TASK_TYPES)}")
