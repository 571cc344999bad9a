"""How the pieces of a Kafka actor's state read: a log, a partition's leadership, a batch.

The trace records each actor's state as plain data (a replica's log as a list
of entries, a producer's batches as mappings); these functions tell the kinds of
actor apart by their fields and write each piece the way Kafka people draw it,
for the state panels, the diagrams' notes and the narration's sentences alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

# The parts of a trace state that are not actors.
NOT_ACTORS = ("in_flight", "faults_used")

Entry = Mapping[str, Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])


def actors(state: Mapping[str, Any]) -> dict[str, Any]:
    """The actors of a trace state, by name, in the state's order."""
    if not isinstance(state, Mapping):
        return {}
    return {name: entry for name, entry in state.items() if name not in NOT_ACTORS}


def kind_of(entry: Any) -> str | None:
    """What a Kafka actor's state is, by its fields: ``replica``, ``controller``,
    ``producer``, ``consumer``, ``group-coordinator``, ``txn-coordinator``,
    ``application``, ``sink``, ``source``; None for a state of any other shape."""
    if not isinstance(entry, Mapping):
        return None
    for kind, fields in _KINDS:
        if all(field in entry for field in fields):
            return kind
    return None


_KINDS = (
    ("replica", ("log", "high_watermark", "leader_epoch", "role")),
    ("controller", ("partitions", "alive")),
    ("producer", ("batches", "acked")),
    ("txn-coordinator", ("transactions",)),
    ("group-coordinator", ("committed", "generation", "member")),
    ("consumer", ("positions", "in_hand")),
    ("application", ("phase", "producer_id", "position")),
    ("sink", ("effects", "writes")),
    ("source", ("stored",)),
)


class ByKind(dict[str, Handler]):
    """Functions filed by the kind of actor they handle: ``@table("replica")`` files one."""

    def __call__(self, kind: str) -> Callable[[Handler], Handler]:
        if kind not in dict(_KINDS):
            raise ValueError(f"no kind of actor is called {kind!r}")

        def file(handler: Handler) -> Handler:
            self[kind] = handler
            return handler

        return file


def log_text(replica: Entry, faults: Mapping[str, Any] | None = None) -> str:
    """A replica's log as Kafka people draw it: ``0:r1@e0 1:COMMIT@e1 · HW 1 · LEO 2``
    (offset:record@leader epoch), with the log start offset when retention moved it, the
    LSO while a transaction is open, and what is flushed where a power cut is a fault."""
    log, start = replica["log"], replica.get("log_start", 0)
    entries = " ".join(f"{offset}:{record_name(log[offset])}@e{log[offset]['leader_epoch']}"
                       for offset in range(start, len(log)))  # fmt: skip
    parts = [entries or "empty"]
    if start:
        parts.insert(0, f"start {start}")
    parts += [f"HW {replica['high_watermark']}", f"LEO {len(log)}"]
    stable = last_stable_offset(replica)
    if stable is not None:
        parts.append(f"LSO {stable}")
    if faults is not None and "power-loss" in faults and replica.get("flushed", 0) < len(log):
        parts.append(f"flushed {replica.get('flushed', 0)}")
    return " · ".join(parts)


def record_name(entry: Entry) -> str:
    """``r1`` for a record, ``COMMIT`` or ``ABORT`` for a transaction's marker."""
    return entry.get("control") or f"r{entry['record']}"


def last_stable_offset(replica: Entry) -> int | None:
    """The LSO: the first offset of a transaction still open, or the HW below it; None
    for a log that holds no transactional batch (where it is the HW)."""
    log = replica["log"]
    if not any(entry.get("transactional") or entry.get("control") for entry in log):
        return None
    opened: dict[int, int] = {}  # producer id -> first offset of its open transaction
    for offset, entry in enumerate(log):
        pid = entry.get("producer_id", 0)
        if entry.get("control"):
            opened.pop(pid, None)
        elif entry.get("transactional"):
            opened.setdefault(pid, offset)
    return min([replica["high_watermark"], *opened.values()])


def partition_text(partition: Entry) -> str:
    """A partition's leadership: ``leader broker 1 · leader epoch 1 · ISR 1``."""
    leader = partition["leader"]
    who = f"leader broker {leader}" if leader >= 0 else "offline (no leader)"
    text = f"{who} · leader epoch {partition['leader_epoch']} · ISR {numbers(partition['isr'])}"
    if partition.get("elr"):
        text += f" · ELR {numbers(partition['elr'])}"
    return text


def batch_text(batch: Entry, several_partitions: bool = False) -> str:
    """An in-flight batch: ``r1 seq 0 to broker 0 (attempt 2)``."""
    text = f"r{batch['record']}"
    if several_partitions:
        text += f" for partition {batch.get('partition', 0)}"
    if batch["sequence"] >= 0:
        text += f" seq {batch['sequence']}"
    if batch.get("broker", -1) >= 0:
        text += f" to broker {batch['broker']}"
    notes = []
    if batch.get("attempt"):
        notes.append(f"attempt {batch['attempt'] + 1}")
    if batch.get("waiting_metadata"):
        notes.append("waits for metadata")
    if batch.get("held_back"):
        notes.append("held back")
    return text + (f" ({', '.join(notes)})" if notes else "")


def transaction_text(txn: Entry) -> str:
    """A transaction's metadata: ``Ongoing · epoch 0 · partitions topic-0``."""
    parts = [txn["status"], f"epoch {txn['epoch']}"]
    if txn.get("partitions"):
        parts.append("partitions " + ", ".join(txn["partitions"]))
    if txn.get("pending"):
        parts.append("markers to write to " + ", ".join(txn["pending"]))
    return " · ".join(parts)


def sink_text(effects: Sequence[Sequence[int]]) -> str:
    """What the sink shows, in write order: ``r1 r2`` (``p1:r1`` beyond partition 0)."""
    return " ".join(f"p{p}:r{r}" if p else f"r{r}" for p, r in effects) or "empty"


def numbers(values: Sequence[int]) -> str:
    """Broker numbers or offsets in a list: ``0, 1``; ``none`` for an empty one."""
    return ", ".join(map(str, values)) or "none"
