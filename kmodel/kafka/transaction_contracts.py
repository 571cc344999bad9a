"""The exactly-once contracts of the transactional pipeline, each with witnesses.

The output topic is read as a consumer with the spec's `isolation.level`
would read it at any moment (`isolation.visible`), so a contract about what a
reader sees is checked in every reachable state, not only when some modelled
reader happens to poll. Ghosts tell transactions apart: every record and
marker carries the application's transaction attempt, the transaction
coordinator records each attempt's outcome, and the group coordinator
records offsets committed from a stale generation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kmodel.core.system import Property, Read
from kmodel.core.world import ActorSystem, World
from kmodel.kafka.broker import TXN_COORDINATOR, broker_name
from kmodel.kafka.config import ReadProcessWriteConfig
from kmodel.kafka.contracts import (
    consumer_contracts,
    forgotten_producer_witness,
    replication_contracts,
    witnesses_of_faults,
)
from kmodel.kafka.isolation import DataRecord, LogView, read_log, visible
from kmodel.kafka.messages import (
    GROUP,
    AddPartitionsToTxn,
    EndTxn,
    OffsetCommit,
    ProduceRequest,
    TxnOffsetCommit,
)
from kmodel.kafka.source import input_record
from kmodel.kafka.topic import Topic
from kmodel.kafka.transaction_coordinator import PREPARED


def transaction_contracts(
    system: ActorSystem, config: ReadProcessWriteConfig
) -> list[Property[World]]:
    """All contracts and witnesses of a transactional pipeline."""
    records, output, isolation = config.records, config.output, config.isolation

    def of(name: str) -> Callable[[World], Any]:
        index = system.part(name)
        return lambda world: system.local_state(world, index)

    coordinator, group = of(TXN_COORDINATOR), of(GROUP)
    partitions = output.partitions if output else 0
    processor_names = [name for name in system.index if name.startswith("app-")]
    processors = [of(name) for name in processor_names]
    # What each kind of contract reads: the output (partition logs or the sink's effects),
    # the input position stored with them, the coordinators' ghosts.
    if output:
        read_partition = readable_log(system, output)
        brokers = [broker_name(b) for b in range(output.brokers)]
        on_output = system.reads(
            "controller.partitions",
            *(f"{name}.{field}" for name in brokers for field in ("log", "high_watermark")),
        )
    else:
        on_output = system.reads("sink.effects")
    in_sink = of("sink") if config.offsets == "sink" and not output else None
    on_position = system.reads("sink.position" if in_sink else f"{GROUP}.committed")
    on_outcomes = system.reads(f"{TXN_COORDINATOR}.outcomes")
    on_transactions = system.reads(f"{TXN_COORDINATOR}.transactions")
    everything = set(range(1, records + 1))

    def stored_records(world: World) -> set[int]:
        """The input records before the stored position of each input partition."""
        positions = (in_sink(world).position,) if in_sink else group(world).committed
        return {
            input_record(offset, partition, len(positions))
            for partition, position in enumerate(positions)
            for offset in range(max(position, 0))
        }

    def views(world: World) -> list[LogView]:
        return [read_log(read_partition(world, p)) for p in range(partitions)]

    def seen(world: World) -> list[tuple[DataRecord, ...]]:
        return [visible(view, isolation) for view in views(world)]

    def aborted_attempts(world: World) -> set[int]:
        return {attempt for attempt, committed in coordinator(world).outcomes if not committed}

    def settled(world: World) -> bool:
        """No transaction is half-way through its markers."""
        return all(meta.status not in PREPARED for meta in coordinator(world).transactions)

    def resolved(world: World) -> bool:
        """No transaction is open or half-way through its markers, no offset commit
        waits, and every output partition's LSO is its log end."""
        return (
            settled(world)
            and all(m.status != "Ongoing" for m in coordinator(world).transactions)
            and not group(world).pending
            and all(
                view.last_stable_offset == len(read_partition(world, p))
                for p, view in enumerate(views(world))
            )
        )

    if output:

        def delivered(world: World) -> list[list[int]]:
            return [[r.entry.record for r in records_] for records_ in seen(world)]

        def committed_records(world: World) -> set[int]:
            return {
                r.entry.record
                for view in views(world)
                for r in view.records
                if r.status == "committed"
            }

        properties = _kafka_output_contracts(
            seen,
            views,
            aborted_attempts,
            group,
            config.shared_transactional_id,
            [*on_output, *on_outcomes, *system.reads(f"{GROUP}.stale_commits")],
        )
    else:
        sink = of("sink")

        def delivered(world: World) -> list[list[int]]:
            return [[record for _, record in sink(world).effects]]

        def committed_records(world: World) -> set[int]:
            return {record for _, record in sink(world).effects}

        properties = []

    if "consumer" in system.index:
        # A consumer and its sink follow the output topic: delivery is judged end to end.
        properties += consumer_contracts(
            system, of, {(p, r) for p in range(partitions) for r in everything}
        )
    else:
        properties += [
            Property.always(
                "no-duplicate-effect",
                lambda w: all(len(set(d)) == len(d) for d in delivered(w)),
                "no input record takes effect in the output twice",
                reads=on_output,
            ),
            Property.at_end(
                "no-loss",
                lambda w: all(set(d) >= everything for d in delivered(w)),
                "once the pipeline is quiet, every input record is in the output",
                reads=on_output,
            ),
            Property.sometimes(
                "all-delivered",
                lambda w: all(set(d) >= everything for d in delivered(w)),
                "witness: every record reaches the output",
                reads=on_output,
            ),
        ]
    properties += [
        Property.always(
            "offsets-with-outputs",
            lambda w: not settled(w) or stored_records(w) == committed_records(w),
            "the stored input position covers exactly the records whose output committed",
            reads=[*on_output, *on_position, *on_transactions],
        ),
        Property.at_end(
            "transactions-complete",
            resolved,
            "once the pipeline is quiet, no transaction is open and the LSO is the log end",
            reads=[*on_output, *on_transactions, *system.reads(f"{GROUP}.pending")],
        ),
        Property.leads_to(
            "transactions-resolve",
            lambda w: not resolved(w),
            resolved,
            "a transaction left open is eventually completed or aborted and the LSO "
            "catches up with the log end",
        ),
        *zombie_contracts(system, processor_names, config.shared_transactional_id),
        Property.sometimes(
            "committed",
            lambda w: any(committed for _, committed in coordinator(w).outcomes),
            "witness: a transaction commits",
            reads=on_outcomes,
        ),
        Property.sometimes(
            "aborted",
            lambda w: any(not committed for _, committed in coordinator(w).outcomes),
            "witness: a transaction aborts",
            reads=on_outcomes,
        ),
        Property.sometimes(
            "fenced",
            lambda w: any(p(w).fenced for p in processors),
            "witness: an instance learns it is fenced",
            reads=system.reads(*(f"{name}.fenced" for name in processor_names)),
        ),
        Property.always(
            "no-false-fencing",
            lambda w: not any(p(w).falsely_fenced for p in processors),
            "an instance is told PRODUCER_FENCED only once a newer one has replaced it or "
            "its transaction timed out",
            reads=system.reads(*(f"{name}.falsely_fenced" for name in processor_names)),
        ),
        Property.sometimes(
            "request-overtaken",
            lambda w: coordinator(w).overtaken,
            "witness: a request that timed out reaches the coordinator after its resend on a "
            "new connection",
            reads=system.reads(f"{TXN_COORDINATOR}.overtaken"),
        ),
        Property.sometimes(
            "bump-retried",
            lambda w: coordinator(w).answered_retry,
            "witness: an InitProducerId retried after its answer was lost gets the epoch "
            "it bumped to",
            reads=system.reads(f"{TXN_COORDINATOR}.answered_retry"),
        ),
    ]
    if output and output.partitions > 1 and config.input_partitions > 1:
        properties.append(
            Property.sometimes(
                "opposite-orders",
                lambda w: _in_opposite_orders(views(w)),
                "witness: two instances' transactions commit on two partitions in opposite "
                "orders (Kafka orders each partition, not the transactions across them)",
                reads=on_output,
            )
        )
    if output:
        brokers = [of(broker_name(b)) for b in range(output.brokers)]
        replicas = [output.replicas(p) for p in range(output.partitions)]
        properties += replication_contracts(system, of("controller"), brokers, replicas)
        properties += forgotten_producer_witness(system, output)
    properties += witnesses_of_faults(system)
    return properties


# The phases of an instance that was refused and stopped: it rejoins the group (closing
# its producer), or stands by without the partition.
REFUSED = ("fenced", "standby")


def zombie_contracts(
    system: ActorSystem, processor_names: list[str], shared_id: bool
) -> list[Property[World]]:
    """A zombie that acts is eventually fenced (a leads-to contract), and its witness.

    What makes an instance a zombie is what Kafka fences it by. Its producer epoch, when
    the coordinator fenced it (`owner_epoch` is past it: a newer instance's
    InitProducerId took the transactional.id over, or the transaction timed out): then
    its writes, AddPartitionsToTxn, EndTxn and TxnOffsetCommit under that epoch are
    refused with PRODUCER_FENCED or INVALID_PRODUCER_EPOCH. And, with one
    transactional.id per instance (KIP-447), its group generation once the group moved
    on: then its offset commits from that generation are refused with
    ILLEGAL_GENERATION (its writes are not: their transaction aborts). A zombie that
    never acts again is harmless and is never told; one with such a request on its way,
    waiting for its answer, is owed a refusal, after which it rejoins the group or
    aborts to leave. Each instance's promise is its own, kept once it is no unrefused
    zombie: refused, hung, or restarted as a new producer.
    """
    transactional_ids = system.actors[system.part(TXN_COORDINATOR)].transactional_ids
    coordinator, group = system.part(TXN_COORDINATOR), system.part(GROUP)
    instances = {
        name: (
            system.part(name),
            transactional_ids.index(system.actors[system.part(name)].transactional_id),
        )
        for name in processor_names
    }

    def fenced_epoch(world: World, owner: int, producer_id: int, epoch: int) -> bool:
        meta = system.local_state(world, coordinator).transactions[owner]
        return producer_id == meta.producer_id and 0 <= epoch < meta.owner_epoch

    def stale_generation(world: World, generation: int) -> bool:
        return not shared_id and 0 <= generation != system.local_state(world, group).generation

    def unrefused(world: World, name: str) -> bool:
        """Whether instance `name` is a zombie that has not been refused."""
        index, owner = instances[name]
        p = system.local_state(world, index)
        zombie = fenced_epoch(world, owner, p.producer_id, p.epoch) or stale_generation(
            world, p.generation
        )
        return zombie and p.phase not in (*REFUSED, "hung") and not p.leaving

    def fenceable(world: World, owner: int, request: Any) -> bool:
        """Whether Kafka refuses `request` of the instance using transactional.id `owner`."""
        if isinstance(request, ProduceRequest):
            return fenced_epoch(world, owner, request.producer_id, request.producer_epoch)
        if isinstance(request, OffsetCommit):
            return stale_generation(world, request.generation)
        if isinstance(request, TxnOffsetCommit) and stale_generation(
            world, request.member_generation
        ):
            return True
        if isinstance(request, EndTxn) and (request.attempt, request.commit) in (
            system.local_state(world, coordinator).outcomes
        ):
            # It asks for an end already decided (a retry whose answer was lost, or an
            # abort the coordinator made): it changes nothing, whether Kafka answers it
            # with that end (a retry under KIP-890) or refuses it.
            return False
        return isinstance(request, AddPartitionsToTxn | EndTxn | TxnOffsetCommit) and (
            fenced_epoch(world, owner, request.producer_id, request.epoch)
        )

    def acting(name: str) -> Callable[[World], bool]:
        """Whether instance `name` is an unrefused zombie with a fenceable request on its
        way that it still waits on (a copy it gave up on, with its connection, is no act
        of it: whatever answers it, the client never hears)."""
        index, owner = instances[name]

        def acts(world: World) -> bool:
            if not unrefused(world, name):
                return False
            awaited = {request for _, request in system.local_state(world, index).requests}
            return any(
                sender == name and message in awaited and fenceable(world, owner, message)
                for sender, _, message in system.in_flight(world)
            )

        return acts

    def kept(name: str) -> Callable[[World], bool]:
        return lambda world: not unrefused(world, name)

    triggers = [acting(name) for name in processor_names]
    return [
        Property.leads_to_each(
            "zombie-is-fenced",
            [(acting(name), kept(name)) for name in processor_names],
            "a zombie (an instance whose epoch a newer one fenced, or whose group generation "
            "moved on) that writes, adds partitions, commits offsets or ends a transaction "
            "is eventually refused",
        ),
        Property.sometimes(
            "zombie-acted",
            lambda w: any(trigger(w) for trigger in triggers),
            "witness: a zombie's request that Kafka fences is on its way",
        ),
    ]


def _kafka_output_contracts(
    seen, views, aborted_attempts, group, shared_id: bool, reads: list[Read]
) -> list[Property[World]]:
    """The contracts about what a reader of the output topic sees (each reads `reads`)."""

    def no_aborted_read(world: World) -> bool:
        aborted = aborted_attempts(world)
        return not any(
            r.status == "aborted" or r.entry.transaction in aborted
            for records in seen(world)
            for r in records
        )

    def atomic(world: World) -> bool:
        shown = {r.entry.transaction for records in seen(world) for r in records}
        dropped = {
            r.entry.transaction for v in views(world) for r in v.records if r.status == "aborted"
        }
        return not shown & dropped

    def no_zombie_write(world: World) -> bool:
        # With one transactional.id per instance the group generation is the fence
        # (KIP-447); with a shared id the epoch is, and the generation does not matter.
        stale = set() if shared_id else set(group(world).stale_commits)
        return not any(
            r.status == "committed"
            and (r.decided_by != r.entry.transaction or r.entry.transaction in stale)
            for records in seen(world)
            for r in records
        )

    return [
        Property.always(
            "no-aborted-read",
            no_aborted_read,
            "a reader never sees a record of an aborted transaction",
            reads=reads,
        ),
        Property.always(
            "atomicity",
            atomic,
            "no write of a transaction is visible while one of its writes is discarded",
            reads=reads,
        ),
        Property.always(
            "no-zombie-write",
            no_zombie_write,
            "no write of a fenced epoch or a stale group generation becomes visible",
            reads=reads,
        ),
    ]


def _in_opposite_orders(views: list[LogView]) -> bool:
    """Whether two records committed on the first two partitions lie there in opposite
    orders."""
    first, second = (
        list(dict.fromkeys(r.entry.record for r in view.records if r.status == "committed"))
        for view in views[:2]
    )
    return [r for r in first if r in second] != [r for r in second if r in first]


def readable_log(system: ActorSystem, topic: Topic) -> Callable[[World, int], tuple]:
    """A partition's committed log: the current leader's log up to the highest high
    watermark any replica reached over the same entries (a new leader learns the HW
    one fetch later, but what it holds below it readers will see; what it lacks, after
    an unclean election, is lost). While the partition is offline, the log its next
    leader will serve (the first member of the ISR, else of the ELR, else the last known
    leader): offline is unavailable, not lost."""
    controller = system.part("controller")
    brokers = [system.part(broker_name(b)) for b in range(topic.brokers)]

    def log(world: World, partition: int) -> tuple:
        leadership = system.local_state(world, controller).partitions[partition]
        next_leaders = (*leadership.isr, *leadership.elr, leadership.last_known_leader)
        leader = leadership.leader if leadership.leader >= 0 else next_leaders[0]
        if leader < 0:
            return ()
        served = system.local_state(world, brokers[leader]).log
        committed = 0
        for index in brokers:
            replica = system.local_state(world, index)
            hw = replica.high_watermark
            if hw > committed and served[:hw] == replica.log[:hw]:
                committed = hw
        return served[:committed]

    return log
