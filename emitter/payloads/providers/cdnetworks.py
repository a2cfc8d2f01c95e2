"""CDNetworks Cloud VoD values: pages of the video list sent by its upload callback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emitter.payloads.providers.media import MediaProvider

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


class CdnProvider(MediaProvider):
    """Video listings of a CDNetworks account, each video from its own seeded generator."""

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
            video = type(self).seeded(account + index)
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
