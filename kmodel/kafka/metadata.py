"""A client's metadata refreshes, kept as Kafka's clients keep them.

`NetworkClient` sends no MetadataRequest while one is on its way, and a
refresh asked for meanwhile (`Metadata.requestUpdate`) is sent once the answer
comes, since the answer's request version is then older than the latest. A
client here asks per partition (the controller answers a partition that has no
leader once one is elected), so it keeps, for each partition, IDLE, ASKED or
ASKED_AGAIN.
"""

from __future__ import annotations

from kmodel.core.actors import Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.broker import CONTROLLER
from kmodel.kafka.messages import MetadataRequest

IDLE, ASKED, ASKED_AGAIN = 0, 1, 2
Asking = tuple[int, ...]  # per partition: IDLE, ASKED or ASKED_AGAIN


def nothing_asked(partitions: int) -> Asking:
    return (IDLE,) * partitions


def ask(asking: Asking, partition: int, name: str, out: Out) -> Asking:
    """Ask where partition `partition` (named `name`) leads now: at once when no request
    for it is on its way, else once that one is answered."""
    if asking[partition] == IDLE:
        out.send(CONTROLLER, MetadataRequest(name))
        return replace_at(asking, partition, ASKED)
    return replace_at(asking, partition, ASKED_AGAIN)


def answered(asking: Asking, partition: int, name: str, out: Out) -> Asking:
    """An answer for `partition` came: ask again if a refresh was wanted since the
    request went out. An answer to an earlier incarnation's request counts for nothing."""
    if asking[partition] == ASKED_AGAIN:
        out.send(CONTROLLER, MetadataRequest(name))
        return replace_at(asking, partition, ASKED)
    return replace_at(asking, partition, IDLE)
