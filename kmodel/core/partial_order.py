"""Partial-order reduction for actor systems: one order of steps that commute.

Steps of different actors touch different parts of a world: each actor's own
slot, the heads of the queues it reads, the tails of the queues it writes.
Run one before the other or after, the world is the same; exploring every
order is wasted work. At each world a *stubborn set* of the enabled steps
is explored instead of all of them (Valmari's method), built from what the
actor layer knows:

- The steps of a set A of actors: the messages delivered to them, their own
  steps and timers, their restarts. An actor outside A that may send to a
  member of A (the model's declared topology, which the layer checks on every
  handler it runs) joins A while the queue between them is empty: its next
  message would be a new step of that member, and could overtake. A message
  behind another in a FIFO queue cannot, unless its sender may open another
  connection (the pairs a model declares in `reconnects`). A member that sends to a crashed
  actor makes that actor join: its restart changes how the send ends.
- Crashes that budgets still allow: an actor's crash is one of its steps. It
  resets every connection it has and its peers hear of it, so a member that
  may crash brings in every actor it talks with, and an actor that may crash
  joins when it talks with a member; a power cut brings in every actor it
  takes down. Budgets are counters: a run that spends them in one order can
  spend them in any, so shared budgets need nothing more. The set must hold a
  step that is no fault, which no fault elsewhere can disable. Where a loss, a
  duplicate or a broken connection could still happen, every step is explored.
  Eventual steps, which wait until nothing else can happen, turn the
  reduction off where they are due, and so does a step after which its actor
  shuts down (every peer hears it).
- Visibility: every step of the set must leave unchanged what the properties
  still undecided read (their declared parts and fields, the fault counts);
  a set with a visible step is not used.
- The cycle proviso for breadth-first search: the set is used only if every
  world it leads to is new or on the next level (the search checks this), so
  no step can be put off forever around a cycle.

A world where nothing but faults can happen is reached exactly (the set
always holds an enabled step when there is one), so checks at the end stay
exact. A breadth-first search under this reduction finds a violation at the
right level of the reduced graph, which may be deeper than the shortest; the
search then looks again without it, to the depth found, for the shortest
trace (`kmodel.core.bfs`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from kmodel.core.network import FifoNetwork
from kmodel.core.reduction import Reduced
from kmodel.core.system import PropertyKind

# Ends are reached exactly, whatever the order; leads-to is checked unreduced.
UNWATCHED = (PropertyKind.AT_END, PropertyKind.LEADS_TO)

if TYPE_CHECKING:
    from kmodel.core.world import ActorSystem, World

Transition = tuple[Any, ...]  # a `Move` of the actor layer
# The actors a crash (or, if `group`, a power cut) takes down, and its budget key.
Crash = tuple[tuple[int, ...], str, bool]
# Worlds to look for smaller sets at before judging whether it pays: where fewer than one
# in twenty is smaller, every world is expanded whole (which is always sound).
TRIAL = 4096


class PartialOrderReduced(Reduced):
    """An actor system whose searches explore stubborn sets of its steps."""

    stubborn = True

    def __init__(self, system: ActorSystem) -> None:
        super().__init__(system)
        self.actors = system
        self.fifo = isinstance(system.network, FifoNetwork)
        self.pending: Collection[str] = {p.name for p in system.properties()}
        self.reduced = 0  # worlds expanded through a stubborn set smaller than all steps
        self.tried = 0  # worlds where a smaller set was looked for
        self._watched_by: dict[int, list[tuple[str, tuple[str, ...] | None]]] = {}
        self._reads_network = False
        self._reads_faults = False
        self._invisible: dict[tuple[int, int], bool] = {}
        self._judged_for: frozenset[str] = frozenset()
        self._closures: dict[tuple, frozenset[int]] = {}

    def watch(self, pending: Collection[str]) -> None:
        """Judge visibility by the properties named in `pending` (kept up to date by the
        search as properties are decided)."""
        self.pending = pending

    def reduced_successors(
        self, world: World
    ) -> tuple[list[World], list[World], Callable[[], tuple[list, list]]] | None:
        """(normal, faulty) successors through a stubborn set, and a way to get all of
        them; None where no step can be left out. Only the set's worlds are built."""
        system = self.actors
        if self.tried > TRIAL and self.reduced < self.tried // 20:
            return None  # sets are hardly ever smaller here
        allowed = system._allowed[world[-1]]
        if allowed and next(system._network_transitions(world, allowed), None) is not None:
            return None  # a loss, a duplicate or a broken connection can still happen
        moves = system.moves(world)
        crashes = self._crashes(world, allowed)
        if len(moves) + len(crashes) < 2:
            return None
        self.tried += 1
        chosen = self._stubborn(world, moves, crashes)
        if chosen is None:
            return None
        self.reduced += 1
        chosen_moves, crashed = chosen
        install = system.install_move
        normal = [install(world, move) for move in chosen_moves if move[1] is None]
        faulty = [install(world, move) for move in chosen_moves if move[1] is not None]
        return normal, faulty + crashed, lambda: system.successors(world)

    def _crashes(self, world: World, allowed: frozenset[str]) -> list[Crash]:
        """The crashes and power cuts the budgets allow; their worlds are built only for
        a set that holds them."""
        if not allowed:
            return []
        up = self.actors._up
        found = [
            ((i,), key, False)
            for i, key in enumerate(self.actors._crash_keys)
            if key in allowed and up[world[i]]
        ]
        found += [
            (members, key, True)
            for key, members in self.actors._crash_groups
            if key in allowed and any(up[world[i]] for i in members)
        ]
        return found

    def _crashed(self, world: World, crash: Crash) -> World:
        taken, key, group = crash
        if group:
            return self.actors._crash_group(world, taken, key)
        return self.actors._crash(world, taken[0], key)

    # -- the stubborn set ----------------------------------------------------------

    def _stubborn(
        self,
        world: World,
        found: list[Transition],
        crashes: list[Crash],
    ) -> tuple[list[Transition], list[World]] | None:
        """The moves of the first stubborn set found that leaves something out and is
        invisible, with the worlds after its crashes; or None."""
        system = self.actors
        by_actor: dict[int, list[Transition]] = {}
        up = system._up
        for transition in found:
            action = transition[0]
            if action[0] == "step" and action[3] in system.eventual:
                return None  # due: it waits for everything else to stop
            if not up[transition[3][0]]:
                return None  # the actor shuts down: every peer hears its connections close
            by_actor.setdefault(transition[2], []).append(transition)
        if not by_actor:
            return None
        self._refresh_visibility()
        if self._reads_network:
            return None
        down = tuple(i for i in range(len(system.actors)) if not up[world[i]])
        touched = tuple(taken for taken, _, _ in crashes)
        everything = len(found) + len(crashes)
        for seed in sorted(by_actor, key=lambda actor: len(by_actor[actor])):
            cached = (seed, world[-2], down, touched)
            members = self._closures.get(cached)
            if members is None:
                members = self._closures[cached] = self._closure(seed, world[-2], down, touched)
            chosen = [t for actor in members for t in by_actor.get(actor, ())]
            chosen_crashes = [crash for crash in crashes if crash[0][0] in members]
            if (
                len(chosen) + len(chosen_crashes) < everything
                and any(move[1] is None for move in chosen)
                and all(self._invisible_move(world, move) for move in chosen)
            ):
                crashed = [self._crashed(world, crash) for crash in chosen_crashes]
                if all(self._invisible_crash(world, after) for after in crashed):
                    # The first good set from the smallest seeds: no search for the best.
                    return chosen, crashed
        return None

    def _closure(
        self, seed: int, net: int, down: tuple[int, ...], touched: tuple[tuple[int, ...], ...]
    ) -> frozenset[int]:
        """The actors whose steps must be explored with `seed`'s: those that may send to
        a member over an empty connection, the crashed actors a member may send to
        (whether a send is refused depends on their restart), and for each crash the
        budgets allow (the actors each `touched`) every actor it takes down with a
        member, every actor a member that may crash talks with, and every actor that
        may crash and talks with a member. It depends only on the network (`net`), on
        who is `down` and on `touched`, so it is computed once for each."""
        system = self.actors
        waiting = set()  # (sender, receiver) with a message on the way
        if self.fifo:
            # A sender that may open another connection can overtake what is waiting.
            waiting = system.network.waiting(system._nets.values[net]) - system.reconnects
        restarts = [actor.restarts for actor in system.actors]
        at_risk = {actor for taken in touched for actor in taken}
        members, todo = {seed}, [seed]

        def join(actor: int) -> None:
            if actor not in members:
                members.add(actor)
                todo.append(actor)

        while todo:
            member = todo.pop()
            for sender in system.senders[member]:
                if sender in members or (sender, member) in waiting:
                    continue
                if sender in down and not restarts[sender]:
                    continue  # down for good: it sends nothing
                join(sender)
            for target in system.reaches[member]:
                if target in down and restarts[target]:
                    join(target)
            if not at_risk:
                continue
            peers = {*system.senders[member], *system.reaches[member]}
            for peer in peers:
                if member in at_risk or peer in at_risk:
                    join(peer)
            for taken in touched:
                if member in taken:
                    for actor in taken:
                        join(actor)
        return frozenset(members)

    # -- visibility ------------------------------------------------------------------

    def _refresh_visibility(self) -> None:
        """Which actors (and fields) the undecided state properties read."""
        pending = frozenset(self.pending)
        if pending == self._judged_for:
            return
        self._judged_for = pending
        self._invisible = {}
        system = self.actors
        watched: dict[int, list[tuple[str, tuple[str, ...] | None]]] = {}
        self._reads_network = False
        self._reads_faults = False
        for prop in system.properties():
            if prop.name not in pending or prop.kind in UNWATCHED:
                continue
            if prop.reads is None:
                self._reads_network = True  # reads anything: every step is visible
                continue
            fields = dict(prop.fields)
            for position in prop.reads:
                if position == system.network_part:
                    self._reads_network = True
                elif position == system.faults_part:
                    self._reads_faults = True
                elif position < len(system.actors):
                    watched.setdefault(position, []).append((prop.name, fields.get(position)))
        self._watched_by = watched

    def _invisible_move(self, world: World, move: Transition) -> bool:
        """The move changes nothing a pending property reads: only its actor's slot and
        the network change, and of the slot no field a property reads. A move whose
        send would be refused (its actor would then hear of it) counts as visible."""
        _, _, actor, (slot, sends), _, spent = move
        before = world[actor]
        up = self.actors._up
        if any(not up[world[target]] for target, _ in sends):
            return False
        if spent is not None and self._reads_faults:
            return False
        if slot == before or actor not in self._watched_by:
            return True
        key = (before, slot)
        invisible = self._invisible.get(key)
        if invisible is None:
            invisible = self._invisible[key] = self._unchanged(actor, before, slot)
        return invisible

    def _invisible_crash(self, world: World, after: World) -> bool:
        """A crash changes nothing a pending property reads: not the fault counts, and of
        each actor it touches (the crashed and those hearing of it) no field read."""
        if self._reads_faults:
            return False
        return all(
            world[position] == after[position]
            or self._unchanged(position, world[position], after[position])
            for position in self._watched_by
        )

    def _unchanged(self, position: int, before: int, now: int) -> bool:
        slots = self.actors._slots.values
        _, up_before, state_before, _ = slots[before]
        _, up_now, state_now, _ = slots[now]
        for _, fields in self._watched_by[position]:
            if fields is None:
                if (up_before, state_before) != (up_now, state_now):
                    return False
            elif any(getattr(state_before, f) != getattr(state_now, f) for f in fields):
                return False
        return True
