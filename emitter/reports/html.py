"""The HTML report: one self-contained page (no network) with summary, failures first, a timeline, bodies."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emitter._version import __version__
from emitter.outcomes import (
    AttemptFinished,
    EventFinished,
    EventRef,
    Outcome,
    RunFinished,
    RunResult,
    RunStarted,
)
from emitter.reports.files import OutputFile

if TYPE_CHECKING:
    from emitter.fuzz.engine import FuzzReport
    from emitter.load.engine import LoadReport

MAX_EVENTS = 2_000  # detailed rows; the summary counts them all
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fafafa}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:24px 0 8px}
.summary{display:flex;gap:16px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:90px}
.card b{display:block;font-size:20px}
.bad b{color:#b71c1c} .good b{color:#2e7d32}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
#timeline{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
.row{display:flex;align-items:center;height:20px}
.row .label{width:260px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;font-size:12px}
.track{position:relative;flex:1;height:14px;background:#eef1f5;border-radius:3px}
.bar{position:absolute;top:0;height:14px;min-width:3px;border-radius:3px}
.s2{background:#2e7d32} .s4{background:#ef6c00} .s5,.sx{background:#c62828} .s1,.s3{background:#1565c0}
.axis{display:flex;justify-content:space-between;font-size:11px;color:#666;margin-left:260px}
pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:6px;margin:4px 0;
  max-height:240px;overflow:auto}
details{background:#fff;border:1px solid #eee;border-radius:4px;margin:4px 0;padding:4px 8px}
summary{cursor:pointer} .failed summary{color:#b71c1c;font-weight:600}
.hist{display:flex;align-items:flex-end;gap:2px;height:120px;background:#fff;
  border:1px solid #ddd;padding:4px}
.hist div{flex:1;background:#1565c0;min-height:1px}
.hist-labels{display:flex;gap:2px;font-size:10px;color:#666} .hist-labels span{flex:1;text-align:center}
.p99{background:#90caf9;height:10px;border-radius:2px} .p50{background:#1565c0;height:10px;border-radius:2px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status_class(status: int | None) -> str:
    return f"s{status // 100}" if status is not None and 100 <= status < 600 else "sx"


@dataclass
class _Attempt:
    number: int
    start: float
    latency: float
    status: int | None
    note: str


@dataclass
class _Event:
    label: str
    event_type: str
    attempts: list[_Attempt] = field(default_factory=list)
    finished: EventFinished | None = None


def page(title: str, sections: Sequence[str]) -> str:
    """A whole page from body sections: inline CSS, no script, no external resource."""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(sections)}"
        f"<p style='color:#888;font-size:11px'>vod-emitter {_e(__version__)}</p></body></html>"
    )


def cards(items: Iterable[tuple[str, object, str]]) -> str:
    return (
        "<div class=summary>"
        + "".join(f"<div class='card {cls}'><b>{_e(value)}</b>{_e(name)}</div>" for name, value, cls in items)
        + "</div>"
    )


def histogram(counts: Sequence[int], caption: str) -> str:
    top = max(counts) if counts else 0
    bars = "".join(
        f"<div title='{_e(c)}' style='height:{(c / top * 100) if top else 0:.1f}%'></div>" for c in counts
    )
    return f"<h2>{_e(caption)}</h2><div class=hist id=histogram>{bars}</div>"


class HtmlReport:
    """Collects a run's outcomes; writes the page when closed (so it is complete, even if interrupted)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic, flag: str = "--html"):
        self.path = path
        self.out = OutputFile(path, flag)  # opened now: a bad path costs no sends
        self.clock = clock
        self.t0 = clock()
        self.started: RunStarted | None = None
        self.result: RunResult | None = None
        self.events: dict[int, _Event] = {}
        self.dropped = 0

    def handle(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunStarted):
            self.started, self.t0 = outcome, self.clock()
        elif isinstance(outcome, AttemptFinished):
            event = self._event(outcome.ref.index, self._label(outcome.ref), outcome.ref.event_type)
            if event is not None:
                end = self.clock() - self.t0
                note = str(outcome.status) if outcome.status is not None else (outcome.error or "error")
                event.attempts.append(
                    _Attempt(
                        outcome.attempt,
                        max(end - outcome.latency, 0.0),
                        outcome.latency,
                        outcome.status,
                        note,
                    )
                )
        elif isinstance(outcome, EventFinished):
            event = self._event(outcome.ref.index, self._label(outcome.ref), outcome.ref.event_type)
            if event is not None:
                event.finished = outcome
        elif isinstance(outcome, RunFinished):
            self.result = outcome.result

    def _label(self, ref: EventRef) -> str:
        several = self.started is not None and len(self.started.scenarios) > 1
        return f"{ref.scenario}: {ref.name}" if several else ref.name

    def _event(self, index: int, label: str, event_type: str) -> _Event | None:
        found = self.events.get(index)
        if found is None:
            if len(self.events) >= MAX_EVENTS:
                self.dropped += 1
                return None
            found = self.events[index] = _Event(label, event_type)
        return found

    def close(self) -> None:
        if not self.out.closed:
            self.out.write(self.render())
            self.out.close()

    def render(self) -> str:
        started, result = self.started, self.result
        title = "vod-emitter run"
        head = f"<h1>{_e(title)}</h1>"
        if started is not None:
            head += (
                f"<p>target <b>{_e(started.target)}</b> · format <b>{_e(started.format or 'scenario')}</b> · "
                f"seed <b>{started.seed}</b> · now {_e(started.now)} · {_e(', '.join(started.scenarios))}</p>"
            )
        if result is not None:
            head += (
                cards(
                    [
                        ("planned", result.planned, ""),
                        ("delivered", result.delivered, "good"),
                        ("unexpected", result.unexpected, "bad" if result.unexpected else ""),
                        ("failed", result.failed, "bad" if result.failed else ""),
                        ("filtered", result.filtered, ""),
                        ("attempts", result.attempts, ""),
                        ("seconds", f"{result.duration:.2f}", ""),
                    ]
                )
                + f"<p>{_e(result.summary())}</p>"
            )
        ordered = sorted(
            self.events.values(), key=lambda e: not (e.finished is not None and e.finished.problem)
        )
        failures = [e for e in ordered if e.finished is not None and e.finished.problem]
        sections = [head]
        if failures:
            sections.append("<h2>Failures</h2>" + "".join(self._details(e) for e in failures))
        sections.append(self._timeline(list(self.events.values())))
        sections.append("<h2>Every send</h2>" + "".join(self._details(e) for e in ordered))
        if self.dropped:
            sections.append(f"<p>{self.dropped} more attempts are counted above but not detailed.</p>")
        return page(title, sections)

    def _timeline(self, events: list[_Event]) -> str:
        span = max((a.start + a.latency for e in events for a in e.attempts), default=0.0) or 1.0
        rows = []
        for event in events:
            bars = "".join(
                f"<div class='bar {_status_class(a.status)}' title='{_e(self._tip(a))}' "
                f"style='left:{a.start / span * 100:.2f}%;width:{a.latency / span * 100:.2f}%'></div>"
                for a in event.attempts
            )
            rows.append(
                f"<div class=row><div class=label title='{_e(event.event_type)}'>{_e(event.label)}</div>"
                f"<div class=track>{bars}</div></div>"
            )
        axis = f"<div class=axis><span>0 s</span><span>{span / 2:.3f} s</span><span>{span:.3f} s</span></div>"
        return "<h2>Timeline</h2><div id=timeline>" + "".join(rows) + axis + "</div>"

    @staticmethod
    def _tip(attempt: _Attempt) -> str:
        return (
            f"attempt {attempt.number}: {attempt.note} in {attempt.latency * 1000:.1f} ms "
            f"at +{attempt.start:.3f} s"
        )

    def _details(self, event: _Event) -> str:
        done = event.finished
        attempts = ", ".join(f"#{a.number} {a.note} ({a.latency * 1000:.1f} ms)" for a in event.attempts)
        if done is None:
            what = f"{event.label} ({event.event_type}): not finished"
            return f"<details><summary>{_e(what)}</summary></details>"
        cls = " class=failed" if done.problem else " class=filtered" if done.filtered else ""
        return (
            f"<details{cls}><summary>{_e(event.label)} · {_e(event.event_type)} · {_e(done.result)} "
            f"· {_e(done.status if done.status is not None else '-')}</summary>"
            f"<p>{_e(done.reason)}</p><p>attempts: {_e(attempts or '-')}</p>"
            f"<div>sent</div><pre>{_e(done.request)}</pre><div>answered</div><pre>{_e(done.response)}</pre></details>"
        )


def fuzz_page(report: FuzzReport) -> str:
    """The page of a fuzzing run (an emitter.fuzz FuzzReport): totals, answers per kind, failures."""
    from emitter.fuzz.engine import CLASSES

    failing = len(report.findings)
    head = (
        f"<h1>vod-emitter fuzz</h1><p>target <b>{_e(report.target)}</b> · "
        f"format <b>{_e(report.format)}</b> · "
        f"profile {_e(report.profile)} · seed <b>{report.seed}</b></p>"
        + cards(
            [
                ("examples", report.examples, ""),
                ("requests", report.sent, ""),
                ("failures", failing, "bad" if failing else "good"),
                ("seconds", f"{report.duration:.1f}", ""),
            ]
        )
        + f"<p>{_e(report.summary())}</p>"
    )
    findings = "".join(
        f"<details class=failed open><summary>{_e(f.case.describe())} → "
        f"{_e(f.answer.status or f.answer.klass)}</summary>"
        f"<p>reproducer: <code>{_e(f.path or '-')}</code></p><div>answered</div>"
        f"<pre>{_e(f.answer.detail)}</pre></details>"
        for f in report.findings
    )
    kinds = sorted({k for k, _ in report.counts})
    header = "<tr><th>kind</th>" + "".join(f"<th>{_e(c)}</th>" for c in CLASSES) + "</tr>"
    rows = "".join(
        f"<tr><td>{_e(k)}</td>"
        + "".join(f"<td>{report.counts[(k, c)] or ''}</td>" for c in CLASSES)
        + "</tr>"
        for k in kinds
    )
    sections = [head]
    if findings:
        sections.append("<h2>Failures</h2>" + findings)
    sections.append(f"<h2>What the receiver answered</h2><table id=answers>{header}{rows}</table>")
    return page("vod-emitter fuzz", sections)


def load_page(report: LoadReport) -> str:
    """The page of a load run (an emitter.load LoadReport): summary, latency histogram, each second."""
    from emitter.load.stats import HISTOGRAM_EDGES, edge_label, format_latency

    stats, profile = report.stats, report.profile
    asked = f"{profile.rate:g}/s" if profile.rate is not None else f"{profile.concurrency} senders"
    verdict = "over" if report.over_error_budget else "within"
    head = (
        f"<h1>vod-emitter load</h1><p>target <b>{_e(report.target)}</b> · {_e(profile.describe())} · "
        f"{_e(', '.join(report.scenarios))} · seed <b>{report.seed}</b></p>"
        + cards(
            [
                ("rate asked", asked, ""),
                ("rate achieved", f"{report.achieved_rate:.2f}/s", ""),
                ("sent", stats.sent, ""),
                ("ok", stats.answered_total - stats.unexpected, "good"),
                ("unexpected", stats.unexpected, "bad" if stats.unexpected else ""),
                ("failed", stats.failed, "bad" if stats.failed else ""),
                ("dropped", stats.dropped, "bad" if stats.dropped else ""),
                ("verdict", f"{verdict} budget", "bad" if report.over_error_budget else "good"),
            ]
        )
        + "".join(f"<p>{_e(line)}</p>" for line in report.lines()[-1:] + report.warnings())
    )
    rows = stats.latency.rows()
    labels = [
        f"≤{edge_label(edge)}" if edge is not None else f">{edge_label(HISTOGRAM_EDGES[-1])}"
        for edge, _ in rows
    ]
    hist = histogram([count for _, count in rows], f"Latency ({stats.latency.count} answers)")
    hist += "<div class=hist-labels>" + "".join(f"<span>{_e(label)}</span>" for label in labels) + "</div>"
    top = max((second.latency.percentile(99) for second in stats.seconds), default=0.0) or 1.0
    lines = []
    for index, second in enumerate(stats.seconds):
        p50, p99 = second.latency.percentile(50), second.latency.percentile(99)
        lines.append(
            f"<tr class=second><td>{index}–{index + 1} s</td><td>{second.sent}</td><td>{second.ok}</td>"
            f"<td>{second.failed}</td><td>{_e(format_latency(p50))}</td><td>{_e(format_latency(p99))}</td>"
            f"<td style='width:40%'><div class=p99 style='width:{p99 / top * 100:.1f}%'>"
            f"<div class=p50 style='width:{(p50 / p99 * 100) if p99 else 0:.1f}%'></div></div></td></tr>"
        )
    seconds = (
        "<h2>Latency over time (by send second)</h2><table id=seconds><tr><th>second</th><th>sent</th>"
        "<th>ok</th><th>failed</th><th>p50</th><th>p99</th><th>p50 / p99</th></tr>"
        + "".join(lines)
        + "</table>"
    )
    return page("vod-emitter load", [head, hist, seconds])
