"""Leads-to under weak fairness: verdicts known by hand, lassos, their JSON and replay."""

from __future__ import annotations

import functools
import itertools
import random
from pathlib import Path

import networkx as nx
import pytest

from kmodel.console import progress_line
from kmodel.core.bfs import check_bfs
from kmodel.core.liveness import check_liveness
from kmodel.core.result import Status
from kmodel.core.schema import SpecError
from kmodel.core.search import PROGRESS_EVERY, Limits, Progress
from kmodel.core.system import Property, System
from kmodel.core.trace import Trace, breaks, replay
from kmodel.jobs.run import JobResult, build_system, judge, run_job, with_liveness
from kmodel.jobs.spec import load_job
from kmodel.render.mermaid import to_mermaid
from kmodel.render.narrate import narrate
from kmodel.render.plantuml import to_plantuml
from kmodel.render.svg import to_svg

DONE = 3


class Spin(System[int, str]):
    """Two states a fair `spin` alternates between (0, 1), a request that starts the wait
    (0 from the start state 2), and an `exit` to DONE enabled where `exits` says, a fault
    when `exit_is_fault`."""

    def __init__(self, exits: tuple[int, ...] = (), exit_is_fault: bool = False) -> None:
        self.exits = exits
        self.exit_is_fault = exit_is_fault

    def initial_states(self) -> list[int]:
        return [2]

    def actions(self, state: int) -> list[str]:
        if state == 2:
            return ["request"]
        if state == DONE:
            return []
        return ["spin", "exit"] if state in self.exits else ["spin"]

    def next_state(self, state: int, action: str) -> int:
        return {"request": 0, "spin": 1 - state, "exit": DONE}[action]

    def fault_of(self, action: str) -> str | None:
        return "crash" if action == "exit" and self.exit_is_fault else None

    def properties(self) -> list[Property[int]]:
        return [
            Property.leads_to("answered", lambda s: s == 0, lambda s: s == DONE, "requests end"),
            Property.always("small", lambda s: s <= DONE),
        ]


def verdict(system: System) -> tuple[Status, Trace | None]:
    (result,) = check_liveness(system).properties
    return result.status, result.trace


@pytest.mark.parametrize(
    ("system", "status"),
    [
        (Spin(), Status.VIOLATED),  # a fair cycle and no way out
        (Spin(exits=(0, 1)), Status.HOLDS),  # the exit stays enabled, so fairness takes it
        (Spin(exits=(0,)), Status.VIOLATED),  # enabled on and off: weak fairness owes nothing
        (Spin(exits=(0, 1), exit_is_fault=True), Status.VIOLATED),  # a fault is never owed
    ],
)
def test_fair_cycles_break_the_promise_and_a_fair_exit_keeps_it(system, status):
    assert verdict(system)[0] is status


def test_a_violation_is_a_lasso_round_the_fair_cycle():
    status, trace = verdict(Spin())
    assert status is Status.VIOLATED and trace is not None
    assert [step.label for step in trace.steps] == ["request", "spin", "spin"]
    assert trace.loop_start == 1 and trace.kind == "leads_to"
    assert breaks(Spin(), trace, "answered")


class Stop(Spin):
    """The request leads to a state where only a fault can happen."""

    def actions(self, state: int) -> list[str]:
        return ["request"] if state == 2 else (["exit"] if state == 0 else [])

    def fault_of(self, action: str) -> str | None:
        return "crash" if action == "exit" else None


def test_a_run_that_comes_to_rest_with_the_promise_due_breaks_it():
    status, trace = verdict(Stop())
    assert status is Status.VIOLATED and trace is not None
    assert trace.loop_start == len(trace) == 1
    assert breaks(Stop(), trace, "answered")
    assert not breaks(Spin(exits=(0, 1)), trace, "answered")


class Instances(Spin):
    """Two instances' promises over `Spin(exits=(0, 1))`: the first is made at 0 and kept
    at DONE; the second is never made, so its goal never holding owes nothing, unless
    `second_made` makes it at 0 too."""

    def __init__(self, second_made: bool) -> None:
        super().__init__(exits=(0, 1))
        self.second_made = second_made

    def properties(self) -> list[Property[int]]:
        second = (lambda s: s == 0) if self.second_made else (lambda s: False)
        pairs = [(lambda s: s == 0, lambda s: s == DONE), (second, lambda s: False)]
        return [Property.leads_to_each("each", pairs, "each instance keeps its promise")]


def test_each_instance_keeps_its_own_promise():
    """One pending bit for both would wait for the second goal after the first promise:
    a promise never made would break the contract."""
    assert verdict(Instances(second_made=False)) == (Status.HOLDS, None)
    merged = Property.leads_to("each", lambda s: s == 0, lambda s: False)
    (result,) = check_liveness(Instances(second_made=False), [merged]).properties
    assert result.status is Status.VIOLATED
    status, trace = verdict(Instances(second_made=True))
    assert status is Status.VIOLATED and trace is not None
    assert breaks(Instances(second_made=True), trace, "each")
    assert not breaks(Instances(second_made=False), trace, "each")


def test_searches_leave_leads_to_to_the_liveness_check():
    result = check_bfs(Spin())
    assert [p.name for p in result.properties] == ["small"]


def test_a_lasso_survives_json_and_replays_only_if_its_loop_closes():
    _, trace = verdict(Spin())
    again = Trace.loads(trace.dumps())
    assert again == trace and again.loop_start == 1
    assert replay(Spin(), again).ok
    opened = Trace(trace.property, trace.kind, trace.initial, trace.steps[:-1], 1)
    outcome = replay(Spin(), opened)
    assert not outcome.ok and "loop" in outcome.reason
    old = trace.to_json()
    del old["loop_start"]
    assert Trace.from_json(old).loop_start is None


def test_the_narration_says_where_the_loop_repeats():
    _, trace = verdict(Spin())
    end = narrate(trace, "requests end")[-1]
    assert end.startswith("From step 2 the run repeats steps 2–3 forever")
    assert "the promise of answered (“requests end”) is due and never kept" in end
    _, rest = verdict(Stop())
    assert "has come to rest, and the promise of answered" in narrate(rest)[-1]


def test_every_diagram_marks_the_loop():
    _, trace = verdict(Spin())
    plantuml = to_plantuml(trace).splitlines()
    start = plantuml.index("loop steps 2–3 repeat forever")
    assert plantuml[start - 1] == "system -> system : request"
    assert plantuml[start + 1 : start + 3] == ["system -> system : spin"] * 2
    assert "end" in plantuml[start:]
    mermaid = [line.strip() for line in to_mermaid(trace).splitlines()]
    opened = mermaid.index("loop steps 2–3 repeat forever")
    assert mermaid[opened - 1] == "system->>system: request"
    assert "loop: steps 2–3 repeat forever" in to_svg(trace)
    _, rest = verdict(Stop())
    assert "loop" not in to_plantuml(rest).split("@enduml")[0].split("title")[-1].split("\n")[0]
    assert "the run rests here" in to_plantuml(rest)


def test_a_state_limit_makes_the_verdict_unknown():
    result = check_liveness(Spin(exits=(0, 1)), limits=Limits(max_states=2))
    assert not result.complete and result.properties[0].status is Status.UNKNOWN
    assert "it stopped at 2 states (max_states), so they are unknown" in result.note


def test_a_time_limit_makes_the_verdict_unknown_rather_than_holding():
    """Out of time after the graph is read, the lassos are not looked for: no verdict."""
    result = check_liveness(Spin(exits=(0, 1)), limits=Limits(max_seconds=0.0))
    assert not result.complete and result.properties[0].status is Status.UNKNOWN
    assert "ran out of time" in result.note and "(max_seconds), so they are unknown" in result.note


def test_the_job_s_time_limit_covers_the_liveness_check():
    """What the search left of max_seconds is the check's: a search that used it all
    leaves none, and the leads-to contract that holds gets no verdict, and is unmet."""
    job = load_job(SPECS / "eos-hanging-transaction-kip-890.toml", search={"max_seconds": 1e-6})
    system = build_system(job)
    result = with_liveness(job, system, check_bfs(system))
    (verdict,) = [p for p in result.properties if p.name == "transactions-resolve"]
    assert verdict.status is Status.UNKNOWN
    assert "ran out of time" in result.notes[-1]
    assert not judge(job, result).verdict("transactions-resolve").met


def test_the_liveness_check_reports_progress():
    """As often as a search, the check tells the search's progress callback how far it
    got, so a long check shows progress as a long search does, and a short one keeps
    quiet."""
    system = build_system(load_job(SPECS / "eos-hanging-transaction-kip-890.toml"))
    seen: list[Progress] = []
    result = check_liveness(system, progress=seen.append)
    assert result.complete
    assert [p.states for p in seen] == [PROGRESS_EVERY] == [16_384]
    (progress,) = seen
    assert progress.transitions > progress.states and progress.queue > 0
    assert progress.stage == "liveness" and len(progress.levels) == progress.depth > 0
    line = progress_line("hanging", progress)
    assert line.startswith("hanging, liveness: 16,384 states · depth")
    small: list[Progress] = []
    check_liveness(
        build_system(load_job(SPECS / "eos-zombie-fenced-by-generation.toml")),
        progress=small.append,
    )
    assert small == []


SPECS = Path(__file__).parent.parent / "specs"


@functools.cache
def kafka(name: str) -> JobResult:
    return run_job(load_job(SPECS / f"{name}.toml"), workers=1)


def test_a_consumer_that_skipped_a_record_polls_for_ever_round_a_loop():
    """A lasso whose loop has steps: after its one crash the consumer and the producer
    refresh their metadata for ever, no fault in the loop, the skipped record unread."""
    outcome = kafka("amo-consumer-crash-polls-past-skipped-record")
    verdict = outcome.verdict("committed-is-read")
    assert verdict.status is Status.VIOLATED and verdict.met
    trace = verdict.trace
    loop = trace.steps[trace.loop_start :]
    assert trace.loop_start == 16 < len(trace) == 22
    assert not any(step.fault for step in trace.steps[trace.loop_start :])
    assert [step.fault for step in trace.steps if step.fault] == ["crash:consumer"]
    assert sum("refreshes the topic's metadata" in step.label for step in loop) == 2
    # The loop comes back to the state it starts from, after step 16.
    assert trace.steps[trace.loop_start - 1].state == trace.steps[-1].state
    system = build_system(outcome.job)
    assert replay(system, trace).ok
    assert breaks(system, trace, "committed-is-read")
    assert breaks(system, Trace.loads(trace.dumps()), "committed-is-read")
    assert "From step 17 the run repeats steps 17–22 forever" in narrate(trace)[-1]


def test_a_hanging_transaction_on_the_original_protocol_never_resolves():
    outcome = kafka("eos-hanging-transaction")
    verdict = outcome.verdict("transactions-resolve")
    assert verdict.status is Status.VIOLATED and verdict.met
    trace = verdict.trace
    assert trace.loop_start == len(trace)  # the run rests with the transaction open
    system = build_system(outcome.job)
    assert breaks(system, trace, "transactions-resolve")
    assert breaks(system, Trace.loads(trace.dumps()), "transactions-resolve")
    assert "has come to rest" in narrate(trace, verdict.description)[-1]
    assert any("unreduced" in note for note in outcome.result.notes)


def test_today_s_protocol_resolves_every_transaction_left_open():
    verdict = kafka("eos-hanging-transaction-kip-890").verdict("transactions-resolve")
    assert verdict.status is Status.HOLDS and verdict.met


def test_leads_to_is_checked_only_when_the_spec_asks(tmp_path):
    text = (SPECS / "eos-hanging-transaction.toml").read_text()
    spec = tmp_path / "spec.toml"
    spec.write_text(text.replace("liveness = true", "liveness = false"))
    with pytest.raises(SpecError, match=r"\[search\] liveness = true"):
        run_job(load_job(spec))
    unasked = text.replace("liveness = true", "liveness = false")
    spec.write_text(unasked.replace('transactions-resolve = "violated"\n', ""))
    outcome = run_job(load_job(spec), workers=1)
    assert "transactions-resolve" not in [v.name for v in outcome.verdicts]
    assert not any("leads-to" in note for note in outcome.result.notes)


class Labelled(System[int, str]):
    """A small random graph: from each state, each label leads to one state; label "f"
    is a fault, the others fair classes that may be enabled in several states."""

    def __init__(self, moves: dict[int, dict[str, int]], trigger: set[int], goal: set[int]):
        self.moves, self.trigger, self.goal = moves, trigger, goal

    def initial_states(self) -> list[int]:
        return [0]

    def actions(self, state: int) -> list[str]:
        return sorted(self.moves[state])

    def next_state(self, state: int, action: str) -> int:
        return self.moves[state][action]

    def fault_of(self, action: str) -> str | None:
        return "fault" if action == "f" else None

    def properties(self) -> list[Property[int]]:
        trigger, goal = self.trigger, self.goal
        return [Property.leads_to("promise", trigger.__contains__, goal.__contains__)]


def fair_lasso_by_definition(system: Labelled) -> bool:
    """Whether some reachable set of due nodes can be gone round for ever fairly, found
    by trying every subset (no components): a fair run stays in a set that is strongly
    connected, and every label enabled all over it is taken inside it; or rests."""
    (prop,) = system.properties()
    start = (0, prop.still_due(False, 0))
    seen, todo = {start}, [start]
    while todo:
        state, due = todo.pop()
        for after in system.moves[state].values():
            node = (after, prop.still_due(due, after))
            if node not in seen:
                seen.add(node)
                todo.append(node)
    due = sorted(node for node in seen if node[1])
    for node in due:
        if all(after == node[0] for a, after in system.moves[node[0]].items() if a != "f"):
            return True  # at rest with the promise due
    for size in range(1, len(due) + 1):
        for subset in itertools.combinations(due, size):
            inside = set(subset)
            edges = [
                (state, label, (after, True))
                for state, _ in subset
                for label, after in system.moves[state].items()
                if (after, True) in inside and after not in system.goal
            ]
            graph = nx.DiGraph([((s, True), t) for s, _, t in edges])
            graph.add_nodes_from(inside)
            if not edges or not nx.is_strongly_connected(graph):
                continue
            enabled = set.intersection(
                *({a for a in system.moves[s] if a != "f"} for s, _ in subset)
            )
            if enabled <= {label for _, label, _ in edges}:
                return True
    return False


@pytest.mark.parametrize("seed", range(300))
def test_the_check_agrees_with_the_definition_on_small_random_graphs(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 5)
    moves = {
        s: {label: rng.randrange(n) for label in "abf" if rng.random() < 0.6} for s in range(n)
    }
    system = Labelled(
        moves,
        set(rng.sample(range(n), rng.randint(1, n))),
        set(rng.sample(range(n), rng.randint(0, 2))),
    )
    status, trace = verdict(system)
    assert (status is Status.VIOLATED) == fair_lasso_by_definition(system)
    if trace is not None:
        assert breaks(system, trace, "promise")
