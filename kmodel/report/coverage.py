"""Coverage in words: the kinds of action that fired and those that never did, and the
contracts a search or a simulation exercised (`kmodel.core.coverage`)."""

from __future__ import annotations

from kmodel.core.coverage import Coverage


def coverage_lines(coverage: Coverage, counted: str) -> list[str]:
    """The coverage report, indented for the terminal; `counted` says what a kind's
    number counts ("transitions", "times taken")."""
    fired, never = coverage.fired, coverage.never_fired
    lines = [
        f"  coverage: {len(fired)} kinds of action fired ({counted}), "
        f"{len(never)} set up but never fired"
    ]
    width = len(f"{max(fired.values(), default=0):,}")
    lines += [f"    {count:>{width},}  {kind}" for kind, count in sorted(fired.items())]
    if never:
        lines.append(
            "  ⚠ set up by some state but never fired within the bounds (a spec or a model "
            "that cannot do what was meant?):"
        )
        lines += [f"    {kind}" for kind in never]
    contracts, missed = coverage.contracts, coverage.not_exercised
    lines.append(
        f"  contracts exercised (judged where they could fail: on a change to what they "
        f"read, after a fault where faults are bounded): {len(contracts) - len(missed)} of "
        f"{len(contracts)}"
    )
    if missed:
        lines.append(f"  ⚠ never exercised, so they hold vacuously here: {', '.join(missed)}")
    return lines
