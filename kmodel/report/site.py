"""Write the whole report for a set of runs: pages, trace files, plot."""

from __future__ import annotations

import functools
from pathlib import Path

from kmodel.jobs.run import JobResult, Verdict
from kmodel.report.artifacts import write_traces
from kmodel.report.forked import forked_map
from kmodel.report.html import anchor, index_html, spec_html
from kmodel.report.markdown import index_markdown
from kmodel.report.matrix import derive
from kmodel.report.plot import states_plot
from kmodel.report.runner import LibraryRun
from kmodel.report.saved import RESULTS, save_results
from kmodel.report.written import replace_written

TRACE_FORMATS = ("svg", "plantuml", "mermaid", "text", "json")


def write_spec_page(outcome: JobResult, out: Path) -> list[Path]:
    """A spec's page and the files of its traces; returns their paths relative to `out`."""
    written = write_traces(outcome, out, TRACE_FORMATS)
    files = {
        contract: {fmt: path.relative_to(out) for fmt, path in paths.items()}
        for contract, paths in written.items()
    }
    page = Path(f"{outcome.job.name}.html")
    (out / page).write_text(spec_html(outcome, files), encoding="utf-8")
    return [page, *(path for paths in files.values() for path in paths.values())]


def write_report(run: LibraryRun, out: str | Path) -> Path:
    """Write ``index.html``, ``index.md``, ``states.png``, a page per spec run and
    ``results.json`` (the outcomes, for `kmodel matrix` to reuse) to `out`, and remove
    what the last report there wrote and this one does not; returns the path of
    ``index.html``. A run that stopped early says so, naming the specs it did
    not reach."""
    outcomes = run.outcomes
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Drawing the traces takes longest: one spec's page per worker.
    written = [
        path
        for paths in forked_map(functools.partial(write_spec_page, out=out), outcomes)
        for path in paths
    ]

    def link(outcome: JobResult, verdict: Verdict) -> str:
        return f"{outcome.job.name}.html#{anchor(verdict.name)}"

    rows = derive(outcomes)
    plot = None
    if outcomes:
        states_plot(outcomes, out / "states.png")
        plot = "states.png"
    index = out / "index.html"
    note = run.stopped_text()
    index.write_text(index_html(outcomes, rows, link, plot, note), encoding="utf-8")
    (out / "index.md").write_text(index_markdown(outcomes, rows, link, note), encoding="utf-8")
    save_results(outcomes, out / RESULTS)
    pages = [Path(name) for name in ("index.html", "index.md", RESULTS)]
    replace_written(out, [*pages, *([Path(plot)] if plot else []), *written])
    return index
