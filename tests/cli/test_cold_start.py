"""What a command imports: only what it uses (a cold start pays for every module it loads)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from emitter.cli import COMMAND_MODULES, load_commands
from emitter.payloads.catalog import CATALOG_FILE, resource_dir
from emitter.payloads.datacache import load_yaml
from emitter.payloads.providers.words import WORDS_FILE

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


def test_render_loads_neither_the_http_stack_nor_the_field_docs_nor_other_commands() -> None:
    templates = resource_dir("templates")
    for data in (templates / CATALOG_FILE, templates / WORDS_FILE):
        load_yaml(data)  # the cache warm, as after a first start
    report = imported("render", "upload", "--seed", "1", "--now", "2024-05-01T12:00:00Z")
    assert heavy(report["modules"]) == []
    assert not [name for name in report["modules"] if name.startswith(("yaml", "emitter.scenarios"))]
    assert report["docs_read"] is False  # documented fields are for `events show` and checks
    assert isinstance(report["modules"], list)
    commands = {name for name in report["modules"] if name.startswith("emitter.cli.")}
    assert commands == {"emitter.cli.common", "emitter.cli.offline"}


def name_of(info: Any) -> str:
    return str(info.name or info.callback.__name__.rstrip("_"))


def test_every_command_is_listed_in_one_order_whatever_loaded_first() -> None:
    app = load_commands()
    names = [name_of(info) for info in app.registered_commands]
    tools = [info for info in app.registered_commands if info.callback.__module__ == "emitter.cli.tools"]
    others = [info for info in app.registered_commands if info not in tools]
    app.registered_commands[:] = tools + others  # as if `vod-emitter schema` had run first in this process
    assert [name_of(info) for info in load_commands().registered_commands] == names
    every = {command for commands in COMMAND_MODULES.values() for command in commands}
    assert set(names) | {"events"} == every  # COMMAND_MODULES names every command (events is a group)


def test_help_loads_no_library_module() -> None:
    report = imported("--help")
    assert heavy(report["modules"]) == []
    assert isinstance(report["modules"], list)
    library = ("emitter.payloads", "emitter.scenarios", "jinja2")
    assert not [name for name in report["modules"] if name.startswith(library)]
