"""The HTML pages of the report: ``index.html`` and one page per spec. Every text from a spec
or a trace is escaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from urllib.parse import quote

from kmodel.core.result import Status
from kmodel.core.schema import show_value
from kmodel.jobs.run import JobResult, Verdict
from kmodel.jobs.spec import ignored_text
from kmodel.render.formats import FORMATS
from kmodel.render.narrate import narrate
from kmodel.report import reference
from kmodel.report.facts import (
    COLUMNS,
    bounds,
    changed_settings,
    explored_text,
    fault_budget,
    search_limits,
)
from kmodel.report.matrix import Cell, Row, outside_list
from kmodel.report.summaries import (
    MARKS,
    expected_text,
    status_text,
    verdict_summary,
    verdict_target,
)

# contract -> format -> path relative to the report directory
Files = dict[str, dict[str, Path]]
Link = Callable[[JobResult, Verdict], str]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1.5em; color: #1d2330; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #dde2ea; }
.lead { color: #555f70; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #d5dae3; padding: 0.4em 0.7em; vertical-align: top; text-align: left; }
th { background: #f1f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mark { text-align: center; font-weight: bold; }
td.name { overflow-wrap: anywhere; min-width: 10em; }
td.verdicts { min-width: 16em; overflow-wrap: anywhere; }
table.specs { width: 100%; table-layout: auto; }
.wide { overflow-x: auto; }
.ok { color: #237a3b; } .bad { color: #b3261e; }
table.matrix td { width: 40%; }
table.matrix th.row { width: 20%; }
td.possible { background: #fdecea; } td.notfound { background: #eaf6ec; }
.verdict { font-weight: bold; font-size: 1.05em; }
.claim { color: #555f70; font-size: 0.9em; margin-top: 0.35em; }
.explored { color: #555f70; font-size: 0.85em; }
.differs { color: #b3261e; font-weight: bold; }
code { background: #f1f4f8; padding: 0 0.25em; border-radius: 3px; }
img.trace { max-width: 100%; border: 1px solid #d5dae3; margin: 0.5em 0; }
img.plot { max-width: 100%; }
ol.steps li { margin: 0.15em 0; }
.files a { margin-right: 1em; }
nav { margin-bottom: 1em; }
summary { cursor: pointer; }
"""


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def url(path: Path | str) -> str:
    """A relative path as an escaped href value."""
    return escape(quote(Path(path).as_posix()))


def _mark(met: bool) -> str:
    return f'<span class="{"ok" if met else "bad"}">{MARKS[met]}</span>'


def _paragraphs(text: str) -> list[str]:
    return [f"<p>{escape(' '.join(p.split()))}</p>" for p in text.strip().split("\n\n") if p]


def matrix_html(rows: Sequence[Row], link: Link) -> list[str]:
    if not rows:
        return ["<p>No spec names a semantic (the <code>semantic</code> field).</p>"]
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in COLUMNS)
    out = ['<table class="matrix">', f"<tr><th>Semantic</th>{head}</tr>"]
    for row in rows:
        specs = ", ".join(
            f'<a href="{url(o.job.name + ".html")}">{escape(o.job.name)}</a>' for o in row.outcomes
        )
        out.append(
            f'<tr><th class="row">{escape(row.label)}'
            f'<details class="explored"><summary>{_specs(len(row.outcomes))}</summary>'
            f"{specs}</details></th>"
            + "".join(_cell_html(cell, link) for cell in row.cells)
            + "</tr>"
        )
    out.append("</table>")
    return out


def _specs(count: int) -> str:
    return f"{count} spec" + ("" if count == 1 else "s")


def _unmodelled(rows: Sequence[Row]) -> list[str]:
    """A note on the reference's rows no spec names yet."""
    shown = {row.semantic for row in rows}
    missing = [row for row in reference.ROWS if row.semantic not in shown]
    if not missing:
        return []
    claims = "; ".join(
        f"{row.label}: loss “{row.loss}”, duplicates “{row.duplicates}”" for row in missing
    )
    return [
        '<p class="explored">Not yet covered by a spec (claims of the reference): '
        f"{escape(claims)}.</p>"
    ]


def _cell_html(cell: Cell, link: Link) -> str:
    if cell.possible:
        outcome, verdict = cell.evidence[0]
        assert verdict.trace is not None
        steps = len(verdict.trace)
        shown = (
            f'<a href="{escape(link(outcome, verdict))}">'
            f"{escape(outcome.job.name)}: {escape(verdict.name)}</a> "
            f"violated in {steps} step{'' if steps == 1 else 's'}"
        )
        more = len(cell.evidence) - 1
        if more:
            shown += f" (and {more} more)"
        body = f'<div class="verdict bad">possible</div><div>{shown}</div>'
        css = "possible"
    elif cell.explored:
        explored = "<br>".join(f"{escape(o.job.name)}: {escape(text)}" for o, text in cell.explored)
        partial = "" if cell.complete else " (search incomplete)"
        body = (
            f'<div class="verdict ok">not found{partial}</div>'
            f'<details class="explored"><summary>explored in {_specs(len(cell.explored))}'
            f"</summary>{explored}</details>"
        )
        css = "notfound"
    else:
        body = f'<div class="verdict">not shown: no spec where {escape(cell.condition)}</div>'
        css = "notfound"
    if cell.outside:
        body += (
            f'<details class="explored"><summary>outside “{escape(cell.condition)}”, '
            f"possible in {_specs(len({o.job.name for o, _ in cell.outside}))}</summary>"
            f"{escape(outside_list(cell))}</details>"
        )
    agree = "" if cell.agrees else ' <span class="differs">differs</span>'
    claim = f'<div class="claim">reference: “{escape(cell.claim)}”{agree}</div>'
    return f'<td class="{css}">{body}{claim}</td>'


def index_html(
    outcomes: Sequence[JobResult],
    rows: Sequence[Row],
    link: Link,
    plot: str | None,
    note: str = "",
) -> str:
    """The report's first page; `note` says how the run stopped early, if it did."""
    met = sum(o.expectations_met for o in outcomes)
    seconds = sum(o.result.stats.seconds for o in outcomes)
    states = sum(o.result.stats.states for o in outcomes)
    body = [
        "<h1>kmodel verification report</h1>",
        f'<p class="lead">{len(outcomes)} specs, {states:,} states in {seconds:.1f} s of search; '
        f"expectations met in {met} of {len(outcomes)} specs {_mark(met == len(outcomes))}</p>",
        *([f'<p class="differs">{escape(note)}</p>'] if note else []),
        "<h2>Delivery semantics</h2>",
        "<p>Each cell is derived from the runs: <b>possible</b> when a spec of the row violates "
        "a loss contract (<code>no-loss</code>, <code>no-acked-loss</code>) or a duplicate "
        "contract (<code>no-duplicate-effect</code>, <code>no-duplicate-in-log</code>), linked "
        "to the counterexample; <b>not found</b> otherwise, with the bounds explored. Under "
        f"each, the claim of {escape(reference.NAME)}.</p>",
        *matrix_html(rows, link),
        *_unmodelled(rows),
        "<h2>Specs</h2>",
        '<div class="wide"><table class="specs">',
        "<tr><th>Spec</th><th>Title</th><th>Semantic</th><th>States</th><th>Seconds</th>"
        '<th>Verdicts</th><th title="expectations met">Met</th></tr>',
    ]
    for outcome in outcomes:
        job, stats = outcome.job, outcome.result.stats
        partial = "" if outcome.result.complete else " (incomplete)"
        body.append(
            f'<tr><td class="name"><a href="{url(job.name + ".html")}">{escape(job.name)}</a></td>'
            f'<td>{escape(job.title)}</td><td class="name">{escape(job.semantic)}</td>'
            f'<td class="num">{stats.states:,}{partial}</td>'
            f'<td class="num">{stats.seconds:.2f}</td>'
            f'<td class="verdicts">{_verdicts(outcome, link)}</td>'
            f'<td class="mark">{_mark(outcome.expectations_met)}</td></tr>'
        )
    body.append("</table></div>")
    if plot:
        body += [
            "<h2>States explored</h2>",
            f'<img class="plot" src="{url(plot)}" alt="States explored per spec, log scale">',
        ]
    return _page("kmodel verification report", body)


def _verdicts(outcome: JobResult, link: Link) -> str:
    """Each contract the run broke, linked to its counterexample, then the count of the rest."""
    named, rest = verdict_summary(outcome)
    shown = [
        f'<a class="bad" href="{escape(verdict_target(outcome, v, link))}">'
        f"{MARKS[False]} {escape(v.name)}</a> {escape(status_text(v))}"
        for v in named
    ]
    return "<br>".join([*shown, escape(rest)] if rest else shown)


def spec_html(outcome: JobResult, files: Files) -> str:
    """A spec's page; `files` holds the paths (relative to the report) of its traces."""
    job, result = outcome.job, outcome.result
    stats = result.stats
    body = [
        '<nav><a href="index.html">← report</a></nav>',
        f"<h1>{escape(job.title)}</h1>",
        f'<p class="lead"><code>{escape(str(job.path))}</code> · model '
        f"{escape(job.model.name)}"
        + (f" · semantic {escape(job.semantic)}" if job.semantic else "")
        + f" · expectations met {_mark(outcome.expectations_met)}</p>",
        *_paragraphs(job.description),
    ]
    if job.bounds_note.strip():
        body += ["<h2>Bounds</h2>", *_paragraphs(job.bounds_note)]
    if job.ignored:
        body.append(
            "<p>Keys of .properties files the model does not use (ignored): "
            f"{escape(ignored_text(job.ignored, most=1000))}.</p>"
        )
    body += ["<h2>Configuration</h2>", "<table>", "<tr><th>Setting</th><th>Value</th></tr>"]
    changed = changed_settings(job)
    for section, name, value in changed:
        body.append(
            f"<tr><td>{escape(section)}.{escape(name)}</td><td>{escape(show_value(value))}</td></tr>"
        )
    if not changed:
        body.append("<tr><td colspan=2>every setting at the model's default</td></tr>")
    section = "bounds" if "bounds" in job.settings else "parameters"
    zero = []
    for name, value in bounds(job).items():
        if section == "parameters" and any(n == name for _, n, _ in changed):
            continue
        if section == "bounds" and not value:
            zero.append(name)
            continue
        body.append(
            f"<tr><td>{section}.{escape(name)}</td><td>{escape(show_value(value))}</td></tr>"
        )
    if zero:
        body.append(f'<tr><td colspan=2 class="explored">0: {escape(", ".join(zero))}</td></tr>')
    for name, value in search_limits(job):
        body.append(f"<tr><td>search.{escape(name)}</td><td>{escape(show_value(value))}</td></tr>")
    body.append("</table>")
    if "bounds" in job.settings:
        body.append(f"<p>Fault budget: {fault_budget(job)}.</p>")
    coverage = result.coverage
    body += [
        "<h2>Search</h2>",
        f"<p>{escape(result.search_text)}: {stats.states:,} states, {stats.transitions:,} "
        f"transitions, depth {stats.max_depth}, {stats.seconds:.2f} s, peak "
        f"{stats.peak_memory_mb:.0f} MB — {escape(coverage)}. Explored: "
        f"{escape(explored_text(outcome))}.</p>",
        *(f'<p class="bad">{escape(note)}</p>' for note in result.notes),
        "<h2>Verdicts</h2>",
        "<table>",
        "<tr><th>Property</th><th>Kind</th><th>Verdict</th><th>Expected</th><th>Met</th>"
        "<th>Meaning</th></tr>",
    ]
    for verdict in outcome.verdicts:
        name = escape(verdict.name)
        if verdict.name in files:
            name = f'<a href="#{escape(_anchor(verdict.name))}">{name}</a>'
        css = "bad" if verdict.status in (Status.VIOLATED, Status.UNKNOWN) else ""
        body.append(
            f"<tr><td>{name}</td><td>{escape(verdict.kind.value)}</td>"
            f'<td class="{css}">{escape(status_text(verdict))}</td>'
            f"<td>{escape(expected_text(verdict))}</td>"
            f'<td class="mark">{_mark(verdict.met)}</td>'
            f"<td>{escape(verdict.description)}</td></tr>"
        )
    body.append("</table>")
    for verdict in outcome.verdicts:
        if verdict.name in files and verdict.trace is not None:
            body += _counterexample(verdict, files[verdict.name])
    return _page(f"{job.title} — kmodel", body)


def _anchor(contract: str) -> str:
    return "trace-" + "".join(c if c.isalnum() else "-" for c in contract)


def anchor(contract: str) -> str:
    return _anchor(contract)


def _counterexample(verdict: Verdict, files: dict[str, Path]) -> list[str]:
    assert verdict.trace is not None
    out = [f'<h2 id="{escape(_anchor(verdict.name))}">Counterexample: {escape(verdict.name)}</h2>']
    if verdict.description:
        out.append(f"<p><i>{escape(verdict.description)}</i></p>")
    if "svg" in files:
        out.append(
            f'<img class="trace" src="{url(files["svg"])}" '
            f'alt="Sequence diagram of the counterexample to {escape(verdict.name)}">'
        )
    lines = narrate(verdict.trace, verdict.description)
    steps, conclusion = lines[:-1], lines[-1]
    out.append('<ol class="steps">')
    for line in steps:
        text = line.split(". ", 1)[1] if ". " in line else line
        out.append(f"<li>{escape(text)}</li>")
    out += ["</ol>", f"<p>{escape(conclusion)}</p>"]
    links = [
        f'<a href="{url(path)}">{escape(FORMATS[fmt].summary)} (.{FORMATS[fmt].extension})</a>'
        for fmt, path in files.items()
        if fmt != "svg"
    ]
    if links:
        out.append(f'<p class="files">Also: {" ".join(links)}</p>')
    return out
