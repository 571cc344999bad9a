"""The settings of the transactional (exactly-once) pipeline, by Kafka's names and defaults.

Defaults are today's Kafka (4.x): the idempotent producer, partition
verification on, `transaction.version=2` (KIP-890), offsets sent with the
consumer's group metadata (KIP-447), and the consumer's default
`isolation.level=read_uncommitted`, which an exactly-once reader must change.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmodel.core.schema import Setting, Settings
from kmodel.kafka.config import (
    ACKS,
    ACKS_FOR_IDEMPOTENCE,
    DEFAULT_BROKER,
    INT_MAX,
    SECTIONS,
    BrokerConfig,
    acks_of,
)
from kmodel.kafka.topic import Topic

TXN_SECTIONS: dict[str, tuple[Setting, ...]] = {
    "producer": (
        ACKS,
        Setting("enable.idempotence", bool, True, "producer id and sequence numbers"),
        Setting("transactional.id", str, "app", "the id whose epoch fences older instances"),
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
            "isolation.level",
            str,
            "read_uncommitted",
            "what a reader of the output topic sees",
            choices=("read_committed", "read_uncommitted"),
        ),
    ),
    "broker": (
        Setting(
            "transaction.version",
            int,
            2,
            "2: KIP-890, every commit and abort bumps the producer epoch",
            minimum=0,
            maximum=2,
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
    ),
    "application": (
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
            "output", str, "kafka", "an output topic or an external sink", choices=("kafka", "sink")
        ),
    ),
    "sink": SECTIONS["sink"],
    "bounds": (
        Setting("records", int, 1, "records in the input", minimum=1, maximum=3),
        Setting(
            "output_partitions", int, 1, "partitions of the output topic", minimum=1, maximum=2
        ),
        Setting("processor_crashes", int, 0, "application crashes", minimum=0, maximum=2),
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
        Setting("broker_crashes", int, 0, "output partition leader crashes", minimum=0, maximum=2),
        Setting(
            "timeouts",
            int,
            0,
            "request timeouts while a write is still on its way",
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
        Setting("sink_crashes", int, 0, "external sink crashes", minimum=0, maximum=1),
    ),
}


# Each fault bound and the budget key it fills.
FAULT_BUDGETS = {
    "processor_crashes": "crash:processor",
    "txn_coordinator_crashes": "crash:txn-coordinator",
    "broker_crashes": "crash:broker",
    "sink_crashes": "crash:sink",
    "timeouts": "timeout",
    "transaction_timeouts": "transaction-timeout",
    "takeovers": "takeover",
    "hangs": "hang",
}


@dataclass(frozen=True, slots=True)
class TxnPipelineConfig:
    records: int
    output: Topic | None  # the output topic; None when the output is the external sink
    broker: BrokerConfig
    isolation: str
    shared_transactional_id: bool
    transactional_id: str
    offsets: str
    group_metadata: bool
    bump_on_end: bool
    verify: bool
    sink_upsert: bool
    sink_dedup: str
    takeover: bool
    budget: dict[str, int]


def txn_rules(settings: Settings) -> list[tuple[str, str]]:
    """The combinations Kafka (or the model) refuses, with the field and the reason."""
    producer, broker, app = settings["producer"], settings["broker"], settings["application"]
    problems = []
    if not producer["transactional.id"]:
        problems.append(("producer.transactional.id", "a transactional producer needs an id"))
    if not producer["enable.idempotence"]:
        problems.append(
            (
                "producer.enable.idempotence",
                "Cannot set a transactional.id without also enabling idempotence.",
            )
        )
    if acks_of(settings) != "all":
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
    if app["offsets"] == "sink" and app["output"] != "sink":
        problems.append(
            (
                "application.offsets",
                '"sink" stores the position with the results: it needs output = "sink"',
            )
        )
    return problems


def txn_pipeline_config(settings: Settings) -> TxnPipelineConfig:
    """The validated settings of a spec as the objects the actors read."""
    producer, broker, app = settings["producer"], settings["broker"], settings["application"]
    bounds, sink = settings["bounds"], settings["sink"]
    budget = {key: bounds[bound] for bound, key in FAULT_BUDGETS.items()}
    to_kafka = app["output"] == "kafka"
    return TxnPipelineConfig(
        records=bounds["records"],
        output=Topic("output", bounds["output_partitions"], 1) if to_kafka else None,
        broker=DEFAULT_BROKER,
        isolation=settings["consumer"]["isolation.level"],
        shared_transactional_id=app["transactional.id.scope"] == "input-partition",
        transactional_id=producer["transactional.id"],
        offsets=app["offsets"],
        group_metadata=app["send.offsets.group.metadata"],
        bump_on_end=broker["transaction.version"] >= 2,
        verify=broker["transaction.partition.verification.enable"],
        sink_upsert=sink["write"] == "upsert",
        sink_dedup=sink["dedup"],
        takeover=bounds["takeovers"] > 0,
        budget=budget,
    )
