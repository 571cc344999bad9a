"""The actor layer as a `System`: a world of actors, a network value and fault budgets.

Every fault is an action the layer generates, counted against its own budget
(the budgets are part of the state, so the state space stays finite):

- ``crash:<kind>`` — an actor of that kind crashes; it keeps only its durable
  state, its timers are gone, and (on a FIFO network) its connections reset.
  Restarting is a normal step, unless the actor says it never restarts.
- ``lose`` — one message in flight vanishes (a model may narrow which ones,
  e.g. only responses, by overriding `loss_class`).
- ``break`` — a connection breaks: every message in flight on it is lost.
- ``duplicate`` — a message in flight arrives twice (unordered networks only).
- any key an actor names for one of its own steps (`Actor.step_fault`), such as
  a group coordinator evicting a member: such steps are faults with a budget.

A crash can be noticed: `crash_notices` names, per actor, the messages the
world delivers on its behalf once it is down (a session expiring at a
controller), so watchers learn of crashes without a perfect oracle in their code.

Some steps are timeouts a real system always gets to eventually, however
slow (a coordinator aborting a transaction left open too long). A step whose
key is in `eventual` has no budget and is no fault; it is enabled only where
nothing but faults could happen otherwise, so a run cannot come to rest
while one is due.

A set timer may fire at any moment, which is how a slow reply and a lost one
are both explored. An actor may count some of its timers against a budget
(`Actor.timer_fault`): a request timeout that fires while the answer is still
on its way is then a fault ("a slow broker"), explored as often as allowed.

A crash resets the crashed actor's TCP connections: every other actor that is
up hears `on_connection_lost` from it, as a peer hears a reset, and a message
sent to a crashed actor is refused the same way. A broken connection loses
what is in flight both ways and is heard by both of its ends.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.jsonable import to_jsonable
from kmodel.core.network import FifoNetwork, Network
from kmodel.core.system import Property, StepInfo, System
from kmodel.core.tuples import replace_at

FAULT_KINDS = ("crash", "lose", "break", "duplicate")


class World(NamedTuple):
    """One global state: every actor's state, who is up, timers, messages, faults used.

    A named tuple, so hashing and comparing a world runs in C."""

    actors: tuple[Hashable, ...]
    up: tuple[bool, ...]
    timers: tuple[tuple[Hashable, ...], ...]
    network: tuple
    faults_used: tuple[int, ...]  # per budget key, in the order of `ActorSystem.budget_keys`


Action = tuple  # ("deliver", position, envelope) | ("step", actor, step, key)
#               | ("timer", actor, timer, key) | ("restart", actor) | ("crash", actor, key)
#               | ("lose", position, key, envelope) | ("break", (sender, receiver), key)
#               | ("duplicate", position, key, envelope)


class ActorSystem(System[World, Action]):
    """Actors connected by a network, explored under bounded faults."""

    def __init__(
        self,
        actors: Sequence[Actor],
        *,
        network: Network | None = None,
        budget: Mapping[str, int] | None = None,
        properties: Sequence[Property[World]] = (),
        is_end: Callable[[World], bool] | None = None,
        crash_notices: Mapping[str, Sequence[tuple[str, Hashable]]] | None = None,
        eventual: Sequence[str] = (),
    ) -> None:
        names = [actor.name for actor in actors]
        if len(set(names)) != len(names):
            raise ValueError(f"actor names must be unique: {names}")
        self.actors = tuple(actors)
        self.index = {name: i for i, name in enumerate(names)}
        self.network = network or FifoNetwork()
        self.budget = {key: limit for key, limit in (budget or {}).items() if limit}
        self.budget_keys = tuple(sorted(self.budget))
        self.eventual = frozenset(eventual)
        self._crash_keys = tuple(f"crash:{actor.kind}" for actor in self.actors)
        self._crash_budgets = sum(1 for key in self.budget if key.startswith("crash:"))
        self._budget_slot = {key: i for i, key in enumerate(self.budget_keys)}
        self._properties = tuple(properties)
        self.crash_notices = {
            self.index[name]: tuple((self.index[to], message) for to, message in notices)
            for name, notices in (crash_notices or {}).items()
        }
        if is_end is not None:
            self._properties += (Property.no_deadlock(is_end),)

    # -- reading a world ----------------------------------------------------

    def state_of(self, world: World, name: str) -> Hashable:
        return world.actors[self.index[name]]

    def faults_used(self, world: World, key: str) -> int:
        slot = self._budget_slot.get(key)
        return 0 if slot is None else world.faults_used[slot]

    def loss_class(self, sender: str, receiver: str, message: Hashable) -> str | None:
        """The budget a loss of this message counts against; None if it cannot be lost."""
        return "lose"

    def break_class(self, sender: str, receiver: str) -> str | None:
        """The budget a break of this connection counts against; None if it cannot break."""
        return "break"

    # -- the System interface ----------------------------------------------

    def initial_states(self) -> Sequence[World]:
        count = len(self.actors)
        world = World(
            actors=tuple(actor.first_state() for actor in self.actors),
            up=(True,) * count,
            timers=((),) * count,
            network=self.network.empty(),
            faults_used=(0,) * len(self.budget_keys),
        )
        for i, actor in enumerate(self.actors):
            out = Out()
            world = self._after_handler(world, i, actor.on_start(world.actors[i], out), out)
        return [world]

    def properties(self) -> Sequence[Property[World]]:
        return self._properties

    def actions(self, world: World) -> Iterator[Action]:
        network = self.network
        progress = False  # some action other than a fault is enabled
        due: list[Action] = []  # eventual steps, enabled only without progress
        for position, envelope in network.deliverable(world.network):
            if world.up[envelope[1]]:
                progress = True
                yield ("deliver", position, envelope)
        for i, actor in enumerate(self.actors):
            if world.up[i]:
                state = world.actors[i]
                for step in actor.steps(state):
                    key = actor.step_fault(state, step)
                    if key in self.eventual:
                        due.append(("step", i, step, key))
                    elif key is None or self._allows(world, key):
                        progress = progress or key is None
                        yield ("step", i, step, key)
                for timer in world.timers[i]:
                    key = actor.timer_fault(state, timer)
                    if key is None or self._allows(world, key):
                        progress = progress or key is None
                        yield ("timer", i, timer, key)
            elif actor.restarts:
                progress = True
                yield ("restart", i)
        if not progress:
            yield from due
        for i, key in enumerate(self._crash_keys):
            if world.up[i] and self._allows(world, key):
                yield ("crash", i, key)
        if not world.network or len(self.budget) == self._crash_budgets:
            return  # nothing in flight, or no budget for any network fault
        for position, envelope in network.in_flight(world.network):
            src, dst, message = envelope
            key = self.loss_class(self.actors[src].name, self.actors[dst].name, message)
            if key is not None and self._allows(world, key):
                yield ("lose", position, key, envelope)
        for connection in network.connections(world.network):
            src, dst = connection
            key = self.break_class(self.actors[src].name, self.actors[dst].name)
            if key is not None and self._allows(world, key):
                yield ("break", connection, key)
        if network.duplicates and self._allows(world, "duplicate"):
            for position, envelope in network.deliverable(world.network):
                yield ("duplicate", position, "duplicate", envelope)

    def fault_of(self, action: Action) -> str | None:
        if action[0] in ("step", "timer"):
            return None if action[3] in self.eventual else action[3]
        return action[2] if action[0] in FAULT_KINDS else None

    def next_state(self, world: World, action: Action) -> World | None:
        kind = action[0]
        network = self.network
        if kind == "deliver":
            src, dst, message = action[2]
            world = world._replace(network=network.remove(world.network, action[1]))
            out = Out()
            actor = self.actors[dst]
            new = actor.on_message(world.actors[dst], self.actors[src].name, message, out)
            return self._after_handler(world, dst, new, out)
        if kind == "step":
            _, i, step, key = action
            if key is not None and key not in self.eventual:
                world = self._spend(world, key)
            out = Out()
            return self._after_handler(
                world, i, self.actors[i].on_step(world.actors[i], step, out), out
            )
        if kind == "timer":
            _, i, timer, key = action
            if key is not None:
                world = self._spend(world, key)
            timers = replace_at(world.timers, i, tuple(t for t in world.timers[i] if t != timer))
            world = world._replace(timers=timers)
            out = Out()
            return self._after_handler(
                world, i, self.actors[i].on_timer(world.actors[i], timer, out), out
            )
        if kind == "restart":
            i = action[1]
            world = world._replace(up=replace_at(world.up, i, True))
            out = Out()
            return self._after_handler(world, i, self.actors[i].on_start(world.actors[i], out), out)
        world = self._spend(world, action[2])
        if kind == "crash":
            i = action[1]
            keeps_outgoing = not isinstance(network, FifoNetwork)  # TCP resets both ways
            kept = network.drop(world.network, lambda s, d: d != i and (keeps_outgoing or s != i))
            notices = [(i, to, message) for to, message in self.crash_notices.get(i, ())]
            world = world._replace(
                actors=replace_at(world.actors, i, self.actors[i].after_crash(world.actors[i])),
                up=replace_at(world.up, i, False),
                timers=replace_at(world.timers, i, ()),
                network=network.send(kept, notices),
            )
            for peer in range(len(self.actors)):
                if peer != i and world.up[peer]:
                    world = self._connection_lost(world, peer, i)
            return world
        if kind == "lose":
            return world._replace(network=network.remove(world.network, action[1]))
        if kind == "break":
            connection = action[1]
            ends = set(connection)
            kept = network.drop(world.network, lambda s, d: {s, d} != ends)
            world = world._replace(network=kept)
            # Both ends of a TCP connection learn that it broke.
            for end, peer in (connection, connection[::-1]):
                if world.up[end]:
                    world = self._connection_lost(world, end, peer)
            return world
        if kind == "duplicate":
            return world._replace(network=network.send(world.network, [action[3]]))
        raise ValueError(f"unknown action {action!r}")

    def describe(self, world: World, action: Action, after: World) -> StepInfo:
        kind = action[0]
        names = [actor.name for actor in self.actors]
        if kind in ("deliver", "lose", "duplicate"):
            src, dst, message = action[-1]
            text = self.actors[dst].describe_message(message)
            label = text if kind == "deliver" else f"{kind} {text}"
            actor = names[dst] if kind == "deliver" else None
            return StepInfo(label, actor, names[src], names[dst], self.fault_of(action), kind)
        if kind == "step":
            _, i, step, _ = action
            label = self.actors[i].describe_step(world.actors[i], step)
            return StepInfo(label, names[i], fault=self.fault_of(action), kind=kind)
        if kind == "timer":
            _, i, timer, _ = action
            label = self.actors[i].describe_timer(world.actors[i], timer)
            return StepInfo(label, names[i], fault=self.fault_of(action), kind=kind)
        if kind in ("restart", "crash"):
            i = action[1]
            return StepInfo(kind, names[i], fault=self.fault_of(action), kind=kind)
        src, dst = action[1]
        return StepInfo("connection breaks", None, names[src], names[dst], action[2], kind)

    def state_view(self, world: World) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for i, actor in enumerate(self.actors):
            entry = to_jsonable(world.actors[i])
            if not isinstance(entry, dict):
                entry = {"value": entry}
            if not world.up[i]:
                entry["crashed"] = True
            if world.timers[i]:
                entry["armed_timers"] = to_jsonable(world.timers[i])
            view[actor.name] = entry
        view["in_flight"] = [
            [self.actors[src].name, self.actors[dst].name, to_jsonable(message)]
            for _, (src, dst, message) in self.network.in_flight(world.network)
        ]
        view["faults_used"] = dict(zip(self.budget_keys, world.faults_used, strict=True))
        return view

    def settings(self) -> dict[str, Any]:
        return {"network": self.network.name, "budget": dict(self.budget)}

    # -- helpers -------------------------------------------------------------

    def _allows(self, world: World, key: str) -> bool:
        slot = self._budget_slot.get(key)
        return slot is not None and world.faults_used[slot] < self.budget[key]

    def _spend(self, world: World, key: str) -> World:
        slot = self._budget_slot[key]
        return world._replace(
            faults_used=replace_at(world.faults_used, slot, world.faults_used[slot] + 1)
        )

    def _connection_lost(self, world: World, end: int, peer: int) -> World:
        out = Out()
        actor = self.actors[end]
        state = actor.on_connection_lost(world.actors[end], self.actors[peer].name, out)
        return self._after_handler(world, end, state, out)

    def _after_handler(
        self, world: World, i: int, state: Hashable, out: Out, notify_refused: bool = True
    ) -> World:
        """Install actor i's new state and carry out what its handler asked for.

        A message to a crashed actor is refused, as a connection to a dead process
        is: it is dropped and the sender hears `on_connection_lost` (once per step)."""
        timers = world.timers
        if out.timer_ops:
            armed = list(timers[i])
            for arm, timer in out.timer_ops:
                if arm and timer not in armed:
                    armed.append(timer)
                elif not arm and timer in armed:
                    armed.remove(timer)
            timers = replace_at(timers, i, tuple(sorted(armed, key=repr)))
        net = world.network
        refused = []
        if out.sends:
            envelopes = []
            for receiver, message in out.sends:
                dst = self.index[receiver]
                if world.up[dst]:
                    envelopes.append((i, dst, message))
                elif dst not in refused:
                    refused.append(dst)
            net = self.network.send(net, envelopes)
        world = World(replace_at(world.actors, i, state), world.up, timers, net, world.faults_used)
        if notify_refused:
            for dst in refused:
                lost = Out()
                answer = self.actors[i].on_connection_lost(
                    world.actors[i], self.actors[dst].name, lost
                )
                world = self._after_handler(world, i, answer, lost, notify_refused=False)
        return world
