"""AI results of a task flow beyond the docs' Porn/Classification/Tag: every review, analysis and
recognition type of the SDK, v3-shaped, each drawn from its own derived generator."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from emitter.clock import utc_stamp
from emitter.payloads.providers.ids import SeededRandom, derived_hex
from emitter.payloads.providers.media import MediaProvider

# AiContentReviewResult's types, in the SDK's order; the first seven are a real task flow's.
REVIEW_TYPES = (
    "Porn",
    "Terrorism",
    "Political",
    "Porn.Asr",
    "Porn.Ocr",
    "Political.Asr",
    "Political.Ocr",
    "Terrorism.Ocr",
    "Prohibited.Asr",
    "Prohibited.Ocr",
)
WIRE_REVIEW_TYPES = REVIEW_TYPES[:7]
ANALYSIS_TYPES = ("Classification", "Cover", "Tag", "FrameTag", "Highlight")
RECOGNITION_TYPES = (
    "HeadTail",
    "Segment",
    "Face",
    "AsrWords",
    "AsrFullText",
    "AsrTranslate",
    "OcrWords",
    "OcrFullText",
    "Object",
)
_LABELS = {
    "Porn": ("porn", "vulgar", "sexy"),
    "Terrorism": ("guns", "crowd", "bloody", "police", "banners"),
    "Political": ("politician", "violation_photo", "entertainment"),
}
_KEYWORDS = ("sample", "keyword", "promo", "contact", "weixin")
_PHRASES = (
    ("欢迎收看本期节目", "Welcome to this episode"),
    ("今天我们来聊一聊", "Today let's talk about"),
    ("感谢大家的观看", "Thanks for watching"),
    ("记得点赞关注", "Remember to like and follow"),
)
_FACES = ("Lin Wei", "Alice Chen", "Zhang San", "Kenji Sato")
_OBJECTS = ("car", "cat", "dog", "cup", "laptop", "bicycle")
_SUGGESTION_RANGES = {"block": (90.0, 99.9), "review": (50.0, 89.9), "pass": (0.0, 49.9)}


def _confidence(rng: random.Random) -> float:
    return round(rng.uniform(60, 99), 3)


def _segments(
    rng: random.Random, spans: list[tuple[float, float]], *, area: bool = True
) -> list[dict[str, Any]]:
    """Time segments; seen in a picture (area: its coordinates) or heard (no area)."""
    items: list[dict[str, Any]] = [
        {"StartTimeOffset": s, "EndTimeOffset": e, "Confidence": _confidence(rng)} for s, e in spans
    ]
    for item in items if area else ():
        item["AreaCoordSet"] = []
    return items


def task_key(kind: str) -> str:
    """The result object's key for a type: Porn.Asr -> PornAsrTask."""
    return kind.replace(".", "") + "Task"


class AiProvider(MediaProvider):
    """Drawn from a generator derived from the file and the type, not from the run's: the docs'
    bytes and the v2/v3 agreement stay as they were, and one seed replays them exactly."""

    def _side(self, file_id: str, kind: str) -> random.Random:
        return SeededRandom(int(derived_hex(f"ai:{file_id}:{kind}", 16), 16))

    def _state(self, status: str, now: dt.datetime, took: float, times: bool) -> dict[str, Any]:
        state: dict[str, Any] = {
            "Status": status,
            "ErrCodeExt": "" if status != "FAIL" else "InternalError",
            "ErrCode": 0 if status != "FAIL" else 30010,
            "Message": "SUCCESS"
            if status == "SUCCESS"
            else ("" if status == "PROCESSING" else "system error"),
            "Progress": 0 if status == "PROCESSING" else 100,
        }
        if times:
            state["BeginProcessTime"] = utc_stamp(now - dt.timedelta(seconds=took))
            if status != "PROCESSING":
                state["FinishTime"] = utc_stamp(now)
        return state

    def _spans(self, rng: random.Random, duration: float, count: int) -> list[tuple[float, float]]:
        bounds = sorted(round(rng.uniform(0, max(duration, 1.0)), 1) for _ in range(2 * count))
        return [(bounds[2 * i], bounds[2 * i + 1]) for i in range(count)]

    def review_results(
        self,
        types: list[str],
        *,
        status: str,
        media: dict[str, Any],
        file_id: str,
        expire_at: int,
    ) -> list[dict[str, Any]]:
        """Content-review items other than Porn (which the templates draw as the docs show):
        a flow that reviews several types finds nothing in the others (pass)."""
        items = []
        for kind in types:
            if kind == "Porn":
                continue
            if kind not in REVIEW_TYPES:
                raise ValueError(f"unknown review type {kind!r}; use one of {', '.join(REVIEW_TYPES)}")
            task: dict[str, Any] = {
                **self._state(status, self._now_for(expire_at), 0, times=False),
                "Input": {"Definition": 10},
            }
            if status == "SUCCESS":  # only a result draws
                rng = self._side(file_id, kind)
                confidence = round(rng.uniform(*_SUGGESTION_RANGES["pass"]), 1)
                output: dict[str, Any] = {"Confidence": confidence, "Suggestion": "pass", "SegmentSet": []}
                base = kind.split(".")[0]
                if "." not in kind:
                    output["Label"] = rng.choice(_LABELS[base])
                task["Output"] = output
            items.append({"Type": kind, task_key(kind): task})
        return items

    def _now_for(self, expire_at: int) -> dt.datetime:
        # review picture URLs expire 12 h after the post (the templates pass ts + 43200)
        return dt.datetime.fromtimestamp(expire_at - 43200, dt.timezone.utc)

    def analysis_results(
        self, types: list[str], *, media: dict[str, Any], file_id: str, now: dt.datetime, took: float
    ) -> list[dict[str, Any]]:
        """AI analysis items other than Classification and Tag (which the templates draw)."""
        items = []
        duration = float(media["duration"])
        for kind in types:
            if kind in ("Classification", "Tag"):
                continue
            if kind not in ANALYSIS_TYPES:
                raise ValueError(f"unknown analysis type {kind!r}; use one of {', '.join(ANALYSIS_TYPES)}")
            rng = self._side(file_id, kind)
            if kind == "Cover":
                output: dict[str, Any] = {
                    "CoverSet": [
                        {
                            "CoverUrl": self.image_url(file_id, "aiAnalysisCover", i),
                            "Confidence": round(rng.uniform(60, 99), 3),
                        }
                        for i in range(rng.randrange(1, 4))
                    ]
                }
            elif kind == "FrameTag":
                output = {
                    "SegmentSet": [
                        {
                            "StartTimeOffset": start,
                            "EndTimeOffset": end,
                            "TagSet": [
                                {"Tag": tag, "CategorySet": [], "Confidence": round(rng.uniform(40, 99), 3)}
                                for tag in rng.sample(_OBJECTS, 2)
                            ],
                        }
                        for start, end in self._spans(rng, duration, rng.randrange(1, 4))
                    ]
                }
            else:  # Highlight
                spans = self._spans(rng, duration, rng.randrange(1, 3))
                output = {
                    "HighlightSet": [
                        {
                            "HighlightUrl": self.media_url(file_id, f"highlight_{i}.mp4"),
                            "CovImgUrl": self.image_url(file_id, "highlightCover", i),
                            "Confidence": round(rng.uniform(60, 99), 3),
                            "Duration": round(end - start, 1),
                            "SegmentSet": [
                                {
                                    "Confidence": round(rng.uniform(60, 99), 3),
                                    "StartTimeOffset": start,
                                    "EndTimeOffset": end,
                                }
                            ],
                        }
                        for i, (start, end) in enumerate(spans)
                    ]
                }
            task = {
                **self._state("SUCCESS", now, took, times=True),
                "Input": {"Definition": 10},
                "Output": output,
            }
            items.append({"Type": kind, task_key(kind): task})
        return items

    def recognition_results(
        self, types: list[str], *, media: dict[str, Any], file_id: str, now: dt.datetime, took: float
    ) -> list[dict[str, Any]]:
        """AI recognition items (v3 only: the v2 docs have no recognition list)."""
        items = []
        duration = float(media["duration"])
        for kind in types:
            if kind not in RECOGNITION_TYPES:
                raise ValueError(
                    f"unknown recognition type {kind!r}; use one of {', '.join(RECOGNITION_TYPES)}"
                )
            rng = self._side(file_id, kind)
            spans = self._spans(rng, duration, rng.randrange(1, 4))

            if kind == "HeadTail":
                output: dict[str, Any] = {
                    "HeadConfidence": _confidence(rng),
                    "HeadTimeOffset": round(rng.uniform(2, 10), 1),
                    "TailConfidence": _confidence(rng),
                    "TailTimeOffset": round(max(duration - rng.uniform(2, 10), 0), 1),
                }
            elif kind == "Segment":
                output = {
                    "SegmentSet": [
                        {
                            "FileId": file_id,
                            "SegmentUrl": self.media_url(file_id, f"segment_{i}.mp4"),
                            "Confidence": _confidence(rng),
                            "StartTimeOffset": s,
                            "EndTimeOffset": e,
                            "CovImgUrl": self.image_url(file_id, "segmentCover", i),
                            "SpecialInfo": "",
                        }
                        for i, (s, e) in enumerate(spans)
                    ]
                }
            elif kind == "Face":
                output = {
                    "ResultSet": [
                        {
                            "Id": str(rng.randrange(10**6, 10**7)),
                            "Type": "Default",
                            "Name": rng.choice(_FACES),
                            "SegmentSet": _segments(rng, spans),
                        }
                    ]
                }
            elif kind in ("AsrWords", "OcrWords"):
                heard = _segments(rng, spans, area=kind == "OcrWords")
                output = {"ResultSet": [{"Word": rng.choice(_KEYWORDS), "SegmentSet": heard}]}
            elif kind == "Object":
                output = {"ResultSet": [{"Name": rng.choice(_OBJECTS), "SegmentSet": _segments(rng, spans)}]}
            elif kind == "OcrFullText":
                output = {
                    "SegmentSet": [
                        {
                            "StartTimeOffset": s,
                            "EndTimeOffset": e,
                            "TextSet": [
                                {
                                    "Confidence": _confidence(rng),
                                    "AreaCoordSet": [],
                                    "Text": rng.choice(_PHRASES)[0],
                                }
                            ],
                        }
                        for s, e in spans
                    ]
                }
            else:  # AsrFullText, AsrTranslate
                rows = []
                for s, e in spans:
                    text, translation = rng.choice(_PHRASES)
                    row: dict[str, Any] = {
                        "Confidence": _confidence(rng),
                        "StartTimeOffset": s,
                        "EndTimeOffset": e,
                        "Text": text,
                    }
                    if kind == "AsrTranslate":
                        row["Translation"] = translation
                    rows.append(row)
                output = {"SegmentSet": rows}
                if kind == "AsrFullText":
                    output["SubtitleUrl"] = self.media_url(file_id, "subtitle.vtt")
            task = {
                **self._state("SUCCESS", now, took, times=True),
                "Input": {"Definition": 10},
                "Output": output,
            }
            items.append({"Type": kind, task_key(kind): task})
        return items
