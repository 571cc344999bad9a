"""The plot of states explored per spec, each bar annotated with the bounds' fault budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kmodel.jobs.run import JobResult
from kmodel.render.mpl import text_as_written
from kmodel.report.facts import fault_budget


def states_plot(outcomes: Sequence[JobResult], path: str | Path) -> Path:
    """A bar chart (log scale) of the states each spec explored, written as PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    with text_as_written():
        return _plot(outcomes, Path(path))


def _plot(outcomes: Sequence[JobResult], path: Path) -> Path:
    """One horizontal bar per spec, top to bottom in the report's order, so that every
    name stays readable however many specs there are."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = [o.job.name for o in outcomes]
    states = [max(o.result.stats.states, 1) for o in outcomes]
    colours = ["#3a7d44" if o.expectations_met else "#c0392b" for o in outcomes]
    height = max(3.0, 0.2 * len(outcomes) + 1.6)
    figure, axes = plt.subplots(figsize=(9.0, height), dpi=110)
    try:
        rows = range(len(names))
        bars = axes.barh(rows, states, color=colours, height=0.7)
        axes.set_xscale("log")
        # Plain numbers: the text is drawn as written, so no mathtext powers of ten.
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.set_xlim(right=max(states, default=10) * 60)  # room for the labels
        axes.set_yticks(rows, names, fontsize=7)
        axes.set_ylim(len(names) - 0.5, -0.5)  # the first spec on top
        axes.set_xlabel("states explored (log scale)")
        axes.set_title(
            "States explored per spec (red: expectations not met);\n"
            "after each bar, the faults its bounds allow",
            fontsize=10,
            loc="left",
        )
        for bar, outcome in zip(bars, outcomes, strict=True):
            axes.annotate(
                _budget_label(outcome),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=6.5,
            )
        axes.grid(axis="x", which="major", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path


def _budget_label(outcome: JobResult) -> str:
    if "bounds" not in outcome.job.settings:
        return "no fault bounds"
    budget = fault_budget(outcome.job)
    return f"{budget} fault" + ("" if budget == 1 else "s")
