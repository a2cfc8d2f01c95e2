"""`python -m tests.benchmarks`: the benchmark suite; prints a table and writes bench-results/latest.json.

From a checkout: `pip install -e '.[bench]'`, then `python -m tests.benchmarks` (about two minutes on
2 cores). Every figure comes with its baseline measured in the same run and the ratio; targets
are checked on the ratio (or the value) and shown as met or MISSED. Receivers run in their own
process pinned to core 0, this process and the emitter runs it starts on core 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.benchmarks.common import CHECKOUT, Row, format_value, pin_self, two_cores

SECTIONS = ("render", "delivery", "load", "delays", "coldstart", "memory", "pull")


def _sections(args: argparse.Namespace) -> dict[str, Callable[[], list[Row]]]:
    from tests.benchmarks import coldstart, delays, delivery, load, memory, pullapi, render

    quick = args.quick
    return {
        "render": lambda: render.run(seconds=0.15 if quick else 0.3),
        "delivery": lambda: delivery.run(seconds=0.5 if quick else 1.0, repeats=1 if quick else 3),
        "load": lambda: load.run(seconds=3.0 if quick else load.DURATION, rounds=1 if quick else 2),
        "delays": delays.run,
        "coldstart": lambda: coldstart.run(repeats=5 if quick else 11),
        "memory": lambda: memory.run(large=20_000 if quick else memory.LARGE),
        "pull": lambda: pullapi.run(seconds=1.0 if quick else 2.0),
    }


def table(rows: list[Row]) -> str:
    headers = ("group", "figure", "value", "baseline", "ratio", "target", "met")
    cells = []
    for row in rows:
        met = {True: "yes", False: "MISSED", None: ""}[row.met]
        cells.append(
            (
                row.group,
                row.name,
                format_value(row.value, row.unit),
                f"{format_value(row.baseline, row.unit)} ({row.baseline_name})",
                f"{row.ratio:.2f}x",
                row.target,
                met,
            )
        )
    widths = [max(len(str(line[i])) for line in [headers, *cells]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *cells]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter rounds and runs (a smoke test, noisier)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=CHECKOUT / "bench-results" / "latest.json",
        help="where to write the results (default: bench-results/latest.json)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; pick from {', '.join(SECTIONS)}")
    pinned = pin_self()
    print(
        f"vod-emitter benchmarks: {', '.join(chosen)}"
        f" ({'receivers on core 0, client on core 1' if pinned else 'not pinned: fewer than 2 cores'})",
        flush=True,
    )
    sections = _sections(args)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for name in chosen:
        began = time.perf_counter()
        print(f"  {name} ...", end="", flush=True)
        rows += sections[name]()
        timings[name] = time.perf_counter() - began
        print(f" {timings[name]:.0f} s", flush=True)
    total = time.perf_counter() - started
    print()
    print(table(rows))
    targets = [row for row in rows if row.met is not None]
    met = sum(1 for row in targets if row.met)
    print(f"\n{met} of {len(targets)} targets met; {total:.0f} s in all")
    report: dict[str, Any] = {
        "tool": "vod-emitter benchmarks",
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pinned": pinned and two_cores(),
        "quick": args.quick,
        "seconds": {**{name: round(value, 1) for name, value in timings.items()}, "total": round(total, 1)},
        "targets": {"met": met, "total": len(targets)},
        "rows": [row.to_json() for row in rows],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 1 if args.strict and met < len(targets) else 0


if __name__ == "__main__":
    sys.exit(main())
