"""Consumers of a run's outcomes: console progress and table, JSON and JUnit reports, resumable journal."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol
from xml.sax.saxutils import escape, quoteattr

from emitter._version import __version__
from emitter.clock import parse_moment
from emitter.errors import UsageError
from emitter.inputs import open_regular
from emitter.outcomes import (
    AttemptFinished,
    EventFinished,
    Outcome,
    RunFinished,
    RunResult,
    RunStarted,
)

JOURNAL_VERSION = 1
TABLE_ROWS = 40


class Reporter(Protocol):
    def handle(self, outcome: Outcome) -> None: ...

    def close(self) -> None: ...


class Reporters:
    """Fans outcomes out to several reporters and closes all of them, even when one fails."""

    def __init__(self, reporters: Iterable[Reporter] = ()):
        self.reporters = list(reporters)

    def handle(self, outcome: Outcome) -> None:
        for reporter in self.reporters:
            reporter.handle(outcome)

    def close(self) -> None:
        failure: BaseException | None = None
        for reporter in self.reporters:
            try:
                reporter.close()
            except BaseException as exc:  # close the others first
                failure = failure or exc
        if failure is not None:
            raise failure


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary_record(result: RunResult) -> dict[str, Any]:
    return {
        "planned": result.planned,
        "delivered": result.delivered,
        "unexpected": result.unexpected,
        "failed": result.failed,
        "filtered": result.filtered,
        "not_sent": result.not_sent,
        "attempts": result.attempts,
        "duration_s": round(result.duration, 3),
        "interrupted": result.interrupted,
        "error": result.error,
        "exit_code": result.exit_code,
    }


def run_record(started: RunStarted) -> dict[str, Any]:
    return {
        "seed": started.seed,
        "now": started.now,
        "scenarios": list(started.scenarios),
        "format": started.format,
        "target": started.target,
        "planned": started.planned,
        "events": None if started.events is None else list(started.events),
    }


# XML 1.0 allows only these characters (NUL, ESC of ANSI colours and other controls are not among them)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 forbids written out as `\\xNN` (so the file always parses)."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


class OutputFile:
    """A text file a flag names, written safely.

    A regular file (or a new one) is written to a temporary file beside it and renamed over it
    at close, so no reader ever sees half a file; a device or pipe (/dev/stdout, /dev/full) is
    written in place. A failed write does not stop the run: the first I/O error is kept and
    raised at close as one UsageError naming the file. `in_place` (journals, read back after a
    crash) writes the file itself.
    """

    def __init__(self, path: Path, flag: str, *, mode: str = "w", in_place: bool = False):
        self.path = path
        self.flag = flag
        self.error: OSError | None = None
        real = Path(os.path.realpath(path))
        replace = not in_place and mode == "w" and (not real.exists() or real.is_file())
        self._final: Path | None = real if replace else None
        self._temp = real.with_name(f".{real.name[:200]}.{os.getpid()}.tmp") if replace else real
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
            # a lone surrogate (from a path of non-UTF-8 bytes) is written as its JSON escape, \udcff
            self.file: IO[str] = self._temp.open(mode, encoding="utf-8", errors="backslashreplace")
        except OSError as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: OSError) -> UsageError:
        return UsageError(
            f"cannot write {str(self.path)!r}: {exc.strerror or exc}",
            location=self.flag,
            hint="pick a writable path with free space",
        )

    @property
    def closed(self) -> bool:
        return self.file.closed

    def write(self, text: str) -> None:
        if self.error is None:
            try:
                self.file.write(text)
            except OSError as exc:
                self.error = exc

    def flush(self) -> None:
        if self.error is None:
            try:
                self.file.flush()
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        """Finish the file (rename it into place), or raise the first I/O error as a UsageError."""
        if self.file.closed:
            return
        try:
            self.file.close()
        except OSError as exc:
            self.error = self.error or exc
        if self.error is None and self._final is not None:
            try:
                os.replace(self._temp, self._final)
            except OSError as exc:
                self.error = exc
        if self.error is not None:
            if self._final is not None:
                with contextlib.suppress(OSError):
                    self._temp.unlink()
            raise self._failure(self.error)

    def discard(self) -> None:
        """Close without putting anything in place (a run that never started)."""
        with contextlib.suppress(OSError):
            self.file.close()
            if self._final is not None:
                self._temp.unlink()

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class JsonReport:
    """The JSON report, streamed: run header, one compact row per send, then the summary."""

    def __init__(self, path: Path):
        self.file = OutputFile(path, "--report")
        self.started = False
        self.rows = 0
        self.history: dict[int, list[str | int]] = {}
        self.finished = False

    def handle(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            header = {"tool": "vod-emitter", "version": __version__, **run_record(outcome)}
            self.file.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "events": [\n')
            self.started = True
        elif isinstance(outcome, AttemptFinished):
            self.history.setdefault(outcome.ref.index, []).append(outcome.note)
        elif isinstance(outcome, EventFinished):
            ref = outcome.ref
            row = {
                "index": ref.index,
                "scenario": ref.scenario,
                "step": ref.step,
                "label": ref.label,
                "copy": ref.copy,
                "event_type": ref.event_type,
                "result": outcome.result,
                "reason": outcome.reason,
                "attempts": outcome.attempts,
                "history": self.history.pop(ref.index, []),
                "status": outcome.status,
                "latency_ms": _ms(outcome.latency),
                "request": outcome.request,
                "response": outcome.response,
            }
            self.file.write((",\n" if self.rows else "") + json.dumps(row, ensure_ascii=False))
            self.rows += 1
        elif isinstance(outcome, RunFinished):
            self.file.write(f'\n], "summary": {json.dumps(summary_record(outcome.result))}}}\n')
            self.finished = True

    def close(self) -> None:
        if not self.file.closed:
            if not self.started:
                self.file.write(json.dumps({"tool": "vod-emitter", "version": __version__})[:-1])
                self.file.write(', "events": [')
            if not self.finished:
                self.file.write('\n], "summary": null}\n')
            self.file.close()


class JunitReport:
    """JUnit XML: one testcase per send (failures carry the reason); rows spill to a temp file."""

    def __init__(self, path: Path):
        self.path = path
        self.out = OutputFile(path, "--junit")  # opened now: a bad path costs no sends
        self.cases: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.started: RunStarted | None = None
        self.result: RunResult | None = None
        self.tests = self.failures = self.skipped = 0
        self.time = 0.0

    def handle(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            self.started = outcome
        elif isinstance(outcome, EventFinished):
            ref = outcome.ref
            self.tests += 1
            self.time += outcome.elapsed
            name = xml_text(f"{ref.index:04d} {ref.name} {ref.event_type}")
            self.cases.write(
                f"    <testcase classname={quoteattr(xml_text(ref.scenario))} name={quoteattr(name)} "
                f'time="{outcome.elapsed:.3f}"'
            )
            if outcome.ok:
                self.cases.write("/>\n")
                return
            if outcome.filtered:
                self.skipped += 1
                skipped = f"<skipped message={quoteattr(outcome.reason)}/>"
                self.cases.write(f">\n      {skipped}\n    </testcase>\n")
                return
            self.failures += 1
            details = (
                f"attempts: {outcome.attempts}\nstatus: {outcome.status}\n"
                f"request: {outcome.request}\nresponse: {outcome.response}"
            )
            reason = quoteattr(xml_text(outcome.reason))
            failure = f"<failure type={quoteattr(outcome.result)} message={reason}>"
            self.cases.write(f">\n      {failure}{escape(xml_text(details))}</failure>\n    </testcase>\n")
        elif isinstance(outcome, RunFinished):
            self.result = outcome.result

    def close(self) -> None:
        if self.cases.closed:
            return
        name = "vod-emitter"
        if self.started is not None:
            name += f" {' '.join(Path(s).stem for s in self.started.scenarios)} (seed {self.started.seed})"
        note = self.result.summary() if self.result else "the run did not finish"
        out = self.out
        try:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
            out.write(
                f'  <testsuite name={quoteattr(xml_text(name))} tests="{self.tests}" '
                f'failures="{self.failures}" errors="0" skipped="{self.skipped}" time="{self.time:.3f}">\n'
            )
            self.cases.seek(0)
            for line in self.cases:
                out.write(line)
            out.write(f"    <system-out>{escape(note)}</system-out>\n  </testsuite>\n</testsuites>\n")
        finally:
            self.cases.close()
            out.close()


class Journal:
    """JSON lines, flushed as they happen: a run header, every attempt, every event's end, the summary."""

    def __init__(
        self,
        path: Path,
        *,
        append: bool = False,
        builtin_receiver: bool = False,
        carried: frozenset[int] = frozenset(),
        options: Mapping[str, Any] | None = None,
    ):
        self.options = dict(options or {})  # the render options (profile, era...): --resume renders alike
        # written in place and flushed per record: a journal is read back after a crash
        self.file = OutputFile(path, "--journal", mode="a" if append else "w", in_place=True)
        self.ended = False
        self.builtin_receiver = builtin_receiver
        self.carried = frozenset() if append else carried  # a new journal must remember earlier runs

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def handle(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            self._write(
                {
                    "type": "run",
                    "journal": JOURNAL_VERSION,
                    **run_record(outcome),
                    "options": self.options,
                    "target": None if self.builtin_receiver else outcome.target,
                    "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                }
            )
            if self.carried:
                self._write({"type": "delivered-before", "indexes": sorted(self.carried)})
        elif isinstance(outcome, AttemptFinished):
            ref = outcome.ref
            self._write(
                {
                    "type": "attempt",
                    "index": ref.index,
                    "label": ref.label,
                    "copy": ref.copy,
                    "event_type": ref.event_type,
                    "attempt": outcome.attempt,
                    "status": outcome.status,
                    "error": outcome.error,
                    "latency_ms": _ms(outcome.latency),
                    "retry_in": outcome.retry_in,
                }
            )
        elif isinstance(outcome, EventFinished):
            self._write(
                {
                    "type": "event",
                    "index": outcome.ref.index,
                    "result": outcome.result,
                    "reason": outcome.reason,
                    "attempts": outcome.attempts,
                    "status": outcome.status,
                }
            )
        elif isinstance(outcome, RunFinished):
            self._write({"type": "end", **summary_record(outcome.result)})
            self.ended = True

    def close(self) -> None:
        """Close with an end record, even when the run stopped before its summary."""
        if not self.ended and not self.file.closed:
            self._write({"type": "end", "complete": False})
            self.ended = True
        self.file.close()


MAX_JOURNAL_LINE = 1024 * 1024  # bytes of one journal record: a longer line is not one (nor kept whole)


@dataclass
class JournalState:
    """What a journal says: the first run's header and the indexes already delivered."""

    header: dict[str, Any]
    delivered: set[int] = field(default_factory=set)


def read_journal(path: Path) -> JournalState:
    """Parse a journal for --resume; every problem is a UsageError naming the file and line.

    Read a line at a time (a journal grows with its run), each line at most MAX_JOURNAL_LINE bytes.
    """
    try:
        file = open_regular(path)
    except OSError as exc:
        raise UsageError(
            f"cannot read the journal: {exc.strerror or exc}",
            location=f"--resume {path}",
            hint="pass the file written by --journal",
        ) from None
    header: dict[str, Any] | None = None
    delivered: set[int] = set()
    cut_short: UsageError | None = None  # a bad last line is forgiven: a crash can cut it short
    with file:
        for number, line in enumerate(iter(lambda: file.readline(MAX_JOURNAL_LINE + 1), b""), 1):
            if cut_short is not None:
                raise cut_short  # it was not the last line
            if not line.strip():
                continue
            try:
                if len(line) > MAX_JOURNAL_LINE:
                    raise ValueError(f"longer than {MAX_JOURNAL_LINE} bytes")
                record = json.loads(line)
                kind = record["type"]
                if kind == "run" and header is None:
                    int(record["seed"])
                    parse_moment(str(record["now"]))
                    if not record["scenarios"] or not isinstance(record["scenarios"], list):
                        raise ValueError("no list of scenarios")
                    record["format"]
                    header = record  # only a complete header counts (a cut-short last line never is one)
                elif kind == "event" and record["result"] == "delivered":
                    delivered.add(int(record["index"]))
                elif kind == "delivered-before":
                    delivered.update(int(index) for index in record["indexes"])
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UsageError) as exc:
                error = UsageError(
                    f"line {number} is not a journal record ({exc})",
                    location=str(path),
                    hint="pass the file written by 'vod-emitter run --journal'",
                )
                if header is None:
                    raise error from None
                cut_short = error
    if header is None:
        raise UsageError(
            "no run header found",
            location=str(path),
            hint="pass the file written by 'vod-emitter run --journal'",
        )
    return JournalState(header, delivered)


RESPONSE_EXCERPT = 200
_FORMAT_NOTES = {
    "v2": "format v2 (legacy); --format v3 for accounts registered after 2019",
    "v3": "format v3 (current); --format v2 for accounts registered before 2019",
    "cdnetworks": "format cdnetworks (CDNetworks upload callback)",
}


def format_header(fmt: str | None) -> str:
    """The run header's format line: which format is sent and how to switch."""
    if fmt is None:
        return (
            "format: each scenario's own (v2 unless it names one); "
            "--format v3 for accounts registered after 2019"
        )
    return _FORMAT_NOTES.get(fmt, f"format {fmt}")


class ConsoleReport:
    """A live progress bar on stderr (only on a terminal), then a table and a summary on stdout."""

    def __init__(self, *, progress: bool | None = None, rows: int = TABLE_ROWS):
        from rich.console import Console

        self.out = Console(highlight=False, soft_wrap=False)
        if not self.out.is_terminal:
            self.out = Console(highlight=False, soft_wrap=False, width=160)  # logs and pipes: no folding
        self.err = Console(stderr=True, highlight=False)
        self.show_progress = self.err.is_terminal if progress is None else progress
        self.limit = rows
        self.rows: list[EventFinished] = []
        self.kept_failures = 0
        self.failed = 0
        self.hidden = 0
        self.progress: Any = None
        self.task: Any = None
        self.result: RunResult | None = None
        self.several = False

    def line(self, text: str) -> None:
        """A plain line on stdout (above the progress bar when one is live)."""
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        """A plain line on stderr."""
        self.err.print(text, markup=False, highlight=False, soft_wrap=True)

    def handle(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            self.several = len(outcome.scenarios) > 1
            self.note(format_header(outcome.format))
            if outcome.events is not None:
                self.note(f"events: {', '.join(outcome.events)} (other event types are filtered, not sent)")
        if isinstance(outcome, RunStarted) and self.show_progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                console=self.err,
                transient=True,
            )
            self.task = self.progress.add_task("send", total=outcome.planned, failed=0)
            self.progress.start()
        elif isinstance(outcome, EventFinished):
            self._keep(outcome)
            if self.progress is not None:
                self.progress.update(self.task, advance=1, failed=self.failed)
        elif isinstance(outcome, RunFinished):
            self.result = outcome.result
            self._stop_progress()

    def _keep(self, outcome: EventFinished) -> None:
        """Bounded memory: the first rows, plus up to as many failures after them."""
        self.failed += outcome.problem
        if len(self.rows) < self.limit or (outcome.problem and self.kept_failures < self.limit):
            self.rows.append(outcome)
            self.kept_failures += outcome.problem
        else:
            self.hidden += 1

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def table(self) -> Any:
        """Short cells that fit 80 columns; the reasons follow the table in full (see `reasons`)."""
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, expand=False)
        for name in ("#", "step", "event", "attempts", "status", "latency", "result"):
            table.add_column(
                name,
                justify="left" if name in ("step", "event", "result") else "right",
                overflow="ellipsis",
                no_wrap=name != "step",
            )
        for row in self.rows:
            table.add_row(
                str(row.ref.index),
                self._name(row),
                row.ref.event_type,
                str(row.attempts),
                "-" if row.status is None else str(row.status),
                f"{_ms(row.latency):g} ms",
                row.result,
                style="red" if row.problem else "dim" if row.filtered else None,
            )
        return table

    def _name(self, row: EventFinished) -> str:
        return f"{row.ref.scenario}/{row.ref.name}" if self.several else row.ref.name

    def reasons(self) -> list[str]:
        """One line per kept send that was not delivered as expected, or needed retries."""
        lines = []
        for row in self.rows:
            if row.reason and not row.filtered:  # the summary counts the filtered ones
                what = f"delivered {row.reason}" if row.ok else row.reason
                lines.append(f"#{row.ref.index} {self._name(row)}: {what}")
            if row.problem and row.response:  # what the receiver said, apart from what was sent
                lines.append(f"    answered: {' '.join(row.response.split())[:RESPONSE_EXCERPT]}")
        return lines

    def close(self) -> None:
        self._stop_progress()
        if self.rows:
            self.out.print(self.table())
            for line in self.reasons():
                self.out.print(line, markup=False, highlight=False, soft_wrap=True)
        if self.hidden:
            self.out.print(
                f"... {self.hidden} more sends not shown (use --report FILE.json for all)", markup=False
            )
        if self.result is not None:
            self.out.print(self.result.summary(), markup=False)
