"""The delivery contracts of a pipeline, and the witnesses that keep a pass honest.

Every contract reads ghost fields the actors keep (what the producer was
told, what the consumer processed, what the sink applied) or the logs of the
replicas. Witnesses (`sometimes`) show that the faults a spec allows were
really reached and that the pipeline can deliver at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kmodel.core.system import Property
from kmodel.core.world import ActorSystem, World
from kmodel.kafka.broker import broker_name
from kmodel.kafka.config import BROKER_STOP_BUDGETS
from kmodel.kafka.topic import Topic

# The contracts that say whether a message can be lost or duplicated: the columns of
# the semantic matrix (at-most-once demands no duplicate, at-least-once no loss).
LOSS_CONTRACTS = ("no-loss", "no-acked-loss")
DUPLICATE_CONTRACTS = ("no-duplicate-effect", "no-duplicate-in-log")


def forgotten_producer_witness(system: ActorSystem, topic: Topic) -> list[Property[World]]:
    """Where a broker can forget a producer: the witness that a leader writes for one it
    forgot."""
    if not {"producer-expiry", "log-retention"} & set(system.budget_keys):
        return []
    names = [broker_name(b) for b in range(topic.brokers)]
    parts = [system.part(name) for name in names]
    return [
        Property.sometimes(
            "forgotten-producer-writes",
            lambda w: any(system.local_state(w, p).wrote_for_forgotten for p in parts),
            "witness: a leader appends a batch of a producer whose earlier batches it no "
            "longer counts (expired or deleted)",
            reads=system.reads(*(f"{name}.wrote_for_forgotten" for name in names)),
        )
    ]


def contracts(
    system: ActorSystem, records: int, topic: Topic, by_record: bool = False
) -> list[Property[World]]:
    """All contracts and witnesses of a pipeline writing `records` records to `topic`;
    `by_record`: a record's partition is not fixed (a partition is added meanwhile), so
    the sink is judged by records alone."""

    def of(name: str) -> Callable[[World], object]:
        index = system.part(name)
        return lambda world: system.local_state(world, index)

    producer, controller = of("producer"), of("controller")
    brokers = [of(broker_name(b)) for b in range(topic.brokers)]
    names = [broker_name(b) for b in range(topic.brokers)]
    broker_logs = system.reads(*(f"{name}.log" for name in names))
    everything = set(range(1, records + 1))

    def logs(world: World) -> list[tuple]:
        return [b(world).log for b in brokers]

    parts = [system.part(name) for name in names]
    # Where brokers may stay down, a log on a broker lost for good keeps nothing.
    restarts_counted = any(
        system.actors[p].restart_fault(system.actors[p].initial_state()) for p in parts
    )

    def acked_survive(world: World) -> bool:
        kept = {
            entry.record
            for part, broker in zip(parts, brokers, strict=True)
            if not (restarts_counted and system.gone_for_good(world, part))
            for entry in broker(world).log
        }
        return set(producer(world).acked) <= kept

    def acked_on_isr(world: World) -> bool:
        """Every write the broker acknowledged is in the log of every in-sync replica of a
        partition (a partition without an ISR holds nothing for sure)."""
        view = controller(world).partitions
        held = [
            set.intersection(*({e.record for e in brokers[b](world).log} for b in view[p].isr))
            for p in range(topic.partitions)
            if view[p].isr
        ]
        return all(any(record in h for h in held) for record in producer(world).acked)

    def no_log_duplicate(world: World) -> bool:
        return all(len({e.record for e in log}) == len(log) for log in logs(world))

    def in_order(world: World) -> bool:
        return all(_first_occurrences_increase([e.record for e in log]) for log in logs(world))

    properties: list[Property[World]] = [
        Property.always(
            "no-acked-loss",
            acked_survive,
            "every write the broker acknowledged stays in some replica's log"
            + (" on a broker not lost for good" if restarts_counted else ""),
            reads=[
                *system.reads("producer.acked"),
                *broker_logs,
                *(system.reads(*names, "faults") if restarts_counted else ()),
            ],
        ),
        Property.leads_to(
            "acked-reaches-isr",
            lambda w: not acked_on_isr(w),
            acked_on_isr,
            "every write the broker acknowledged eventually reaches every in-sync replica",
        ),
        Property.always(
            "no-duplicate-in-log",
            no_log_duplicate,
            "no record is written to the partition log twice",
            reads=broker_logs,
        ),
        Property.always(
            "producer-order",
            in_order,
            "the producer's records appear in the log in the order it sent them",
            reads=broker_logs,
        ),
        *replication_contracts(
            system, controller, brokers, [topic.replicas(p) for p in range(topic.partitions)]
        ),
        Property.sometimes(
            "failover",
            lambda w: controller(w).elections > 0,
            "witness: the controller elects a new leader",
            reads=system.reads("controller.elections"),
        ),
    ]
    properties += forgotten_producer_witness(system, topic)
    if "consumer" in system.index:
        keyed = {((r - 1) % topic.partitions, r) for r in everything}
        properties += consumer_contracts(system, of, keyed, by_record)
        sink = of("sink")

        def committed_read(world: World) -> bool:
            """Every record below its partition leader's high watermark is in the sink."""
            view, taken = controller(world).partitions, {r for _, r in sink(world).effects}
            for p in range(topic.partitions):
                if view[p].leader < 0:
                    continue
                leader = brokers[view[p].leader](world)
                if any(e.record not in taken for e in leader.log[: leader.high_watermark]):
                    return False
            return True

        properties.append(
            Property.leads_to(
                "committed-is-read",
                lambda w: not committed_read(w),
                committed_read,
                "every record committed to a partition (below its leader's high watermark) "
                "is eventually read by the polling consumer and reaches the sink",
            )
        )
        if by_record:
            sink, added = of("sink"), topic.partitions - 1
            properties.append(
                Property.sometimes(
                    "read-from-new-partition",
                    lambda w: any(p == added for p, _ in sink(w).effects),
                    "witness: a record written to the partition added meanwhile reaches the sink",
                    reads=system.reads("sink.effects"),
                )
            )
    properties += witnesses_of_faults(system)
    return properties


def consumer_contracts(
    system: ActorSystem,
    of: Callable[[str], Callable[[World], Any]],
    everything: set[tuple[int, int]],
    by_record: bool = False,
) -> list[Property[World]]:
    """The contracts that need the consuming side of the pipeline: `everything` is each
    (partition, record) the sink must end up with, or (`by_record`) each record, whatever
    its partition. With several consumers in the group they speak of all of them."""
    names = [name for name in ("consumer", "consumer-2") if name in system.index]
    members = [of(name) for name in names]
    sink, coordinator = of("sink"), of("coordinator")

    def results(effects: tuple[tuple[int, int], ...]) -> list:
        return [record for _, record in effects] if by_record else list(effects)

    wanted = set(results(tuple(everything)))

    def reads(field: str) -> list:
        return system.reads(*(f"{name}.{field}" for name in names))

    def no_skip(world: World) -> bool:
        """No member starts past an offset that no member processed or still holds to
        process (an evicted member goes on with what it polled)."""
        states = [member(world) for member in members]
        done = {d for state in states for d in state.processed}
        done |= {(p, o) for state in states for p, o, _ in state.in_hand}
        return not any(state.skipped for state in states) and all(
            (p, o) in done for state in states for p, start in state.starts for o in range(start)
        )

    properties = [
        Property.always(
            "committed-never-back",
            lambda w: coordinator(w).regressions == 0,
            "no commit moves the group's committed offset back",
            reads=system.reads("coordinator.regressions"),
        ),
        Property.at_end(
            "no-loss",
            lambda w: set(results(sink(w).effects)) >= wanted,
            "once the pipeline is quiet, every source record is in the sink",
            reads=system.reads("sink.effects"),
        ),
        Property.always(
            "no-duplicate-effect",
            lambda w: len(set(results(sink(w).effects))) == len(sink(w).effects),
            "no record takes effect in the sink twice",
            reads=system.reads("sink.effects"),
        ),
        Property.always(
            "hw-monotonic",
            lambda w: all(
                regressions == 0 for m in members for _, regressions in m(w).high_watermarks
            ),
            "the high watermark the consumer sees never goes back",
            reads=reads("high_watermarks"),
        ),
        Property.always(
            "no-skip",
            no_skip,
            "the consumer never moves past an offset it did not process",
            reads=[*reads("skipped"), *reads("starts"), *reads("processed"), *reads("in_hand")],
        ),
        Property.sometimes(
            "offset-committed",
            lambda w: any(offset >= 0 for offset in coordinator(w).committed),
            "witness: the group stores a committed offset",
            reads=system.reads("coordinator.committed"),
        ),
        Property.sometimes(
            "all-delivered",
            lambda w: set(results(sink(w).effects)) >= wanted,
            "witness: every record can reach the sink",
            reads=system.reads("sink.effects"),
        ),
        Property.sometimes(
            "position-moved",
            lambda w: any(m(w).truncations > 0 for m in members),
            "witness: the consumer finds the log cut under its position and moves it",
            reads=reads("truncations"),
        ),
        Property.sometimes(
            "redelivered",
            lambda w: len(set(sink(w).writes)) < len(sink(w).writes),
            "witness: a record reaches the sink a second time",
            reads=system.reads("sink.writes"),
        ),
    ]
    if len(members) > 1:
        properties.append(
            Property.sometimes(
                "reassigned",
                lambda w: coordinator(w).reassignments > 0,
                "witness: a rebalance gives a partition to another member of the group",
                reads=system.reads("coordinator.reassignments"),
            )
        )
    return properties


def replication_contracts(
    system: ActorSystem,
    controller: Callable[[World], Any],
    brokers: Sequence[Callable[[World], Any]],
    partitions: Sequence[Sequence[int]],
) -> list[Property[World]]:
    """Kafka's replication invariants, read against the leader the controller names and
    its HW (the committed offset): ISR members hold what is committed, and the replicas
    that follow the current epoch agree with the leader below it. `partitions` names the
    brokers of each partition."""
    names = [broker_name(b) for b in range(len(brokers))]
    replica_fields = ("log", "high_watermark", "role", "leader_epoch")
    replica_reads = [
        r for name in names for r in system.reads(*(f"{name}.{f}" for f in replica_fields))
    ]
    metadata = system.reads("controller.partitions")

    def compared(world: World, partition: int) -> tuple[Any, Any, list[tuple[bool, Any]]]:
        """The controller's view of `partition`, its leader's state, and each other replica
        as (in the ISR, state), for those in the ISR or following the current epoch."""
        view = controller(world).partitions[partition]
        leader = brokers[view.leader](world) if view.leader >= 0 else None
        others = []
        for b in partitions[partition]:
            if b == view.leader:
                continue
            state = brokers[b](world)
            following = state.role == "follower" and state.leader_epoch == view.leader_epoch
            if b in view.isr or following:
                others.append((b in view.isr, state))
        return view, leader, others

    def every_partition(check: Callable[[World, int], bool]) -> Callable[[World], bool]:
        return lambda world: all(check(world, p) for p in range(len(partitions)))

    def some_partition(check: Callable[[World, int], bool]) -> Callable[[World], bool]:
        return lambda world: any(check(world, p) for p in range(len(partitions)))

    def logs_match(world: World, partition: int) -> bool:
        _, leader, others = compared(world, partition)
        if leader is None:
            return True
        hw = leader.high_watermark
        return all(
            s.log[: min(hw, len(s.log))] == leader.log[: min(hw, len(s.log))] for _, s in others
        )

    def committed_on_isr(world: World, partition: int) -> bool:
        _, leader, others = compared(world, partition)
        if leader is None:
            return True
        hw = leader.high_watermark
        return all(s.log[:hw] == leader.log[:hw] for in_isr, s in others if in_isr)

    def follower_after_failover(world: World, partition: int) -> bool:
        view, leader, others = compared(world, partition)
        if leader is None or view.leader_epoch == 0:
            return False
        return any(min(leader.high_watermark, len(s.log)) > 0 for _, s in others)

    def isr_after_failover(world: World, partition: int) -> bool:
        view, leader, others = compared(world, partition)
        if leader is None or view.leader_epoch == 0:
            return False
        return leader.high_watermark > 0 and any(in_isr for in_isr, _ in others)

    def committed_records(world: World, partition: int) -> set[int]:
        return {r for b in partitions[partition] for r in brokers[b](world).committed}

    def no_committed_loss(world: World, partition: int) -> bool:
        view = controller(world).partitions[partition]
        if view.leader < 0:
            return not committed_records(world, partition)
        held = {e.record for e in brokers[view.leader](world).log}
        return committed_records(world, partition) <= held

    def committed_then_failover(world: World, partition: int) -> bool:
        leader = controller(world).partitions[partition].leader
        return leader >= 0 and any(
            brokers[b](world).committed for b in partitions[partition] if b != leader
        )

    def third_leader(world: World, partition: int) -> bool:
        view = controller(world).partitions[partition]
        return view.leader >= 0 and view.leader_epoch >= 2

    committed_reads = system.reads(*(f"{name}.committed" for name in names))
    found = [
        Property.always(
            "isr-logs-match",
            every_partition(logs_match),
            "the ISR and the followers of the current epoch hold the leader's records below its HW",
            reads=[*metadata, *replica_reads],
        ),
        Property.always(
            "committed-on-isr",
            every_partition(committed_on_isr),
            "every ISR member holds every record below the leader's HW",
            reads=[*metadata, *replica_reads],
        ),
        Property.at_end(
            "no-committed-loss",
            every_partition(no_committed_loss),
            "once the pipeline is quiet, the leader holds every record ever committed",
            reads=[*metadata, *system.reads(*(f"{name}.log" for name in names)), *committed_reads],
        ),
        Property.sometimes(
            "follower-after-failover",
            some_partition(follower_after_failover),
            "witness: after a failover, another replica holds records below the leader's HW",
            reads=[*metadata, *replica_reads],
        ),
        Property.sometimes(
            "isr-after-failover",
            some_partition(isr_after_failover),
            "witness: after a failover, the leader's HW is above 0 with another ISR member",
            reads=[*metadata, *replica_reads],
        ),
        Property.sometimes(
            "committed-then-failover",
            some_partition(committed_then_failover),
            "witness: a record is committed under one leader, and another leads",
            reads=[*metadata, *committed_reads],
        ),
    ]
    if sum(system.budget.get(key, 0) for key in BROKER_STOP_BUDGETS) >= 2:
        # Two leaders may stop: a witness that a third one leads.
        found.append(
            Property.sometimes(
                "third-leader-epoch",
                some_partition(third_leader),
                "witness: a partition reaches its third leader epoch (2)",
                reads=metadata,
            )
        )
    return found


def witnesses_of_faults(system: ActorSystem) -> Sequence[Property[World]]:
    """One witness per fault a spec allows: the fault really happens in some run."""
    return [
        Property.sometimes(
            f"witness:{key}",
            lambda w, key=key: system.faults_used(w, key) > 0,
            f"witness: the fault {key} happens",
            reads=system.reads("faults"),
        )
        for key in system.budget_keys
    ]


def _first_occurrences_increase(records: list[int]) -> bool:
    seen: set[int] = set()
    last = 0
    for record in records:
        if record in seen:
            continue
        if record < last:
            return False
        seen.add(record)
        last = record
    return True
