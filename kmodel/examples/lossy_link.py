"""A sender retrying over a lossy link: the actor layer's smallest complete example.

The sender owns records 1..`records`. It sends the next record, arms a retry
timer and moves on only once the receiver acknowledges it, resending at most
`max_retries` times per record; its position is durable (kept on disk), the
retry count is not. The receiver appends
every record it gets to a durable log and acknowledges it.

With a loss budget the acknowledgement can vanish, the timer fires, and the
record is sent again: the receiver's log holds a duplicate. Nothing is lost,
because the sender resends until acknowledged, even across its own crash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass

from kmodel.core.actors import Actor, Out
from kmodel.core.network import FifoNetwork, Network
from kmodel.core.system import Property
from kmodel.core.world import ActorSystem, World


@dataclass(frozen=True, slots=True, order=True)
class Data:
    record: int

    def __str__(self) -> str:
        return f"Data({self.record})"


@dataclass(frozen=True, slots=True, order=True)
class Ack:
    record: int

    def __str__(self) -> str:
        return f"Ack({self.record})"


@dataclass(frozen=True, slots=True)
class SenderState:
    acked: int = 0  # records 1..acked are acknowledged (durable)
    restarted: bool = False  # whether this sender ever crashed (durable)
    retries: int = 0  # resends of the current record so far (volatile)


@dataclass(frozen=True, slots=True)
class ReceiverState:
    log: tuple[int, ...] = ()  # every record received, in order (durable)


class Sender(Actor[SenderState]):
    durable = ("acked", "restarted")

    def __init__(self, records: int, max_retries: int) -> None:
        super().__init__("sender")
        self.records = records
        self.max_retries = max_retries

    def initial_state(self) -> SenderState:
        return SenderState()

    def on_start(self, state: SenderState, out: Out) -> SenderState:
        self._send_next(state, out)
        return state

    def after_crash(self, state: SenderState) -> SenderState:
        # Marked here, not on restart: a crash before the first acknowledgement leaves
        # nothing else durable behind, so the restarted sender would look brand new.
        return dataclasses.replace(super().after_crash(state), restarted=True)

    def on_message(self, state: SenderState, sender: str, message: Hashable, out: Out):
        if isinstance(message, Ack) and message.record == state.acked + 1:
            state = SenderState(message.record, state.restarted, retries=0)
            out.cancel_timer("retry")
            self._send_next(state, out)
        return state

    def on_timer(self, state: SenderState, timer: Hashable, out: Out) -> SenderState:
        if state.retries < self.max_retries:
            state = SenderState(state.acked, state.restarted, state.retries + 1)
            self._send_next(state, out)
        return state

    def _send_next(self, state: SenderState, out: Out) -> None:
        if state.acked < self.records:
            out.send("receiver", Data(state.acked + 1))
            out.set_timer("retry")


class Receiver(Actor[ReceiverState]):
    durable = ("log",)

    def __init__(self) -> None:
        super().__init__("receiver")

    def initial_state(self) -> ReceiverState:
        return ReceiverState()

    def on_message(self, state: ReceiverState, sender: str, message: Hashable, out: Out):
        if isinstance(message, Data):
            out.send(sender, Ack(message.record))
            return ReceiverState(state.log + (message.record,))
        return state


def lossy_link(
    records: int = 2,
    losses: int = 1,
    max_retries: int = 1,
    sender_crashes: int = 0,
    network: Network | None = None,
) -> ActorSystem:
    """The example system with its properties; budgets bound losses and crashes."""
    system: ActorSystem

    def receiver_log(world: World) -> tuple[int, ...]:
        return system.state_of(world, "receiver").log

    def sender_done(world: World) -> bool:
        return system.state_of(world, "sender").acked == records

    def sender_back(world: World) -> bool:
        return system.is_up(world, "sender") and system.state_of(world, "sender").restarted

    system = ActorSystem(
        [Sender(records, max_retries), Receiver()],
        network=network or FifoNetwork(),
        budget={"lose": losses, "crash:sender": sender_crashes},
        properties=[
            Property.always(
                "no-duplicate",
                lambda w: len(set(receiver_log(w))) == len(receiver_log(w)),
                "the receiver never logs a record twice",
            ),
            Property.at_end(
                "no-loss",
                lambda w: set(receiver_log(w)) == set(range(1, records + 1)),
                "once quiet, every record is in the receiver's log",
            ),
            Property.sometimes(
                "message-lost",
                lambda w: system.faults_used(w, "lose") > 0,
                "a message was lost in flight",
            ),
            Property.sometimes(
                "sender-restarted",
                sender_back,
                "the sender crashed and came back",
            ),
        ],
        is_end=sender_done,
    )
    return system
