"""The `kmodel` command: options in, job run, verdicts out, exit code.

Exit codes: 0 every expectation met, 1 an expectation not met, 2 bad input.
"""

from __future__ import annotations

import json
import sys

import click

from kmodel.console import ProgressDisplay
from kmodel.jobs.run import run_job
from kmodel.jobs.schema import SpecError
from kmodel.jobs.spec import load_job
from kmodel.render.summary import summary


class UsageError(click.ClickException):
    """A mistake on the command line, shown like every other input error: one paragraph
    after `kmodel: `, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"kmodel: {self.format_message()}", file=file, err=True)


def _usage_error(error: click.UsageError) -> click.ClickException:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error  # a bare `kmodel`: click shows the help
    return UsageError(" ".join(error.format_message().split()))


class Group(click.Group):
    """Click's group, with command-line mistakes reported as `UsageError`s."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _usage_error(error) from None

    def invoke(self, ctx: click.Context):
        # Parses the command's own options and arguments, and resolves its name.
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _usage_error(error) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kmodel")
def main() -> None:
    """kmodel checks message-delivery guarantees of Kafka-style pipelines."""


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model setting, e.g. --set rms=5 or --set producer.acks=1.",
)
@click.option("--engine", type=click.Choice(["bfs", "dfs"]), help="Search strategy.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Do not search deeper.")
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this much wall time.",
)
@click.option(
    "--fingerprints/--no-fingerprints",
    default=None,
    help="Keep 64-bit state hashes instead of states (less memory).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
def check(
    spec, overrides, engine, max_states, max_depth, max_seconds, fingerprints, output, quiet
) -> None:
    """Check SPEC (a TOML spec file) and report each property's verdict."""
    search = {
        "engine": engine,
        "max_states": max_states,
        "max_depth": max_depth,
        "max_seconds": max_seconds,
        "fingerprints": fingerprints,
    }
    try:
        job = load_job(spec, overrides, search)
        display = None if quiet else ProgressDisplay(job.name)
        try:
            outcome = run_job(job, display)
        finally:
            if display is not None:
                display.close()
    except SpecError as error:
        click.echo(f"kmodel: {error}", err=True)
        sys.exit(2)
    if output == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        click.echo(summary(outcome))
    sys.exit(0 if outcome.expectations_met else 1)


@main.command()
def models() -> None:
    """List the models a spec can name, with their settings."""
    from kmodel.jobs.models import MODELS

    for model in MODELS.values():
        click.echo(f"{model.name}: {model.summary}")
        for section, settings in model.sections.items():
            for setting in settings:
                click.echo(
                    f"  {section}.{setting.name} = {setting.default!r}  "
                    f"({setting.allowed()}) — {setting.help}"
                )
        click.echo()
