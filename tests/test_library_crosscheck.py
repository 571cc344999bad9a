"""Every shipped spec, searched the fast way, agrees with plain breadth-first search.

The fast way is how `kmodel check` runs by default: reductions where the model
offers them, one worker per core, stopping once every verdict is settled; and
partial-order reduction, on request. Plain
is one process, no reduction, every state. Both must give the same verdict for
every contract and witness, traces of the same length and fault count, and,
where nothing was reduced and both searches were complete, the same number of
states. A representative subset runs by default; `-m slow` runs them all.

Each property's declared `reads` is checked too: judged on a state with every
other part (and every other field of the parts it reads by field) blanked out,
it must give the same verdict, so neither the memo that judges it once per
value of those parts nor partial-order reduction, which takes steps that
change none of them as invisible, can be fooled.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from kmodel.core.bfs import check_bfs
from kmodel.core.search import first_states
from kmodel.jobs.run import build_system, search_job, with_liveness
from kmodel.jobs.spec import load_job

SPECS = sorted(Path(__file__).parent.parent.joinpath("specs").glob("*.toml"))
QUICK = {
    "acks1-leader-failover",
    "alo-dedup-table-memory",
    "amo-consumer-crash-after-commit",
    "at-most-once",
    "commit-async",
    "elr-last-replica-standing",
    "eos-hanging-transaction",
    "eos-hanging-transaction-kip-890",
    "eos-original-protocol-late-write",
    "eos-zombie-without-group-fencing",
    "external-source-position-in-transaction",
    "max-in-flight-idempotent",
    "min-isr-1-unclean-election",
    "truncation-kip-279-same-leader-diverges",
    "truncation-kip-320-same-leader-matches",
    "two-phase-commit",
}
PARAMS = [
    pytest.param(spec, id=spec.stem, marks=() if spec.stem in QUICK else pytest.mark.slow)
    for spec in SPECS
]


@functools.cache
def plain(spec: Path):
    job = load_job(spec)
    system = build_system(job)
    return with_liveness(job, system, check_bfs(system))


@pytest.mark.parametrize("spec", PARAMS)
def test_fast_search_agrees_with_plain_search(spec: Path) -> None:
    reference = plain(spec)
    assert reference.complete
    fast = search_job(load_job(spec), workers=2)
    assert fast.complete or fast.stop_reason == "decided"
    for a, b in zip(reference.properties, fast.properties, strict=True):
        assert (a.name, a.status) == (b.name, b.status)
        if a.trace is not None:
            assert (len(a.trace), a.trace.faults) == (len(b.trace), b.trace.faults), a.name
    if not fast.reductions and fast.complete:
        assert fast.stats.states == reference.stats.states
        assert fast.stats.transitions == reference.stats.transitions


@pytest.mark.parametrize("spec", PARAMS)
def test_partial_order_reduction_agrees_with_plain_search(spec: Path) -> None:
    reference = plain(spec)
    job = load_job(spec)
    system = build_system(job)
    reduced = with_liveness(job, system, check_bfs(system, reduce=("por",)))
    assert reduced.complete and reduced.stats.states <= reference.stats.states
    for a, b in zip(reference.properties, reduced.properties, strict=True):
        assert (a.name, a.status) == (b.name, b.status)
        if a.trace is not None:  # made shortest again where the reduction left steps out
            assert (len(a.trace), a.trace.faults) == (len(b.trace), b.trace.faults), a.name


@pytest.mark.parametrize("spec", PARAMS)
def test_properties_read_only_what_they_declare(spec: Path) -> None:
    system = build_system(load_job(spec))
    declared = [p for p in system.properties() if p.reads is not None]
    for state in first_states(system, 3000):
        for prop in declared:
            verdict = bool(prop.condition(state))
            blanked = tuple(part if i in prop.reads else None for i, part in enumerate(state))
            assert bool(prop.condition(blanked)) == verdict, prop.name
            if prop.fields:
                assert bool(prop.condition(other_fields_blanked(system, state, prop))) == verdict


def other_fields_blanked(system, world, prop):
    """`world` with every field of an actor's state that `prop` does not declare set to
    None, for the actors whose fields it declares."""
    view = system.view(world)
    actors = list(view.actors)
    for position, fields in prop.fields:
        state = actors[position]
        actors[position] = state._replace(**{f: None for f in state._fields if f not in fields})
    return system.encode(view._replace(actors=tuple(actors)))
