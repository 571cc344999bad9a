"""The spec library: every shipped spec meets its expectations, and each delivery
contract is shown both broken (with its shortest trace pinned) and holding."""

import functools
import re
from pathlib import Path

import pytest

from kmodel.core.result import Status
from kmodel.core.trace import replay
from kmodel.jobs.run import build_system, run_job
from kmodel.jobs.spec import load_job
from kmodel.render.plantuml import to_plantuml

SPECS = sorted(Path(__file__).parent.parent.joinpath("specs").glob("*.toml"))
# Specs whose exhaustive run takes half a minute or more, checked with `-m slow`.
SLOW_SPECS = {
    "consumer-offset-out-of-range-rereads",
    "consumer-kip-320-validates-position",
    "eos-crashes-during-commit",
    "eos-two-instances-interleave",
}


def _marks(name: str) -> tuple:
    return (pytest.mark.slow,) if name in SLOW_SPECS else ()


# Each spec's state count under its own search settings (a spec's bounds note quotes it).
PINNED_STATES = {
    "rf3-two-brokers-lost": 235_374,
    "rf3-two-brokers-lost-acks1": 371_478,
    "at-most-once-sink-retry": 116,
    "at-most-once-sink-give-up": 110,
    "amo-producer-crash-before-send": 113,
    "amo-network-failure-during-send": 102,
    "amo-consumer-crash-after-commit": 162,
    "alo-duplicate-producer-retry": 696,
    "alo-duplicate-consumer-redelivery": 439,
    "page-cache-loss": 572,
    "acks1-leader-failover": 5_438,
    "acks-all-leader-failover": 20_322,
    "truncation-high-watermark-loses-committed": 60_796,
    "truncation-kip-101-keeps-committed": 66_319,
    "truncation-high-watermark-kraft-fences-restart": 30_037,
    "zookeeper-leader-quick-restart-loses-committed": 10_325,
    "kraft-leader-restart-fenced-keeps-committed": 8_989,
    "zookeeper-lost-leader-and-isr": 5_671,
    "kraft-controlled-shutdown-keeps-elr": 260_336,
    "truncation-kip-101-diverges": 204_797,
    "truncation-kip-279-matches": 204_757,
    "truncation-kip-279-same-leader-diverges": 52_341,
    "truncation-kip-320-same-leader-matches": 52_631,
    "power-loss-acks-all": 84_513,
    "hw-committed-isr": 97_698,
    "elr-last-replica-standing": 27_010,
    "elr-elected-from-elr": 21_596,
    "isr-join-high-watermark-loses-acked": 360_228,
    "isr-join-epoch-start-keeps-acked": 326_656,
    "kip-841-fenced-replica-joins-isr": 142_692,
    "kip-841-fenced-replica-refused": 141_500,
    "kip-903-stale-broker-epoch-joins-isr": 445_136,
    "kip-903-stale-broker-epoch-refused": 425_150,
    "hw-below-min-isr-loses-committed": 10_227,
    "hw-strict-min-isr-keeps-committed": 9_559,
    "eos-original-protocol-late-write": 3_944,
    "eos-zombie-fenced-by-generation": 3_685,
    "eos-zombie-fenced-by-epoch": 7_856,
    "eos-zombie-without-group-fencing": 3_169,
    "amo-consumer-crash-polls-past-skipped-record": 15_228,
    "eos-read-process-write": 8_904,
    "eos-hung-producer-timeout": 14_228,
    "eos-hanging-transaction": 17_463,
    "eos-hanging-transaction-kip-890": 20_171,
    "eos-crashes-during-commit": 792_194,
    "kafka-2-0-replication-rules": 9_868,
    "eos-end-to-end": 35_726,
    "eos-end-to-end-two-partitions": 126_165,
    "alo-two-partitions-consumer-redelivery": 31_528,
    "offsets-expire-while-group-active": 709,
    "offsets-kept-while-group-active": 529,
    "eos-abort-without-seek-skips-record": 411,
    "eos-abort-seeks-to-committed": 1_047,
    "eos-init-producer-id-retry": 4_209,
    "eos-timeout-resend-duplicates": 1_466,
    "eos-transaction-timeout-fences-producer": 262,
    "eos-late-end-txn-commits-next-transaction": 70_810,
    "eos-late-end-txn-fenced-by-epoch": 48_382,
    "eos-init-producer-id-retry-before-2-4": 4_776,
    "eos-offset-fetch-without-require-stable": 4_477,
    "commit-failed-processed-anyway": 234,
    "commit-failed-rejoins": 214,
    "auto-commit-worker-pool-loses-records": 899,
    "commit-async-retry-moves-offset-back": 4_004,
    "commit-async-no-retry": 3_842,
    "eos-end-to-end-appending-sink": 35_726,
    "eos-end-to-end-read-uncommitted": 21_612,
    "eos-replicated-min-isr-2": 74_415,
    "eos-replicated-unclean-election": 111_166,
    "hw-maximal-isr": 89_833,
    "power-loss-flush-every-write": 44_325,
    "truncation-high-watermark": 43_824,
    "consumer-offset-out-of-range-rereads": 749_049,
    "consumer-kip-320-validates-position": 805_324,
    "idempotence-producer-id-expires-during-retry": 1_104,
    "idempotence-producer-id-expiration-after-delivery-timeout": 14_214,
    "idempotence-unknown-producer-id-before-kip-360": 1_242,
    "idempotence-unknown-producer-id-bumps-epoch": 1_560,
    "idempotence-retention-during-retry-duplicates": 1_285,
    "idempotence-retention-after-delivery-timeout": 714,
    "idempotence-retention-before-kip-360-resets-sequence": 92,
    "retention-outruns-consumer": 2_265,
    "group-zombie-processes-after-reassignment": 4_023,
    "group-evicted-member-rejoins": 3_683,
    "partition-expansion-latest-loses-records": 111_160,
    "partition-expansion-earliest-reads-new-partition": 57_177,
    "eos-two-instances-interleave": 1_271_283,
    "eos-two-instances-read-uncommitted": 42_461,
    "eos-epoch-bump-in-transaction-hangs": 1_273,
    "eos-epoch-bump-after-abort": 1_585,
    "eos-commit-timeout-next-transaction": 3_543,
    "eos-commit-timeout-abort-replays": 3_643,
}


@functools.cache
def _run(name: str):
    """A spec's outcome, run once per test session (runs are deterministic)."""
    return run_job(load_job(Path(__file__).parent.parent / "specs" / f"{name}.toml"))


@pytest.mark.parametrize(
    "spec", [pytest.param(spec, id=spec.stem, marks=_marks(spec.stem)) for spec in SPECS]
)
def test_shipped_spec_meets_its_expectations(spec: Path) -> None:
    outcome = _run(spec.stem)
    assert outcome.result.complete or outcome.result.stop_reason == "decided"
    unmet = [(v.name, v.status.value) for v in outcome.verdicts if not v.met]
    assert unmet == []
    system = build_system(outcome.job)
    for verdict in outcome.verdicts:
        if verdict.trace is not None:
            assert replay(system, verdict.trace).ok, verdict.name


# (contract, spec where it breaks, shortest trace length, spec where it holds)
CONTRACTS = [
    ("no-loss", "amo-producer-crash-before-send", 6, "alo-duplicate-consumer-redelivery"),
    ("no-loss", "amo-consumer-crash-after-commit", 16, "auto-commit"),
    ("no-acked-loss", "acks1-leader-failover", 12, "acks-all-leader-failover"),
    ("acked-reaches-isr", "acks1-leader-failover", 21, "acks-all-leader-failover"),
    ("committed-is-read", "auto-offset-reset-latest", 11, "alo-duplicate-consumer-redelivery"),
    (
        "committed-is-read",
        "amo-consumer-crash-polls-past-skipped-record",
        22,
        "alo-duplicate-consumer-redelivery",
    ),
    ("no-acked-loss", "page-cache-loss", 5, "page-cache-flush-every-write"),
    ("no-acked-loss", "min-isr-1-unclean-election", 15, "min-isr-1-clean-election"),
    ("no-duplicate-in-log", "alo-duplicate-producer-retry", 5, "at-most-once"),
    (
        "no-duplicate-in-log",
        "idempotence-producer-id-expires-during-retry",
        6,
        "idempotence-producer-id-expiration-after-delivery-timeout",
    ),
    (
        "no-duplicate-in-log",
        "idempotence-retention-during-retry-duplicates",
        6,
        "idempotence-retention-after-delivery-timeout",
    ),
    (
        "no-loss",
        "idempotence-unknown-producer-id-before-kip-360",
        23,
        "idempotence-unknown-producer-id-bumps-epoch",
    ),
    ("no-duplicate-effect", "alo-duplicate-consumer-redelivery", 19, "alo-dedup-table-durable"),
    ("no-duplicate-effect", "alo-dedup-table-memory", 12, "alo-upsert-sink"),
    (
        "no-duplicate-effect",
        "offsets-expire-while-group-active",
        24,
        "offsets-kept-while-group-active",
    ),
    (
        "no-duplicate-effect",
        "group-zombie-processes-after-reassignment",
        24,
        "group-evicted-member-rejoins",
    ),
    (
        "no-loss",
        "partition-expansion-latest-loses-records",
        37,
        "partition-expansion-earliest-reads-new-partition",
    ),
    ("no-loss", "eos-abort-without-seek-skips-record", 33, "eos-abort-seeks-to-committed"),
    ("no-duplicate-effect", "eos-timeout-resend-duplicates", 20, "eos-abort-seeks-to-committed"),
    (
        "offsets-with-outputs",
        "eos-late-end-txn-commits-next-transaction",
        33,
        "eos-late-end-txn-fenced-by-epoch",
    ),
    (
        "no-duplicate-effect",
        "eos-late-end-txn-commits-next-transaction",
        56,
        "eos-late-end-txn-fenced-by-epoch",
    ),
    ("no-false-fencing", "eos-init-producer-id-retry-before-2-4", 19, "eos-init-producer-id-retry"),
    ("no-duplicate-effect", "commit-failed-processed-anyway", 24, "commit-failed-rejoins"),
    ("no-loss", "auto-commit-worker-pool-loses-records", 19, "auto-commit"),
    ("committed-never-back", "commit-async-retry-moves-offset-back", 26, "commit-async-no-retry"),
    (
        "no-duplicate-effect",
        "eos-offset-fetch-without-require-stable",
        38,
        "eos-zombie-fenced-by-generation",
    ),
    ("producer-order", "max-in-flight-reordering", 17, "max-in-flight-idempotent"),
    ("no-committed-loss", "min-isr-1-unclean-election", 24, "min-isr-1-clean-election"),
    # follower truncation: each generation breaks a contract the next one keeps
    (
        "committed-on-isr",
        "truncation-high-watermark-loses-committed",
        11,
        "truncation-kip-101-keeps-committed",
    ),
    (
        "no-committed-loss",
        "truncation-high-watermark-loses-committed",
        28,
        "truncation-kip-101-keeps-committed",
    ),
    ("isr-logs-match", "truncation-kip-101-diverges", 22, "truncation-kip-279-matches"),
    ("committed-on-isr", "truncation-kip-101-diverges", 23, "truncation-kip-279-matches"),
    (
        "isr-logs-match",
        "truncation-kip-279-same-leader-diverges",
        17,
        "truncation-kip-320-same-leader-matches",
    ),
    ("no-skip", "amo-consumer-crash-after-commit", 13, "alo-duplicate-consumer-redelivery"),
    ("no-skip", "auto-offset-reset-latest", 6, "auto-commit"),
    ("hw-monotonic", "hw-goes-back-after-failover", 28, "hw-single-replica-restart"),
    # replication rules and power loss
    ("no-acked-loss", "power-loss-acks-all", 8, "power-loss-flush-every-write"),
    ("no-acked-loss", "hw-committed-isr", 23, "hw-maximal-isr"),
    ("no-acked-loss", "elr-last-replica-standing", 18, "elr-elected-from-elr"),
    ("no-acked-loss", "rf3-two-brokers-lost-acks1", 5, "rf3-two-brokers-lost"),
    (
        "no-acked-loss",
        "isr-join-high-watermark-loses-acked",
        26,
        "isr-join-epoch-start-keeps-acked",
    ),
    (
        "no-committed-loss",
        "isr-join-high-watermark-loses-acked",
        33,
        "isr-join-epoch-start-keeps-acked",
    ),
    ("no-committed-loss", "kip-841-fenced-replica-joins-isr", 23, "kip-841-fenced-replica-refused"),
    (
        "no-committed-loss",
        "kip-903-stale-broker-epoch-joins-isr",
        33,
        "kip-903-stale-broker-epoch-refused",
    ),
    (
        "no-committed-loss",
        "hw-below-min-isr-loses-committed",
        23,
        "hw-strict-min-isr-keeps-committed",
    ),
    # controller generations: a quick restart within the ZooKeeper session, a KRaft fencing
    (
        "committed-on-isr",
        "truncation-high-watermark-loses-committed",
        11,
        "truncation-high-watermark-kraft-fences-restart",
    ),
    (
        "no-committed-loss",
        "truncation-high-watermark-loses-committed",
        28,
        "truncation-high-watermark-kraft-fences-restart",
    ),
    (
        "no-committed-loss",
        "zookeeper-leader-quick-restart-loses-committed",
        16,
        "kraft-leader-restart-fenced-keeps-committed",
    ),
    # exactly-once
    ("no-loss", "eos-replicated-unclean-election", 38, "eos-replicated-min-isr-2"),
    ("no-committed-loss", "eos-replicated-unclean-election", 38, "eos-replicated-min-isr-2"),
    ("offsets-with-outputs", "eos-replicated-unclean-election", 26, "eos-replicated-min-isr-2"),
    ("no-aborted-read", "eos-original-protocol-late-write", 34, "eos-partition-verification"),
    ("atomicity", "eos-original-protocol-late-write", 35, "eos-partition-verification"),
    ("atomicity", "eos-read-uncommitted-reader", 14, "eos-partition-verification"),
    ("no-zombie-write", "eos-zombie-without-group-fencing", 19, "eos-zombie-fenced-by-generation"),
    ("no-duplicate-effect", "eos-zombie-without-group-fencing", 38, "eos-zombie-fenced-by-epoch"),
    (
        "offsets-with-outputs",
        "external-source-position-after-commit",
        15,
        "external-source-position-in-transaction",
    ),
    ("transactions-complete", "eos-hanging-transaction", 38, "eos-hung-producer-timeout"),
    ("no-loss", "eos-hanging-transaction", 38, "eos-hung-producer-timeout"),
    ("transactions-resolve", "eos-hanging-transaction", 38, "eos-hanging-transaction-kip-890"),
    ("zombie-is-fenced", "eos-zombie-without-group-fencing", 28, "eos-zombie-fenced-by-generation"),
    ("zombie-is-fenced", "eos-zombie-without-group-fencing", 28, "eos-zombie-fenced-by-epoch"),
    ("no-duplicate-effect", "kafka-to-sink-non-idempotent", 18, "kafka-to-sink-atomic-offsets"),
    ("no-duplicate-effect", "kafka-to-sink-offsets-in-transaction", 18, "kafka-to-sink-idempotent"),
    # end to end: exactly-once inside Kafka, then one weak link after it
    ("no-duplicate-effect", "eos-end-to-end-read-uncommitted", 33, "eos-end-to-end"),
    ("no-aborted-read", "eos-end-to-end-read-uncommitted", 13, "eos-end-to-end"),
    ("no-duplicate-effect", "eos-end-to-end-appending-sink", 34, "eos-end-to-end"),
    # two transactional producers writing the same partitions
    ("no-aborted-read", "eos-two-instances-read-uncommitted", 14, "eos-two-instances-interleave"),
    ("atomicity", "eos-two-instances-read-uncommitted", 15, "eos-two-instances-interleave"),
    # commitTransaction() times out: going on as if committed, or aborting
    (
        "no-zombie-write",
        "eos-commit-timeout-next-transaction",
        24,
        "eos-commit-timeout-abort-replays",
    ),
    (
        "no-duplicate-effect",
        "eos-commit-timeout-next-transaction",
        50,
        "eos-commit-timeout-abort-replays",
    ),
    # a client that bumps its epoch in the middle of a transaction
    ("no-loss", "eos-epoch-bump-in-transaction-hangs", 49, "eos-epoch-bump-after-abort"),
    (
        "transactions-complete",
        "eos-epoch-bump-in-transaction-hangs",
        49,
        "eos-epoch-bump-after-abort",
    ),
]


@pytest.mark.parametrize(
    ("contract", "broken", "steps", "holding"),
    [pytest.param(*row, marks=_marks(row[1]) + _marks(row[3])) for row in CONTRACTS],
)
def test_contract_breaks_and_holds(contract: str, broken: str, steps: int, holding: str) -> None:
    broken_run = _run(broken).verdict(contract)
    assert broken_run.status is Status.VIOLATED
    assert len(broken_run.trace) == steps
    assert _run(holding).verdict(contract).status is Status.HOLDS
    # The counterexample as a sequence diagram: every step drawn, the break marked.
    diagram = to_plantuml(broken_run.trace)
    arrows = [line for line in diagram.splitlines() if " -> " in line or "]> " in line]
    assert len(arrows) >= len([s for s in broken_run.trace.steps if s.kind == "deliver"])
    assert f"contract {contract} broken here" in diagram


def test_acks1_failover_trace_reads_like_kafka() -> None:
    trace = _run("acks1-leader-failover").verdict("no-acked-loss").trace
    labels = [step.label for step in trace.steps]
    assert labels[2] == "ProduceRequest(r1, acks=1)"
    assert labels[3] == "ProduceResponse(r1 at offset 0)"
    assert [s.kind for s in trace.steps].count("crash") == 1
    assert labels[-2] == "OffsetsForLeaderEpoch(epoch 0, current epoch 1)"
    assert labels[-1] == "OffsetsForLeaderEpochResponse(epoch 0, end offset 0)"


@pytest.mark.parametrize(
    ("name", "states"),
    [
        pytest.param(name, n, id=f"{name}-{n}", marks=_marks(name))
        for name, n in PINNED_STATES.items()
    ],
)
def test_pinned_state_counts(name: str, states: int) -> None:
    """A change in these counts is a change in the models' semantics: explain it."""
    assert _run(name).result.stats.states == states


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_a_bounds_note_quotes_the_pinned_state_count(spec: Path) -> None:
    """A figure such as "44,325 states." in a spec's bounds note is its pinned count, so
    the note changes when the model does."""
    quoted = re.findall(r"([0-9][0-9,]*) states\.", load_job(spec).bounds_note)
    if quoted:
        assert int(quoted[-1].replace(",", "")) == PINNED_STATES.get(spec.stem)


@pytest.mark.parametrize("name", ["amo-consumer-crash-after-commit", "eos-hanging-transaction"])
def test_bfs_and_dfs_agree_on_a_pipeline(name: str) -> None:
    path = Path(__file__).parent.parent / "specs" / f"{name}.toml"
    bfs = run_job(load_job(path))
    dfs = run_job(load_job(path, search={"engine": "dfs"}))
    assert bfs.result.stats.states == dfs.result.stats.states
    assert [v.status for v in bfs.verdicts] == [v.status for v in dfs.verdicts]


def test_read_uncommitted_consumer_hands_over_the_aborted_copy() -> None:
    """The duplicate at the sink comes from the aborted copy: the leader's answer holds
    the ABORT marker and, for a read_uncommitted fetch, names no aborted transaction."""
    trace = _run("eos-end-to-end-read-uncommitted").verdict("no-duplicate-effect").trace
    fetched = [s.label for s in trace.steps if s.label.startswith("FetchResponse")]
    assert "ABORT" in fetched[-1] and "aborted:" not in fetched[-1]
