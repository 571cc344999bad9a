"""Assemble a read-process-write pipeline: input → application → output, in transactions.

The output is a topic of one or two partitions, each with its replicas on
brokers and a controller electing their leaders, read with the spec's
`isolation.level`, and may be followed by a consumer and its sink (input →
application → output → consumer → sink, end to end); or the output is an
external sink. Next to the application run the transaction coordinator and
the group coordinator that holds the input position; a second application
instance may stand by to take over, or (with two input partitions) run at the
same time as the first, each owning one input partition.
"""

from __future__ import annotations

from kmodel.core.actors import Actor
from kmodel.core.network import FifoNetwork
from kmodel.core.world import ActorSystem
from kmodel.kafka.broker import CONTROLLER, TXN_COORDINATOR, broker_name
from kmodel.kafka.cluster import cluster
from kmodel.kafka.config import ReadProcessWriteConfig
from kmodel.kafka.consumer import NAME as CONSUMER
from kmodel.kafka.consumer import Consumer
from kmodel.kafka.coordinator import NAME as CONSUMER_GROUP
from kmodel.kafka.coordinator import GroupCoordinator
from kmodel.kafka.messages import GROUP
from kmodel.kafka.processor import INPUT, Processor, ProcessorConfig
from kmodel.kafka.sink import Sink
from kmodel.kafka.source import Source
from kmodel.kafka.transaction_contracts import transaction_contracts
from kmodel.kafka.transaction_coordinator import TIMEOUT_FIRES, TransactionCoordinator


class ReadProcessWrite(ActorSystem):
    """The actors of the exactly-once pipeline on TCP-like connections."""

    def __init__(self, config: ReadProcessWriteConfig) -> None:
        self.config = config
        concurrent = config.input_partitions > 1
        instances = 2 if concurrent or config.takeover or config.budget["hang"] else 1
        ids = _transactional_ids(config, instances)
        output = config.output
        processor = ProcessorConfig(
            output=output,
            offsets=config.offsets,
            group_metadata=config.group_metadata,
            seek_after_abort=config.seek_after_abort,
            resend_on_timeout=config.resend_on_timeout,
            bump_in_transaction=config.bump_in_transaction,
            on_commit_timeout=config.on_commit_timeout,
            require_stable=config.require_stable,
            bump_on_end=config.bump_on_end,
            records=config.records,
            input_partitions=config.input_partitions,
        )
        apps = tuple(f"app-{i}" for i in range(1, instances + 1))
        actors: list[Actor] = [Source(config.records, INPUT, config.input_partitions)]
        actors += [
            Processor(
                i,
                processor,
                ids[min(i - 1, len(ids) - 1)],
                standby=i > 1 and not concurrent,
                input_partition=i - 1 if concurrent else 0,
            )
            for i in range(1, instances + 1)
        ]
        group = (
            # Each instance owns one input partition for good.
            GroupCoordinator(GROUP, partitions=2, consumers=apps, sessions_expire=False)
            if concurrent
            else GroupCoordinator(GROUP, members=apps)
        )
        actors += [
            TransactionCoordinator(
                ids,
                bump_on_end=config.bump_on_end,
                output=output,
                logs_last_epoch=config.logs_last_epoch,
            ),
            group,
        ]
        crash_notices, crash_groups = {}, {}
        if output:
            brokers = cluster(config.broker, output, config.power_cut, verify=config.verify)
            actors += brokers.actors
            crash_notices, crash_groups = brokers.crash_notices, brokers.crash_groups
            if config.consumer:
                actors += [
                    GroupCoordinator(
                        partitions=output.partitions,
                        offsets_retention=config.broker.offsets_retention,
                    ),
                    Consumer(config.consumer, output),
                    Sink(config.sink_upsert, config.sink_dedup),
                ]
        else:
            actors.append(Sink(config.sink_upsert, config.sink_dedup))
        brokers = [broker_name(b) for b in range(output.brokers)] if output else []
        super().__init__(
            actors,
            network=FifoNetwork(),
            budget=config.budget,
            eventual=(TIMEOUT_FIRES,),
            crash_notices=crash_notices,
            crash_groups=crash_groups,
            properties=lambda system: transaction_contracts(system, config),
            topology=_topology([actor.name for actor in actors]),
            reconnects=[
                pair
                for app in apps
                for peer in (TXN_COORDINATOR, GROUP, *brokers)
                for pair in ((app, peer), (peer, app))
            ],
        )

    def settings(self) -> dict:
        return {**super().settings(), "records": self.config.records}


def _topology(names: list[str]) -> dict[str, list[str]]:
    """Who sends to whom: each instance to the input, the coordinators, the brokers, the
    controller and the sink; the coordinators to the instances, each other and the
    brokers; the controller to the brokers and its clients; the brokers to each other,
    the instances, the coordinator, the controller and the consumer; the consumer to the
    brokers, the controller, its group coordinator and the sink; the input and the sink
    back to whoever reads or writes them."""
    apps = [name for name in names if name.startswith("app-")]
    brokers = [name for name in names if name.startswith("broker")]
    talks = {
        INPUT: apps,
        GROUP: [*apps, TXN_COORDINATOR],
        TXN_COORDINATOR: [*apps, GROUP, *brokers, CONTROLLER],
        CONTROLLER: [*brokers, *apps, TXN_COORDINATOR, CONSUMER],
        CONSUMER_GROUP: [CONSUMER],
        CONSUMER: [*brokers, CONTROLLER, CONSUMER_GROUP, "sink"],
        "sink": [*apps, CONSUMER],
    }
    talks.update(
        {app: [INPUT, GROUP, TXN_COORDINATOR, CONTROLLER, *brokers, "sink"] for app in apps}
    )
    talks.update({b: [*brokers, *apps, TXN_COORDINATOR, CONTROLLER, CONSUMER] for b in brokers})
    return {name: [to for to in talks[name] if to in names] for name in names}


def _transactional_ids(config: ReadProcessWriteConfig, instances: int) -> tuple[str, ...]:
    """One id taken over with the input partition, or one per instance (as many as
    input partitions where each instance owns one)."""
    shared = config.shared_transactional_id and config.input_partitions == 1
    if shared or instances == 1:
        return (config.transactional_id,)
    return tuple(f"{config.transactional_id}-{i}" for i in range(1, instances + 1))
