"""The distributed engine (Ray) against plain breadth-first search: the same states,
verdicts and traces; limits, a dying worker, and the errors a user can meet."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.core.search import Limits
from kmodel.examples.two_phase_commit import TwoPhaseCommit
from kmodel.jobs.run import build_system
from kmodel.jobs.spec import load_job

ray = pytest.importorskip(
    "ray", reason="the distributed engine needs Ray: pip install 'kmodel[distributed]'"
)

from kmodel.core.distributed import RayCluster  # noqa: E402  (after the skip)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(
        num_cpus=2,
        object_store_memory=200 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
    )
    yield
    ray.shutdown()


def outcome(result):
    """What must not depend on the engine: each verdict with its trace."""
    return [
        (p.name, p.status, None if p.trace is None else [s.label for s in p.trace.steps])
        for p in result.properties
    ]


@pytest.mark.parametrize("rms", [3, 4, 5])
def test_two_phase_commit_matches_plain_search(rms):
    plain = check_bfs(TwoPhaseCommit(rms))
    found = check_bfs(TwoPhaseCommit(rms), workers=2, executor=RayCluster)
    assert found.complete and found.stats.states == plain.stats.states
    assert found.stats.levels == plain.stats.levels
    assert outcome(found) == outcome(plain)
    assert found.stats.visited_bytes_per_state == 18.0


@pytest.mark.parametrize(
    "spec", ["specs/acks1-leader-failover.toml", "specs/eos-read-process-write.toml"]
)
def test_specs_match_plain_search(spec):
    system = build_system(load_job(spec))
    plain = check_bfs(system, reduce=("symmetry",))
    found = check_bfs(system, workers=2, reduce=("symmetry",), executor=RayCluster)
    assert found.stats.states == plain.stats.states
    assert outcome(found) == outcome(plain)
    assert any(p.trace is not None for p in found.properties)


def test_one_worker_matches_plain_search():
    found = check_bfs(TwoPhaseCommit(4), workers=1, executor=RayCluster)
    assert outcome(found) == outcome(check_bfs(TwoPhaseCommit(4)))


def test_state_limit_applies_to_the_whole_cluster():
    found = check_bfs(TwoPhaseCommit(5), Limits(max_states=2000), workers=2, executor=RayCluster)
    assert (found.complete, found.stop_reason) == (False, "max_states")
    # A shard counts what a level met before it drops the states it knew: it may stop early.
    assert 1000 <= found.stats.states < 8832
    assert Status.HOLDS not in {p.status for p in found.properties}


class DyingCluster(RayCluster):
    """A cluster whose second worker is killed as the fourth level begins."""

    def expand(self, tick) -> None:
        if self.level == 3:
            ray.kill(self.shards[1])
        super().expand(tick)


def test_a_dead_worker_fails_the_search_with_what_was_covered():
    found = check_bfs(TwoPhaseCommit(5), workers=2, executor=DyingCluster)
    assert (found.complete, found.stop_reason) == (False, "worker_failed")
    assert 0 < found.stats.states < 8832
    assert Status.HOLDS not in {p.status for p in found.properties}
    assert any("worker 1 died" in note for note in found.notes)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kmodel", *args], capture_output=True, text=True, timeout=60
    )


def test_a_local_cluster_leaves_stderr_to_kmodel():
    """Ray's notices about the cluster it starts (authentication, dashboard) stay off
    stderr: a clean run prints nothing there."""
    done = run_cli(
        "check", "specs/acks1-leader-failover.toml", "--engine", "distributed",
        "--workers", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "expectations met" in done.stdout
    assert done.stderr == ""


def test_an_unreachable_address_is_bad_input():
    done = run_cli(
        "check", "specs/acks1-leader-failover.toml", "--engine", "distributed",
        "--address", "127.0.0.1:1",
    )  # fmt: skip
    assert done.returncode == 2
    assert "no Ray cluster answers there" in done.stderr


def test_without_ray_the_engine_says_how_to_install_it():
    blocked = "import sys; sys.modules['ray'] = None; from kmodel.__main__ import run; run()"
    done = subprocess.run(
        [sys.executable, "-c", blocked, "check", "specs/acks1-leader-failover.toml"]
        + ["--engine", "distributed"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "pip install 'kmodel[distributed]'" in done.stderr
