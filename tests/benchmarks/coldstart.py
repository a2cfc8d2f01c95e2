"""Cold start of the command line: median wall time of fresh processes, against bare Python and typer.

Each command runs N times as a subprocess (interleaved, so that a busy moment hits all alike):
`python -c pass`, a minimal typer app (its --help, and one command with one argument),
`vod-emitter --help` and `vod-emitter render upload` (its YAML data cache warm, as at every start but
the first, and turned off, as at the first start after an install or an edit of the data).

The package's bytecode is compiled first, as pip does when it installs the wheel (typer's own
was compiled when it was installed): a checkout installed in editable mode under
PYTHONDONTWRITEBYTECODE would otherwise compile every module of ours at every start, and nothing
of typer's.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import emitter
from emitter.payloads.datacache import CACHE_ENV
from tests.benchmarks.common import Row

HELP_RATIO_TARGET = 1.3
RENDER_RATIO_TARGET = 1.5
NO_CACHE = f"vod-emitter render upload ({CACHE_ENV}=off)"
PACKAGE = Path(emitter.__file__).parent  # the package the console script imports
MINIMAL_TYPER_APP = '''
import typer

app = typer.Typer()


@app.command()
def main(name: str = typer.Argument("world"), count: int = typer.Option(1)) -> None:
    """Greet someone."""
    for _ in range(count):
        print(f"hello {name}")


app()
'''


def emitter_command() -> list[str]:
    """The console script beside this interpreter (as installed), else `python -m emitter`."""
    script = Path(sys.executable).with_name("vod-emitter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "emitter"]


def _time(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def run(repeats: int = 11) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "minimal_typer_app.py"
        app.write_text(MINIMAL_TYPER_APP, encoding="utf-8")
        emitter = emitter_command()
        render = [*emitter, "render", "upload", "--seed", "1", "--now", "2024-05-01T12:00:00Z"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "minimal typer app --help": [sys.executable, str(app), "--help"],
            "minimal typer app (one command, one argument)": [sys.executable, str(app), "you"],
            "vod-emitter --help": [*emitter, "--help"],
            "vod-emitter render upload": render,
            NO_CACHE: render,
        }
        envs = {NO_CACHE: {CACHE_ENV: "off"}}
        compileall.compile_dir(PACKAGE, quiet=1)
        for name, command in commands.items():
            _time(command, envs.get(name))  # warm the file cache (and the data cache)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, command in commands.items():
                times[name].append(_time(command, envs.get(name)))
    median = {name: 1000 * statistics.median(values) for name, values in times.items()}

    def row(name: str, baseline: str, **targets: float) -> Row:
        return Row(
            "cold start",
            f"`{name}`",
            "ms",
            median[name],
            median[baseline],
            baseline,
            "lower",
            note=f"median of {repeats} runs",
            **targets,
        )

    return [
        row("vod-emitter --help", "minimal typer app --help", ratio_target=HELP_RATIO_TARGET),
        row("vod-emitter --help", "python -c pass"),
        row(
            "vod-emitter render upload",
            "minimal typer app (one command, one argument)",
            ratio_target=RENDER_RATIO_TARGET,
        ),
        row("vod-emitter render upload", "python -c pass"),
        row(NO_CACHE, "minimal typer app (one command, one argument)"),
    ]


if __name__ == "__main__":
    for result in run():
        print(
            f"{result.name:<30} {result.value:7.0f} ms  {result.baseline:7.0f} ms ({result.baseline_name})"
            f"  x{result.ratio:.2f}"
        )
