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

TRACE_FORMATS = ("svg", "plantuml", "mermaid", "text", "json")


def write_spec_page(outcome: JobResult, out: Path) -> None:
    """A spec's page and the files of its traces."""
    written = write_traces(outcome, out, TRACE_FORMATS)
    files = {
        contract: {fmt: path.relative_to(out) for fmt, path in paths.items()}
        for contract, paths in written.items()
    }
    page = out / f"{outcome.job.name}.html"
    page.write_text(spec_html(outcome, files), encoding="utf-8")


def write_report(run: LibraryRun, out: str | Path) -> Path:
    """Write ``index.html``, ``index.md``, ``states.png``, a page per spec run and
    ``results.json`` (the outcomes, for `kmodel matrix` to reuse) to `out`; returns the
    path of ``index.html``. A run that stopped early says so, naming the specs it did
    not reach."""
    outcomes = run.outcomes
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Drawing the traces takes longest: one spec's page per worker.
    for _ in forked_map(functools.partial(write_spec_page, out=out), outcomes):
        pass

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
    return index
