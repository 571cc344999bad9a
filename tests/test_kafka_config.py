"""Kafka's own configuration rules reject invalid combinations with Kafka's reason."""

from pathlib import Path

import pytest

from kmodel.core.schema import SpecError
from kmodel.jobs.spec import load_job
from kmodel.kafka.config import idempotence_of, pipeline_config

BASE = 'model = "kafka"\n'


def _load(tmp_path: Path, text: str):
    path = tmp_path / "spec.toml"
    path.write_text(BASE + text)
    return load_job(path)


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (
            '[producer]\n"enable.idempotence" = true\nacks = 1\n',
            "producer.acks",
            "Must set acks to all",
        ),
        (
            '[producer]\n"enable.idempotence" = true\nretries = 0\n',
            "producer.retries",
            "retries to non-zero",
        ),
        (
            '[producer]\n"enable.idempotence" = true\n'
            '"max.in.flight.requests.per.connection" = 6\n',
            "producer.max.in.flight.requests.per.connection",
            "at most 5",
        ),
        (
            '[producer]\n"delivery.timeout.ms" = 1000\n',
            "producer.delivery.timeout.ms",
            "linger.ms + request.timeout.ms",
        ),
        (
            '[broker]\n"min.insync.replicas" = 2\n',
            "broker.min.insync.replicas",
            "larger than replication.factor",
        ),
        ("[producer]\nacks = 2\n", "producer.acks", 'one of 0, 1, "all", -1'),
        (
            '[broker]\n"strict.min.isr" = false\n',
            "broker.strict.min.isr",
            "eligible.leader.replicas.version=1",
        ),
        (
            '[broker]\n"controller.mode" = "zookeeper"\n"stale.broker.epoch.join.isr" = true\n',
            "broker.eligible.leader.replicas.version",
            "KIP-966",
        ),
        (
            '[broker]\n"controller.mode" = "zookeeper"\n"eligible.leader.replicas.version" = 0\n',
            "broker.stale.broker.epoch.join.isr",
            "KIP-903",
        ),
        (
            '[consumer]\n"enable.auto.commit" = false\n[application]\nprocessing = "worker-pool"\n',
            "application.processing",
            "enable.auto.commit = true",
        ),
        (
            "[bounds]\npartition_expansions = 1\n",
            "bounds.partition_expansions",
            "partitions = 2",
        ),
        (
            '[producer]\n"enable.idempotence" = false\n[bounds]\nproducer_expiries = 1\n',
            "bounds.producer_expiries",
            "enable.idempotence = true",
        ),
        (
            '[application]\nkind = "read-process-write"\n[producer]\n"transactional.id" = "a"\n'
            "[bounds]\nconsumers = 2\n",
            "bounds.consumers",
            "group of two",
        ),
        (
            '[application]\nkind = "read-process-write"\n[producer]\n"transactional.id" = "a"\n'
            "[bounds]\ninput_partitions = 2\ntakeovers = 1\n",
            "bounds.takeovers",
            "input_partitions = 1 only",
        ),
        (
            '[application]\nkind = "read-process-write"\noutput = "sink"\noffsets = "sink"\n'
            '[producer]\n"transactional.id" = "a"\n[bounds]\ninput_partitions = 2\n',
            "application.output",
            "stores one input position",
        ),
        ("[bounds]\ninput_partitions = 2\n", "bounds.input_partitions", "read-process-write"),
        (
            '[application]\n"on.commit.timeout" = "abort"\n',
            "application.on.commit.timeout",
            "read-process-write",
        ),
        (
            '[producer]\n"transaction.epoch.bump" = "in-transaction"\n',
            "producer.transaction.epoch.bump",
            "read-process-write",
        ),
        (
            '[application]\nkind = "read-process-write"\noutput = "sink"\noffsets = "sink"\n'
            '[producer]\n"transactional.id" = "a"\n[bounds]\nlog_retentions = 1\n',
            "bounds.log_retentions",
            "external sink",
        ),
    ],
)
def test_invalid_combinations_are_rejected(tmp_path, text, field, reason) -> None:
    with pytest.raises(SpecError) as error:
        _load(tmp_path, text)
    assert field in str(error.value) and reason in str(error.value)
    assert str(tmp_path / "spec.toml") in str(error.value)


def test_kafka_defaults_and_implicit_idempotence(tmp_path) -> None:
    job = _load(tmp_path, "")
    config = pipeline_config(job.settings)
    assert config.producer.acks == "all" and config.producer.idempotence
    assert config.consumer.auto_commit and config.consumer.offset_reset == "latest"
    assert not config.broker.unclean_election and config.broker.min_insync == 1
    # Kafka ≥ 3.2: an implicit idempotence quietly turns off when acks=1 is chosen.
    assert not idempotence_of(_load(tmp_path, "[producer]\nacks = 1\n").settings)


def test_delivery_timeout_is_a_retry_budget(tmp_path) -> None:
    text = '[producer]\n"delivery.timeout.ms" = 60000\n"request.timeout.ms" = 30000\n'
    text += "[bounds]\nretries = 3\n"
    assert pipeline_config(_load(tmp_path, text).settings).producer.attempts == 2


@pytest.mark.parametrize(
    ("bounds", "budget", "counted"),
    [
        ("broker_crashes = 2\n", None, False),  # by default every stopped broker returns
        ("broker_crashes = 2\nbroker_restarts = 1\n", 1, True),
        ("broker_crashes = 2\nbroker_restarts = 0\n", 0, True),
        ("controlled_shutdowns = 1\nbroker_restarts = 0\n", 0, True),
        ("broker_restarts = 1\n", None, False),  # nothing stops a broker: nothing to count
    ],
)
def test_broker_restarts_bound_how_often_a_stopped_broker_returns(
    tmp_path, bounds: str, budget: int | None, counted: bool
) -> None:
    config = pipeline_config(_load(tmp_path, "[bounds]\n" + bounds).settings)
    assert config.budget.get("restart:broker") == budget
    assert config.broker.restarts_counted is counted


def test_broker_restarts_is_every_or_a_small_number(tmp_path) -> None:
    with pytest.raises(SpecError) as error:
        _load(tmp_path, '[bounds]\nbroker_restarts = "never"\n')
    assert "bounds.broker_restarts" in str(error.value) and '"every"' in str(error.value)
