"""The partitioned breadth-first search across worker processes on one machine.

The coordinating process runs partition 0 itself and forks one process for
each other partition, so every process starts with the same model. Levels
stay in lock step: every partition expands its frontier, the coordinator
hands each outbox to its owner, every partition absorbs what it was handed
and closes the level, and the coordinator merges what each decided
(`kmodel.core.bfs`). States travel between processes through the model's
`Exchange`; a trace is rebuilt by asking each state's owner for its parent,
then for the state itself as a portable value.

Workers keep fingerprints in their visited sets, watch the deadline, their
share of the memory limit (counting the pages they hold alone, not those
still shared with the coordinator they were forked from) and a halt flag the
coordinator raises when a
limit is reached or the search is interrupted; Ctrl-C reaches only the
coordinator, which stops them and reports what was covered.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import signal
import time
from collections.abc import Hashable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from kmodel.core.bfs import Cluster
from kmodel.core.partition import Partition, Stop
from kmodel.core.search import CLOCK_EVERY, Limits, memory_mb, private_memory_mb
from kmodel.core.system import System

REPORT_EVERY = 4 * CLOCK_EVERY  # states between two progress messages of a worker


class WorkerFailed(RuntimeError):
    """A worker process died or broke the protocol; the search cannot go on."""


class ProcessCluster(Cluster):
    """Partition 0 in this process, partitions 1.. in forked worker processes."""

    fingerprints = True

    def __init__(self, system: System, workers: int, limits: Limits) -> None:
        self.count = workers
        self.system = system
        system.prepare_partitions(workers)
        context = multiprocessing.get_context("fork")
        self.halt = context.Event()
        deadline = None
        if limits.max_seconds is not None:
            deadline = time.monotonic() + limits.max_seconds
        # Each partition watches its share of the state and memory limits.
        self.state_share = None
        if limits.max_states is not None:
            self.state_share = max(1, limits.max_states // workers)
        share = None if limits.max_memory_mb is None else limits.max_memory_mb / workers
        self.pipes: list[Connection] = []
        self.processes = []
        for index in range(1, workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(system, index, workers, theirs, self.halt, deadline, self.state_share, share),
                name=f"kmodel-worker-{index}",
                daemon=True,
            )
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        self.local = Partition(system, index=0, count=workers, fingerprints=True)
        self.exchange = system.exchange()
        # (states, transitions, frontier, memory) last heard of each worker
        self.reported = [(0, 0, 0, 0.0)] * workers
        self.results: dict[int, tuple] = {}  # a worker's answer met while draining progress

    def owner(self, state: Hashable) -> int:
        return self.system.owner_hash(state) % self.count

    # -- the level protocol ------------------------------------------------------

    def seed(self, states: Sequence[tuple[int, Hashable, int]]) -> None:
        for index, pipe in enumerate(self.pipes, 1):
            pipe.send(("seed", [rank for owner, _, rank in states if owner == index]))
        self.local.seed([(state, rank) for owner, state, rank in states if owner == 0])
        self._collect("seeded")

    def expand(self, tick) -> None:
        self.halt.clear()
        for pipe in self.pipes:
            pipe.send(("expand",))
        local = self.local

        def local_tick(states: int) -> int:
            self._drain()
            self.reported[0] = (states, local.transitions, len(local.frontier), memory_mb())
            total_states, total_transitions, _, _ = self.running_totals()
            try:
                if self.state_share is not None and states >= self.state_share:
                    raise Stop("max_states")
                tick(total_states, total_transitions)
            except Stop:
                self.halt.set()
                raise
            return _next_threshold(states, self.state_share)

        local.tick = local_tick
        local.threshold = _next_threshold(len(local.parents), self.state_share)
        stop: Stop | None = None
        try:
            local.expand()
        except Stop as error:
            stop = error
        except KeyboardInterrupt:
            self.halt.set()
            self._collect("expanded")  # in step again: the workers stopped too
            local.take_outboxes()
            raise
        answers = self._collect("expanded")
        reasons = [answer[0] for answer in answers if answer[0] is not None]
        if stop is None and reasons:
            stop = Stop(reasons[0])
        if stop is not None:  # what is still in the outboxes stays unexplored
            local.take_outboxes()
            raise stop
        inboxes: list[list[tuple[int, bytes]]] = [[] for _ in range(self.count)]
        for target, box in enumerate(local.take_outboxes()):
            if box:
                inboxes[target].append((0, _pack(self.exchange, target, box)))
        for sender, (_, boxes) in enumerate(answers, 1):
            for target, payload in enumerate(boxes):
                if payload is not None:
                    inboxes[target].append((sender, payload))
        for target, pipe in enumerate(self.pipes, 1):
            pipe.send(("absorb", inboxes[target]))
        for sender, payload in inboxes[0]:
            _absorb(self.exchange, local, sender, payload)
        self._collect("absorbed")

    def end_level(self) -> list[dict[str, tuple[int, int, Any]]]:
        for pipe in self.pipes:
            pipe.send(("end_level",))
        return [self.local.end_level(), *(answer for answer in self._collect("ended"))]

    def forget(self, names: Sequence[str]) -> None:
        for pipe in self.pipes:
            pipe.send(("forget", list(names)))
        self.local.tracker.forget(names)
        self._collect("forgot")

    def totals(self) -> tuple[int, int, int, float]:
        for pipe in self.pipes:
            pipe.send(("totals",))
        local = self.local
        totals = [(len(local.parents), local.transitions, len(local.frontier), memory_mb())]
        totals += self._collect("totals")
        self.reported = totals
        return self.running_totals()

    def running_totals(self) -> tuple[int, int, int, float]:
        states, transitions, frontier, memory = zip(*self.reported, strict=True)
        return sum(states), sum(transitions), sum(frontier), sum(memory)

    def switch_to_fingerprints(self) -> None:
        """Workers keep fingerprints from the start."""

    def fault_profiles(self) -> list[tuple[int, dict[str, int]]]:
        for pipe in self.pipes:
            pipe.send(("fault_profile",))
        return [self.local.fault_profile(), *self._collect("fault_profile")]

    def first_reduced_level(self) -> float:
        for pipe in self.pipes:
            pipe.send(("first_reduced_level",))
        return min([self.local.reduced_at, *self._collect("first_reduced_level")])

    # -- traces ----------------------------------------------------------------------

    def parent(self, partition: int, key: Hashable) -> tuple[int, Hashable] | None:
        if partition == 0:
            return self.local.parent(key)
        return self._ask(partition, ("parent", key))

    def path_states(self, refs: Sequence[tuple[int, Hashable]]) -> list[Hashable]:
        system = self.system
        first, key = refs[0]
        if first == 0:
            states = [self.local.initial_with_key(key)]
        else:
            states = [system.from_portable(self._ask(first, ("initial", key)))]
        for partition, key in refs[1:]:
            if partition == 0:
                states.append(self.local.successor_with_key(states[-1], key))
            else:
                question = ("successor", system.portable(states[-1]), key)
                states.append(system.from_portable(self._ask(partition, question)))
        return states

    def close(self) -> None:
        self.halt.set()
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
            pipe.close()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    # -- helpers ----------------------------------------------------------------------

    def _ask(self, partition: int, question: tuple) -> Any:
        self.pipes[partition - 1].send(question)
        (answer,) = self._collect(question[0], only=partition)
        return answer

    def _drain(self) -> None:
        """Read the progress messages workers sent meanwhile, keeping any answer."""
        for index, pipe in enumerate(self.pipes, 1):
            while index not in self.results and pipe.poll():
                message = self._receive(index, pipe)
                if message[0] == "progress":
                    self.reported[index] = message[1]
                else:
                    self.results[index] = message

    def _collect(self, kind: str, only: int | None = None) -> list[Any]:
        """Every worker's (or one worker's) answer of `kind`, in worker order. Ctrl-C while
        waiting halts the workers, and their answers are still read, so the next command
        finds them in step; then the interrupt goes on."""
        answers = []
        interrupted = False
        for index, pipe in enumerate(self.pipes, 1):
            if only is not None and index != only:
                continue
            message = self.results.pop(index, None)
            while message is None or message[0] == "progress":
                if message is not None:
                    self.reported[index] = message[1]
                try:
                    message = self._receive(index, pipe)
                except KeyboardInterrupt:
                    interrupted = True
                    self.halt.set()
                    message = None
            if message[0] == "failed":
                raise WorkerFailed(f"worker {index} failed:\n{message[1]}")
            if message[0] != kind:
                raise WorkerFailed(f"worker {index} answered {message[0]!r} to {kind!r}")
            answers.append(message[1])
        if interrupted:
            raise KeyboardInterrupt
        return answers

    def _receive(self, index: int, pipe: Connection) -> tuple:
        try:
            return pipe.recv()
        except (EOFError, OSError) as error:
            raise WorkerFailed(f"worker {index} stopped unexpectedly ({error})") from None


class PartitionServer:
    """One partition of a search answering the coordinator's commands, whatever carries
    them (a pipe to a forked process here, a Ray actor in `kmodel.core.distributed`).
    It watches the deadline, its share of the state and memory limits and the halt flag
    as it expands, and reports its progress every so often."""

    def __init__(
        self,
        system: System,
        partition: Partition,
        halt,
        deadline: float | None,
        state_share: int | None,
        memory_share: float | None,
    ) -> None:
        self.system = system
        self.index = partition.index
        self.halt = halt  # anything with is_set(): the coordinator asks every partition to stop
        self.deadline = deadline
        self.state_share = state_share
        self.memory_share = memory_share
        self.partition = partition
        self.partition.tick = self.tick
        self.exchange = system.exchange()
        self.next_report = REPORT_EVERY

    def memory(self) -> float:
        """The memory (MB) this partition's process adds to the search."""
        return private_memory_mb()

    def report(self, figures: tuple[int, int, int, float]) -> None:
        """Tell the coordinator (states, transitions, frontier, memory) in mid-level."""

    def tick(self, states: int) -> int:
        if self.halt.is_set():
            raise Stop("halted")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise Stop("max_seconds")
        if self.state_share is not None and states >= self.state_share:
            raise Stop("max_states")
        if states >= self.next_report:
            self.next_report = states + REPORT_EVERY
            p = self.partition
            memory = self.memory()
            self.report((states, p.transitions, len(p.frontier), memory))
            if self.memory_share is not None and memory >= self.memory_share:
                raise Stop("max_memory")
        return _next_threshold(states, self.state_share)

    # -- commands -------------------------------------------------------------------

    def seed(self, ranks: list[int]) -> None:
        initial = list(dict.fromkeys(self.system.initial_states()))
        self.partition.seed([(initial[rank], rank) for rank in ranks])

    def expand(self) -> tuple[str | None, list[bytes | None]]:
        reason = None
        self.partition.threshold = _next_threshold(len(self.partition.parents), self.state_share)
        try:
            self.partition.expand()
        except Stop as stop:
            reason = None if stop.reason == "halted" else stop.reason
            self.partition.take_outboxes()  # nobody takes them after a stop
        boxes = [
            _pack(self.exchange, target, box) if box and target != self.index else None
            for target, box in enumerate(self.partition.take_outboxes())
        ]
        return reason, boxes

    def absorb(self, inbox: list[tuple[int, bytes]]) -> None:
        for sender, payload in inbox:
            _absorb(self.exchange, self.partition, sender, payload)

    def end_level(self) -> dict[str, tuple[int, int, Any]]:
        return self.partition.end_level()

    def forget(self, names: list[str]) -> None:
        self.partition.tracker.forget(names)

    def totals(self) -> tuple[int, int, int, float]:
        p = self.partition
        return len(p.parents), p.transitions, len(p.frontier), self.memory()

    def fault_profile(self) -> tuple[int, dict[str, int]]:
        return self.partition.fault_profile()

    def first_reduced_level(self) -> float:
        return self.partition.reduced_at

    def parent(self, key: Hashable) -> tuple[int, Hashable] | None:
        return self.partition.parent(key)

    def initial(self, key: Hashable) -> Any:
        return self.system.portable(self.partition.initial_with_key(key))

    def successor(self, value: Any, key: Hashable) -> Any:
        state = self.system.from_portable(value)
        return self.system.portable(self.partition.successor_with_key(state, key))


class _Worker(PartitionServer):
    """A worker process: one partition, answering the coordinator's commands on a pipe."""

    def __init__(self, system: System, index: int, count: int, pipe: Connection, *limits) -> None:
        partition = Partition(system, index=index, count=count, fingerprints=True)
        super().__init__(system, partition, *limits)
        self.pipe = pipe

    def serve(self) -> None:
        """Answer commands until told to close; a failure is reported, not hidden."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides what Ctrl-C does
        gc.disable()  # as in the coordinator: states are acyclic, and scans of them dominate
        try:
            while True:
                command, *args = self.pipe.recv()
                if command == "close":
                    return
                answer = getattr(self, command)(*args)
                self.pipe.send((ANSWERS.get(command, command), answer))
        except (EOFError, OSError):
            return
        except Exception as error:  # the coordinator fails the search with this text
            import traceback

            with contextlib.suppress(OSError):
                self.pipe.send(("failed", f"{error!r}\n{traceback.format_exc()}"))

    def report(self, figures: tuple[int, int, int, float]) -> None:
        self.pipe.send(("progress", figures))


ANSWERS = {
    "seed": "seeded",
    "expand": "expanded",
    "absorb": "absorbed",
    "end_level": "ended",
    "forget": "forgot",
}


def _next_threshold(states: int, share: int | None) -> int:
    """When a partition looks at its limits next: soon, and exactly at its state share."""
    threshold = states + CLOCK_EVERY
    return threshold if share is None else min(threshold, share)


def _serve(system: System, index: int, count: int, pipe: Connection, *limits) -> None:
    _Worker(system, index, count, pipe, *limits).serve()


def _pack(exchange, target: int, box: list[tuple]) -> bytes:
    """An outbox as bytes: its states packed by the model's exchange, then the rest."""
    states = [entry[0] for entry in box]
    rest = [entry[1:] for entry in box]
    return pickle.dumps((exchange.pack(target, states), rest), pickle.HIGHEST_PROTOCOL)


def _absorb(exchange, partition: Partition, sender: int, payload: bytes) -> None:
    packed, rest = pickle.loads(payload)
    states = exchange.unpack(sender, packed)
    partition.absorb([(state, *more) for state, more in zip(states, rest, strict=True)])
