"""What a command imports: only what it uses (a cold start pays for every module it loads)."""

from __future__ import annotations

import json
import subprocess
import sys

# Heavy modules no offline command needs: the HTTP stack, the event loop, the SDK, generators.
HEAVY = ("httpx", "httptools", "asyncio", "tencentcloud", "hypothesis", "faker")

PROBE = """
import json, sys
from emitter.cli import main
sys.argv = ["vod-emitter", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
modules = sorted(sys.modules)
from emitter.payloads.catalog import load_catalog
docs_read = "by_format" in vars(next(iter(load_catalog().events.values())).fields._files)
print(json.dumps({"modules": modules, "docs_read": docs_read}), file=sys.stderr)
"""


def imported(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60, check=True
    )
    report: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


def heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return sorted({name.partition(".")[0] for name in modules} & set(HEAVY))


def test_render_loads_neither_the_http_stack_nor_the_field_docs() -> None:
    report = imported("render", "upload", "--seed", "1", "--now", "2024-05-01T12:00:00Z")
    assert heavy(report["modules"]) == []
    assert report["docs_read"] is False  # documented fields are for `events show` and checks


def test_help_loads_no_library_module() -> None:
    report = imported("--help")
    assert heavy(report["modules"]) == []
    assert isinstance(report["modules"], list)
    library = ("emitter.payloads", "emitter.scenarios", "jinja2")
    assert not [name for name in report["modules"] if name.startswith(library)]
