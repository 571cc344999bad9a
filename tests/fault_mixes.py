"""The check the random fault-mix tests share: the chosen settings hold their safety
contracts, and every fault drawn really happens."""

from __future__ import annotations

import copy

from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.kafka.model import KAFKA


def with_faults(changes: dict[str, dict], faults: list[str]) -> dict:
    """Kafka's defaults with `changes` (by section) and one of each fault drawn."""
    chosen = copy.deepcopy(KAFKA.defaults())
    for section, settings in changes.items():
        chosen[section].update(settings)
    chosen["bounds"].update(dict.fromkeys(faults, 1))
    return chosen


def check_safety_holds(chosen: dict, safety: tuple[str, ...], faults: list[str]) -> None:
    result = check_bfs(KAFKA.build(chosen))
    assert result.complete
    verdicts = {p.name: p.status for p in result.properties}
    assert {name: verdicts[name] for name in safety} == dict.fromkeys(safety, Status.HOLDS)
    witnessed = {p.name: p.status for p in result.properties if p.name.startswith("witness:")}
    assert len(witnessed) == len(faults)  # one witness per fault drawn, each reached
    assert set(witnessed.values()) == {Status.REACHED}
