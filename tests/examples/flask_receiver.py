"""A small Flask receiver for VOD callbacks: 200 when recorded, 400 for malformed bodies."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request

from tests.examples.videos import MalformedCallback, Videos


def create_app(videos: Videos | None = None) -> Flask:
    app = Flask(__name__)
    app.extensions["videos"] = videos if videos is not None else Videos()

    @app.post("/vod/callback")
    def vod_callback() -> tuple[dict[str, Any], int]:
        try:
            event_type = app.extensions["videos"].handle(json.loads(request.get_data()))
        except MalformedCallback as exc:
            return {"error": str(exc)}, 400
        except ValueError:  # not JSON (MalformedCallback is one too, so it comes first)
            return {"error": "the body is not JSON"}, 400
        return {"received": event_type}, 200

    return app
