"""Random producer-side fault mixes against an idempotent producer of today's Kafka
(KIP-360 client, default producer.id.expiration.ms): no record is written twice, none
acknowledged is lost and the order holds, whatever faults hypothesis picks within
small bounds, against brokers before and after Kafka 2.5. `-m slow` draws more."""

from __future__ import annotations

import pytest
from fault_mixes import check_safety_holds as check_faults
from fault_mixes import with_faults
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.kafka.model import KAFKA

SAFETY = ("no-duplicate-in-log", "no-acked-loss", "producer-order")
PRODUCER_FAULTS = ("timeouts", "producer_expiries", "log_retentions", "network_failures")
FAULT_MIXES = st.lists(st.sampled_from(PRODUCER_FAULTS), min_size=1, max_size=4, unique=True)


def idempotent(faults: list[str], broker_before_2_5: bool) -> dict:
    changes = {
        "producer": {"enable.idempotence": True},
        "broker": {"unknown.producer.id.error": broker_before_2_5},
        "bounds": {"consumers": 0},
    }
    return with_faults(changes, faults)


def check_safety_holds(faults: list[str], broker_before_2_5: bool) -> None:
    check_faults(idempotent(faults, broker_before_2_5), SAFETY, faults)


@settings(max_examples=10, deadline=None)
@given(faults=FAULT_MIXES, broker_before_2_5=st.booleans())
def test_idempotent_producer_under_random_faults(faults, broker_before_2_5) -> None:
    check_safety_holds(faults, broker_before_2_5)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(faults=FAULT_MIXES, broker_before_2_5=st.booleans())
def test_idempotent_producer_under_more_random_faults(faults, broker_before_2_5) -> None:
    check_safety_holds(faults, broker_before_2_5)


def test_the_same_producer_duplicates_when_expiry_outruns_its_retries() -> None:
    """The check above can fail: an expiry shorter than delivery.timeout.ms duplicates."""
    chosen = idempotent(["timeouts", "producer_expiries"], broker_before_2_5=False)
    chosen["broker"]["producer.id.expiration.ms"] = 60_000
    result = check_bfs(KAFKA.build(chosen))
    verdicts = {p.name: p.status for p in result.properties}
    assert verdicts["no-duplicate-in-log"] is Status.VIOLATED
