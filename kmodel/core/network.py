"""Networks as values: what is in flight, and which deliveries each semantics allows.

A network state is a plain tuple so it hashes and compares cheaply. Actors
never see it; the actor layer asks the network which messages may be
delivered next and hands it the messages a handler sent.

- `FifoNetwork`: one ordered queue per (sender, receiver) connection, as TCP
  gives (and as Kafka runs on); only the head of a queue can arrive next. A
  sender that gives up on a connection and opens another sends on a new
  queue (an envelope's optional fourth element numbers the connection), and
  the two queues deliver in any interleaving, as two TCP connections do.
- `UnorderedNetwork`: a bag; any message in flight can arrive next, and a
  message can be duplicated when the fault budget allows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

Envelope = tuple[int, int, Hashable]  # (sender index, receiver index, message)
# An envelope to send may name its connection: (sender, receiver, message, connection).
Outgoing = tuple[int, int, Hashable] | tuple[int, int, Hashable, int]
NetworkState = tuple


class Network:
    """The semantics of the medium between actors; subclasses hold no per-run state."""

    name = "network"
    duplicates = False  # whether duplication is a meaningful fault here

    def empty(self) -> NetworkState:
        return ()

    def send(self, net: NetworkState, envelopes: list[Outgoing]) -> NetworkState:
        raise NotImplementedError

    def deliverable(self, net: NetworkState) -> Iterator[tuple[int, Envelope]]:
        """(position, envelope) for each message that may arrive next."""
        raise NotImplementedError

    def in_flight(self, net: NetworkState) -> Iterator[tuple[int, Envelope]]:
        """(position, envelope) for every message in flight that may be lost (equal
        copies in a bag once: losing either is the same)."""
        raise NotImplementedError

    def envelopes(self, net: NetworkState) -> list[Envelope]:
        """Every message in flight, copies included."""
        return [envelope for _, envelope in self.in_flight(net)]

    def remove(self, net: NetworkState, position: int) -> NetworkState:
        raise NotImplementedError

    def connections(self, net: NetworkState) -> Iterator[tuple[int, int]]:
        """(sender, receiver) pairs with something in flight."""
        return iter(sorted({(src, dst) for _, (src, dst, _) in self.in_flight(net)}))

    def drop(self, net: NetworkState, keep) -> NetworkState:
        """Only the envelopes for which `keep(sender, receiver)` is true."""
        raise NotImplementedError

    def map_messages(self, net: NetworkState, convert) -> NetworkState:
        """The same network with every message replaced by `convert(message)`."""
        envelopes = [(src, dst, convert(m)) for src, dst, m in self.envelopes(net)]
        return self.send(self.empty(), envelopes)


class FifoNetwork(Network):
    """Per-connection FIFO. State: sorted tuple of (connection, messages), where a
    connection is (sender, receiver), or (sender, receiver, n) for the n-th one the
    sender opened after the first."""

    name = "fifo"

    def send(self, net: NetworkState, envelopes: list[Outgoing]) -> NetworkState:
        if not envelopes:
            return net
        queues = dict(net)
        for src, dst, message, *connection in envelopes:
            key = (src, dst, *connection) if connection and connection[0] else (src, dst)
            queues[key] = queues.get(key, ()) + (message,)
        return tuple(sorted(queues.items()))

    def deliverable(self, net: NetworkState) -> Iterator[tuple[int, Envelope]]:
        for position, (connection, messages) in enumerate(net):
            yield position << 16, (connection[0], connection[1], messages[0])

    def in_flight(self, net: NetworkState) -> Iterator[tuple[int, Envelope]]:
        for position, (connection, messages) in enumerate(net):
            for offset, message in enumerate(messages):
                yield position << 16 | offset, (connection[0], connection[1], message)

    def waiting(self, net: NetworkState) -> set[tuple[int, int]]:
        """(sender, receiver) pairs whose first connection has a message on its way."""
        return {connection for connection, _ in net if len(connection) == 2}

    def remove(self, net: NetworkState, position: int) -> NetworkState:
        index, offset = position >> 16, position & 0xFFFF
        conn, messages = net[index]
        rest = messages[:offset] + messages[offset + 1 :]
        if rest:
            return net[:index] + ((conn, rest),) + net[index + 1 :]
        return net[:index] + net[index + 1 :]

    def drop(self, net: NetworkState, keep) -> NetworkState:
        return tuple(entry for entry in net if keep(entry[0][0], entry[0][1]))

    def map_messages(self, net: NetworkState, convert) -> NetworkState:
        # Connections keep their order; only the messages change.
        return tuple((conn, tuple(map(convert, messages))) for conn, messages in net)


class UnorderedNetwork(Network):
    """A bag of envelopes. State: sorted tuple of (sender, receiver, message) with repeats."""

    name = "unordered"
    duplicates = True

    def send(self, net: NetworkState, envelopes: list[Outgoing]) -> NetworkState:
        if not envelopes:
            return net
        bag = tuple(envelope[:3] for envelope in envelopes)  # any order already
        return tuple(sorted(net + bag, key=_envelope_order))

    def deliverable(self, net: NetworkState) -> Iterator[tuple[int, Envelope]]:
        previous = None
        for position, envelope in enumerate(net):
            if envelope != previous:  # equal envelopes give equal deliveries
                yield position, envelope
            previous = envelope

    in_flight = deliverable

    def envelopes(self, net: NetworkState) -> list[Envelope]:
        return list(net)

    def remove(self, net: NetworkState, position: int) -> NetworkState:
        return net[:position] + net[position + 1 :]

    def drop(self, net: NetworkState, keep) -> NetworkState:
        return tuple(envelope for envelope in net if keep(envelope[0], envelope[1]))


def _envelope_order(envelope: Envelope) -> tuple:
    # repr orders messages of any type deterministically, unlike hash order.
    src, dst, message = envelope
    return (src, dst, repr(message))
