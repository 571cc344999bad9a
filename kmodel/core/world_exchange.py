"""Worlds on their way between the processes of a parallel search.

A world is a tuple of ids interned by one process (`kmodel.core.world`), and
another process numbers the same parts differently. So a world travels as
its sender's ids, together with the values behind the ids the receiver has
not been sent before; the receiver interns those values and translates.
Each part is sent once per pair of processes, so after the first levels a
world costs a handful of integers on the wire.
"""

from __future__ import annotations

import operator
from itertools import chain
from typing import TYPE_CHECKING, Any

from kmodel.core.system import Exchange

if TYPE_CHECKING:
    from kmodel.core.world import ActorSystem, World

MESSAGES, SLOTS, NETS, FAULTS = range(4)  # the kinds of interned parts


class WorldExchange(Exchange["World"]):
    """Packs and unpacks worlds for one process, remembering what each peer knows."""

    def __init__(self, system: ActorSystem) -> None:
        self.system = system
        self.shipped: dict[int, tuple[set[int], ...]] = {}  # per peer, per kind: ids sent
        self.known: dict[int, list[dict[int, int]]] = {}  # per peer, per kind: theirs -> ours

    def pack(self, peer: int, worlds: list[World]) -> tuple[Any, ...]:
        system = self.system
        sent = self.shipped.setdefault(peer, (set(), set(), set(), set()))
        count = len(system.actors)
        slots = set(chain.from_iterable(world[:count] for world in worlds)) - sent[SLOTS]
        nets = {world[-2] for world in worlds} - sent[NETS]
        faults = {world[-1] for world in worlds} - sent[FAULTS]
        net_values = [(net, system._nets.values[net]) for net in sorted(nets)]
        envelopes = system.network.envelopes
        messages = {m for _, value in net_values for _, _, m in envelopes(value)}
        messages -= sent[MESSAGES]
        for kind, ids in ((MESSAGES, messages), (SLOTS, slots), (NETS, nets), (FAULTS, faults)):
            sent[kind].update(ids)
        return (
            [(m, system._messages.values[m]) for m in sorted(messages)],
            [(slot, system._slots.values[slot]) for slot in sorted(slots)],
            net_values,
            [(f, system._fault_counts.values[f]) for f in sorted(faults)],
            worlds,
        )

    def unpack(self, peer: int, payload: tuple[Any, ...]) -> list[World]:
        system = self.system
        known = self.known.setdefault(peer, [{}, {}, {}, {}])
        messages, slots, nets, faults, worlds = payload
        for theirs, message in messages:
            known[MESSAGES][theirs] = system._message(message)
        for theirs, (i, up, state, timers) in slots:
            known[SLOTS][theirs] = system._slot(i, up, state, timers)
        ours = known[MESSAGES].__getitem__
        for theirs, value in nets:
            known[NETS][theirs] = system._net(system.network.map_messages(value, ours))
        for theirs, counts in faults:
            known[FAULTS][theirs] = system._faults(counts)
        by_part = [known[SLOTS]] * len(system.actors) + [known[NETS], known[FAULTS]]
        lookup = operator.getitem
        return [tuple(map(lookup, by_part, world)) for world in worlds]
