"""The Kafka model's configuration, by Kafka's own setting names and defaults (4.x).

Each section of a spec maps to one frozen dataclass here. `kafka_rules`
rejects the combinations Kafka itself rejects, with Kafka's reason, and the
settings that do not apply to the chosen `application.kind`.

Transactions default to today's Kafka: the idempotent producer, partition
verification on, `transaction.version=2` (KIP-890), offsets sent with the
consumer's group metadata (KIP-447), and the consumer's default
`isolation.level=read_uncommitted`, which an exactly-once reader must change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kmodel.core.schema import Setting, Settings
from kmodel.kafka.topic import Topic
from kmodel.kafka.truncation import GENERATIONS, KIP_320, fences_by_epoch

# The largest values of Kafka's INT and LONG settings (Java's int and long).
INT_MAX = 2_147_483_647
LONG_MAX = 9_223_372_036_854_775_807
ACKS_FOR_IDEMPOTENCE = (
    "Must set acks to all in order to use the idempotent producer. "
    "Otherwise we cannot guarantee idempotence."
)
APPLICATION_KINDS = ("producer", "read-process-write")
ACKS = Setting(
    "acks", object, "all", "acknowledgements the leader waits for", choices=(0, 1, "all", -1)
)

SECTIONS: dict[str, tuple[Setting, ...]] = {
    "producer": (
        ACKS,
        Setting("retries", int, INT_MAX, "resends of a failed batch", minimum=0, maximum=INT_MAX),
        Setting(
            "delivery.timeout.ms",
            int,
            120_000,
            "time budget for one record, retries included",
            minimum=1,
            maximum=INT_MAX,
        ),
        Setting(
            "request.timeout.ms",
            int,
            30_000,
            "time to wait for one response",
            minimum=1,
            maximum=INT_MAX,
        ),
        Setting(
            "linger.ms", int, 0, "time a batch waits for more records", minimum=0, maximum=INT_MAX
        ),
        Setting(
            "max.in.flight.requests.per.connection",
            int,
            5,
            "unacknowledged requests per connection",
            minimum=1,
            maximum=10,
        ),
        Setting(
            "enable.idempotence",
            bool,
            None,
            "producer id and sequence numbers (default: on unless a conflicting setting)",
        ),
        Setting(
            "transactional.id",
            str,
            "",
            "the id whose epoch fences older instances (read-process-write needs one)",
        ),
        Setting(
            "unknown.producer.id",
            str,
            "bump-epoch",
            "what the idempotent producer does when a leader answers UNKNOWN_PRODUCER_ID (it "
            "forgot the producer): bump-epoch (KIP-360, the Java client since 2.5) bumps its "
            "producer epoch, starts the partition's sequence numbers again at 0 and retries; "
            "reset-or-fail (the Java client 1.0 to 2.4) starts them again at 0 only if the "
            "log start offset the error names passed its last acknowledged offset (retention "
            "deleted its batches, or none was acknowledged), and fails the batch otherwise",
            choices=("bump-epoch", "reset-or-fail"),
        ),
        Setting(
            "transaction.epoch.bump",
            str,
            "after-abort",
            "what a transactional producer does when a write of its transaction meets an "
            "error that needs a new producer epoch (UNKNOWN_PRODUCER_ID, "
            "OUT_OF_ORDER_SEQUENCE_NUMBER): after-abort (the Java client) makes the "
            "transaction abortable, and the epoch is bumped once it is aborted; "
            "in-transaction (librdkafka from 1.4 until the fix of its issue 3575, here "
            "against brokers before 2.5) bumps it at once with a plain InitProducerId, which "
            "the coordinator answers by aborting the open transaction, unknown to the "
            "client, which goes on with it and sends the write again under the new epoch",
            choices=("after-abort", "in-transaction"),
        ),
        Setting(
            "transaction.timeout.ms",
            int,
            60_000,
            "the coordinator aborts a transaction open this long",
            minimum=1,
            maximum=INT_MAX,
        ),
    ),
    "consumer": (
        Setting(
            "enable.auto.commit", bool, True, "commit the previous poll's position at each poll"
        ),
        Setting(
            "auto.offset.reset",
            str,
            "latest",
            "where to start with no committed offset",
            choices=("earliest", "latest", "none"),
        ),
        Setting(
            "isolation.level",
            str,
            "read_uncommitted",
            "what a reader of a transactional topic sees",
            choices=("read_committed", "read_uncommitted"),
        ),
        Setting(
            "position.validation",
            str,
            KIP_320,
            "how the consumer finds that its leader's log was truncated under its position: "
            "kip-320 (the Java consumer since 2.3, librdkafka since 2.1) validates the "
            "position with OffsetsForLeaderEpoch after each leader change and resets to where "
            "the logs diverge; none (older clients) notices only an offset past the log's end "
            "and then applies auto.offset.reset. Against brokers before KIP-320 (broker."
            "truncation) no client can validate",
            choices=(KIP_320, "none"),
        ),
    ),
    "broker": (
        Setting("replication.factor", int, 1, "replicas of the partition", minimum=1, maximum=3),
        Setting(
            "min.insync.replicas", int, 1, "in-sync replicas acks=all needs", minimum=1, maximum=3
        ),
        Setting(
            "unclean.leader.election.enable",
            bool,
            False,
            "elect an out-of-sync replica when no in-sync replica is alive",
        ),
        Setting(
            "log.flush.interval.messages",
            int,
            LONG_MAX,
            "fsync after this many messages (default: leave it to the OS)",
            minimum=1,
            maximum=LONG_MAX,
        ),
        Setting(
            "crash.loses.page.cache",
            bool,
            False,
            "a broker crash is a machine crash: unflushed log data is gone",
        ),
        Setting(
            "truncation",
            str,
            KIP_320,
            "how a new follower truncates its log: high-watermark (Kafka before 0.11), "
            "kip-101 (0.11 to 1.1: one OffsetsForLeaderEpoch round), kip-279 (2.0: rounds "
            "until the epochs match), kip-320 (2.1 and later: also the current leader epoch "
            "in requests, truncation on every epoch change)",
            choices=GENERATIONS,
        ),
        Setting(
            "high.watermark.isr",
            str,
            "maximal",
            "the replicas the HW waits for while an AlterPartition is pending: the maximal "
            "ISR, old and asked-for members (KIP-497, Kafka 2.7+), or the committed ISR only "
            "(before 2.7)",
            choices=("maximal", "committed"),
        ),
        Setting(
            "isr.expansion",
            str,
            "epoch-start-offset",
            "when a follower rejoins the ISR: its log end reached the HW and the leader's "
            "epoch start offset (KAFKA-7128, Kafka 2.0.1 and 2.1+), or the HW only (2.0.0 and "
            "before)",
            choices=("epoch-start-offset", "high-watermark"),
        ),
        Setting(
            "offsets.retention",
            str,
            "group-empty",
            "when a group's committed offsets expire once offsets.retention.minutes pass "
            "(bounds.offset_expirations): only while the group has no member (KIP-211, "
            "Kafka 2.1+), or after their commit even while the group consumes (before 2.1)",
            choices=("group-empty", "since-commit"),
        ),
        Setting(
            "fenced.replicas.join.isr",
            bool,
            False,
            "the controller lets a fenced broker join the ISR (true: KRaft before 3.3; "
            "false: INELIGIBLE_REPLICA, KIP-841, Kafka 3.3+)",
        ),
        Setting(
            "stale.broker.epoch.join.isr",
            bool,
            False,
            "the controller lets a replica join the ISR on a fetch from an earlier broker "
            "epoch (true: before 3.5; false: AlterPartition carries broker epochs, KIP-903, "
            "Kafka 3.5+)",
        ),
        Setting(
            "strict.min.isr",
            bool,
            True,
            "the HW advances only while the ISR has min.insync.replicas members (KIP-966, "
            "Kafka 3.7+; false: before 3.7)",
        ),
        Setting(
            "eligible.leader.replicas.version",
            int,
            1,
            "1: the controller keeps Eligible Leader Replicas, lets the ISR become empty, "
            "drops a replica with an unclean shutdown from ISR and ELR when it registers, and "
            "elects from the ELR, then the last known leader (KIP-966; Kafka 4.1+ new "
            "clusters, 4.0 opt-in); 0: the last ISR member stays in the ISR (before 4.1)",
            choices=(0, 1),
        ),
        Setting(
            "log.retention.ms",
            int,
            604_800_000,
            "a leader deletes its oldest segments this long after their last record was "
            "written (bounds.log_retentions), never above its high watermark; at or above the "
            "producer's delivery.timeout.ms no retry of a deleted batch can still arrive",
            minimum=1,
            maximum=LONG_MAX,
        ),
        Setting(
            "producer.id.expiration.ms",
            int,
            86_400_000,
            "a leader forgets a producer id this long after its last write "
            "(bounds.producer_expiries); at or above the producer's delivery.timeout.ms no "
            "retry of an earlier batch can still arrive (KIP-854)",
            minimum=1,
            maximum=INT_MAX,
        ),
        Setting(
            "unknown.producer.id.error",
            bool,
            False,
            "a leader with no state of a producer answers UNKNOWN_PRODUCER_ID to a batch "
            "whose sequence number is not 0 (true: Kafka 0.11 to 2.4; false: 2.5+ accepts it "
            "with any sequence number, KIP-360)",
        ),
        Setting(
            "transaction.version",
            int,
            2,
            "2: KIP-890, every commit and abort bumps the producer epoch",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "transaction.log.last.epoch",
            bool,
            True,
            "the transaction log keeps each producer's epoch before its last KIP-360 bump, "
            "so an InitProducerId retried after a coordinator moved gets its new epoch "
            "back (inter.broker.protocol.version 2.4+; false: before 2.4, such a retry "
            "is told PRODUCER_FENCED)",
        ),
        Setting(
            "transaction.partition.verification.enable",
            bool,
            True,
            "a partition verifies a transaction with the coordinator before its first write",
        ),
        Setting(
            "transaction.max.timeout.ms",
            int,
            900_000,
            "the largest transaction.timeout.ms a producer may ask for",
            minimum=1,
            maximum=INT_MAX,
        ),
        Setting(
            "controller.mode",
            str,
            "kraft",
            "who keeps the metadata: kraft (KIP-500, Kafka 2.8+, the only mode since 4.0): "
            "brokers register with a new broker epoch, are fenced when their session "
            "expires, and record a clean shutdown; zookeeper (before 4.0, its controller "
            "as before KIP-380's broker epochs in 2.2): a broker's ephemeral znode outlives "
            "a crash until zookeeper.session.timeout.ms, a quick restart is not seen as a "
            "failure, and the controller's channel may lose a LeaderAndIsr",
            choices=("kraft", "zookeeper"),
        ),
    ),
    "application": (
        Setting(
            "kind",
            str,
            "producer",
            "a producer application reading an external source, or a read-process-write "
            "application (consume, transform, produce) with Kafka transactions",
            choices=APPLICATION_KINDS,
        ),
        Setting(
            "source.commit",
            str,
            "after-ack",
            "when the producer application stores its source position",
            choices=("after-ack", "before-send"),
        ),
        Setting(
            "on.send.failure",
            str,
            "give-up",
            "what the producer application does when a send finally fails",
            choices=("give-up", "resend"),
        ),
        Setting(
            "on.sink.failure",
            str,
            "retry",
            "what the consumer application does when the connection to the sink breaks "
            "before the sink answers a write: retry it (which the sink may take twice), or "
            "give up on the record and go on (which the sink may never have taken)",
            choices=("retry", "give-up"),
        ),
        Setting(
            "consumer.commit",
            str,
            "after-processing",
            "where a manual commit sits in the poll loop (ignored with auto commit)",
            choices=("before-processing", "after-processing"),
        ),
        Setting("commit.mode", str, "sync", "commitSync or commitAsync", choices=("sync", "async")),
        Setting(
            "commit.async.retry",
            bool,
            False,
            "the commitAsync callback sends a commit that failed with a retriable error again "
            "(a common mistake: the retry can land after a newer commit and move the "
            "committed offset back)",
        ),
        Setting(
            "processing",
            str,
            "poll-loop",
            "where polled records are processed: in the poll loop before the next poll, or "
            "handed to a worker pool while the loop polls on (then auto commit may store "
            "positions past records still being processed)",
            choices=("poll-loop", "worker-pool"),
        ),
        Setting(
            "commit.failed",
            str,
            "rejoin",
            "what the application does when a commit fails with CommitFailedException (the "
            "group moved on): rejoin and drop the records it polled, or (a common mistake) "
            "process them anyway, then rejoin",
            choices=("rejoin", "process"),
        ),
        Setting(
            "transactional.id.scope",
            str,
            "instance",
            "one transactional.id per application instance (EOS v2) or per input "
            "partition, taken over with it (EOS v1)",
            choices=("instance", "input-partition"),
        ),
        Setting(
            "offsets",
            str,
            "transaction",
            "where the input position is stored: in the transaction, committed after it, "
            "or in the sink with the results",
            choices=("transaction", "after-commit", "sink"),
        ),
        Setting(
            "send.offsets.group.metadata",
            bool,
            True,
            "sendOffsetsToTransaction with consumer.groupMetadata() (KIP-447 fencing)",
        ),
        Setting(
            "offset.fetch.require.stable",
            bool,
            True,
            "the application's OffsetFetch sets require_stable, so offsets a transaction "
            "has not yet committed or aborted are waited for (KIP-447, Kafka 2.5+, as the "
            "Java consumer does with isolation.level=read_committed); false: before 2.5",
        ),
        Setting(
            "seek.after.abort",
            bool,
            True,
            "after abortTransaction() the application seeks its input back to the committed "
            "position (false: a common mistake, it polls on past the aborted records)",
        ),
        Setting(
            "on.send.timeout",
            str,
            "abort",
            "what the application does when a write of its transaction times out: abort "
            "(the Java client makes it: the transaction can only abort), or resend (a "
            "mistake some clients allow: it sends the record again as a new record in the "
            "same transaction and commits)",
            choices=("abort", "resend"),
        ),
        Setting(
            "on.commit.timeout",
            str,
            "retry",
            "what the application does when commitTransaction() times out "
            "(bounds.coordinator_timeouts) while its EndTxn may still arrive: retry (the "
            "Java client: commitTransaction() again, which sends the EndTxn again on a new "
            "connection); abort (abortTransaction() and process the record again from the "
            "committed position, where a client allows an abort after a commit timed out); "
            "next (the mistake of taking the commit as done and going on to the next "
            "transaction)",
            choices=("retry", "abort", "next"),
        ),
        Setting(
            "output", str, "kafka", "an output topic or an external sink", choices=("kafka", "sink")
        ),
    ),
    "sink": (
        Setting(
            "write",
            str,
            "append",
            "append (INCREMENT-like) or upsert by key (SET-like)",
            choices=("append", "upsert"),
        ),
        Setting(
            "dedup",
            str,
            "none",
            "a table of processed record ids, skipped when seen",
            choices=("none", "memory", "durable"),
        ),
    ),
    "bounds": (
        Setting("records", int, 2, "records in the source or input", minimum=1, maximum=4),
        Setting(
            "partitions",
            int,
            1,
            "partitions of the topic the application writes (record r goes to partition "
            "(r - 1) mod partitions; the read-process-write output gets every record)",
            minimum=1,
            maximum=2,
        ),
        Setting(
            "retries",
            int,
            1,
            "resends explored per batch (caps producer.retries)",
            minimum=0,
            maximum=3,
        ),
        Setting("producer_crashes", int, 0, "producer application crashes", minimum=0, maximum=2),
        Setting("broker_crashes", int, 0, "broker (replica) crashes", minimum=0, maximum=3),
        Setting(
            "broker_restarts",
            object,
            "every",
            "times a stopped broker (a crash, a power cut, a controlled shutdown) comes "
            "back: every time, or at most this many in all, after which a stopped broker "
            "is lost for good, as when its disk or machine fails",
            choices=("every", 0, 1, 2, 3),
        ),
        Setting("consumer_crashes", int, 0, "consumer crashes", minimum=0, maximum=2),
        Setting("sink_crashes", int, 0, "sink crashes", minimum=0, maximum=2),
        Setting(
            "network_failures",
            int,
            0,
            "connections broken with messages in flight",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "consumers",
            int,
            1,
            "consumers reading the topic written: the producer's, or the read-process-write "
            "output (0: check the producing side only; 2: a group of two members sharing "
            "the producer's topic)",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "fetch_waits",
            int,
            0,
            "consumer fetches answered empty when fetch.max.wait.ms expires",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "timeouts",
            int,
            0,
            "request timeouts while the answer is still on its way (a slow broker)",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "rebalances",
            int,
            0,
            "consumer evictions by the group coordinator",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "coordinator_loads",
            int,
            0,
            "times the consumer group's coordinator moves and loads its offsets partition, "
            "answering commits with COORDINATOR_LOAD_IN_PROGRESS meanwhile",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "offset_expirations",
            int,
            0,
            "times offsets.retention.minutes pass with no offset commit of the group",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "coordinator_timeouts",
            int,
            0,
            "requests of a transaction that time out while still on their way (to the "
            "transaction coordinator, or the offsets to the group coordinator): the client "
            "sends them again on a new connection",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "isr_shrinks",
            int,
            0,
            "followers dropped from the ISR for lagging",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "power_failures",
            int,
            0,
            "power cuts of a rack or data centre: every broker in the cut stops and loses "
            "what it had not flushed to disk",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "power_cut",
            str,
            "any",
            "which brokers one power cut takes down: any set of them (which share a rack is "
            "left open), any one, or all of them (a data centre)",
            choices=("any", "one", "all"),
        ),
        Setting(
            "processor_crashes",
            int,
            0,
            "read-process-write application crashes",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "controlled_shutdowns",
            int,
            0,
            "controlled shutdowns of a broker (ControlledShutdown, or BrokerHeartbeat with "
            "wantShutDown in KRaft): it restarts later",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "input_partitions",
            int,
            1,
            "partitions of the read-process-write input (record r is in partition "
            "(r - 1) mod input_partitions); with 2, two application instances own one "
            "each and run their transactions at the same time, each with its own "
            "transactional.id, writing to the same output partitions",
            minimum=1,
            maximum=2,
        ),
        Setting(
            "takeovers",
            int,
            0,
            "the owner's session expires while it is only paused: a second instance "
            "takes over and the first lives on as a zombie",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "hangs",
            int,
            0,
            "instances that hang for good, mid-transaction or not",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "txn_coordinator_crashes",
            int,
            0,
            "transaction coordinator crashes",
            minimum=0,
            maximum=2,
        ),
        Setting(
            "transaction_timeouts",
            int,
            0,
            "transactions aborted by the coordinator's transaction.timeout.ms",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "partition_expansions",
            int,
            0,
            "times an administrator adds a partition to the topic while it runs "
            "(CreatePartitions): the topic starts with one partition fewer than "
            "bounds.partitions, and clients find the new one at a metadata refresh",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "log_retentions",
            int,
            0,
            "times a leader sees log.retention.ms pass for its oldest segments and deletes "
            "them, moving its log start offset up to at most its high watermark",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "producer_expiries",
            int,
            0,
            "times a replica sees producer.id.expiration.ms pass with no write of the "
            "producer and forgets its producer state",
            minimum=0,
            maximum=1,
        ),
        Setting(
            "leader_and_isr_losses",
            int,
            0,
            "LeaderAndIsr requests the ZooKeeper controller's channel to a broker drops",
            minimum=0,
            maximum=2,
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    acks: str  # "0", "1" or "all"
    attempts: int  # 1 + the retries explored (delivery.timeout.ms and retries both cap it)
    max_in_flight: int
    idempotence: bool
    bump_epoch_on_unknown_producer: bool = True  # KIP-360: unknown.producer.id = bump-epoch


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    auto_commit: bool
    offset_reset: str
    commit: str  # before-processing | after-processing
    commit_async: bool
    read_committed: bool  # isolation.level
    process_after_failed_commit: bool  # commit.failed=process: the mistake
    worker_pool: bool  # processing=worker-pool: the loop polls on while records are in hand
    retry_async_commits: bool  # commit.async.retry: the mistake
    validate_positions: bool  # KIP-320: OffsetsForLeaderEpoch after a leader change
    sink_give_up: bool  # on.sink.failure=give-up: a write whose answer is lost is not retried


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    replicas: int
    min_insync: int
    unclean_election: bool
    flush_every_write: bool
    crash_loses_page_cache: bool
    truncation: str  # one of truncation.GENERATIONS
    power_failures: bool  # a power cut may take brokers down with their page cache
    hw_over_maximal_isr: bool
    isr_join_at_epoch_start: bool
    fenced_replicas_join_isr: bool
    stale_broker_epoch_joins_isr: bool
    strict_min_isr: bool
    eligible_leader_replicas: bool
    zookeeper: bool  # controller.mode=zookeeper: ZooKeeper sessions and LeaderAndIsr requests
    offsets_retention: str  # group-empty (KIP-211) | since-commit
    producer_expiries: bool  # a replica may forget a producer (bounds.producer_expiries)
    unknown_producer_id_error: bool  # before 2.5: UNKNOWN_PRODUCER_ID, not any sequence
    producer_expiry_after_delivery_timeout: bool  # no retry outlives a producer's state
    log_retentions: bool  # a leader may delete its oldest segments (bounds.log_retentions)
    retention_after_delivery_timeout: bool  # no retry outlives a deleted batch
    restarts_counted: bool  # a stopped broker comes back only within RESTART_BUDGET

    @property
    def page_cache_matters(self) -> bool:
        """Whether some fault can lose what a broker has not flushed to disk."""
        return (self.crash_loses_page_cache or self.power_failures) and not self.flush_every_write


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    producer: ProducerConfig
    consumer: ConsumerConfig
    broker: BrokerConfig
    source_commit_before_send: bool
    resend_on_failure: bool
    sink_upsert: bool
    sink_dedup: str
    records: int
    partitions: int
    first_partitions: int  # the topic's partitions at the start (one fewer if one is added)
    consumers: int
    power_cut: str  # any | one | all: the sets of brokers one power cut may take down
    budget: dict[str, int]


def acks_of(settings: Settings) -> str:
    acks = settings["producer"]["acks"]
    return "all" if acks in ("all", -1) else str(acks)


def idempotence_of(settings: Settings) -> bool:
    """Kafka ≥ 3.2: on by default, silently off when a conflicting setting was chosen."""
    explicit = settings["producer"]["enable.idempotence"]
    return not _idempotence_conflicts(settings) if explicit is None else explicit


def _idempotence_conflicts(settings: Settings) -> list[tuple[str, str]]:
    producer = settings["producer"]
    conflicts = []
    if acks_of(settings) != "all":
        conflicts.append(("producer.acks", ACKS_FOR_IDEMPOTENCE))
    if producer["retries"] == 0:
        conflicts.append(
            ("producer.retries", "Must set retries to non-zero when using the idempotent producer.")
        )
    if producer["max.in.flight.requests.per.connection"] > 5:
        conflicts.append(
            (
                "producer.max.in.flight.requests.per.connection",
                "Must set max.in.flight.requests.per.connection to at most 5 when using "
                "the idempotent producer.",
            )
        )
    return conflicts


def kafka_rules(settings: Settings) -> list[tuple[str, str]]:
    """The combinations Kafka refuses, each with the field and Kafka's reason."""
    problems = []
    if settings["producer"]["enable.idempotence"] is True:
        problems += [
            (field, f"enable.idempotence is true, so: {why}")
            for field, why in _idempotence_conflicts(settings)
        ]
    producer = settings["producer"]
    if producer["delivery.timeout.ms"] < producer["linger.ms"] + producer["request.timeout.ms"]:
        problems.append(
            (
                "producer.delivery.timeout.ms",
                "delivery.timeout.ms should be equal to or larger than linger.ms + "
                "request.timeout.ms",
            )
        )
    broker = settings["broker"]
    if broker["min.insync.replicas"] > broker["replication.factor"]:
        problems.append(
            (
                "broker.min.insync.replicas",
                f"min.insync.replicas ({broker['min.insync.replicas']}) is larger than "
                f"replication.factor ({broker['replication.factor']}): acks=all could "
                "never succeed",
            )
        )
    if broker["eligible.leader.replicas.version"] == 1 and not broker["strict.min.isr"]:
        problems.append(
            (
                "broker.strict.min.isr",
                "eligible.leader.replicas.version=1 (Kafka 4.0+) needs the HW to advance only "
                "while the ISR has min.insync.replicas members, as every Kafka since 3.7 does; "
                "set strict.min.isr = true, or eligible.leader.replicas.version = 0",
            )
        )
    problems += _zookeeper_rules(broker)
    if settings["bounds"]["partition_expansions"] and settings["bounds"]["partitions"] != 2:
        problems.append(
            (
                "bounds.partition_expansions",
                "a partition is added to a topic of one, so it needs partitions = 2 (the "
                "topic's size once it is added)",
            )
        )
    if settings["bounds"]["producer_expiries"] and not idempotence_of(settings):
        problems.append(
            (
                "bounds.producer_expiries",
                "a broker keeps state only of idempotent or transactional producers, and this "
                "producer is neither: set enable.idempotence = true, or producer_expiries = 0",
            )
        )
    if settings["consumer"]["auto.offset.reset"] == "none":
        problems.append(
            (
                "consumer.auto.offset.reset",
                '"none" makes the consumer fail without a committed offset; kmodel '
                "explores earliest and latest",
            )
        )
    if (
        settings["application"]["processing"] == "worker-pool"
        and not (settings["consumer"]["enable.auto.commit"])
    ):
        problems.append(
            (
                "application.processing",
                '"worker-pool" is modelled with enable.auto.commit = true, whose commits '
                'then run ahead of the workers; with manual commits use "poll-loop"',
            )
        )
    problems += _transaction_rules(settings)
    return problems + _kind_rules(settings)


def _transaction_rules(settings: Settings) -> list[tuple[str, str]]:
    """Kafka's rules for a transactional producer and its brokers."""
    producer, broker, app = settings["producer"], settings["broker"], settings["application"]
    problems = []
    if producer["transactional.id"] and producer["enable.idempotence"] is False:
        problems.append(
            (
                "producer.enable.idempotence",
                "Cannot set a transactional.id without also enabling idempotence.",
            )
        )
    if producer["transactional.id"] and acks_of(settings) != "all":
        problems.append(("producer.acks", ACKS_FOR_IDEMPOTENCE))
    if producer["transaction.timeout.ms"] > broker["transaction.max.timeout.ms"]:
        problems.append(
            (
                "producer.transaction.timeout.ms",
                "The transaction timeout is larger than the maximum value allowed by the "
                "broker (as configured by transaction.max.timeout.ms).",
            )
        )
    if (
        broker["transaction.version"] == 2
        and not broker["transaction.partition.verification.enable"]
    ):
        problems.append(
            (
                "broker.transaction.partition.verification.enable",
                "transaction.version=2 verifies every partition as part of the protocol "
                "(KIP-890); turning verification off applies to versions 0 and 1 only",
            )
        )
    if not broker["transaction.log.last.epoch"] and broker["transaction.version"] > 0:
        problems.append(
            (
                "broker.transaction.log.last.epoch",
                "false stands for inter.broker.protocol.version before 2.4, and "
                f"transaction.version={broker['transaction.version']} needs Kafka 4.0: set "
                "transaction.version = 0",
            )
        )
    if app["offsets"] == "sink" and app["output"] != "sink":
        problems.append(
            (
                "application.offsets",
                '"sink" stores the position with the results: it needs output = "sink"',
            )
        )
    return problems


# The settings that apply to one application kind only, and what they need.
ONLY_FOR_KIND = {
    "producer": (
        ("application", "source.commit"),
        ("application", "on.send.failure"),
        ("bounds", "producer_crashes"),
        ("bounds", "network_failures"),
        ("bounds", "producer_expiries"),
        ("bounds", "partition_expansions"),
        ("producer", "unknown.producer.id"),
    ),
    "read-process-write": (
        ("producer", "transaction.timeout.ms"),
        ("producer", "transaction.epoch.bump"),
        ("broker", "transaction.log.last.epoch"),
        ("application", "transactional.id.scope"),
        ("application", "offsets"),
        ("application", "send.offsets.group.metadata"),
        ("application", "seek.after.abort"),
        ("application", "on.send.timeout"),
        ("application", "on.commit.timeout"),
        ("application", "offset.fetch.require.stable"),
        ("application", "output"),
        ("bounds", "processor_crashes"),
        ("bounds", "input_partitions"),
        ("bounds", "takeovers"),
        ("bounds", "hangs"),
        ("bounds", "txn_coordinator_crashes"),
        ("bounds", "coordinator_timeouts"),
        ("bounds", "transaction_timeouts"),
    ),
}


def _kind_rules(settings: Settings) -> list[tuple[str, str]]:
    """A setting changed from its default must apply to the chosen application.kind."""
    kind = settings["application"]["kind"]
    defaults = {
        (section, setting.name): setting.default
        for section, section_settings in SECTIONS.items()
        for setting in section_settings
    }
    problems = [
        (
            f"{section}.{name}",
            f'applies to application.kind = "{other}" only, and this spec\'s kind is "{kind}"',
        )
        for other, fields in ONLY_FOR_KIND.items()
        if other != kind
        for section, name in fields
        if settings[section][name] != defaults[(section, name)]
    ]
    if kind == "read-process-write":
        if not settings["producer"]["transactional.id"]:
            problems.append(
                (
                    "producer.transactional.id",
                    "a read-process-write application writes in transactions: give it a "
                    'transactional.id (e.g. "app")',
                )
            )
        problems += [
            (
                f"bounds.{bound}",
                "counts faults of the consumer that reads the output topic, and this spec "
                'has none: set consumers = 1 (with application.output = "kafka"), or 0 here',
            )
            for bound in CONSUMER_FAULTS
            if settings["bounds"][bound]
            and not (
                settings["bounds"]["consumers"] and settings["application"]["output"] == "kafka"
            )
        ]
        problems += _concurrent_instance_rules(settings)
        if settings["bounds"]["consumers"] > 1:
            problems.append(
                (
                    "bounds.consumers",
                    "one consumer reads the read-process-write output here; a group of two "
                    'members is modelled for application.kind = "producer"',
                )
            )
        if settings["bounds"]["log_retentions"] and settings["application"]["output"] != "kafka":
            problems.append(
                (
                    "bounds.log_retentions",
                    "deletes the oldest segments of the output topic's partitions, and an "
                    'external sink has none: set application.output = "kafka", or 0 here',
                )
            )
        if settings["bounds"]["consumers"] and settings["application"]["output"] != "kafka":
            problems.append(
                (
                    "bounds.consumers",
                    'a consumer reads the output topic (application.output = "kafka"); '
                    "an external sink has none: set consumers = 0",
                )
            )
    elif settings["producer"]["transactional.id"]:
        problems.append(
            (
                "producer.transactional.id",
                "a transactional producer is modelled as a read-process-write application: "
                'set application.kind = "read-process-write"',
            )
        )
    return problems


def _concurrent_instance_rules(settings: Settings) -> list[tuple[str, str]]:
    """Two instances, one per input partition, keep their partitions for the whole run:
    the faults that move an input partition to another instance (an expired session), and
    an external sink's single stored position, are modelled with one input partition
    only."""
    bounds = settings["bounds"]
    if bounds["input_partitions"] < 2:
        return []
    why = (
        "moves an input partition between instances, which is modelled with "
        "input_partitions = 1 only (two instances keep one input partition each): set it to 0"
    )
    problems = [(f"bounds.{bound}", why) for bound in ("takeovers", "hangs") if bounds[bound]]
    if settings["application"]["output"] != "kafka":
        problems.append(
            (
                "application.output",
                "the external sink stores one input position: with input_partitions = 2 "
                'the instances write to an output topic (output = "kafka")',
            )
        )
    return problems


def _zookeeper_rules(broker: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The settings that exist only in KRaft mode, refused with controller.mode=zookeeper."""
    if broker["controller.mode"] != "zookeeper":
        return []
    problems = []
    if broker["eligible.leader.replicas.version"] == 1:
        problems.append(
            (
                "broker.eligible.leader.replicas.version",
                "Eligible Leader Replicas are kept in KRaft's metadata log (KIP-966), which "
                "ZooKeeper mode does not have; set eligible.leader.replicas.version = 0, or "
                'controller.mode = "kraft"',
            )
        )
    if not broker["stale.broker.epoch.join.isr"]:
        problems.append(
            (
                "broker.stale.broker.epoch.join.isr",
                "only the KRaft controller checks the broker epochs an AlterPartition gives "
                "for the replicas it adds (KIP-903); the ZooKeeper controller does not, so "
                'set stale.broker.epoch.join.isr = true, or controller.mode = "kraft"',
            )
        )
    return problems


# Each fault bound of an application kind and the budget key it fills.
PRODUCER_FAULTS = {
    "producer_crashes": "crash:producer",
    "broker_crashes": "crash:broker",
    "consumer_crashes": "crash:consumer",
    "sink_crashes": "crash:sink",
    "network_failures": "break",
    "timeouts": "timeout",
    "fetch_waits": "fetch-wait",
    "rebalances": "rebalance",
    "offset_expirations": "offset-expiry",
    "coordinator_loads": "coordinator-load",
    "isr_shrinks": "isr-shrink",
    "power_failures": "power-loss",
    "controlled_shutdowns": "controlled-shutdown",
    "leader_and_isr_losses": "leader-and-isr-loss",
    "producer_expiries": "producer-expiry",
    "log_retentions": "log-retention",
    "partition_expansions": "partition-expansion",
}
# The faults of a consumer application: in a read-process-write spec, of the consumer
# that reads the output topic.
CONSUMER_FAULTS = (
    "consumer_crashes",
    "fetch_waits",
    "rebalances",
    "offset_expirations",
    "coordinator_loads",
)
READ_PROCESS_WRITE_FAULTS = {
    "processor_crashes": "crash:processor",
    "txn_coordinator_crashes": "crash:txn-coordinator",
    "broker_crashes": "crash:broker",
    "consumer_crashes": "crash:consumer",
    "sink_crashes": "crash:sink",
    "fetch_waits": "fetch-wait",
    "rebalances": "rebalance",
    "offset_expirations": "offset-expiry",
    "coordinator_loads": "coordinator-load",
    "timeouts": "timeout",
    "coordinator_timeouts": "coordinator-timeout",
    "transaction_timeouts": "transaction-timeout",
    "takeovers": "takeover",
    "hangs": "hang",
    "isr_shrinks": "isr-shrink",
    "power_failures": "power-loss",
    "controlled_shutdowns": "controlled-shutdown",
    "log_retentions": "log-retention",
}
FAULT_BUDGETS = {**PRODUCER_FAULTS, **READ_PROCESS_WRITE_FAULTS}
# The budget broker restarts count against when bounds.broker_restarts is a number.
RESTART_BUDGET = "restart:broker"


BROKER_STOPS = ("broker_crashes", "power_failures", "controlled_shutdowns")
BROKER_STOP_BUDGETS = tuple(PRODUCER_FAULTS[stop] for stop in BROKER_STOPS)


def restart_budget(bounds: Mapping[str, Any]) -> dict[str, int]:
    """The restart budget `bounds` give the brokers: none when every stop comes back, or
    when no broker can stop."""
    restarts = bounds["broker_restarts"]
    if restarts == "every" or not any(bounds[stop] for stop in BROKER_STOPS):
        return {}
    return {RESTART_BUDGET: restarts}


def consumer_config(settings: Settings) -> ConsumerConfig:
    """How the consumer application reads, processes and commits."""
    consumer, app = settings["consumer"], settings["application"]
    return ConsumerConfig(
        auto_commit=consumer["enable.auto.commit"],
        offset_reset=consumer["auto.offset.reset"],
        commit=app["consumer.commit"],
        commit_async=app["commit.mode"] == "async",
        read_committed=consumer["isolation.level"] == "read_committed",
        process_after_failed_commit=app["commit.failed"] == "process",
        worker_pool=app["processing"] == "worker-pool",
        retry_async_commits=app["commit.async.retry"],
        validate_positions=consumer["position.validation"] == KIP_320
        and fences_by_epoch(settings["broker"]["truncation"]),
        sink_give_up=app["on.sink.failure"] == "give-up",
    )


def pipeline_config(settings: Settings) -> PipelineConfig:
    """The validated settings of a spec as the objects the actors read."""
    producer, broker = settings["producer"], settings["broker"]
    app, sink, bounds = settings["application"], settings["sink"], settings["bounds"]
    # delivery.timeout.ms bounds how many request timeouts fit before a record expires.
    by_time = max(1, producer["delivery.timeout.ms"] // producer["request.timeout.ms"])
    attempts = 1 + min(producer["retries"], bounds["retries"], by_time - 1)
    budget = {key: bounds[bound] for bound, key in PRODUCER_FAULTS.items()}
    budget.update(restart_budget(bounds))
    return PipelineConfig(
        producer=ProducerConfig(
            acks=acks_of(settings),
            attempts=attempts,
            max_in_flight=producer["max.in.flight.requests.per.connection"],
            idempotence=idempotence_of(settings),
            bump_epoch_on_unknown_producer=producer["unknown.producer.id"] == "bump-epoch",
        ),
        consumer=consumer_config(settings),
        broker=broker_config(
            broker,
            power_failures=bounds["power_failures"] > 0,
            producer_expiries=bounds["producer_expiries"] > 0,
            log_retentions=bounds["log_retentions"] > 0,
            delivery_timeout_ms=producer["delivery.timeout.ms"],
            restarts_counted=bool(restart_budget(bounds)),
        ),
        source_commit_before_send=app["source.commit"] == "before-send",
        resend_on_failure=app["on.send.failure"] == "resend",
        sink_upsert=sink["write"] == "upsert",
        sink_dedup=sink["dedup"],
        records=bounds["records"],
        partitions=bounds["partitions"],
        first_partitions=bounds["partitions"] - bounds["partition_expansions"],
        consumers=bounds["consumers"],
        power_cut=bounds["power_cut"],
        budget=budget,
    )


def broker_config(
    broker: Mapping[str, Any],
    power_failures: bool = False,
    producer_expiries: bool = False,
    log_retentions: bool = False,
    delivery_timeout_ms: int = 120_000,
    restarts_counted: bool = False,
) -> BrokerConfig:
    """The `[broker]` settings of a spec (Kafka's names) as the replicas read them, with
    the faults they may meet and the producers' delivery.timeout.ms."""
    return BrokerConfig(
        replicas=broker["replication.factor"],
        min_insync=broker["min.insync.replicas"],
        unclean_election=broker["unclean.leader.election.enable"],
        flush_every_write=broker["log.flush.interval.messages"] == 1,
        crash_loses_page_cache=broker["crash.loses.page.cache"],
        truncation=broker["truncation"],
        power_failures=power_failures,
        hw_over_maximal_isr=broker["high.watermark.isr"] == "maximal",
        isr_join_at_epoch_start=broker["isr.expansion"] == "epoch-start-offset",
        fenced_replicas_join_isr=broker["fenced.replicas.join.isr"],
        stale_broker_epoch_joins_isr=broker["stale.broker.epoch.join.isr"],
        strict_min_isr=broker["strict.min.isr"],
        eligible_leader_replicas=broker["eligible.leader.replicas.version"] == 1,
        zookeeper=broker["controller.mode"] == "zookeeper",
        offsets_retention=broker["offsets.retention"],
        producer_expiries=producer_expiries,
        unknown_producer_id_error=broker["unknown.producer.id.error"],
        producer_expiry_after_delivery_timeout=broker["producer.id.expiration.ms"]
        >= delivery_timeout_ms,
        log_retentions=log_retentions,
        retention_after_delivery_timeout=broker["log.retention.ms"] >= delivery_timeout_ms,
        restarts_counted=restarts_counted,
    )


# Today's Kafka brokers: every `[broker]` setting at its default.
DEFAULT_BROKER = broker_config({setting.name: setting.default for setting in SECTIONS["broker"]})


@dataclass(frozen=True, slots=True)
class ReadProcessWriteConfig:
    records: int
    output: Topic | None  # the output topic; None when the output is the external sink
    consumer: ConsumerConfig | None  # the consumer reading the output topic, if any
    broker: BrokerConfig
    isolation: str
    shared_transactional_id: bool
    transactional_id: str
    input_partitions: int
    offsets: str
    group_metadata: bool
    seek_after_abort: bool
    resend_on_timeout: bool
    bump_in_transaction: bool
    on_commit_timeout: str
    require_stable: bool
    bump_on_end: bool
    logs_last_epoch: bool
    verify: bool
    sink_upsert: bool
    sink_dedup: str
    takeover: bool
    power_cut: str
    budget: dict[str, int]


def read_process_write_config(settings: Settings) -> ReadProcessWriteConfig:
    """The validated settings of a read-process-write spec as the objects the actors read."""
    producer, broker, app = settings["producer"], settings["broker"], settings["application"]
    bounds, sink = settings["bounds"], settings["sink"]
    budget = {key: bounds[bound] for bound, key in READ_PROCESS_WRITE_FAULTS.items()}
    budget.update(restart_budget(bounds))
    to_kafka = app["output"] == "kafka"
    output = Topic("output", bounds["partitions"], broker["replication.factor"])
    return ReadProcessWriteConfig(
        records=bounds["records"],
        output=output if to_kafka else None,
        consumer=consumer_config(settings) if to_kafka and bounds["consumers"] else None,
        broker=broker_config(
            broker,
            power_failures=bounds["power_failures"] > 0,
            log_retentions=bounds["log_retentions"] > 0,
            delivery_timeout_ms=producer["delivery.timeout.ms"],
            restarts_counted=bool(restart_budget(bounds)),
        ),
        isolation=settings["consumer"]["isolation.level"],
        shared_transactional_id=app["transactional.id.scope"] == "input-partition",
        transactional_id=producer["transactional.id"],
        input_partitions=bounds["input_partitions"],
        offsets=app["offsets"],
        group_metadata=app["send.offsets.group.metadata"],
        seek_after_abort=app["seek.after.abort"],
        resend_on_timeout=app["on.send.timeout"] == "resend",
        bump_in_transaction=producer["transaction.epoch.bump"] == "in-transaction",
        on_commit_timeout=app["on.commit.timeout"],
        require_stable=app["offset.fetch.require.stable"],
        bump_on_end=broker["transaction.version"] >= 2,
        logs_last_epoch=broker["transaction.log.last.epoch"],
        verify=broker["transaction.partition.verification.enable"],
        sink_upsert=sink["write"] == "upsert",
        sink_dedup=sink["dedup"],
        takeover=bounds["takeovers"] > 0,
        power_cut=bounds["power_cut"],
        budget=budget,
    )
