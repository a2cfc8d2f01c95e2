"""A small FastAPI receiver for VOD callbacks: 200 when recorded, 400 for malformed bodies."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.examples.videos import MalformedCallback, Videos


def create_app(videos: Videos | None = None) -> FastAPI:
    app = FastAPI()
    app.state.videos = videos if videos is not None else Videos()

    @app.post("/vod/callback")
    async def vod_callback(request: Request) -> JSONResponse:
        try:
            event_type = app.state.videos.handle(json.loads(await request.body()))
        except MalformedCallback as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except ValueError:  # not JSON (MalformedCallback is one too, so it comes first)
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        return JSONResponse({"received": event_type})

    return app
