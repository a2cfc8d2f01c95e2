"""Peak memory of `vod-emitter run` for 1,000 and 100,000 events: a long run must stay flat.

The scenario is generated with `repeat:` (the events are streamed, never all held), run with
--speed 0 --concurrency 8 against the pinned sink, and the emitter process's peak RSS is read
from its own rusage (os.wait4), so each run is measured alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.coldstart import emitter_command
from tests.benchmarks.common import Row, receiver_process

RATIO_TARGET = 1.5
SMALL, LARGE = 1_000, 100_000
EVENTS = ("upload", "transcode", "sprite", "snapshot", "delete")


def scenario_text(events: int) -> str:
    share = events // len(EVENTS)
    steps = [f"  - event: {kind}\n    repeat: {share}\n" for kind in EVENTS]
    return "version: 1\ndescription: generated for the memory benchmark\nsteps:\n" + "".join(steps)


# Run the measured command from a small process: Linux counts the memory of the process that
# starts a program (at exec) into the program's peak RSS, and this suite's process is big.
_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
errors = process.stderr.read()
_, status, usage = os.wait4(process.pid, 0)
sys.stderr.buffer.write(errors)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss(events: int, url: str, folder: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one `vod-emitter run` of `events` events."""
    scenario = folder / f"repeat-{events}.yaml"
    scenario.write_text(scenario_text(events), encoding="utf-8")
    command = [
        *emitter_command(),
        "run",
        str(scenario),
        "--target",
        url,
        "--speed",
        "0",
        "--concurrency",
        "8",
        "--seed",
        "1",
        "--now",
        "2024-05-01T12:00:00Z",
    ]
    started = time.perf_counter()
    launched = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    code, kibibytes = (int(part) for part in launched.stdout.split())
    if code != 0:
        detail = launched.stderr.decode(errors="replace")[-500:]
        raise RuntimeError(f"vod-emitter run failed ({code}): {detail}")
    return kibibytes / 1024, elapsed  # Linux reports KiB


def run(large: int = LARGE) -> list[Row]:
    with tempfile.TemporaryDirectory() as name, receiver_process() as url:
        folder = Path(name)
        small_rss, _ = peak_rss(SMALL, url, folder)
        large_rss, seconds = peak_rss(large, url, folder)
    return [
        Row(
            "memory",
            f"peak RSS of `vod-emitter run`, {large:,} events",
            "MiB",
            large_rss,
            small_rss,
            f"the same, {SMALL:,} events",
            "lower",
            ratio_target=RATIO_TARGET,
            note=f"--speed 0 --concurrency 8; the long run took {seconds:.1f} s "
            f"({large / seconds:,.0f} events/s)",
        ),
    ]


if __name__ == "__main__":
    from tests.benchmarks.common import pin_self

    pin_self()
    for row in run():
        print(f"{row.name}: {row.value:.1f} MiB vs {row.baseline:.1f} MiB  x{row.ratio:.2f}  ({row.note})")
