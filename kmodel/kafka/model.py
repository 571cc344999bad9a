"""The one Kafka model a spec names: its settings, its rules, and how to build it.

`application.kind` chooses the application that writes to the brokers: a
producer application reading an external source, or a read-process-write
application writing in transactions. Both run on the same brokers, controller
and coordinators, exchange the same messages and are judged by the same
contracts.
"""

from __future__ import annotations

from kmodel.core.schema import Model, Settings
from kmodel.core.world import ActorSystem
from kmodel.kafka.config import (
    FAULT_BUDGETS,
    RESTART_BUDGET,
    SECTIONS,
    PipelineConfig,
    ReadProcessWriteConfig,
    kafka_rules,
    pipeline_config,
    read_process_write_config,
)
from kmodel.kafka.pipeline import Pipeline
from kmodel.kafka.read_process_write import ReadProcessWrite


def configure(settings: Settings) -> PipelineConfig | ReadProcessWriteConfig:
    """The validated settings of a spec as the objects its actors read."""
    if settings["application"]["kind"] == "read-process-write":
        return read_process_write_config(settings)
    return pipeline_config(settings)


def assemble(config: PipelineConfig | ReadProcessWriteConfig) -> ActorSystem:
    """The system of actors a configuration describes. Every setting reaches the actors
    through `config`, so what they read of it is all a run depends on."""
    if isinstance(config, ReadProcessWriteConfig):
        return ReadProcessWrite(config)
    return Pipeline(config)


def build(settings: Settings) -> ActorSystem:
    """The system a spec's validated settings describe."""
    return assemble(configure(settings))


KAFKA = Model(
    name="kafka",
    summary="Kafka: source or input → producing application → partition replicas, "
    "controller and coordinators → consumer → sink; transactions, idempotence and the "
    "replication protocol's generations as options",
    sections=SECTIONS,
    build=build,
    rules=kafka_rules,
    budget_bounds={
        **{key: f"bounds.{bound}" for bound, key in FAULT_BUDGETS.items()},
        RESTART_BUDGET: "bounds.broker_restarts",
    },
    variants=(
        {},
        {
            "application": {"kind": "read-process-write"},
            "producer": {"transactional.id": "app"},
            "bounds": {"consumers": 0},
        },
    ),
)
