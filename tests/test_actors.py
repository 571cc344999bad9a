"""The actor layer: fault budgets, durable state across crashes, networks, witnesses."""

import dataclasses

import pytest

from kmodel.core.actors import Actor, Out
from kmodel.core.bfs import check_bfs
from kmodel.core.dfs import check_dfs
from kmodel.core.network import FifoNetwork, UnorderedNetwork
from kmodel.core.result import Status
from kmodel.core.system import Property
from kmodel.core.trace import replay
from kmodel.core.world import ActorSystem, ReadError
from kmodel.examples.lossy_link import lossy_link


def test_premature_retry_duplicates_without_any_fault() -> None:
    result = check_bfs(lossy_link(records=2, losses=0))
    trace = result.property("no-duplicate").trace
    assert [step.kind for step in trace.steps] == ["deliver", "timer", "deliver"]
    assert trace.faults == 0
    assert result.status_of("no-loss") is Status.HOLDS
    assert result.status_of("message-lost") is Status.UNREACHED  # no budget, no loss


def test_loss_budget_is_reached_and_bounds_the_search() -> None:
    results = [check_bfs(lossy_link(losses=n)) for n in (0, 1, 2)]
    counts = [r.stats.states for r in results]
    assert counts == sorted(counts) and len(set(counts)) == 3
    assert results[1].status_of("message-lost") is Status.REACHED
    # One resend survives one loss; two losses can swallow the record and its retry.
    assert results[1].status_of("no-loss") is Status.HOLDS
    lost = results[2].property("no-loss").trace
    assert lost.faults == 2 and results[2].status_of("no-deadlock") is Status.VIOLATED


def test_durable_position_survives_a_sender_crash() -> None:
    base = lossy_link(records=2, losses=0, sender_crashes=1)
    (no_loss,) = [p for p in base.properties() if p.name == "no-loss"]

    def back_after_ack(world) -> bool:
        sender = system.state_of(world, "sender")
        return system.is_up(world, "sender") and sender.restarted and sender.acked == 1

    # The same actors, judged by the base's no-loss condition read through this system,
    # and a witness of a sender back from a crash after the first acknowledgement.
    system = ActorSystem(
        base.actors,
        network=base.network,
        budget=base.budget,
        properties=(
            Property.at_end(
                "no-loss",
                lambda w: set(system.state_of(w, "receiver").log) == {1, 2},
                no_loss.description,
            ),
            Property.sometimes("back-after-ack", back_after_ack),
        ),
    )
    result = check_bfs(system)
    # The acknowledged position is durable, so a crash never loses a record.
    assert result.status_of("no-loss") is Status.HOLDS
    trace = result.property("back-after-ack").trace
    assert [step.kind for step in trace.steps][-2:] == ["crash", "restart"]
    assert trace.steps[-2].state["sender"]["acked"] == 1  # kept while the sender is down


def test_a_restart_before_the_first_acknowledgement_is_seen() -> None:
    result = check_bfs(lossy_link(records=2, losses=0, sender_crashes=1))
    assert result.status_of("sender-restarted") is Status.REACHED
    # The shortest witness crashes the sender at once: nothing durable but the mark is left.
    trace = result.property("sender-restarted").trace
    assert [step.kind for step in trace.steps] == ["crash", "restart"]
    crashed, restarted = (step.state["sender"] for step in trace.steps)
    assert crashed["crashed"] and (crashed["acked"], crashed["restarted"]) == (0, True)
    assert "crashed" not in restarted and restarted["acked"] == 0
    # The crash alone is no witness (the sender is down): the trace ends with the restart.
    # Without a crash budget there is none.
    assert (
        check_bfs(lossy_link(records=2, losses=0, sender_crashes=0)).status_of("sender-restarted")
        is Status.UNREACHED
    )


def test_pinned_state_counts_agree_across_engines_and_networks() -> None:
    # Every crash marks the sender restarted, so the mark says no more than the spent crash
    # budget does and adds no states of its own: a sender back from a crash before the first
    # acknowledgement and one back from a crash after it are the same state once both have
    # that acknowledgement. (Marking only restarts after an acknowledgement, which missed
    # early crashes, kept those apart: 621 and 3396 states.)
    for network, states in ((None, 553), (UnorderedNetwork(), 3275)):
        system = lossy_link(records=2, losses=1, sender_crashes=1, network=network)
        bfs, dfs = check_bfs(system), check_dfs(system)
        assert bfs.stats.states == dfs.stats.states == states
        for prop in (*bfs.properties, *dfs.properties):
            if prop.trace is not None:
                assert replay(system, prop.trace).ok


def test_duplication_fault_on_an_unordered_network() -> None:
    base = lossy_link(records=1, losses=0, max_retries=0, network=UnorderedNetwork())
    system = ActorSystem(
        base.actors,
        network=UnorderedNetwork(),
        budget={"duplicate": 1},
        properties=[
            Property.always(
                "no-duplicate",
                lambda w: len(system.state_of(w, "receiver").log) <= 1,
                "the receiver never logs its one record twice",
            )
        ],
    )
    result = check_bfs(system)
    trace = result.property("no-duplicate").trace
    assert [step.kind for step in trace.steps] == ["duplicate", "deliver", "deliver"]


class _Worker(Actor[int]):
    """Counts to 2 by ordinary steps; a timeout may reset it to 10 once it is stuck."""

    def initial_state(self) -> int:
        return 0

    def steps(self, state: int):
        if state < 2:
            yield "work"
        if state == 2:
            yield "time out"

    def step_fault(self, state: int, step) -> str | None:
        return "late" if step == "time out" else None

    def on_step(self, state: int, step, out: Out) -> int:
        return state + 1 if step == "work" else 10


def test_an_eventual_step_waits_until_nothing_else_can_happen() -> None:
    system = ActorSystem([_Worker("w")], eventual=("late",))
    (start,) = system.initial_states()
    assert [a[2] for a in system.actions(start)] == ["work"]
    stuck = system.encode(system.view(start)._replace(actors=(2,)))
    (timeout,) = system.actions(stuck)
    assert timeout[2] == "time out" and system.fault_of(timeout) is None
    after = system.view(system.next_state(stuck, timeout))
    assert after.actors == (10,) and after.faults_used == ()  # no budget is spent

    # The run cannot end at 2: the only end is after the timeout.
    def ends(system: ActorSystem) -> list[Property]:
        return [Property.at_end("ends-after-timeout", lambda w: system.local_state(w, 0) == 10)]

    for budget, verdict in (({}, Status.HOLDS), ({"late": 1}, Status.VIOLATED)):
        eventual = () if budget else ("late",)
        system = ActorSystem([_Worker("w")], eventual=eventual, budget=budget, properties=ends)
        assert check_bfs(system).status_of("ends-after-timeout") is verdict


def test_a_property_cannot_declare_a_read_of_what_the_system_lacks() -> None:
    """A declared read names a real actor and a real field of its state, so a renamed
    field cannot leave a property judged on a part it does not read."""
    system = lossy_link(records=1, max_retries=0, losses=0, sender_crashes=0)
    sender = system.actors[system.index["sender"]]
    field = dataclasses.fields(sender.initial_state())[0].name
    assert system.reads(f"sender.{field}") == [(system.index["sender"], (field,))]
    with pytest.raises(ReadError, match="no field 'nosuch'"):
        system.reads("sender.nosuch")
    with pytest.raises(ReadError, match="no actor is named 'nobody'"):
        system.reads("nobody")


def test_a_second_connection_can_overtake_the_first() -> None:
    fifo = FifoNetwork()
    net = fifo.send(fifo.empty(), [(0, 1, "a"), (0, 1, "b"), (0, 1, "c", 1)])
    # "b" waits behind "a" on the first connection; "c", on the second, does not.
    assert {message for _, (_, _, message) in fifo.deliverable(net)} == {"a", "c"}
    assert fifo.waiting(net) == {(0, 1)}
    assert fifo.drop(net, lambda src, dst: (src, dst) != (0, 1)) == ()  # a break: both go
    assert fifo.send(fifo.empty(), [(0, 1, "a", 0)]) == fifo.send(fifo.empty(), [(0, 1, "a")])


class _Server(Actor[int]):
    """Counts its starts; its restarts, when `counted`, spend the budget "back"."""

    durable = ("starts",)

    def __init__(self, counted: bool) -> None:
        super().__init__("server")
        self.counted = counted

    def initial_state(self) -> int:
        return 0

    def after_crash(self, state: int) -> int:
        return state  # the count survives

    def on_start(self, state: int, out: Out) -> int:
        return state + 1

    def restart_fault(self, state: int) -> str | None:
        return "back" if self.counted else None


@pytest.mark.parametrize(
    ("counted", "budget", "most_starts", "ends_down"),
    [(False, {}, 3, False), (True, {"back": 0}, 1, True), (True, {"back": 1}, 2, True)],
)
def test_a_restart_budget_bounds_how_often_a_crashed_actor_comes_back(
    counted: bool, budget: dict[str, int], most_starts: int, ends_down: bool
) -> None:
    """Two crashes; a counted restart spends "back", past which the actor stays down for
    good (`gone_for_good`); an uncounted one always comes back."""
    system = ActorSystem([_Server(counted)], budget={"crash:server": 2, **budget})
    seen, todo = set(system.initial_states()), list(system.initial_states())
    while todo:
        for _, _, after in system.transitions(todo.pop()):
            if after not in seen:
                seen.add(after)
                todo.append(after)
    assert max(system.local_state(w, 0) for w in seen) == most_starts
    gone = [w for w in seen if system.gone_for_good(w, 0)]
    assert bool(gone) is ends_down
    assert all(not system.is_up(w, "server") for w in gone)
    restarts = [a for w in seen for a in system.actions(w) if a[0] == "restart"]
    assert bool(restarts) is (most_starts > 1)
    assert all(system.fault_of(a) == ("back" if counted else None) for a in restarts)
