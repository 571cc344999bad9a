"""The partitioned breadth-first search on a Ray cluster: past one machine.

The same algorithm as `kmodel.core.parallel`, with Ray actors for worker
processes: each partition (a *shard*) is an actor that may run on any node,
and the coordinator (this process) keeps the levels in lock step: every
shard expands its frontier, hands its outboxes to the object store, absorbs
what the others put there for it, and closes the level; the coordinator
merges what each decided (`kmodel.core.bfs`). The commands and their answers
are those of the forked workers (`PartitionServer`); states travel through
the model's `Exchange`, and a trace is rebuilt by asking each state's owner.

A shard keeps its visited set in a `CompactPartition`: 18 bytes a state. It
is not forked from the coordinator: the model reaches it pickled (cloudpickle)
and it chooses its owner hash itself, so every shard runs with the same
``PYTHONHASHSEED`` (Python salts the hash of strings per process), and the
shards must agree on the owner of a sample of states before the search starts.

The coordinator polls the shards' progress while they expand, applies the
limits to the whole cluster, and stops every shard on Ctrl-C or a limit. A
shard that dies stops the search (`worker_failed`): the result covers what
was explored and decides nothing more.

    ray start --head                       # on one machine, then on the others:
    ray start --address HEAD:6379
    kmodel check SPEC --engine distributed --address HEAD:6379 --workers 64
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import time
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from kmodel.core.bfs import Cluster
from kmodel.core.compact import CompactPartition
from kmodel.core.parallel import PartitionServer, WorkerFailed
from kmodel.core.partition import Stop
from kmodel.core.schema import SpecError
from kmodel.core.search import Limits, first_states, memory_mb
from kmodel.core.system import System

INSTALL = "pip install 'kmodel[distributed]'"
HASH_SEED = "20240521"  # every shard's PYTHONHASHSEED, so that owner hashes agree
POLL_SECONDS = 0.25  # between two looks at the shards' progress during a level
CONNECT_SECONDS = 10.0  # to reach a cluster's address
START_SECONDS = 120.0  # for the shards to start and build the model
SAMPLE_STATES = 200  # states whose owner every shard must agree on
OBJECT_STORE_MB = 256  # of a local cluster started for one search


class ClusterUnavailable(SpecError):
    """The distributed engine cannot run: Ray is missing, the cluster cannot be reached,
    or it is too small. Bad input to the command, like a wrong option (exit 2)."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(
            f"--engine distributed runs on Ray, which is not installed; install it with: {INSTALL}"
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None, workers: int) -> Iterator[None]:
    """Joined to the Ray cluster at `address`, or to a local one started for `workers`
    shards, for the time of the block (a session already open is used as it is).
    A worker that dies while a trace is rebuilt is reported as a `ClusterUnavailable`."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        _connect(ray, address, workers)
        started = True
    try:
        yield
    except WorkerFailed as error:
        raise ClusterUnavailable(f"the distributed search failed: {error}") from None
    finally:
        if started:
            ray.shutdown()


def _connect(ray: Any, address: str | None, workers: int) -> None:
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
    if not address:
        # A cluster that lives for one search, on this machine, has nothing to warn its
        # user about (such as how it authenticates): only Ray's errors reach stderr.
        ray.init(
            num_cpus=max(workers, os.cpu_count() or 1),
            object_store_memory=OBJECT_STORE_MB * 2**20,
            **{**quiet, "logging_level": "ERROR"},
        )
        return
    host, _, port = address.rpartition(":")
    if host and port.isdigit():  # a plain HOST:PORT is tried first, so it cannot hang
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
        except OSError as error:
            raise ClusterUnavailable(
                f"--address {address}: no Ray cluster answers there ({error}). Start one "
                "with `ray start --head` on that machine and give its address as printed "
                "(HOST:6379), or leave --address out to start a cluster on this machine."
            ) from None
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ClusterUnavailable(
            f"--address {address}: cannot join the Ray cluster: {error}"
        ) from None


class RayCluster(Cluster):
    """One shard per partition, each a Ray actor; this process coordinates.

    Needs a Ray session (`ray_session`)."""

    fingerprints = True

    def __init__(self, system: System, workers: int, limits: Limits) -> None:
        ray = self.ray = _ray()
        if not ray.is_initialized():
            raise ClusterUnavailable("the distributed engine needs a Ray session (ray_session)")
        self.count = workers
        self.system = system
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < workers:
            raise ClusterUnavailable(
                f"--workers {workers} needs a core per worker; the Ray cluster has {cpus:g}."
            )
        state_share = None if limits.max_states is None else max(1, limits.max_states // workers)
        memory_share = None if limits.max_memory_mb is None else limits.max_memory_mb / workers
        actor = ray.remote(Shard).options(
            num_cpus=1,
            max_concurrency=2,  # progress and stop are answered while a level expands
            runtime_env={"env_vars": {"PYTHONHASHSEED": HASH_SEED}},
        )
        model = ray.put(system)
        limits_of_shard = (limits.max_seconds, state_share, memory_share)
        self.shards = [actor.remote(model, i, workers, *limits_of_shard) for i in range(workers)]
        self.dead: dict[int, str] = {}
        self.reported = [(0, 0, 0, 0.0)] * workers
        self.level = 0
        samples = self._all("owner_sample", timeout=START_SECONDS)
        if any(sample != samples[0] for sample in samples):
            raise WorkerFailed(
                "the workers disagree on which of them owns a state: are they running "
                "the same version of kmodel and Python?"
            )
        self.exchanged = [0] * workers  # bytes each shard received, over the search

    # -- the level protocol ------------------------------------------------------

    def owner(self, state: Hashable) -> int:
        """The shards decide which of them owns each initial state: not this process,
        which hashes differently."""
        return 0

    def seed(self, states: Sequence[tuple[int, Hashable, int]]) -> None:
        self._all("seed", [rank for _, _, rank in states])

    def expand(self, tick) -> None:
        self.level += 1
        running = {self.shards[i].expand.remote(self.level): i for i in self._alive()}
        answers: dict[int, tuple] = {}
        stop: Stop | None = None
        try:
            while running:
                done, _ = self.ray.wait(list(running), num_returns=len(running), timeout=0)
                if not done:
                    done, _ = self.ray.wait(list(running), timeout=POLL_SECONDS)
                for ref in done:
                    index = running.pop(ref)
                    answers[index] = self._get(ref, index)
                if running and stop is None:
                    self._poll()
                    try:
                        tick(*self.running_totals()[:2])
                    except Stop as error:
                        stop = error
                        self._halt()
        except KeyboardInterrupt:
            self._halt()
            for ref, index in running.items():
                with contextlib.suppress(WorkerFailed):
                    self._get(ref, index)
            raise
        reasons = [answer[0] for answer in answers.values() if answer and answer[0] is not None]
        if self.dead:
            self._halt()
            reasons.insert(0, "worker_failed")
        if stop is None and reasons:
            stop = Stop(reasons[0])
        if stop is not None:
            raise stop
        inboxes: list[list[tuple[int, Any]]] = [[] for _ in range(self.count)]
        for sender, (_, boxes) in answers.items():
            for target, box in enumerate(boxes):
                if box is not None:
                    inboxes[target].append((sender, box))
        sizes = self._all("absorb", each=inboxes)
        for index, size in zip(self._alive(), sizes, strict=True):
            self.exchanged[index] += size

    def end_level(self) -> list[dict[str, tuple[int, int, Any]]]:
        ended = dict(zip(self._alive(), self._all("end_level"), strict=True))
        return [ended.get(index, {}) for index in range(self.count)]

    def forget(self, names: Sequence[str]) -> None:
        self._all("forget", list(names))

    def totals(self) -> tuple[int, int, int, float]:
        for index, figures in zip(self._alive(), self._all("totals"), strict=True):
            self.reported[index] = figures
        return self.running_totals()

    def running_totals(self) -> tuple[int, int, int, float]:
        states, transitions, frontier, memory = zip(*self.reported, strict=True)
        return sum(states), sum(transitions), sum(frontier), memory_mb() + sum(memory)

    def switch_to_fingerprints(self) -> None:
        """Shards keep fingerprints from the start."""

    def fault_profiles(self) -> list[tuple[int, dict[str, int]]]:
        return self._all("fault_profile")

    def first_reduced_level(self) -> float:
        return min([float("inf"), *self._all("first_reduced_level")])

    def visited_bytes(self) -> int:
        return sum(self._all("visited_bytes"))

    def notes(self) -> list[str]:
        notes = [
            f"distributed over {self.count} Ray workers; {self._exchange_note()}",
        ]
        for index, why in sorted(self.dead.items()):
            notes.append(
                f"worker {index} died ({why}): the states it held are lost, so the search "
                "is incomplete and decides nothing it had not decided before"
            )
        return notes

    def _exchange_note(self) -> str:
        levels = max(self.level, 1)
        return (
            f"{sum(self.exchanged) / 2**20:.1f} MB of states exchanged between them in "
            f"{self.level} levels ({sum(self.exchanged) / levels / 2**10:.0f} KB a level)"
        )

    # -- traces ----------------------------------------------------------------------

    def parent(self, partition: int, key: Hashable) -> tuple[int, Hashable] | None:
        return self._one(partition, "parent", key)

    def path_states(self, refs: Sequence[tuple[int, Hashable]]) -> list[Hashable]:
        system = self.system
        first, key = refs[0]
        states = [system.from_portable(self._one(first, "initial", key))]
        for partition, key in refs[1:]:
            value = self._one(partition, "successor", system.portable(states[-1]), key)
            states.append(system.from_portable(value))
        return states

    def close(self) -> None:
        for shard in self.shards:
            with contextlib.suppress(Exception):
                self.ray.kill(shard)

    # -- helpers ----------------------------------------------------------------------

    def _alive(self) -> list[int]:
        return [index for index in range(self.count) if index not in self.dead]

    def _all(
        self, command: str, *args: Any, each: list | None = None, timeout: float | None = None
    ) -> list:
        """Every live shard's answer to `command` (with `args`, or shard i with `each[i]`),
        in shard order. Ctrl-C while waiting stops the shards, and their answers are still
        read, so the next command finds them in step; then the interrupt goes on."""
        alive = self._alive()
        refs = [
            getattr(self.shards[i], command).remote(*args, *(() if each is None else (each[i],)))
            for i in alive
        ]
        answers, interrupted = [], False
        for ref, index in zip(refs, alive, strict=True):
            while True:
                try:
                    answers.append(self._get(ref, index, timeout))
                    break
                except KeyboardInterrupt:
                    interrupted = True
                    self._halt()
        if interrupted:
            raise KeyboardInterrupt
        return answers

    def _one(self, index: int, command: str, *args: Any) -> Any:
        if index in self.dead:
            raise WorkerFailed(f"worker {index} died ({self.dead[index]}); the trace is lost")
        return self._get(getattr(self.shards[index], command).remote(*args), index)

    def _get(self, ref: Any, index: int, timeout: float | None = None) -> Any:
        """A shard's answer. A shard that died is marked so (its answer is None); one that
        failed otherwise, or does not answer in time, fails the search."""
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref, timeout=timeout)
        except exceptions.RayActorError as error:
            self.dead[index] = str(error).splitlines()[0] if str(error) else "no reason given"
            return None
        except exceptions.GetTimeoutError:
            raise WorkerFailed(f"worker {index} did not answer in {timeout:g} s") from None
        except exceptions.RayTaskError as error:
            raise WorkerFailed(f"worker {index} failed:\n{error}") from None

    def _poll(self) -> None:
        alive = self._alive()
        for index, figures in zip(alive, self._all("progress"), strict=True):
            if figures is not None:
                self.reported[index] = figures

    def _halt(self) -> None:
        for index in self._alive():
            self.shards[index].stop.remote(self.level)


class Shard(PartitionServer):
    """One partition in a Ray actor: the commands of `PartitionServer`, boxes in the
    object store, progress kept for the coordinator to ask, and a halt per level."""

    def __init__(
        self,
        system: System,
        index: int,
        count: int,
        seconds: float | None,
        state_share: int | None,
        memory_share: float | None,
    ) -> None:
        import ray

        gc.disable()  # as in every worker: states are acyclic, and scans of them dominate
        self.ray = ray
        system.prepare_partitions(count)
        partition = CompactPartition(system, index=index, count=count)
        deadline = None if seconds is None else time.monotonic() + seconds
        self.halted = _Halt()
        super().__init__(system, partition, self.halted, deadline, state_share, memory_share)
        self.figures: tuple[int, int, int, float] | None = None
        self.baseline = memory_mb()

    def memory(self) -> float:
        return max(memory_mb() - self.baseline, 0.0)

    def report(self, figures: tuple[int, int, int, float]) -> None:
        self.figures = figures

    def progress(self) -> tuple[int, int, int, float] | None:
        return self.figures

    def stop(self, level: int) -> None:
        self.halted.level = level

    def owner_sample(self) -> list[int]:
        """Owner hashes of the first states of a breadth-first search, which every shard
        meets in the same order."""
        owner, count = self.system.owner_hash, self.partition.count
        return [owner(state) % count for state in first_states(self.system, SAMPLE_STATES)]

    def seed(self, ranks: list[int]) -> None:
        initial = list(dict.fromkeys(self.system.initial_states()))
        owner, count = self.system.owner_hash, self.partition.count
        super().seed([rank for rank in ranks if owner(initial[rank]) % count == self.index])

    def expand(self, level: int) -> tuple[str | None, list[Any]]:  # type: ignore[override]
        self.halted.current = level
        reason, boxes = super().expand()
        return reason, [None if box is None else self.ray.put(box) for box in boxes]

    def absorb(self, inbox: list[tuple[int, Any]]) -> int:  # type: ignore[override]
        payloads = self.ray.get([ref for _, ref in inbox])
        super().absorb(
            [(sender, payload) for (sender, _), payload in zip(inbox, payloads, strict=True)]
        )
        return sum(len(payload) for payload in payloads)

    def visited_bytes(self) -> int:
        return self.partition.visited_bytes


class _Halt:
    """Set for one level: a stop meant for a level cannot halt the next one, whichever
    of the two commands a threaded actor runs first."""

    def __init__(self) -> None:
        self.level = -1  # the level the coordinator stopped
        self.current = 0  # the level being expanded

    def is_set(self) -> bool:
        return self.level >= self.current
