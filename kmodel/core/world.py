"""The actor layer as a `System`: a world of actors, a network value and fault budgets.

Every fault is an action the layer generates, counted against its own budget
(the budgets are part of the state, so the state space stays finite):

- ``crash:<kind>`` — an actor of that kind crashes; it keeps only its durable
  state, its timers are gone, and (on a FIFO network) its connections reset.
  Restarting is a normal step, unless the actor says it never restarts or
  counts its restarts against a budget (`Actor.restart_fault`), past which it
  stays down for good.
- ``lose`` — one message in flight vanishes (a model may narrow which ones,
  e.g. only responses, by overriding `loss_class`).
- ``break`` — a connection breaks: every message in flight on it is lost.
- ``duplicate`` — a message in flight arrives twice (unordered networks only).
- any key an actor names for one of its own steps (`Actor.step_fault`), such as
  a group coordinator evicting a member: such steps are faults with a budget.
- a *crash group* the system declares under a key of its own (a power cut of a
  rack): every actor of the group goes down in one step and is told it lost
  power (`Actor.after_power_loss`), so state a process crash keeps but a
  machine loses (a page cache) goes too. Each member restarts on its own, in
  any order.

An actor may also shut itself down cleanly (`Out.stop`, a broker's controlled
shutdown): its last messages still go out, its connections close, and it
restarts like a crashed actor; that is no fault and sends no crash notice.

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

How a world is stored: a flat tuple of small integers, one per actor (its
*slot*: up or down, its state and its armed timers, interned), then the
network and the fault counts (interned too). Such a tuple hashes and compares
in C. Handlers are pure functions of an actor's slot and its input, so the
layer runs each handler once per distinct (slot, input) and caches what it
did; a transition is then a few dictionary lookups and one new tuple.
`view` and `encode` convert between a world and its readable parts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.interning import Interner
from kmodel.core.jsonable import to_jsonable
from kmodel.core.network import FifoNetwork, Network
from kmodel.core.system import Property, Read, StepInfo, System, kind_name
from kmodel.core.world_exchange import WorldExchange

FAULT_KINDS = ("crash", "crash-group", "lose", "break", "duplicate")
RESTART_AND_FAULT_KINDS = ("restart", *FAULT_KINDS)  # actions that name their budget key

World = tuple[int, ...]  # (slot of each actor ..., network id, fault counts id)
Sends = tuple[tuple[int, int], ...]  # (receiver index, message id), in the order sent
Effect = tuple[int, Sends]  # what a handler did: the actor's new slot, what it sent
# (action, budget key, actor, effect, network it sends into, fault counts after or None)
Move = tuple["Action", str | None, int, Effect, int, int | None]
Action = tuple  # ("deliver", position, envelope) | ("step", actor, step, key)
#               | ("timer", actor, timer, key) | ("restart", actor, key) | ("crash", actor, key)
#               | ("crash-group", actors, key)
#               | ("lose", position, key, envelope) | ("break", (sender, receiver), key)
#               | ("duplicate", position, key, envelope)


SAMPLE_WORLDS = 4000  # worlds explored to choose how a parallel search splits them


def _even(sample: list[World], chosen: list[int], content: tuple, count: int) -> bool:
    """Whether the owner hash over the `chosen` actors' slots (and the fault counts) splits
    the later half of `sample` (more like what follows) within a tenth of evenly among
    `count` partitions, with many distinct keys, so that later levels split evenly too."""
    slots, faults = content
    later = sample[len(sample) // 2 :]
    keys = [sum(slots[world[i]] for i in chosen) + faults[world[-1]] for world in later]
    shares = [0] * count
    for key in keys:
        shares[key % count] += 1
    return len(set(keys)) >= 64 * count and max(shares) <= 1.1 * len(later) / count


def _field_names(state: Hashable) -> tuple[str, ...]:
    """The fields of an actor's state: a NamedTuple's or a dataclass's, else none."""
    if dataclasses.is_dataclass(state):
        return tuple(f.name for f in dataclasses.fields(state))
    return getattr(state, "_fields", ())


class ReadError(ValueError):
    """A property declares that it reads an actor or a field the system does not have."""


class TopologyError(RuntimeError):
    """A model's actor sent where its declared topology says it never does (a model bug)."""


class WorldView(NamedTuple):
    """A world's parts as values: every actor's state, who is up, timers, messages, faults."""

    actors: tuple[Hashable, ...]
    up: tuple[bool, ...]
    timers: tuple[tuple[Hashable, ...], ...]
    network: tuple  # the network value; its messages are the actors' message objects
    faults_used: tuple[int, ...]  # per budget key, in the order of `ActorSystem.budget_keys`


class ActorSystem(System[World, Action]):
    """Actors connected by a network, explored under bounded faults."""

    def __init__(
        self,
        actors: Sequence[Actor],
        *,
        network: Network | None = None,
        budget: Mapping[str, int] | None = None,
        properties: Sequence[Property[World]]
        | Callable[[ActorSystem], Sequence[Property[World]]] = (),
        is_end: Callable[[World], bool] | None = None,
        crash_notices: Mapping[str, Sequence[tuple[str, Hashable]]] | None = None,
        eventual: Sequence[str] = (),
        topology: Mapping[str, Iterable[str]] | None = None,
        crash_groups: Mapping[str, Iterable[Iterable[str]]] | None = None,
        reconnects: Iterable[tuple[str, str]] = (),
    ) -> None:
        names = [actor.name for actor in actors]
        if len(set(names)) != len(names):
            raise ValueError(f"actor names must be unique: {names}")
        self.actors = tuple(actors)
        self.names = tuple(names)
        self.index = {name: i for i, name in enumerate(names)}
        self.network = network or FifoNetwork()
        # (sender, receiver) pairs whose sender may give up on a connection and open
        # another while the old one still carries messages (`connection_of`).
        self.reconnects = frozenset((self.index[a], self.index[b]) for a, b in reconnects)
        self.budget = {key: limit for key, limit in (budget or {}).items() if limit}
        self.budget_keys = tuple(sorted(self.budget))
        self.eventual = frozenset(eventual)
        count = len(self.actors)
        self.network_part = count  # where a world keeps its network id
        self.faults_part = count + 1  # and its fault counts id
        self._crash_keys = tuple(f"crash:{actor.kind}" for actor in self.actors)
        # (budget key, members) of each group of actors that may crash in one step.
        self._crash_groups = tuple(
            (key, tuple(self.index[name] for name in group))
            for key, groups in (crash_groups or {}).items()
            if key in self.budget
            for group in groups
        )
        group_keys = {key for key, _ in self._crash_groups}
        self._network_faults = any(
            not key.startswith(("crash:", "restart:")) and key not in group_keys
            for key in self.budget
        )
        self._budget_slot = {key: i for i, key in enumerate(self.budget_keys)}
        self.crash_notices = {
            self.index[name]: tuple((self.index[to], message) for to, message in notices)
            for name, notices in (crash_notices or {}).items()
        }
        # Who may send to whom: what partial-order reduction reasons with. The layer
        # checks every handler it runs against it (`TopologyError`).
        self.partial_order = topology is not None
        self.reaches: tuple[frozenset[int], ...] = ()
        self.senders: tuple[tuple[int, ...], ...] = ()
        if topology is not None:
            reaches = [{self.index[to] for to in topology.get(name, ())} for name in names]
            for i, notices in self.crash_notices.items():
                reaches[i].update(to for to, _ in notices)
            self.reaches = tuple(frozenset(targets) for targets in reaches)
            self.senders = tuple(
                tuple(j for j in range(count) if i in self.reaches[j]) for i in range(count)
            )
        # Interned parts and what has been computed from them.
        self._slots: Interner[tuple] = Interner()  # (actor, up, state, timers)
        self._up: list[bool] = []  # per slot
        self._local: list[list | None] = []  # per slot: its steps, timers or restart
        self._nets: Interner[tuple] = Interner()
        self._net_moves: list[list | None] = []  # per network: its deliveries
        self._messages: Interner[Hashable] = Interner()
        self._fault_counts: Interner[tuple[int, ...]] = Interner()
        self._allowed: list[frozenset[str]] = []  # per fault counts: keys with budget left
        self._delivered: dict[tuple[int, int, int], Effect] = {}
        self._lost: dict[tuple[int, int], Effect] = {}
        self._sent: dict[tuple[int, int, Sends], int] = {}
        self._spent: dict[tuple[int, str], int] = {}
        # (slot, net, power lost?) -> the slot and network after the crash
        self._crashed: dict[tuple[int, int, bool], tuple[int, int]] = {}
        self._net_faults: dict[int, list[tuple[Action, str, int]]] = {}
        self._initial: list[World] | None = None
        # Content hashes of slots and fault counts, kept once a search is partitioned.
        self._content: tuple[list[int], list[int]] | None = None
        self._slot_tables: list[list[int]] = []
        self._zeros: list[int] = []  # the table of an actor left out of the owner hash
        # Properties read worlds through the system that encodes them, so they may be
        # given as a function of it.
        if callable(properties):
            properties = properties(self)
        self._properties = tuple(properties)
        if is_end is not None:
            self._properties += (Property.no_deadlock(is_end),)

    # -- reading a world ----------------------------------------------------

    def part(self, name: str) -> int:
        """The position in a world of actor `name`'s slot (for `Property.reads`)."""
        return self.index[name]

    def reads(self, *parts: str) -> list[Read]:
        """What a property reads, for `Property.reads`: actor names, ``name.field`` for one
        field of an actor's state, or "faults" for the fault counts."""
        found: list[Read] = []
        for part in parts:
            if part == "faults":
                found.append(self.faults_part)
                continue
            name, _, field = part.partition(".")
            if name not in self.index:
                raise ReadError(f"a property reads {part!r}, but no actor is named {name!r}")
            fields = _field_names(self.actors[self.index[name]].initial_state())
            if field and field not in fields:
                raise ReadError(
                    f"a property reads {part!r}, but {name}'s state has no field {field!r} "
                    f"(its fields: {', '.join(fields) or 'none'})"
                )
            found.append(self.index[name] if not field else (self.index[name], (field,)))
        return found

    def state_of(self, world: World, name: str) -> Hashable:
        return self._slots.values[world[self.index[name]]][2]

    def local_state(self, world: World, i: int) -> Hashable:
        """The state of actor number `i`; the cheapest way for a property to read one."""
        return self._slots.values[world[i]][2]

    def is_up(self, world: World, name: str) -> bool:
        return self._up[world[self.index[name]]]

    def gone_for_good(self, world: World, i: int) -> bool:
        """Whether actor number `i` is down and will never come back: it never restarts,
        or its restart budget is spent (what it holds is lost with it). A property that
        asks reads the actor's slot and "faults"."""
        slot = world[i]
        if self._up[slot]:
            return False
        actor = self.actors[i]
        if not actor.restarts:
            return True
        key = actor.restart_fault(self._slots.values[slot][2])
        return key is not None and key not in self._allowed[world[-1]]

    def faults_spent(self, world: World) -> dict[str, int]:
        counts = self._fault_counts.values[world[-1]]
        return dict(zip(self.budget_keys, counts, strict=True))

    def faults_used(self, world: World, key: str) -> int:
        slot = self._budget_slot.get(key)
        return 0 if slot is None else self._fault_counts.values[world[-1]][slot]

    def view(self, world: World) -> WorldView:
        """The world's parts as plain values."""
        slots = [self._slots.values[slot] for slot in world[: len(self.actors)]]
        net = self._nets.values[world[-2]]
        network = self.network.map_messages(net, self._messages.values.__getitem__)
        return WorldView(
            actors=tuple(slot[2] for slot in slots),
            up=tuple(slot[1] for slot in slots),
            timers=tuple(slot[3] for slot in slots),
            network=network,
            faults_used=self._fault_counts.values[world[-1]],
        )

    def encode(self, view: WorldView) -> World:
        """The world whose parts are `view` (the inverse of `view`)."""
        slots = tuple(
            self._slot(i, up, state, timers)
            for i, (state, up, timers) in enumerate(
                zip(view.actors, view.up, view.timers, strict=True)
            )
        )
        net = self._net(self.network.map_messages(view.network, self._message))
        return (*slots, net, self._faults(tuple(view.faults_used)))

    def in_flight(self, world: World) -> list[tuple[str, str, Hashable]]:
        """Every message in flight as (sender, receiver, message)."""
        messages = self._messages.values
        return [
            (self.names[src], self.names[dst], messages[m])
            for src, dst, m in self.network.envelopes(self._nets.values[world[-2]])
        ]

    def loss_class(self, sender: str, receiver: str, message: Hashable) -> str | None:
        """The budget a loss of this message counts against; None if it cannot be lost."""
        return "lose"

    def break_class(self, sender: str, receiver: str) -> str | None:
        """The budget a break of this connection counts against; None if it cannot break."""
        return "break"

    def connection_of(self, sender: str, receiver: str, message: Hashable) -> int:
        """Which of the sender's connections to the receiver `message` travels on, on a
        pair declared in `reconnects`: the one its `connection` field names (0, the
        first, for a message without one)."""
        return getattr(message, "connection", 0)

    # -- the System interface ----------------------------------------------

    def initial_states(self) -> Sequence[World]:
        if self._initial is None:
            count = len(self.actors)
            world = (
                *(self._slot(i, True, a.first_state(), ()) for i, a in enumerate(self.actors)),
                self._net(self.network.empty()),
                self._faults((0,) * len(self.budget_keys)),
            )
            for i, actor in enumerate(self.actors):
                state = self._slots.values[world[i]][2]
                effect = self._run(i, (), lambda out, a=actor, s=state: a.on_start(s, out))
                world = self._install(world, i, effect, world[count])
            self._initial = [world]
        return self._initial

    def properties(self) -> Sequence[Property[World]]:
        return self._properties

    def actions(self, world: World) -> list[Action]:
        return [action for action, _, _ in self.transitions(world)]

    def next_state(self, world: World, action: Action) -> World | None:
        for candidate, _, after in self.transitions(world):
            if candidate == action:
                return after
        return None

    def successors(self, world: World) -> tuple[list[World], list[World]]:
        normal: list[World] = []
        faulty: list[World] = []
        for _, key, after in self.transitions(world):
            if key is None:
                normal.append(after)
            else:
                faulty.append(after)
        return normal, faulty

    def fault_of(self, action: Action) -> str | None:
        if action[0] in ("step", "timer"):
            return None if action[3] in self.eventual else action[3]
        return action[2] if action[0] in RESTART_AND_FAULT_KINDS else None

    def fair_class(self, world: World, action: Action) -> Hashable | None:
        """Weak fairness holds for what a real system always gets to: a message in flight
        to an actor that is up is delivered (whatever else is in flight around it), a
        step or timer that spends no budget happens, a crashed actor restarts; faults,
        budgeted steps and timers included, are never owed."""
        if self.fault_of(action) is not None:
            return None
        if action[0] == "deliver":
            return ("deliver", action[2])  # the envelope, not its place in the network
        return action

    def transitions(self, world: World) -> list[tuple[Action, str | None, World]]:
        """Every enabled action with the fault budget it spends (None for a normal step)
        and the world after it, in a fixed order: deliveries, each actor's steps and
        timers (or its restart), due eventual steps, crashes, then network faults."""
        install = self._install
        found = [
            (action, key, install(world, i, effect, net, spent))
            for action, key, i, effect, net, spent in self.moves(world)
        ]
        up = self._up
        allowed = self._allowed[world[-1]]
        for i, key in enumerate(self._crash_keys):
            if key in allowed and up[world[i]]:
                found.append((("crash", i, key), key, self._crash(world, i, key)))
        for key, members in self._crash_groups:
            if key in allowed and any(up[world[i]] for i in members):
                action = ("crash-group", members, key)
                found.append((action, key, self._crash_group(world, members, key)))
        if self._network_faults and allowed:
            found += self._network_transitions(world, allowed)
        return found

    def moves(self, world: World) -> list[Move]:
        """The deliveries and the actors' own steps, timers and restarts enabled in
        `world`, in `transitions`' order: each with the budget it spends, its actor, what
        its handler did, the network it sends into and the fault counts after it (None:
        unchanged). `install_move` turns one into the world after it."""
        count = len(self.actors)
        up = self._up
        net = world[count]
        faults = world[-1]
        allowed = self._allowed[faults]
        found: list[Move] = []
        progress = False  # some action other than a fault is enabled
        for dst, src, mid, rest, action in self._deliveries(net):
            slot = world[dst]
            if up[slot]:
                progress = True
                effect = self._delivered.get((slot, src, mid))
                if effect is None:
                    effect = self._deliver(slot, src, mid)
                found.append((action, None, dst, effect, rest, None))
        due: list[Move] = []
        for i in range(count):
            moves = self._local[world[i]]
            if moves is None:
                moves = self._local_moves(world[i])
            for action, key, effect in moves:
                if key is None:
                    progress = True
                    found.append((action, None, i, effect, net, None))
                elif key in self.eventual:
                    due.append((action, None, i, effect, net, None))
                elif key in allowed:
                    found.append((action, key, i, effect, net, self._spend(faults, key)))
        if not progress:
            found += due
        return found

    def install_move(self, world: World, move: Move) -> World:
        """The world after one of `moves(world)`."""
        _, _, i, effect, net, spent = move
        return self._install(world, i, effect, net, spent)

    def describe(self, world: World, action: Action, after: World) -> StepInfo:
        kind = action[0]
        names = self.names
        if kind in ("deliver", "lose", "duplicate"):
            src, dst, message = action[-1]
            text = self.actors[dst].describe_message(message)
            label = text if kind == "deliver" else f"{kind} {text}"
            actor = names[dst] if kind == "deliver" else None
            return StepInfo(label, actor, names[src], names[dst], self.fault_of(action), kind)
        if kind == "step":
            _, i, step, _ = action
            label = self.actors[i].describe_step(self.local_state(world, i), step)
            return StepInfo(label, names[i], fault=self.fault_of(action), kind=kind)
        if kind == "timer":
            _, i, timer, _ = action
            label = self.actors[i].describe_timer(self.local_state(world, i), timer)
            return StepInfo(label, names[i], fault=self.fault_of(action), kind=kind)
        if kind in ("restart", "crash"):
            i = action[1]
            return StepInfo(kind, names[i], fault=self.fault_of(action), kind=kind)
        if kind == "crash-group":
            members = " and ".join(names[i] for i in action[1])
            return StepInfo(f"power fails at {members}", fault=action[2], kind=kind)
        src, dst = action[1]
        return StepInfo("connection breaks", None, names[src], names[dst], action[2], kind)

    def action_kind(self, world: World, action: Action) -> str:
        kind, names = action[0], self.names
        if kind in ("deliver", "lose", "duplicate"):
            _, dst, message = action[-1]
            return f"{kind} {kind_name(message)} to {names[dst]}"
        if kind in ("step", "timer"):
            return f"{kind} {kind_name(action[2])} at {names[action[1]]}"
        if kind in ("restart", "crash"):
            return f"{kind} {names[action[1]]}"
        if kind == "crash-group":
            return "power fails at " + " and ".join(names[i] for i in action[1])
        src, dst = action[1]
        return f"break {names[src]}–{names[dst]}"

    def pending_kinds(self, world: World) -> set[str]:
        """Every message in flight to an actor that is up, and every step and timer of an
        actor that is up, its fault budget spent or not."""
        found = set()
        up = self._up
        for _, dst, message in self.in_flight(world):
            if up[world[self.index[dst]]]:
                found.add(f"deliver {kind_name(message)} to {dst}")
        for i in range(len(self.actors)):
            moves = self._local[world[i]]
            if moves is None:
                moves = self._local_moves(world[i])
            for action, _, _ in moves:
                found.add(self.action_kind(world, action))
        return found

    def state_view(self, world: World) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for i, name in enumerate(self.names):
            _, up, state, timers = self._slots.values[world[i]]
            entry = to_jsonable(state)
            if not isinstance(entry, dict):
                entry = {"value": entry}
            if not up:
                entry["crashed"] = True
            if timers:
                entry["armed_timers"] = to_jsonable(timers)
            view[name] = entry
        view["in_flight"] = [
            [src, dst, to_jsonable(message)] for src, dst, message in self.in_flight(world)
        ]
        counts = self._fault_counts.values[world[-1]]
        view["faults_used"] = dict(zip(self.budget_keys, counts, strict=True))
        return view

    def settings(self) -> dict[str, Any]:
        return {"network": self.network.name, "budget": dict(self.budget)}

    # -- between the processes of a parallel search --------------------------------------

    def owner_hash(self, world: World) -> int:
        # The sum of the content hashes of some actors' slots and of the fault counts:
        # alike in every process forked from this one (`prepare_partitions`).
        faults = self._content[1]  # type: ignore[index]
        return sum(map(list.__getitem__, self._slot_tables, world)) + faults[world[-1]]

    def prepare_partitions(self, count: int = 2) -> None:
        """Keep a content hash of every slot and fault count from now on, and choose the
        actors whose slots decide a world's owner among `count` partitions.

        A step moves a world to another partition only if it changes one of those slots,
        so the fewer steps change them the less travels between processes; yet they must
        spread worlds evenly. A sample of the first worlds tells: actors are added, those
        whose steps change them least first, until the sample splits evenly. The network
        is never among them (it changes with nearly every step)."""
        if self._content is not None:
            return
        sample, changes = self._sample(SAMPLE_WORLDS)
        self._content = ([hash(slot) for slot in self._slots.values], [])
        self._content[1].extend(hash(counts) for counts in self._fault_counts.values)
        self._zeros = [0] * len(self._slots.values)
        chosen: list[int] = []
        for i in sorted(range(len(self.actors)), key=lambda i: (changes[i], i)):
            chosen.append(i)
            if _even(sample, chosen, self._content, count):
                break
        self._slot_tables = [
            self._content[0] if i in chosen else self._zeros for i in range(len(self.actors))
        ]

    def _sample(self, limit: int) -> tuple[list[World], list[int]]:
        """The first `limit` worlds of a breadth-first search, and per actor how many of
        the steps among them change its slot."""
        worlds = list(self.initial_states())
        known = set(worlds)
        changes = [0] * len(self.actors)
        for world in worlds:
            if len(worlds) >= limit:
                break
            normal, faulty = self.successors(world)
            for after in normal + faulty:
                for i in range(len(changes)):
                    changes[i] += world[i] != after[i]
                if after not in known:
                    known.add(after)
                    worlds.append(after)
        return worlds, changes

    def exchange(self) -> WorldExchange:
        return WorldExchange(self)

    def portable(self, world: World) -> WorldView:
        return self.view(world)

    def from_portable(self, value: WorldView) -> World:
        return self.encode(value)

    # -- interning -----------------------------------------------------------

    def _message(self, message: Hashable) -> int:
        return self._messages(message)

    def _slot(self, i: int, up: bool, state: Hashable, timers: tuple) -> int:
        slot = self._slots((i, up, state, timers))
        if slot == len(self._up):
            self._up.append(up)
            self._local.append(None)
            if self._content is not None:
                self._content[0].append(hash((i, up, state, timers)))
                self._zeros.append(0)
        return slot

    def _net(self, value: tuple) -> int:
        net = self._nets(value)
        if net == len(self._net_moves):
            self._net_moves.append(None)
        return net

    def _faults(self, counts: tuple[int, ...]) -> int:
        faults = self._fault_counts(counts)
        if self._content is not None and faults == len(self._content[1]):
            self._content[1].append(hash(counts))
        if faults == len(self._allowed):
            self._allowed.append(
                frozenset(
                    key
                    for key, used in zip(self.budget_keys, counts, strict=True)
                    if used < self.budget[key]
                )
            )
        return faults

    def _spend(self, faults: int, key: str) -> int:
        spent = self._spent.get((faults, key))
        if spent is None:
            counts = list(self._fault_counts.values[faults])
            counts[self._budget_slot[key]] += 1
            spent = self._spent[faults, key] = self._faults(tuple(counts))
        return spent

    # -- what handlers do, computed once per slot and input -------------------

    def _run(self, i: int, timers: tuple, handler: Callable[[Out], Hashable]) -> Effect:
        """Run one handler of actor `i` (up, with `timers` armed) and intern the outcome."""
        out = Out()
        state = handler(out)
        if out.timer_ops:
            armed = list(timers)
            for arm, timer in out.timer_ops:
                if arm and timer not in armed:
                    armed.append(timer)
                elif not arm and timer in armed:
                    armed.remove(timer)
            timers = tuple(sorted(armed, key=repr))
        sends = tuple((self.index[to], self._message(message)) for to, message in out.sends)
        if out.stopped:
            left = self.actors[i].after_crash(state)
            return self._slot(i, False, left, ()), self._checked_sends(i, sends)
        return self._slot(i, True, state, timers), self._checked_sends(i, sends)

    def _checked_sends(self, i: int, sends: Sends) -> Sends:
        """`sends`, once checked against the declared topology."""
        if self.reaches:
            stray = [self.names[dst] for dst, _ in sends if dst not in self.reaches[i]]
            if stray:
                raise TopologyError(
                    f"actor {self.names[i]!r} sent a message to {stray[0]!r}, which the "
                    "model's topology does not let it reach; add it to the topology"
                )
        return sends

    def _deliver(self, slot: int, src: int, mid: int) -> Effect:
        i, _, state, timers = self._slots.values[slot]
        actor, sender, message = self.actors[i], self.names[src], self._messages.values[mid]
        effect = self._run(i, timers, lambda out: actor.on_message(state, sender, message, out))
        self._delivered[slot, src, mid] = effect
        return effect

    def _connection_lost(self, slot: int, peer: int) -> Effect:
        effect = self._lost.get((slot, peer))
        if effect is None:
            i, _, state, timers = self._slots.values[slot]
            actor, name = self.actors[i], self.names[peer]
            effect = self._run(i, timers, lambda out: actor.on_connection_lost(state, name, out))
            self._lost[slot, peer] = effect
        return effect

    def _local_moves(self, slot: int) -> list[tuple[Action, str | None, Effect]]:
        """The steps, timers (or restart) of one slot, each with its budget key and effect."""
        i, up, state, timers = self._slots.values[slot]
        actor = self.actors[i]
        moves: list[tuple[Action, str | None, Effect]] = []
        if up:
            for step in actor.steps(state):
                key = actor.step_fault(state, step)
                effect = self._run(i, timers, lambda out, s=step: actor.on_step(state, s, out))
                moves.append((("step", i, step, key), key, effect))
            for timer in timers:
                key = actor.timer_fault(state, timer)
                left = tuple(t for t in timers if t != timer)
                effect = self._run(i, left, lambda out, t=timer: actor.on_timer(state, t, out))
                moves.append((("timer", i, timer, key), key, effect))
        elif actor.restarts:
            key = actor.restart_fault(state)
            effect = self._run(i, (), lambda out: actor.on_start(state, out))
            moves.append((("restart", i, key), key, effect))
        self._local[slot] = moves
        return moves

    # -- the network ---------------------------------------------------------

    def _deliveries(self, net: int) -> list[tuple[int, int, int, int, Action]]:
        """(receiver, sender, message id, network after, action) for each deliverable message."""
        moves = self._net_moves[net]
        if moves is None:
            value = self._nets.values[net]
            messages = self._messages.values
            moves = [
                (dst, src, mid, self._net(self.network.remove(value, position)), action)
                for position, (src, dst, mid) in self.network.deliverable(value)
                for action in [("deliver", position, (src, dst, messages[mid]))]
            ]
            self._net_moves[net] = moves
        return moves

    def _send(self, net: int, src: int, sends: Sends) -> int:
        after = self._sent.get((net, src, sends))
        if after is None:
            envelopes = [self._envelope(src, dst, mid) for dst, mid in sends]
            after = self._net(self.network.send(self._nets.values[net], envelopes))
            self._sent[net, src, sends] = after
        return after

    def _envelope(self, src: int, dst: int, mid: int) -> tuple:
        """What goes on the network: on a pair that reconnects, with its connection."""
        if (src, dst) not in self.reconnects:
            return (src, dst, mid)
        names = self.names
        message = self._messages.values[mid]
        return (src, dst, mid, self.connection_of(names[src], names[dst], message))

    def _network_transitions(
        self, world: World, allowed: frozenset[str]
    ) -> Iterator[tuple[Action, str, World]]:
        """Losses, broken connections and duplicates the budgets still allow."""
        net = world[-2]
        faults = self._net_faults.get(net)
        if faults is None:
            faults = self._net_faults[net] = list(self._network_faults_of(net))
        for action, key, after in faults:
            if key in allowed:
                world_after = (*world[:-2], after, self._spend(world[-1], key))
                if action[0] == "break":
                    world_after = self._hear_break(world_after, action[1])
                yield action, key, world_after

    def _network_faults_of(self, net: int) -> Iterator[tuple[Action, str, int]]:
        """Every network fault some budget could allow on `net`: (action, key, network after)."""
        network = self.network
        value = self._nets.values[net]
        messages = self._messages.values
        names = self.names
        for position, (src, dst, mid) in network.in_flight(value):
            envelope = (src, dst, messages[mid])
            key = self.loss_class(names[src], names[dst], envelope[2])
            if key is not None:
                after = self._net(network.remove(value, position))
                yield ("lose", position, key, envelope), key, after
        for connection in network.connections(value):
            key = self.break_class(names[connection[0]], names[connection[1]])
            if key is not None:
                ends = set(connection)
                after = self._net(network.drop(value, lambda s, d, e=ends: {s, d} != e))
                yield ("break", connection, key), key, after
        if network.duplicates:
            for position, (src, dst, mid) in network.deliverable(value):
                after = self._net(network.send(value, [(src, dst, mid)]))
                action = ("duplicate", position, "duplicate", (src, dst, messages[mid]))
                yield action, "duplicate", after

    # -- applying effects to a world --------------------------------------------

    def _install(
        self,
        world: World,
        i: int,
        effect: Effect,
        net: int,
        faults: int | None = None,
        notify_refused: bool = True,
    ) -> World:
        """Actor i's new slot and what it sent, on top of `net` (and new fault counts).

        A message to a crashed actor is refused, as a connection to a dead process
        is: it is dropped and the sender hears `on_connection_lost` (once per step)."""
        slot, sends = effect
        refused: list[int] = []
        if sends:
            up = self._up
            for dst, _ in sends:
                if not up[world[dst]] and dst not in refused:
                    refused.append(dst)
            if refused:
                sends = tuple(send for send in sends if send[0] not in refused)
            if sends:
                net = self._send(net, i, sends)
        after = list(world)
        after[i] = slot
        after[-2] = net
        if faults is not None:
            after[-1] = faults
        if not self._up[slot] and self._up[world[i]]:
            return self._stopped(tuple(after), i)
        world = tuple(after)
        if notify_refused:
            for dst in refused:
                effect = self._connection_lost(world[i], dst)
                world = self._install(world, i, effect, world[-2], notify_refused=False)
        return world

    def _crash(self, world: World, i: int, key: str) -> World:
        after = list(world)
        after[i], after[-2] = self._crashed_slot(world[i], world[-2], False)
        after[-1] = self._spend(world[-1], key)
        return self._hear_crashes(tuple(after), (i,))

    def _crash_group(self, world: World, members: tuple[int, ...], key: str) -> World:
        """Every member loses power at once: those up crash, those already down lose
        what their machine still held for them."""
        after = list(world)
        crashed = []
        for i in members:
            _, up, state, _ = self._slots.values[after[i]]
            if up:
                after[i], after[-2] = self._crashed_slot(after[i], after[-2], True)
                crashed.append(i)
            else:
                after[i] = self._slot(i, False, self.actors[i].after_power_loss(state), ())
        after[-1] = self._spend(world[-1], key)
        return self._hear_crashes(tuple(after), tuple(crashed))

    def _stopped(self, world: World, i: int) -> World:
        """Actor i shut down cleanly: what was on its way to it is refused, what it sent
        goes on (a connection closed after its last write), and its peers hear it."""
        kept = self.network.drop(self._nets.values[world[-2]], lambda s, d: d != i)
        return self._hear_crashes((*world[:-2], self._net(kept), world[-1]), (i,))

    def _hear_crashes(self, world: World, crashed: tuple[int, ...]) -> World:
        """Every actor still up hears its connections to the crashed ones reset."""
        up = self._up
        for i in crashed:
            for peer in range(len(self.actors)):
                if peer != i and up[world[peer]]:
                    effect = self._connection_lost(world[peer], i)
                    if effect[1] or effect[0] != world[peer]:  # most peers never knew it
                        world = self._install(world, peer, effect, world[-2])
        return world

    def _crashed_slot(self, slot: int, net: int, power_lost: bool) -> tuple[int, int]:
        crashed = self._crashed.get((slot, net, power_lost))
        if crashed is None:
            crashed = self._crashed[slot, net, power_lost] = self._crash_of(slot, net, power_lost)
        return crashed

    def _crash_of(self, slot: int, net: int, power_lost: bool) -> tuple[int, int]:
        """The slot a crash leaves and the network after it: the crashed actor's
        connections reset, its crash notices on their way to the watchers."""
        i, _, state, _ = self._slots.values[slot]
        network = self.network
        keeps_outgoing = not isinstance(network, FifoNetwork)  # TCP resets both ways
        value = self._nets.values[net]
        kept = network.drop(value, lambda s, d: d != i and (keeps_outgoing or s != i))
        notices = [(i, to, self._message(m)) for to, m in self.crash_notices.get(i, ())]
        actor = self.actors[i]
        left = actor.after_power_loss(state) if power_lost else actor.after_crash(state)
        crashed = self._slot(i, False, left, ())
        return crashed, self._net(network.send(kept, notices))

    def _hear_break(self, world: World, connection: tuple[int, int]) -> World:
        """Both ends of a broken TCP connection learn that it broke."""
        for end, peer in (connection, connection[::-1]):
            if self._up[world[end]]:
                effect = self._connection_lost(world[end], peer)
                if effect[1] or effect[0] != world[end]:
                    world = self._install(world, end, effect, world[-2])
        return world
