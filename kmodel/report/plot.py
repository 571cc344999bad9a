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
    import matplotlib.pyplot as plt

    names = [o.job.name for o in outcomes]
    states = [max(o.result.stats.states, 1) for o in outcomes]
    colours = ["#3a7d44" if o.expectations_met else "#c0392b" for o in outcomes]
    width = max(6.0, 0.45 * len(outcomes) + 2)
    figure, axes = plt.subplots(figsize=(width, 4.8), dpi=110)
    try:
        bars = axes.bar(range(len(names)), states, color=colours)
        axes.set_yscale("log")
        axes.set_ylim(top=max(states, default=10) * 8)
        axes.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        axes.set_ylabel("states explored (log scale)")
        axes.set_title("States explored per spec; above each bar, the faults its bounds allow")
        for bar, outcome in zip(bars, outcomes, strict=True):
            budget = fault_budget(outcome.job)
            if "bounds" not in outcome.job.settings:
                label = "no fault bounds"
            else:
                label = f"{budget} fault" + ("" if budget == 1 else "s")
            axes.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
            )
        axes.grid(axis="y", which="major", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
