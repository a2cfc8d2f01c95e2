"""Where sends go: an http(s) URL, the built-in receiver, or an ASGI/WSGI app called in process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import sys
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from emitter.delivery.deliver import check_target
from emitter.delivery.transport import MAX_RESPONSE_BYTES
from emitter.errors import UsageError, hint_with_suggestion
from emitter.receiver.server import Receiver

APP_PREFIX = "app:"
IN_PROCESS_ORIGIN = "http://testserver"
APP_HINT = "write e.g. app:myproject.hooks:app (or app:MODULE:ATTRIBUTE/callback/path)"

Interface = Literal["asgi", "wsgi"]


def app_interface(app: object) -> Interface | None:
    """'asgi' for `async (scope, receive, send)`, 'wsgi' for `(environ, start_response)`, else None."""
    if inspect.isclass(app) or not callable(app):
        return None
    call = getattr(app, "__call__", None)  # noqa: B004 - the bound __call__ tells coroutine apps apart
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) == 2 and len(positional) == 2:
        return "wsgi"
    if len(required) == 3 and len(positional) == 3:
        return "asgi"  # a plain callable returning an awaitable (ASGI middleware often is one)
    return None


@dataclass(frozen=True)
class AppTarget:
    """An ASGI (FastAPI, Starlette, Django ASGI) or WSGI (Flask, Django) app, called in process.

    No socket and no server: requests go through httpx's ASGI/WSGI transports to
    `http://testserver{path}`. Timeouts apply as for a server (a WSGI app runs in a thread).

        >>> AppTarget(app, path="/vod/callback")          # doctest: +SKIP
    """

    app: Any
    path: str = "/"
    interface: Interface | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            object.__setattr__(self, "path", "/" + self.path)
        found = self.interface or app_interface(self.app)
        if found not in ("asgi", "wsgi"):
            raise _not_an_app(self.app, "the target", "target")
        object.__setattr__(self, "interface", found)
        if not self.name:
            name = f"in-process {found.upper()} {_app_name(self.app)} at {self.path}"
            object.__setattr__(self, "name", name)

    @property
    def url(self) -> str:
        return IN_PROCESS_ORIGIN + self.path

    def transport(self) -> httpx.AsyncBaseTransport:
        return ASGIAppTransport(self.app) if self.interface == "asgi" else WSGIAppTransport(self.app)


def _not_an_app(app: object, what: str, location: str) -> UsageError:
    kind = "class" if inspect.isclass(app) else f"{type(app).__name__} object"
    return UsageError(
        f"{what} ({kind}) is not an ASGI or WSGI app",
        location=location,
        hint="point at the app object, e.g. app = FastAPI() or app = Flask(__name__)",
    )


def _app_name(app: object) -> str:
    return getattr(app if inspect.isfunction(app) else type(app), "__qualname__", "?")


@dataclass(frozen=True)
class Endpoint:
    """A resolved target: the name reports show, the URL requests carry, and a transport if in process."""

    name: str
    url: str
    transport: httpx.AsyncBaseTransport | None = None


Target = str | AppTarget | Receiver | Any


def resolve_target(target: Target, *, location: str = "target") -> Endpoint:
    """An endpoint for a URL, an `app:MODULE:ATTR[/path]` spec, a Receiver, an AppTarget or an app object."""
    if isinstance(target, Endpoint):
        return target
    if isinstance(target, str):
        if target.startswith(APP_PREFIX):
            app_target = load_app(target, location=location)
            return Endpoint(app_target.name, app_target.url, app_target.transport())
        return Endpoint(target, check_target(target, location=location))
    if isinstance(target, Receiver):
        return Endpoint(target.url, target.url)
    app_target = target if isinstance(target, AppTarget) else AppTarget(target)
    return Endpoint(app_target.name, app_target.url, app_target.transport())


def load_app(spec: str, *, location: str = "target") -> AppTarget:
    """Import `app:MODULE:ATTRIBUTE[/path]` (from the current directory too, as uvicorn does)."""
    module_name, sep, rest = spec.removeprefix(APP_PREFIX).partition(":")
    attribute, slash, path = rest.partition("/")
    if not sep or not module_name or not attribute:
        raise UsageError(f"{spec!r} is not app:MODULE:ATTRIBUTE", location=location, hint=APP_HINT)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UsageError(
                f"cannot import {module_name!r}: no module named {exc.name!r}",
                location=location,
                hint="check the module path (imported from the current directory too)",
            ) from None
        raise UsageError(
            f"importing {module_name!r} failed: {exc}",
            location=location,
            hint="install what the module needs",
        ) from None
    except Exception as exc:  # the user's module raised while importing: one line, no traceback
        raise UsageError(
            f"importing {module_name!r} raised {type(exc).__name__}: {exc}",
            location=location,
            hint="fix the module so that it imports",
        ) from None
    app: Any = module
    for part in attribute.split("."):
        if not hasattr(app, part):
            names = [name for name in dir(app) if not name.startswith("_")]
            raise UsageError(
                f"{module_name!r} has no attribute {attribute!r}",
                location=location,
                hint=hint_with_suggestion(part, names, APP_HINT),
            ) from None
        app = getattr(app, part)
    if app_interface(app) is None:
        raise _not_an_app(app, f"'{module_name}:{attribute}'", location)
    name = f"{APP_PREFIX}{module_name}:{attribute}" + (f"/{path}" if slash else "")
    return AppTarget(app, "/" + path, name=name)


def _crashed(exc: Exception) -> httpx.Response:
    """What a server answers when the app raises: a 500, here naming the exception."""
    return httpx.Response(500, text=f"in-process app raised {type(exc).__name__}: {exc}")


class ASGIAppTransport(httpx.AsyncBaseTransport):
    """Calls an ASGI app as a server would (as httpx.ASGITransport does, leaner: the body is known,
    the answer is kept bounded and handed back in memory); a timed-out request leaves the app to
    finish, as a server would."""

    def __init__(self, app: Any):
        self.app = app
        self.calls: set[asyncio.Future[None]] = set()

    async def _call(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._exchange(request)
        except Exception as exc:
            return _crashed(exc)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        raw_path = url.raw_path
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": raw_path.partition(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        body = await request.aread()
        received = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []
        kept = 0
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                await complete.wait()
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers, kept
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers") or ())
            elif message["type"] == "http.response.body" and not complete.is_set():
                chunk = message.get("body", b"")
                if chunk and kept < MAX_RESPONSE_BYTES:  # what a report keeps of an answer
                    parts.append(chunk[: MAX_RESPONSE_BYTES - kept])
                    kept += len(parts[-1])
                if not message.get("more_body", False):
                    complete.set()

        await self.app(scope, receive, send)
        if status is None:
            raise RuntimeError("the app returned without starting a response")
        return _Answered(status, headers, b"".join(parts), request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The app runs in a task of its own, so that an attempt that times out ends on time even
        # when the app takes its time to stop (as with a server); the task hands the answer over
        # itself (not awaited nor shielded: one turn of the event loop less per send).
        answer: asyncio.Future[httpx.Response] = asyncio.get_running_loop().create_future()
        call = asyncio.ensure_future(self._answer(request, answer))
        self.calls.add(call)
        call.add_done_callback(self.calls.discard)
        try:
            return await answer
        except asyncio.CancelledError:
            call.cancel()
            raise

    async def _answer(self, request: httpx.Request, answer: asyncio.Future[httpx.Response]) -> None:
        try:
            response = await self._call(request)
        except BaseException:
            if not answer.done():
                answer.cancel()
            raise
        if not answer.done():
            answer.set_result(response)

    async def aclose(self) -> None:
        for call in list(self.calls):
            call.cancel()


class _Answered(httpx.Response):
    """An app's answer, whole in memory: reading it hands over the bytes (httpx's read() would walk
    its decoders and chunker for bytes it already has, as long as the app's call takes)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, request: httpx.Request):
        super().__init__(status, headers=headers, stream=httpx.ByteStream(body), request=request)
        self._body = body

    @property
    def content(self) -> bytes:
        return self._body

    def read(self) -> bytes:
        return self._body

    async def aread(self) -> bytes:
        return self._body


class WSGIAppTransport(httpx.AsyncBaseTransport):
    """httpx's WSGI transport on a daemon thread per request, so a timeout can leave a slow app behind."""

    def __init__(self, app: Any):
        self.inner = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[httpx.Response] = loop.create_future()

        def settle(response: httpx.Response) -> None:
            if not answer.done():
                answer.set_result(response)

        def call() -> None:
            try:
                response = self.inner.handle_request(request)
                content = response.read()
                result = httpx.Response(response.status_code, headers=response.headers, content=content)
            except Exception as exc:
                result = _crashed(exc)
            with contextlib.suppress(RuntimeError):  # the run ended (loop closed) while the app worked
                loop.call_soon_threadsafe(settle, result)

        threading.Thread(target=call, name="vod-emitter-wsgi", daemon=True).start()
        return await answer
