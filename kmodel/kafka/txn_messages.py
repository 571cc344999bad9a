"""The messages of Kafka transactions (KIP-98, KIP-447, KIP-890), named as Kafka names them.

Every transactional write and every transaction request carries `attempt` (in a
ProduceRequest, `transaction`), a ghost: the number the application gave this
transaction attempt. Kafka does not send it; the contracts use it to tell which
transaction a record, a marker or an offset commit belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "group-coordinator"  # holds the group's offsets: a member of transactions


# -- producer <-> transaction coordinator -------------------------------------


@dataclass(frozen=True, slots=True)
class InitProducerId:
    """From a new instance (epoch -1), or from a running producer that bumps its own
    epoch to reset its sequence numbers after an abort (KIP-360)."""

    transactional_id: str
    epoch: int = -1

    def __str__(self) -> str:
        bump = "" if self.epoch < 0 else f", bump epoch {self.epoch}"
        return f"InitProducerId({self.transactional_id}{bump})"


@dataclass(frozen=True, slots=True)
class InitProducerIdResponse:
    producer_id: int
    epoch: int
    error: str = "NONE"

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"InitProducerIdResponse({self.error})"
        return f"InitProducerIdResponse(pid {self.producer_id}, epoch {self.epoch})"


@dataclass(frozen=True, slots=True)
class AddPartitionsToTxn:
    """Also AddOffsetsToTxn, when the partition is the group's offsets (`GROUP`)."""

    transactional_id: str
    producer_id: int
    epoch: int
    partitions: tuple[str, ...]
    attempt: int

    def __str__(self) -> str:
        if self.partitions == (GROUP,):
            return f"AddOffsetsToTxn(epoch {self.epoch})"
        return f"AddPartitionsToTxn({', '.join(self.partitions)}, epoch {self.epoch})"


@dataclass(frozen=True, slots=True)
class EndTxn:
    transactional_id: str
    producer_id: int
    epoch: int
    commit: bool
    attempt: int

    def __str__(self) -> str:
        return f"EndTxn({'COMMIT' if self.commit else 'ABORT'}, epoch {self.epoch})"


@dataclass(frozen=True, slots=True)
class TxnResponse:
    """The answer to AddPartitionsToTxn, AddOffsetsToTxn or EndTxn; `epoch` is the one
    the producer holds from now on (KIP-890 bumps it at every EndTxn)."""

    request: str  # "add" | "end"
    error: str = "NONE"
    epoch: int = -1

    def __str__(self) -> str:
        name = {"add": "AddPartitionsToTxnResponse", "end": "EndTxnResponse"}[self.request]
        if self.error != "NONE":
            return f"{name}({self.error})"
        return f"{name}(epoch {self.epoch})" if self.request == "end" else f"{name}(ok)"


# -- transaction coordinator <-> partitions ------------------------------------


@dataclass(frozen=True, slots=True)
class WriteTxnMarkers:
    partition: str
    producer_id: int
    epoch: int
    commit: bool
    attempt: int

    def __str__(self) -> str:
        kind = "COMMIT" if self.commit else "ABORT"
        return f"WriteTxnMarkers({kind}, pid {self.producer_id}, epoch {self.epoch})"


@dataclass(frozen=True, slots=True)
class WriteTxnMarkersResponse:
    partition: str
    producer_id: int
    error: str = "NONE"

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"WriteTxnMarkersResponse({self.error})"
        return "WriteTxnMarkersResponse"


@dataclass(frozen=True, slots=True)
class VerifyTxn:
    """KIP-890 part 1: before a producer's first transactional write, the partition
    asks the coordinator whether the transaction is ongoing and includes it
    (AddPartitionsToTxn with verifyOnly)."""

    transactional_id: str
    producer_id: int
    epoch: int
    partition: str

    def __str__(self) -> str:
        return f"AddPartitionsToTxn(verify only, pid {self.producer_id}, epoch {self.epoch})"


@dataclass(frozen=True, slots=True)
class VerifyTxnResponse:
    producer_id: int
    epoch: int
    ongoing: bool

    def __str__(self) -> str:
        return f"AddPartitionsToTxnResponse({'ongoing' if self.ongoing else 'INVALID_TXN_STATE'})"


# -- processor <-> group coordinator -------------------------------------------


@dataclass(frozen=True, slots=True)
class TxnOffsetCommit:
    producer_id: int
    epoch: int
    offset: int
    generation: int  # -1: sent without the consumer's group metadata (before KIP-447)
    attempt: int
    member_generation: int  # ghost: the sender's generation, sent or not

    def __str__(self) -> str:
        generation = "" if self.generation < 0 else f", generation {self.generation}"
        return f"TxnOffsetCommit(offset {self.offset}{generation})"


@dataclass(frozen=True, slots=True)
class TxnOffsetCommitResponse:
    error: str = "NONE"

    def __str__(self) -> str:
        return f"TxnOffsetCommitResponse({self.error})"


# -- processor <-> external sink ------------------------------------------------


@dataclass(frozen=True, slots=True)
class SinkOffsetFetch:
    """Ask the sink for the input position it stored with its results."""

    def __str__(self) -> str:
        return "read the stored input position"


@dataclass(frozen=True, slots=True)
class SinkOffsetFetchResponse:
    offset: int

    def __str__(self) -> str:
        return f"stored position {self.offset}"
