"""Random fault mixes against the correct exactly-once configurations, on the original
protocol (with partition verification) and on KIP-890's: every safety contract must
hold, whatever faults hypothesis picks (within small bounds). A second
instance or a broker crash runs with one output partition only (with two, runs pass a
million states); `-m slow` draws five times as many mixes."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.core.bfs import OnlyProperties, check_bfs
from kmodel.core.liveness import check_liveness
from kmodel.core.result import Status
from kmodel.core.search import Limits
from kmodel.kafka.config import CONSUMER_FAULTS, READ_PROCESS_WRITE_FAULTS
from kmodel.kafka.model import KAFKA

SAFETY = (
    "no-duplicate-effect",
    "no-loss",
    "no-aborted-read",
    "atomicity",
    "no-zombie-write",
    "offsets-with-outputs",
    "transactions-complete",
    "no-false-fencing",
)
# No sink and no consumer after the output here (the end-to-end specs explore their
# faults); replication faults are explored by the replication specs.
FAULTS = tuple(
    bound
    for bound in READ_PROCESS_WRITE_FAULTS
    if bound not in ("sink_crashes", "isr_shrinks", "power_failures", *CONSUMER_FAULTS)
)
# The two fencing schemes that make a zombie harmless (EOS v2 with KIP-447, EOS v1).
SCHEMES = (
    {"transactional.id.scope": "instance", "send.offsets.group.metadata": True},
    {
        "transactional.id.scope": "input-partition",
        "send.offsets.group.metadata": False,
        "offset.fetch.require.stable": False,
    },
)


def correct_settings(
    scheme: dict, faults: list[str], partitions: int, transaction_version: int
) -> dict:
    chosen = copy.deepcopy(KAFKA.defaults())
    chosen["broker"]["transaction.version"] = transaction_version
    chosen["application"]["kind"] = "read-process-write"
    chosen["producer"]["transactional.id"] = "app"
    chosen["bounds"]["consumers"] = 0
    chosen["bounds"]["records"] = 1
    chosen["consumer"]["isolation.level"] = "read_committed"
    chosen["application"].update(scheme)
    chosen["bounds"]["partitions"] = partitions
    for fault in faults:
        chosen["bounds"][fault] = 1
    return chosen


TWO_INSTANCES = {"takeovers", "hangs"}
BROKER_FAULTS = {"broker_crashes", "controlled_shutdowns"}
HEAVY_WITH_TWO_INSTANCES = {"processor_crashes", "txn_coordinator_crashes", *BROKER_FAULTS}
FAULT_MIXES = st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2, unique=True)
# The original protocol, whose producer bumps its own epoch after an abort (KIP-360),
# and KIP-890's, whose every commit and abort bumps it. Only KIP-890's survives a
# request to the coordinator that times out and arrives late (KAFKA-17754: see
# eos-late-end-txn-commits-next-transaction), so a draw of that fault runs on it.
TRANSACTION_VERSIONS = st.sampled_from([0, 2])
NEEDS_KIP_890 = {"coordinator_timeouts"}


@pytest.mark.parametrize("scheme", SCHEMES, ids=["eos-v2", "eos-v1"])
@settings(max_examples=6, deadline=None)
@given(faults=FAULT_MIXES, partitions=st.integers(1, 2), version=TRANSACTION_VERSIONS)
def test_correct_exactly_once_holds_under_random_faults(
    scheme: dict, faults: list[str], partitions: int, version: int
) -> None:
    check_all_safety_holds(scheme, faults, partitions, version)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", SCHEMES, ids=["eos-v2", "eos-v1"])
@settings(max_examples=30, deadline=None)
@given(faults=FAULT_MIXES, partitions=st.integers(1, 2), version=TRANSACTION_VERSIONS)
def test_correct_exactly_once_holds_under_more_random_faults(
    scheme: dict, faults: list[str], partitions: int, version: int
) -> None:
    check_all_safety_holds(scheme, faults, partitions, version)


CONCURRENT_FAULTS = st.sampled_from(sorted(set(FAULTS) - TWO_INSTANCES))


@settings(max_examples=4, deadline=None)
@given(fault=CONCURRENT_FAULTS, version=TRANSACTION_VERSIONS)
def test_two_concurrent_transactional_producers_hold_under_a_random_fault(
    fault: str, version: int
) -> None:
    """Two instances, one per input partition, each with its own transactional.id, write
    to the same output partition: every safety contract holds per transaction."""
    check_all_safety_holds(SCHEMES[0], [fault], 1, version, input_partitions=2)


def check_all_safety_holds(
    scheme: dict,
    faults: list[str],
    partitions: int,
    transaction_version: int,
    input_partitions: int = 1,
) -> None:
    if TWO_INSTANCES & set(faults):
        # A second instance with a crash of any kind passes half a million states on
        # the replicated output: the eos-zombie-* specs explore those mixes.
        faults = [fault for fault in faults if fault not in HEAVY_WITH_TWO_INSTANCES]
    if NEEDS_KIP_890 & set(faults):
        transaction_version = 2
    if (TWO_INSTANCES | BROKER_FAULTS) & set(faults):
        # A second instance, or a failover, with a second partition: over a million states.
        partitions = 1
    chosen = correct_settings(scheme, faults, partitions, transaction_version)
    if input_partitions > 1:  # a record per instance
        chosen["bounds"].update(input_partitions=input_partitions, records=input_partitions)
    system = KAFKA.build(chosen)
    result = check_bfs(system)
    assert result.complete
    broken = [name for name in SAFETY if result.status_of(name) is not Status.HOLDS]
    assert broken == [], (faults, partitions, transaction_version, broken)
    for fault in faults:  # the fault was really explored
        assert result.status_of(f"witness:{READ_PROCESS_WRITE_FAULTS[fault]}") is Status.REACHED


# The faults a zombie meets besides the takeover that makes it one.
ZOMBIE_FAULTS = (
    "timeouts",
    "transaction_timeouts",
    "processor_crashes",
    "txn_coordinator_crashes",
    "hangs",
)


def check_zombies_are_fenced(scheme: dict, fault: str, version: int) -> None:
    """Under a takeover and `fault`, every fair run refuses a zombie that acts, and one
    does act."""
    system = KAFKA.build(correct_settings(scheme, ["takeovers", fault], 1, version))
    wanted = [p for p in system.properties() if p.name == "zombie-is-fenced"]
    liveness = check_liveness(system, wanted, Limits(max_states=400_000))
    assert liveness.complete, liveness.note
    assert liveness.properties[0].status is Status.HOLDS, (scheme, fault, version)
    assert check_bfs(OnlyProperties(system, ["zombie-acted"])).status_of("zombie-acted") is (
        Status.REACHED
    )


def test_a_zombie_retrying_an_end_decided_before_the_takeover_owes_nothing() -> None:
    """EOS v1 on KIP-890: the commit was decided, its answer lost in a coordinator crash,
    and the retried EndTxn reaches the coordinator after the new instance's
    InitProducerId: Kafka answers it with the commit it asked for, no new act."""
    check_zombies_are_fenced(SCHEMES[1], "txn_coordinator_crashes", 2)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ZOMBIE_FAULTS)
@pytest.mark.parametrize("version", [0, 2])
@pytest.mark.parametrize("scheme", SCHEMES, ids=["eos-v2", "eos-v1"])
def test_zombies_are_fenced_whatever_else_happens(scheme: dict, fault: str, version: int) -> None:
    check_zombies_are_fenced(scheme, fault, version)
