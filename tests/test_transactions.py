"""The transaction machinery piece by piece: the log as a reader sees it, the partition,
the coordinator, and a counterexample drawn as a sequence diagram."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from kmodel.core.actors import Out
from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.core.system import PropertyKind
from kmodel.jobs.run import run_job
from kmodel.jobs.spec import load_job
from kmodel.kafka.broker import TXN_COORDINATOR, Broker
from kmodel.kafka.config import DEFAULT_BROKER
from kmodel.kafka.coordinator import GroupCoordinator
from kmodel.kafka.isolation import read_log, visible
from kmodel.kafka.messages import (
    GROUP,
    AddPartitionsToTxn,
    EndTxn,
    Entry,
    InitProducerId,
    InitProducerIdResponse,
    MetadataRequest,
    OffsetFetch,
    OffsetFetchResponse,
    ProduceRequest,
    ProduceResponse,
    SourceRecord,
    TxnOffsetCommit,
    TxnResponse,
    UpdateMetadata,
    VerifyTxn,
    VerifyTxnResponse,
    WriteTxnMarkers,
    WriteTxnMarkersResponse,
)
from kmodel.kafka.model import KAFKA
from kmodel.kafka.processor import COORDINATOR_TIMEOUT, Processor, ProcessorConfig
from kmodel.kafka.topic import Topic
from kmodel.kafka.transaction_coordinator import TransactionCoordinator
from kmodel.render.mermaid import to_mermaid
from kmodel.render.plantuml import to_plantuml

SPECS = Path(__file__).parent.parent / "specs"
OUTPUT = Topic("output", partitions=1, replication_factor=1)
BROKER = dataclasses.replace(DEFAULT_BROKER, replicas=1, min_insync=1)


def data(record: int, pid: int, attempt: int = 1) -> Entry:
    return Entry(record, pid, record - 1, 0, 0, True, transaction=attempt)


def marker(pid: int, commit: bool, attempt: int = 1) -> Entry:
    return Entry(0, pid, -1, 0, 0, True, "COMMIT" if commit else "ABORT", attempt)


# -- the log as a reader sees it -----------------------------------------------------


def test_last_stable_offset_stops_at_the_first_open_transaction() -> None:
    log = (data(1, 1), marker(1, True), data(2, 2), data(3, 1, 2), marker(1, True, 2))
    view = read_log(log)
    assert view.last_stable_offset == 2  # pid 2's transaction at offset 2 is open
    assert [r.entry.record for r in visible(view, "read_committed")] == [1]
    assert [r.entry.record for r in visible(view, "read_uncommitted")] == [1, 2, 3]


def test_aborted_records_are_dropped_for_read_committed_only() -> None:
    view = read_log((data(1, 1), marker(1, False), data(1, 1, 2), marker(1, True, 2)))
    assert [(r.status, r.decided_by) for r in view.records] == [("aborted", 1), ("committed", 2)]
    assert [r.entry.transaction for r in visible(view, "read_committed")] == [2]
    assert len(visible(view, "read_uncommitted")) == 2


# -- a partition leader -----------------------------------------------------------------


def produce(epoch: int, sequence: int, record: int = 1) -> ProduceRequest:
    return ProduceRequest(record, 1, sequence, 0, "all", 0, epoch, "app", transaction=1)


def deliver(actor, state, message, sender="app-1"):
    out = Out()
    return actor.on_message(state, sender, message, out), out.sends


def leader(verify: bool) -> Broker:
    return Broker(0, BROKER, OUTPUT, verify=verify)


def test_a_leader_rejects_a_stale_epoch_and_drops_a_retry() -> None:
    broker = leader(verify=False)
    state, sent = deliver(broker, broker.initial_state(), produce(1, 0))
    assert sent == [("app-1", ProduceResponse(1, 0, 0, "NONE", 0, 1, 0))]
    state, sent = deliver(broker, state, produce(1, 0))  # the same batch again
    assert len(state.log) == 1 and sent[0][1].error == "NONE"
    _, sent = deliver(broker, state, produce(0, 1))
    assert sent[0][1].error == "INVALID_PRODUCER_EPOCH"


def test_a_marker_closes_the_open_transaction_and_a_repeated_one_changes_nothing() -> None:
    broker = leader(verify=False)
    state, _ = deliver(broker, broker.initial_state(), produce(0, 0))
    commit = WriteTxnMarkers("output-0", 1, 0, True, 1)
    state, sent = deliver(broker, state, commit, TXN_COORDINATOR)
    again, sent_again = deliver(broker, state, commit, TXN_COORDINATOR)
    assert [e.control for e in state.log] == ["", "COMMIT"]
    # Kafka appends a marker sent again (after a coordinator restart) as it appends any:
    # it closes no transaction, so what a reader sees does not change.
    assert read_log(again.log).records == read_log(state.log).records
    written = WriteTxnMarkersResponse("output-0", 1, 0, True)
    assert sent == sent_again == [(TXN_COORDINATOR, written)]


def test_a_marker_alone_fences_an_older_epoch() -> None:
    broker = leader(verify=False)
    abort = WriteTxnMarkers("output-0", 1, 1, False, 1)
    state, _ = deliver(broker, broker.initial_state(), abort, TXN_COORDINATOR)
    _, sent = deliver(broker, state, produce(0, 0))  # a late write of the fenced epoch
    assert sent[0][1].error == "INVALID_PRODUCER_EPOCH"


def test_a_follower_refuses_writes_and_markers() -> None:
    config = dataclasses.replace(BROKER, replicas=2)
    follower = Broker(1, config, Topic("output", 1, 2), verify=False)
    state = follower.initial_state()
    _, sent = deliver(follower, state, produce(0, 0))
    assert sent[0][1].error == "NOT_LEADER_OR_FOLLOWER"
    _, sent = deliver(follower, state, WriteTxnMarkers("output-0", 1, 0, True, 1), TXN_COORDINATOR)
    assert sent[0][1].error == "NOT_LEADER_OR_FOLLOWER"


def test_verification_holds_the_first_write_until_the_coordinator_answers() -> None:
    broker = leader(verify=True)
    state, sent = deliver(broker, broker.initial_state(), produce(0, 0))
    assert sent == [(TXN_COORDINATOR, VerifyTxn("app", 1, 0, "output-0"))] and not state.log
    refused, sent = deliver(broker, state, VerifyTxnResponse(1, 0, False), TXN_COORDINATOR)
    assert not refused.log and sent[0][1].error == "INVALID_TXN_STATE"
    written, _ = deliver(broker, state, VerifyTxnResponse(1, 0, True), TXN_COORDINATOR)
    assert [e.record for e in written.log] == [1]


# -- the coordinator ---------------------------------------------------------------------


def coordinator_of(bump_on_end: bool) -> TransactionCoordinator:
    return TransactionCoordinator(("app",), bump_on_end=bump_on_end, output=OUTPUT)


def test_a_new_instance_aborts_the_open_transaction_before_it_gets_its_epoch() -> None:
    coordinator = coordinator_of(bump_on_end=False)
    state, sent = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    assert sent == [("app-1", InitProducerIdResponse(1, 0))]
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 7))
    state, sent = deliver(coordinator, state, InitProducerId("app"), "app-2")
    # abort under a new epoch, at the partition's leader
    assert sent == [("broker0", WriteTxnMarkers("output-0", 1, 1, False, 7))]
    assert state.outcomes == ((7, False),)
    done = WriteTxnMarkersResponse("output-0", 1, 1, False)
    state, sent = deliver(coordinator, state, done, "broker0")
    assert sent == [("app-2", InitProducerIdResponse(1, 2))]  # answered once complete
    _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, True, 7))
    assert sent == [("app-1", TxnResponse("end", "PRODUCER_FENCED"))]


def test_a_transaction_timeout_fences_the_producer_as_a_new_instance_would() -> None:
    coordinator = coordinator_of(bump_on_end=False)
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
    state = coordinator.on_step(state, ("expire", 0), Out())
    assert state.transactions[0].epoch == 1 and state.outcomes == ((1, False),)
    for request in (EndTxn("app", 1, 0, False, 1), InitProducerId("app", 0)):
        state, sent = deliver(coordinator, state, request)
        assert sent[0][1].error == "PRODUCER_FENCED"
        assert not sent[0][1].unfounded  # the timeout fenced it: no false fence


def bumped_then_restarted(logs_last_epoch: bool):
    """A producer bumps its own epoch 0 to 1 (KIP-360); the coordinator restarts before
    the answer leaves."""
    coordinator = TransactionCoordinator(
        ("app",), bump_on_end=False, output=OUTPUT, logs_last_epoch=logs_last_epoch
    )
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, sent = deliver(coordinator, state, InitProducerId("app", 0))
    assert sent == [("app-1", InitProducerIdResponse(1, 1))]
    return coordinator, coordinator.after_crash(state)


def test_a_retried_bump_gets_the_epoch_it_bumped_to() -> None:
    coordinator, state = bumped_then_restarted(logs_last_epoch=True)
    state, sent = deliver(coordinator, state, InitProducerId("app", 0))
    assert sent == [("app-1", InitProducerIdResponse(1, 1))]
    assert state.transactions[0].epoch == 1 and state.answered_retry


def test_before_2_4_a_restarted_coordinator_fences_the_retried_bump() -> None:
    coordinator, state = bumped_then_restarted(logs_last_epoch=False)
    _, sent = deliver(coordinator, state, InitProducerId("app", 0))
    # No other instance had replaced it: the fence is unfounded.
    assert sent == [("app-1", InitProducerIdResponse(1, -1, "PRODUCER_FENCED", unfounded=True))]


def test_a_new_instance_forgets_the_last_epoch_so_the_old_one_stays_fenced() -> None:
    coordinator, state = bumped_then_restarted(logs_last_epoch=True)
    state, sent = deliver(coordinator, state, InitProducerId("app"), "app-2")
    assert sent == [("app-2", InitProducerIdResponse(1, 2))]
    _, sent = deliver(coordinator, state, InitProducerId("app", 0))
    # app-2 replaced it: a true fence.
    assert sent == [("app-1", InitProducerIdResponse(1, -1, "PRODUCER_FENCED"))]


def test_kip_890_bumps_the_epoch_at_every_end_and_accepts_a_resent_end() -> None:
    coordinator = coordinator_of(bump_on_end=True)
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
    state, sent = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
    assert sent[0] == ("app-1", TxnResponse("end", epoch=1))
    assert sent[1] == ("broker0", WriteTxnMarkers("output-0", 1, 1, True, 1))
    _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))  # its answer was lost
    assert sent == [("app-1", TxnResponse("end", epoch=1))]


def test_an_end_the_transaction_cannot_have_is_an_invalid_txn_state() -> None:
    """As Kafka's endTransaction: the same end again is answered as done, the other end
    (or an end with nothing open) is INVALID_TXN_STATE, also for a retry after KIP-890's
    bump."""
    for bump_on_end in (False, True):
        coordinator = coordinator_of(bump_on_end=bump_on_end)
        state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
        _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
        assert sent == [("app-1", TxnResponse("end", "INVALID_TXN_STATE"))]  # nothing open
        state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
        state, _ = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
        done = WriteTxnMarkersResponse("output-0", 1, int(bump_on_end), True)
        state, _ = deliver(coordinator, state, done, "broker0")
        assert state.transactions[0].status == "CompleteCommit"
        _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
        assert sent[0][1].error == "NONE"
        _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, False, 1))
        assert sent[0][1].error == "INVALID_TXN_STATE"


def test_under_kip_890_a_fence_bumps_twice_so_no_epoch_given_out_ends_the_aborted() -> None:
    """prepareFenceProducerEpoch bumps the epoch and KIP-890's abort bumps it again: the
    fenced producer's own abort is PRODUCER_FENCED, not a retry of that abort."""
    coordinator = coordinator_of(bump_on_end=True)
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
    state = coordinator.on_step(state, ("expire", 0), Out())
    assert state.transactions[0].epoch == 2
    _, sent = deliver(coordinator, state, EndTxn("app", 1, 0, False, 1))
    assert sent[0][1].error == "PRODUCER_FENCED"


def test_a_marker_refused_by_a_former_leader_goes_to_the_leader_the_metadata_names() -> None:
    coordinator = coordinator_of(bump_on_end=True)
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
    state, _ = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
    refused = WriteTxnMarkersResponse("output-0", 1, 1, True, "NOT_LEADER_OR_FOLLOWER")
    state, sent = deliver(coordinator, state, refused, "broker0")
    assert sent == [("controller", MetadataRequest("output-0"))]
    moved = UpdateMetadata(3, 1, "output-0")
    state, sent = deliver(coordinator, state, moved, "controller")
    assert sent == [("broker3", WriteTxnMarkers("output-0", 1, 1, True, 1))]


# -- a counterexample as a diagram ---------------------------------------------------------


def test_the_late_write_counterexample_reads_as_a_sequence_diagram() -> None:
    outcome = run_job(load_job(SPECS / "eos-original-protocol-late-write.toml"))
    trace = outcome.verdict("no-aborted-read").trace
    labels = [step.label for step in trace.steps]
    abort = labels.index("EndTxn(ABORT, epoch 0)")
    marker_at = next(i for i, label in enumerate(labels) if label.startswith("WriteTxnMarkers"))
    late = max(i for i, label in enumerate(labels) if label.endswith("epoch 0, seq 0)"))
    assert abort < marker_at < late  # the write lands after the abort marker
    assert [s.fault for s in trace.steps if s.fault] == ["timeout"]
    plantuml = to_plantuml(trace, title=outcome.job.title)
    mermaid = to_mermaid(trace, title=outcome.job.title)
    for diagram in (plantuml, mermaid):
        for participant in ("App-1", "Txn-coordinator", "Broker 0", "Broker 1"):
            assert f'"{participant}"' in diagram or f" as {participant}\n" in diagram
        assert "WriteTxnMarkers(ABORT, pid 1, epoch 0)" in diagram
        assert "no-aborted-read" in diagram


def test_a_late_answer_to_an_earlier_marker_completes_nothing() -> None:
    """The answer to the ABORT marker of an earlier transaction arrives while the next one
    is committing: it must not count as that commit's marker being written."""
    coordinator = coordinator_of(bump_on_end=True)
    state, _ = deliver(coordinator, coordinator.initial_state(), InitProducerId("app"))
    state, _ = deliver(coordinator, state, AddPartitionsToTxn("app", 1, 0, ("output-0",), 1))
    state, _ = deliver(coordinator, state, EndTxn("app", 1, 0, True, 1))
    late = WriteTxnMarkersResponse("output-0", 1, 0, False)
    after, sent = deliver(coordinator, state, late, "broker0")
    assert after == state and sent == []
    done = WriteTxnMarkersResponse("output-0", 1, 1, True)
    after, _ = deliver(coordinator, state, done, "broker0")
    assert after.transactions[0].status == "CompleteCommit"


def _processor(**overrides) -> Processor:
    """An instance of today's Java client with one record to process."""
    settings = dict(
        output=OUTPUT,
        offsets="transaction",
        group_metadata=True,
        seek_after_abort=True,
        resend_on_timeout=False,
        require_stable=True,
        bump_on_end=True,
        records=1,
    )
    return Processor(1, ProcessorConfig(**{**settings, **overrides}), "app", standby=False)


def test_a_coordinator_request_that_times_out_goes_again_on_a_new_connection() -> None:
    app = _processor()
    out = Out()
    state = app.on_start(app.first_state(), out)
    assert out.sends == [(TXN_COORDINATOR, InitProducerId("app"))]
    out = Out()
    state = app.on_timer(state, COORDINATOR_TIMEOUT, out)
    assert out.sends == [(TXN_COORDINATOR, InitProducerId("app", connection=1))]
    late = InitProducerIdResponse(1, 0)  # the answer to the first copy, on the old connection
    assert app.on_message(state, TXN_COORDINATOR, late, Out()) == state
    answer = InitProducerIdResponse(1, 1, connection=1)
    assert app.on_message(state, TXN_COORDINATOR, answer, Out()).epoch == 1


# -- several transactional producers ---------------------------------------------------


def _two_instances(**bounds: int):
    chosen = copy.deepcopy(KAFKA.defaults())
    chosen["application"]["kind"] = "read-process-write"
    chosen["producer"]["transactional.id"] = "app"
    chosen["consumer"]["isolation.level"] = "read_committed"
    chosen["bounds"].update(consumers=0, records=2, input_partitions=2, **bounds)
    return KAFKA.build(chosen)


def test_two_producers_interleave_in_opposite_orders_and_every_contract_holds() -> None:
    """Kafka orders each partition, not the transactions across partitions: two
    instances' transactions may commit on two partitions in opposite orders."""
    system = _two_instances(partitions=2)
    assert {"app-1", "app-2"} <= set(system.index)
    result = check_bfs(system)
    assert result.complete and result.stats.states == 28_573
    assert result.status_of("opposite-orders") is Status.REACHED
    assert result.status_of("all-delivered") is Status.REACHED
    contracts = [p for p in result.properties if p.kind is not PropertyKind.SOMETIMES]
    assert len(contracts) > 8 and all(p.status is Status.HOLDS for p in contracts)


def test_one_producers_pending_offsets_do_not_hold_up_the_others_fetch() -> None:
    """KIP-447's require_stable waits per partition: a transaction's pending offsets of
    input partition 0 do not hold up a fetch of partition 1, and their marker answers
    the fetch of partition 0 that waited."""
    group = GroupCoordinator(GROUP, partitions=2, consumers=("app-1", "app-2"))
    state = group.first_state()
    commit = TxnOffsetCommit(7, 0, 1, state.generation, 1, state.generation, partition=0)
    state = group.on_message(state, "app-1", commit, Out())
    out = Out()
    state = group.on_message(state, "app-2", OffsetFetch(True, partition=1), out)
    assert out.sends == [("app-2", OffsetFetchResponse((-1, -1)))]
    state = group.on_message(state, "app-1", OffsetFetch(True, 2, partition=0), Out())
    assert state.waiting == (("app-1", 2, 0),)
    out = Out()
    marker = WriteTxnMarkers("__consumer_offsets", 7, 0, True, 1)
    state = group.on_message(state, TXN_COORDINATOR, marker, out)
    assert ("app-1", OffsetFetchResponse((1, -1), 2)) in out.sends
    assert state.committed == (1, -1) and state.waiting == ()


# -- a write the leader refuses ---------------------------------------------------------

TWO_PARTITIONS = Topic("output", partitions=2, replication_factor=1)


def _writing(bump_in_transaction: bool) -> tuple[Processor, object, list]:
    """An instance with its first record's writes on their way to both partitions."""
    app = _processor(
        output=TWO_PARTITIONS, bump_on_end=False, bump_in_transaction=bump_in_transaction
    )
    state = app.on_start(app.first_state(), Out())
    for sender, message in [
        (TXN_COORDINATOR, InitProducerIdResponse(1, 0)),
        (GROUP, OffsetFetchResponse((-1,))),
        ("input", SourceRecord(0, 1)),
    ]:
        state = app.on_message(state, sender, message, Out())
    out = Out()
    state = app.on_message(state, TXN_COORDINATOR, TxnResponse("add", epoch=0), out)
    writes = [request for _, request in out.sends if isinstance(request, ProduceRequest)]
    assert state.phase == "producing" and len(writes) == 2
    return app, state, writes


def _answer(request: ProduceRequest, error: str = "NONE") -> ProduceResponse:
    return ProduceResponse(
        request.record, request.attempt, request.session, error, 0 if error == "NONE" else -1,
        request.producer_epoch, request.sequence,
    )  # fmt: skip


@pytest.mark.parametrize("bump_in_transaction", [False, True])
def test_a_refused_write_waits_for_the_transactions_other_write(bump_in_transaction) -> None:
    """The Java client holds EndTxn, and librdkafka its epoch bump, until every write of
    the transaction is answered; then it aborts, or bumps with a plain InitProducerId
    (which aborts the transaction at the coordinator) and writes again under the new
    epoch only where the write was refused."""
    app, state, (first, second) = _writing(bump_in_transaction)
    out = Out()
    state = app.on_message(state, "output-0", _answer(first, "UNKNOWN_PRODUCER_ID"), out)
    assert out.sends == [] and state.phase.startswith("draining")
    out = Out()
    state = app.on_message(state, "output-1", _answer(second), out)
    ((destination, request),) = out.sends
    assert destination == TXN_COORDINATOR
    if not bump_in_transaction:
        assert isinstance(request, EndTxn) and not request.commit
        return
    assert request == InitProducerId("app", -1)
    out = Out()
    state = app.on_message(state, TXN_COORDINATOR, InitProducerIdResponse(1, 2), out)
    ((_, rewrite),) = out.sends
    assert (rewrite.record, rewrite.producer_epoch, rewrite.sequence) == (1, 2, 0)
    assert state.phase == "producing" and state.sequences == (1, 0)
