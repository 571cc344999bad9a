"""Assemble the transactional pipeline: input → read-process-write application → output.

The output is a topic of one or two partitions read with the spec's
`isolation.level`, or an external sink. Next to the application run the
transaction coordinator and the group coordinator that holds the input
position; a second application instance may stand by to take over.
"""

from __future__ import annotations

from kmodel.core.actors import Actor
from kmodel.core.network import FifoNetwork
from kmodel.core.schema import Model, Settings
from kmodel.core.world import ActorSystem
from kmodel.kafka.coordinator import GroupCoordinator
from kmodel.kafka.processor import INPUT, Processor, ProcessorConfig
from kmodel.kafka.sink import Sink
from kmodel.kafka.source import Source
from kmodel.kafka.txn_config import (
    FAULT_BUDGETS,
    TXN_SECTIONS,
    TxnPipelineConfig,
    txn_pipeline_config,
    txn_rules,
)
from kmodel.kafka.txn_contracts import txn_contracts
from kmodel.kafka.txn_coordinator import TIMEOUT_FIRES, TransactionCoordinator
from kmodel.kafka.txn_messages import GROUP
from kmodel.kafka.txn_partition import TXN_COORDINATOR, TxnPartition, partition_name


class TxnPipeline(ActorSystem):
    """The actors of the exactly-once pipeline on TCP-like connections."""

    def __init__(self, config: TxnPipelineConfig) -> None:
        self.config = config
        instances = 2 if config.takeover or config.budget["hang"] else 1
        ids = _transactional_ids(config, instances)
        processor = ProcessorConfig(
            outputs=tuple(partition_name(p) for p in range(config.outputs)),
            offsets=config.offsets,
            group_metadata=config.group_metadata,
            bump_on_end=config.bump_on_end,
            records=config.records,
        )
        actors: list[Actor] = [Source(config.records, name=INPUT)]
        actors += [
            Processor(i, processor, ids[min(i - 1, len(ids) - 1)], standby=i > 1)
            for i in range(1, instances + 1)
        ]
        actors += [
            TransactionCoordinator(ids, bump_on_end=config.bump_on_end),
            GroupCoordinator(GROUP, members=tuple(f"app-{i}" for i in range(1, instances + 1))),
        ]
        actors += [TxnPartition(p, verify=config.verify) for p in range(config.outputs)]
        if not config.outputs:
            actors.append(Sink(config.sink_upsert, config.sink_dedup))
        super().__init__(
            actors,
            network=FifoNetwork(),
            budget=config.budget,
            eventual=(TIMEOUT_FIRES,),
            properties=lambda system: txn_contracts(system, config),
            topology=_topology([actor.name for actor in actors]),
        )

    def settings(self) -> dict:
        return {**super().settings(), "records": self.config.records}


def _topology(names: list[str]) -> dict[str, list[str]]:
    """Who sends to whom: each instance to the input, the coordinators, the outputs and
    the sink; the coordinators to the instances, each other and the outputs; the input,
    the outputs and the sink back to the instances (the outputs to the coordinator too)."""
    apps = [name for name in names if name.startswith("app-")]
    outputs = [name for name in names if name.startswith("output-")]
    talks = {
        INPUT: apps,
        GROUP: [*apps, TXN_COORDINATOR],
        TXN_COORDINATOR: [*apps, GROUP, *outputs],
        "sink": apps,
    }
    talks.update({app: [INPUT, GROUP, TXN_COORDINATOR, *outputs, "sink"] for app in apps})
    talks.update({output: [*apps, TXN_COORDINATOR] for output in outputs})
    return {name: [to for to in talks[name] if to in names] for name in names}


def _transactional_ids(config: TxnPipelineConfig, instances: int) -> tuple[str, ...]:
    """One id taken over with the input partition, or one per instance."""
    if config.shared_transactional_id or instances == 1:
        return (config.transactional_id,)
    return tuple(f"{config.transactional_id}-{i}" for i in range(1, instances + 1))


def build_txn_pipeline(settings: Settings) -> TxnPipeline:
    return TxnPipeline(txn_pipeline_config(settings))


TXN_PIPELINE = Model(
    name="kafka-transactions",
    summary="Read-process-write with Kafka transactions: input → application → output "
    "topic or external sink",
    sections=TXN_SECTIONS,
    build=build_txn_pipeline,
    rules=txn_rules,
    budget_bounds={key: f"bounds.{bound}" for bound, key in FAULT_BUDGETS.items()},
)
