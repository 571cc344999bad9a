"""Actors: the friendly layer for writing distributed protocols on the kernel.

An actor owns an immutable, hashable state and reacts to start, messages,
timers and its own internal steps by returning its next state and writing
what it wants done (messages, timers) into an `Out`. It says which fields
of its state survive a crash (`durable`); everything else is lost.

    @dataclass(frozen=True, slots=True)
    class Pinger:
        sent: int = 0

    class PingActor(Actor[Pinger]):
        durable = ("sent",)
        def initial_state(self): return Pinger()
        def on_start(self, state, out):
            out.send("ponger", "ping")
            out.set_timer("retry")
            return state
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)


class Out:
    """What one handler asks for: messages to send and timers to set or cancel, in order."""

    __slots__ = ("sends", "stopped", "timer_ops")

    def __init__(self) -> None:
        self.sends: list[tuple[str, Hashable]] = []
        self.timer_ops: list[tuple[bool, Hashable]] = []  # (set?, timer)
        self.stopped = False

    def send(self, receiver: str, message: Hashable) -> None:
        self.sends.append((receiver, message))

    def set_timer(self, timer: Hashable) -> None:
        """Arm `timer`; it may fire at any later moment until cancelled (timeouts are
        nondeterministic, so a slow reply and a lost one are both explored)."""
        self.timer_ops.append((True, timer))

    def cancel_timer(self, timer: Hashable) -> None:
        self.timer_ops.append((False, timer))

    def stop(self) -> None:
        """Shut down cleanly once this handler is done: what it sent still goes out, its
        connections close (peers hear it), and it keeps what a crash keeps (`after_crash`)
        until it restarts. No crash notice is sent and no fault budget is spent."""
        self.stopped = True


class Actor(Generic[S]):
    """One participant of a protocol. Subclasses override the handlers they need."""

    durable: tuple[str, ...] = ()  # fields of the state that survive a crash
    restarts: bool = True  # whether a crashed actor comes back

    def __init__(self, name: str, kind: str | None = None) -> None:
        self.name = name
        self.kind = kind or name  # fault budgets count crashes per kind

    def initial_state(self) -> S:
        """A fresh state: what a crash resets the volatile fields to."""
        raise NotImplementedError

    def first_state(self) -> S:
        """The state at the very beginning of a run (by default a fresh one); a model
        may start an actor mid-life, e.g. a consumer already in its group."""
        return self.initial_state()

    def on_start(self, state: S, out: Out) -> S:
        """Called once at the beginning and again after every restart."""
        return state

    def on_message(self, state: S, sender: str, message: Hashable, out: Out) -> S:
        return state

    def on_timer(self, state: S, timer: Hashable, out: Out) -> S:
        return state

    def on_connection_lost(self, state: S, peer: str, out: Out) -> S:
        """The connection to `peer` broke; whatever was in flight on it is gone."""
        return state

    def steps(self, state: S) -> Iterable[Hashable]:
        """Internal steps enabled now (e.g. "apply the next polled record")."""
        return ()

    def on_step(self, state: S, step: Hashable, out: Out) -> S:
        return state

    def timer_fault(self, state: S, timer: Hashable) -> str | None:
        """The fault budget a firing of `timer` counts against, or None if it is free."""
        return None

    def step_fault(self, state: S, step: Hashable) -> str | None:
        """The fault budget `step` counts against, or None for an ordinary step."""
        return None

    def restart_fault(self, state: S) -> str | None:
        """The fault budget a restart counts against, or None if a stopped actor always
        comes back; once that budget is spent, the actor stays down for good."""
        return None

    def after_crash(self, state: S) -> S:
        """What is left after a crash: the durable fields, the rest as on a fresh start."""
        kept = {name: getattr(state, name) for name in self.durable}
        fresh = self.initial_state()
        if hasattr(fresh, "_replace"):  # a NamedTuple state
            return fresh._replace(**kept)
        return dataclasses.replace(fresh, **kept)

    def after_power_loss(self, state: S) -> S:
        """What is left when the actor's machine loses power (a crash group): what a crash
        leaves, unless the actor keeps state a process crash spares but a machine loses."""
        return self.after_crash(state)

    def describe_step(self, state: S, step: Hashable) -> str:
        return str(step)

    def describe_timer(self, state: S, timer: Hashable) -> str:
        return f"{timer} fires"

    def describe_message(self, message: Hashable) -> str:
        return str(message)
