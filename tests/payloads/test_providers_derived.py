"""The provider's derived (draw-free) wire values agree with their plain definitions."""

from __future__ import annotations

import hashlib
import random
import string
import struct

from emitter.payloads.providers import VodProvider
from emitter.payloads.providers.ids import derived_hex, sha256, source_name


def _file_ids(count: int) -> list[str]:
    rng = random.Random(14)
    return [str(rng.randrange(5_280_000_000_000_000_000, 5_290_000_000_000_000_000)) for _ in range(count)]


def test_sha256_is_hashlibs() -> None:
    for text in ("", "source:5285890784273533167", "durations:" + "ab" * 40):
        data = text.encode()
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
        assert sha256(data).digest() == hashlib.sha256(data).digest()


def test_source_name_is_the_base52_reading_of_the_derived_number() -> None:
    letters = string.ascii_uppercase + string.ascii_lowercase
    for file_id in _file_ids(300):
        number = int(derived_hex(f"source:{file_id}", 24), 16)
        expected = ""
        for _ in range(12):  # lowest digit first
            number, digit = divmod(number, 52)
            expected += letters[digit]
        source_name.cache_clear()
        assert source_name(file_id) == expected


def test_wire_durations_are_the_derived_probe_durations() -> None:
    provider = VodProvider.seeded(14)
    for seed in range(200):
        media = VodProvider.seeded(seed).media()
        wire = provider.wire_media(media)
        digest = derived_hex(f"durations:{media['md5']}:{media['duration']}", 8)
        video_offset, audio_offset = int(digest[:4], 16), int(digest[4:], 16)
        assert wire["video_duration"] == _float32(media["duration"] + video_offset / 0x10000 * 0.4)
        assert wire["audio_duration"] == _float32(wire["video_duration"] + audio_offset % 60 / 1000)
        assert wire["float_duration"] == max(wire["video_duration"], wire["audio_duration"])
        assert int(wire["float_duration"]) == media["duration"]
        assert {key: wire[key] for key in media} == media


def _float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def test_image_urls_are_image_url_of_each_index() -> None:
    provider = VodProvider.seeded(14)
    facts = provider.video()
    for profile in ("docs", "wire"):
        provider.profile = profile
        for file_id in (facts["file_id"], *_file_ids(3)):
            for kind, ext in (
                ("sampleSnapshot", "png"),
                ("imageSprite", "jpg"),
                ("porn", "jpg"),
                ("x", "webp"),
            ):
                for count in range(13):
                    expected = [provider.image_url(file_id, kind, index, ext) for index in range(count)]
                    assert provider.image_urls(file_id, kind, count, ext) == expected
