"""The messages of the pipeline, named as Kafka names its requests and responses.

Every message is a small frozen dataclass; `str()` is what a trace shows.
Records are numbered 1..N by the source and carry that number as their key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Entry(NamedTuple):
    """One record batch in a partition log (batches hold one record here), or a
    transaction's control marker (COMMIT or ABORT)."""

    record: int  # 0 for a control marker
    producer_id: int  # 0: no producer id (idempotence off)
    sequence: int  # -1 without idempotence, and for a marker
    leader_epoch: int  # the epoch of the leader that appended it
    producer_epoch: int = 0
    transactional: bool = False  # the batch's isTransactional attribute
    control: str = ""  # "" for data, "COMMIT" or "ABORT" for a marker
    transaction: int = 0  # ghost: the application's transaction attempt (0: none)

    def __str__(self) -> str:
        if self.control:
            return f"{self.control}(pid {self.producer_id}, epoch {self.producer_epoch})"
        return f"r{self.record}"


# -- source ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRead:
    """The producer application asks the upstream source for the record at `position`
    (None: resume from the position the source has stored). With `store`, the source
    stores the position past the record as it hands it out (read-and-acknowledge)."""

    position: int | None
    store: bool = False
    partition: int = 0  # the input partition (a read-process-write input may have two)

    def __str__(self) -> str:
        where = "next" if self.position is None else f"position {self.position}"
        if self.partition:
            where += f" of partition {self.partition}"
        return f"read {where}" + (" and store the position" if self.store else "")


@dataclass(frozen=True, slots=True)
class SourceRecord:
    position: int
    record: int

    def __str__(self) -> str:
        return f"record {self.record}"


@dataclass(frozen=True, slots=True)
class SourceCommit:
    """The application stores how far it has read (it will resume there after a crash)."""

    position: int

    def __str__(self) -> str:
        return f"store position {self.position}"


# -- producer <-> partition leader -------------------------------------------


@dataclass(frozen=True, slots=True)
class ProduceRequest:
    record: int
    producer_id: int
    sequence: int
    attempt: int  # the client's retry of this batch (0: the first send)
    acks: str  # "0", "1" or "all"
    session: int  # the client incarnation whose connection carries it
    producer_epoch: int = 0
    transactional_id: str = ""  # "": not a transactional write
    transaction: int = 0  # ghost: the application's transaction attempt
    connection: int = 0  # the client's connection to the broker (0: its first)

    def __str__(self) -> str:
        if self.transactional_id:
            return (
                f"ProduceRequest(r{self.record}, pid {self.producer_id}, "
                f"epoch {self.producer_epoch}, seq {self.sequence}){_on(self.connection)}"
            )
        epoch = f", epoch={self.producer_epoch}" if self.producer_epoch else ""
        idem = f", pid={self.producer_id}{epoch}, seq={self.sequence}" if self.producer_id else ""
        retry = f", retry {self.attempt}" if self.attempt else ""
        return (
            f"ProduceRequest(r{self.record}{idem}, acks={self.acks}{retry}){_on(self.connection)}"
        )


@dataclass(frozen=True, slots=True)
class ProduceResponse:
    """Matched to its request by record and attempt, or by producer epoch and sequence
    (Kafka matches by the connection's correlation id)."""

    record: int
    attempt: int
    session: int
    error: str = "NONE"
    offset: int = -1
    producer_epoch: int = 0
    sequence: int = -1
    connection: int = 0  # the connection of the request it answers
    log_start: int = 0  # the partition's log start offset

    def __str__(self) -> str:
        if self.error == "NONE":
            answer = f"r{self.record} at offset {self.offset}"
        else:
            answer = f"r{self.record}: {self.error}"
        return f"ProduceResponse({answer}){_on(self.connection)}"


# -- replication --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetch:
    """A fetch from the partition leader, by a follower replica or by the consumer."""

    offset: int  # -1: the consumer asks for the latest offset (auto.offset.reset=latest)
    leader_epoch: int  # a replica's current leader epoch (KIP-320); -1: not sent (before it)
    replica: bool
    session: int = 0  # the consumer incarnation whose connection carries it
    broker_epoch: int = -1  # a follower's broker epoch (KIP-903); -1 for the consumer
    read_committed: bool = False  # the consumer's isolation.level (KIP-98)

    def __str__(self) -> str:
        who = "replica " if self.replica else ""
        where = "latest" if self.offset < 0 else f"offset {self.offset}"
        epoch = f", epoch {self.leader_epoch}" if self.leader_epoch >= 0 else ""
        isolation = ", read_committed" if self.read_committed else ""
        return f"Fetch({who}{where}{epoch}{isolation})"


@dataclass(frozen=True, slots=True)
class FetchResponse:
    offset: int  # the offset of the first entry
    entries: tuple[Entry, ...]
    high_watermark: int
    error: str = "NONE"
    session: int = 0
    # read_committed: the aborted transactions the entries overlap, as (producer id, first
    # offset), from the leader's aborted transaction index
    aborted: tuple[tuple[int, int], ...] = ()
    log_start: int = 0  # the leader's log start offset

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"FetchResponse({self.error})"
        shown = ", ".join(f"{e}@{self.offset + i}" for i, e in enumerate(self.entries))
        aborted = ", ".join(f"pid {pid} from {first}" for pid, first in self.aborted)
        aborted = f", aborted: {aborted}" if aborted else ""
        return f"FetchResponse([{shown}], hw={self.high_watermark}{aborted})"


@dataclass(frozen=True, slots=True)
class OffsetsForLeaderEpoch:
    """Where does this epoch end? Asked by a follower about its last entry, or by a
    consumer (KIP-320) about the last record it read."""

    leader_epoch: int  # the epoch of the asker's last entry
    current_epoch: int  # the epoch the asker knows the leader by (KIP-320); -1: not sent

    def __str__(self) -> str:
        current = f", current epoch {self.current_epoch}" if self.current_epoch >= 0 else ""
        return f"OffsetsForLeaderEpoch(epoch {self.leader_epoch}{current})"


@dataclass(frozen=True, slots=True)
class OffsetsForLeaderEpochResponse:
    end_offset: int  # -1: the leader does not know the epoch
    leader_epoch: int = -1  # the epoch whose end it is (KIP-279); -1: not sent (KIP-101)
    error: str = "NONE"

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"OffsetsForLeaderEpochResponse({self.error})"
        epoch = f"epoch {self.leader_epoch}, " if self.leader_epoch >= 0 else ""
        return f"OffsetsForLeaderEpochResponse({epoch}end offset {self.end_offset})"


@dataclass(frozen=True, slots=True)
class AlterPartition:
    isr: tuple[int, ...]
    leader_epoch: int
    broker_epochs: tuple[int, ...] = ()  # of each ISR member, as its last fetch said (KIP-903)

    def __str__(self) -> str:
        return f"AlterPartition(isr={list(self.isr)})"


@dataclass(frozen=True, slots=True)
class AlterPartitionResponse:
    isr: tuple[int, ...]
    error: str = "NONE"

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"AlterPartitionResponse({self.error})"
        return f"AlterPartitionResponse(isr={list(self.isr)})"


# -- controller -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerRegistration:
    broker: int
    # The broker epoch its clean-shutdown file holds (KIP-966); -1: it did not shut down
    # cleanly, so the controller takes the restart as an unclean shutdown.
    previous_broker_epoch: int = -1

    def __str__(self) -> str:
        if self.previous_broker_epoch < 0:
            return f"BrokerRegistration(broker {self.broker})"
        return (
            f"BrokerRegistration(broker {self.broker}, previous broker epoch "
            f"{self.previous_broker_epoch})"
        )


@dataclass(frozen=True, slots=True)
class BrokerZnode:
    """A ZooKeeper-mode broker creates its ephemeral znode; the controller's BrokerChange
    watch sees it."""

    broker: int

    def __str__(self) -> str:
        return f"ZooKeeper registration /brokers/ids/{self.broker}"


@dataclass(frozen=True, slots=True)
class ControlledShutdown:
    """A broker asks to shut down cleanly: the controller first moves its leaderships away
    (ControlledShutdownRequest in ZooKeeper mode, BrokerHeartbeat with wantShutDown in
    KRaft)."""

    broker: int
    kraft: bool

    def __str__(self) -> str:
        if self.kraft:
            return f"BrokerHeartbeat(broker {self.broker}, wantShutDown)"
        return f"ControlledShutdown(broker {self.broker})"


@dataclass(frozen=True, slots=True)
class ControlledShutdownResponse:
    """The controller has moved the broker's leaderships away: it may stop."""

    kraft: bool

    def __str__(self) -> str:
        return (
            "BrokerHeartbeatResponse(shouldShutDown)"
            if self.kraft
            else "ControlledShutdownResponse"
        )


@dataclass(frozen=True, slots=True)
class BrokerRegistrationResponse:
    """The controller's answer to a registration: the broker's new broker epoch, and the
    partition's state the broker then reads from the metadata log."""

    broker_epoch: int
    partition: LeaderAndIsr

    def __str__(self) -> str:
        return f"BrokerRegistrationResponse(broker epoch {self.broker_epoch}; {self.partition})"


@dataclass(frozen=True, slots=True)
class SessionExpired:
    """The controller stops hearing a broker's heartbeats and fences it."""

    name: str

    def __str__(self) -> str:
        return f"session of {self.name} expired"


@dataclass(frozen=True, slots=True)
class ZooKeeperConnectionLost:
    """ZooKeeper stops hearing a crashed broker; its session, and its znode, last until
    zookeeper.session.timeout.ms has passed."""

    name: str

    def __str__(self) -> str:
        return f"ZooKeeper lost the connection of {self.name}"


@dataclass(frozen=True, slots=True)
class LeaderAndIsr:
    leader: int  # -1: no leader (the partition is offline)
    leader_epoch: int
    isr: tuple[int, ...]

    def __str__(self) -> str:
        leader = "none" if self.leader < 0 else f"broker {self.leader}"
        return f"LeaderAndIsr(leader {leader}, epoch {self.leader_epoch}, isr={list(self.isr)})"


@dataclass(frozen=True, slots=True)
class UpdateMetadata:
    leader: int
    leader_epoch: int
    partition: str

    def __str__(self) -> str:
        leader = "none" if self.leader < 0 else f"broker {self.leader}"
        return f"UpdateMetadata({self.partition}: leader {leader}, epoch {self.leader_epoch})"


# -- consumer group -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinGroup:
    connection: int = 0  # the client's connection to the group coordinator (0: its first)
    # A group of several consumers: the partitions the member's metadata knows of (its
    # subscription); 0 where the group has one member.
    partitions: int = 0

    def __str__(self) -> str:
        return f"JoinGroup{_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class RebalanceInProgress:
    """A heartbeat's answer to a member of a group of several: rejoin at your next
    poll (REBALANCE_IN_PROGRESS)."""

    def __str__(self) -> str:
        return "Heartbeat: REBALANCE_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class JoinGroupResponse:
    generation: int
    connection: int = 0
    # The partitions assigned to the member, in a group of several consumers (None: all)
    partitions: tuple[int, ...] | None = None

    def __str__(self) -> str:
        if self.generation < 0:
            answer = "joined, another member keeps the partitions"
        elif self.partitions is None:
            answer = f"generation {self.generation}, assigned the partitions"
        elif self.partitions:
            names = ", ".join(f"topic-{p}" for p in self.partitions)
            answer = f"generation {self.generation}, assigned {names}"
        else:
            answer = f"generation {self.generation}, assigned nothing"
        return f"JoinGroupResponse({answer}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class OffsetFetch:
    # KIP-447: wait while a transactional commit of the partition asked for is pending.
    require_stable: bool = False
    connection: int = 0
    partition: int = -1  # the partition whose offset is asked for; -1: every partition

    def __str__(self) -> str:
        stable = "(require stable)" if self.require_stable else ""
        return f"OffsetFetch{stable}{_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class OffsetFetchResponse:
    offsets: tuple[int, ...]  # per partition; -1: no committed offset
    connection: int = 0

    def __str__(self) -> str:
        return f"OffsetFetchResponse(committed {_offsets(self.offsets)}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class OffsetCommit:
    offsets: tuple[int, ...]  # the next offset to read, per partition
    generation: int
    connection: int = 0

    def __str__(self) -> str:
        offsets = "offset" if len(self.offsets) == 1 else "offsets"
        committed = f"{offsets} {_offsets(self.offsets)}, generation {self.generation}"
        return f"OffsetCommit({committed}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class OffsetCommitResponse:
    offsets: tuple[int, ...]
    error: str = "NONE"
    connection: int = 0
    generation: int = -1  # in a group of several consumers: the commit's generation

    def __str__(self) -> str:
        answer = f"{_offsets(self.offsets)}: {_outcome(self.error)}"
        return f"OffsetCommitResponse({answer}){_on(self.connection)}"


def _outcome(error: str) -> str:
    """A response's error code as a label shows it: success (Kafka's NONE) reads "ok"."""
    return "ok" if error == "NONE" else error


def _offsets(offsets: tuple[int, ...]) -> str:
    """One partition's offset as a number, several as a list; -1 (none) as "none"."""
    shown = ["none" if offset < 0 else str(offset) for offset in offsets]
    return shown[0] if len(shown) == 1 else f"[{', '.join(shown)}]"


# -- sink --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SinkWrite:
    record: int
    offset: int
    store_offset: bool = False  # store the input position past it in the same write
    partition: int = 0  # the partition the record was read from: with it, the record's key

    def __str__(self) -> str:
        stored = f" and position {self.offset + 1}" if self.store_offset else ""
        return f"write {_record(self.partition, self.record)}{stored}"


@dataclass(frozen=True, slots=True)
class SinkAck:
    record: int
    partition: int = 0

    def __str__(self) -> str:
        return f"written {_record(self.partition, self.record)}"


def _record(partition: int, record: int) -> str:
    """A record as the sink keys it; one read from a partition other than 0 names it."""
    return f"r{record}" if partition == 0 else f"r{record} of partition {partition}"


@dataclass(frozen=True, slots=True)
class MetadataRequest:
    partition: str  # the partition whose leader the client asks for

    def __str__(self) -> str:
        return f"MetadataRequest({self.partition})"


@dataclass(frozen=True, slots=True)
class TopicMetadataRequest:
    """A client's periodic refresh (metadata.max.age.ms): how many partitions has the
    topic?"""

    def __str__(self) -> str:
        return "MetadataRequest(topic)"


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    partitions: int

    def __str__(self) -> str:
        return f"Metadata(topic: {self.partitions} partitions)"


# -- transactions (KIP-98, KIP-447, KIP-890) -------------------------------------
#
# Every transaction request carries `attempt` (a ProduceRequest: `transaction`), a ghost:
# the number the application gave this transaction attempt. Kafka does not send it; the
# contracts use it to tell which transaction a record, a marker or an offset commit is of.

GROUP = "group-coordinator"  # holds the group's offsets: a member of transactions


# -- producer <-> transaction coordinator -------------------------------------


@dataclass(frozen=True, slots=True)
class InitProducerId:
    """From a new instance (epoch -1), or from a running producer that bumps its own
    epoch to reset its sequence numbers after an abort (KIP-360)."""

    transactional_id: str
    epoch: int = -1
    connection: int = 0  # the client's connection to the coordinator (0: its first)

    def __str__(self) -> str:
        bump = "" if self.epoch < 0 else f", bump epoch {self.epoch}"
        return f"InitProducerId({self.transactional_id}{bump}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class InitProducerIdResponse:
    producer_id: int
    epoch: int
    error: str = "NONE"
    connection: int = 0  # the connection of the request it answers
    unfounded: bool = False  # PRODUCER_FENCED that nothing fenced (ghost)

    def __str__(self) -> str:
        if self.error != "NONE":
            return f"InitProducerIdResponse({self.error}){_on(self.connection)}"
        answer = f"pid {self.producer_id}, epoch {self.epoch}"
        return f"InitProducerIdResponse({answer}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class AddPartitionsToTxn:
    """Also AddOffsetsToTxn, when the partition is the group's offsets (`GROUP`)."""

    transactional_id: str
    producer_id: int
    epoch: int
    partitions: tuple[str, ...]
    attempt: int
    connection: int = 0

    def __str__(self) -> str:
        if self.partitions == (GROUP,):
            return f"AddOffsetsToTxn(epoch {self.epoch}){_on(self.connection)}"
        partitions = ", ".join(self.partitions)
        return f"AddPartitionsToTxn({partitions}, epoch {self.epoch}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class EndTxn:
    transactional_id: str
    producer_id: int
    epoch: int
    commit: bool
    attempt: int
    connection: int = 0

    def __str__(self) -> str:
        result = "COMMIT" if self.commit else "ABORT"
        return f"EndTxn({result}, epoch {self.epoch}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class TxnResponse:
    """The answer to AddPartitionsToTxn, AddOffsetsToTxn or EndTxn; `epoch` is the one
    the producer holds from now on (KIP-890 bumps it at every EndTxn)."""

    request: str  # "add" | "end"
    error: str = "NONE"
    epoch: int = -1
    connection: int = 0  # the connection of the request it answers
    unfounded: bool = False  # PRODUCER_FENCED that nothing fenced (ghost)

    def __str__(self) -> str:
        name = {"add": "AddPartitionsToTxnResponse", "end": "EndTxnResponse"}[self.request]
        if self.error != "NONE":
            answer = self.error
        else:
            answer = f"epoch {self.epoch}" if self.request == "end" else "ok"
        return f"{name}({answer}){_on(self.connection)}"


def _on(connection: int) -> str:
    """How a message names the connection it travels on, past the client's first."""
    return f" on connection {connection + 1}" if connection else ""


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
    """Matched to its marker by partition, producer id, epoch and kind (Kafka: the
    request's correlation id), so a late answer to an earlier marker completes nothing."""

    partition: str
    producer_id: int
    epoch: int
    commit: bool
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
    connection: int = 0
    partition: int = 0  # the input partition whose offset it commits

    def __str__(self) -> str:
        generation = "" if self.generation < 0 else f", generation {self.generation}"
        where = f"partition {self.partition} " if self.partition else ""
        return f"TxnOffsetCommit({where}offset {self.offset}{generation}){_on(self.connection)}"


@dataclass(frozen=True, slots=True)
class TxnOffsetCommitResponse:
    error: str = "NONE"
    connection: int = 0

    def __str__(self) -> str:
        return f"TxnOffsetCommitResponse({_outcome(self.error)}){_on(self.connection)}"


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
