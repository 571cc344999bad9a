"""The two controller generations: ZooKeeper sessions that outlive a crash, LeaderAndIsr
lost on the ZooKeeper controller's channel, KRaft's clean-shutdown records, and a
controlled shutdown that stops a broker without a crash."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.world import ActorSystem
from kmodel.kafka.broker import Broker
from kmodel.kafka.config import DEFAULT_BROKER, BrokerConfig, pipeline_config
from kmodel.kafka.controller import Controller, ControllerState
from kmodel.kafka.messages import (
    BrokerRegistration,
    BrokerRegistrationResponse,
    BrokerZnode,
    ControlledShutdown,
    ControlledShutdownResponse,
    Entry,
    LeaderAndIsr,
    MetadataRequest,
    SessionExpired,
    UpdateMetadata,
    ZooKeeperConnectionLost,
)
from kmodel.kafka.model import KAFKA
from kmodel.kafka.pipeline import Pipeline
from kmodel.kafka.topic import Topic

KRAFT = dataclasses.replace(DEFAULT_BROKER, replicas=2, min_insync=2)
ZOOKEEPER = dataclasses.replace(
    DEFAULT_BROKER,
    replicas=2,
    zookeeper=True,
    stale_broker_epoch_joins_isr=True,
    eligible_leader_replicas=False,
)


def _controller(config: BrokerConfig) -> tuple[Controller, ControllerState]:
    controller = Controller(config, Topic("topic", 1, config.replicas))
    return controller, controller.initial_state()


def _deliver(controller: Controller, state: ControllerState, sender: str, message):
    out = Out()
    return controller.on_message(state, sender, message, out), out.sends


# -- ZooKeeper sessions ------------------------------------------------------------------


def test_a_restart_within_the_zookeeper_session_is_not_a_failure() -> None:
    controller, state = _controller(ZOOKEEPER)
    state, sends = _deliver(controller, state, "broker1", ZooKeeperConnectionLost("broker1"))
    assert sends == [] and state.alive == (True, True)
    assert list(controller.steps(state)) == [("session-expires", 1)]
    state, sends = _deliver(controller, state, "broker1", BrokerZnode(1))
    assert state.partitions[0].isr == (0, 1) and state.partitions[0].leader_epoch == 0
    assert sends == [("broker1", LeaderAndIsr(0, 0, (0, 1)))]
    assert list(controller.steps(state)) == []  # the session lives on: nothing expires


def test_an_expired_zookeeper_session_fences_the_broker() -> None:
    controller, state = _controller(ZOOKEEPER)
    state, _ = _deliver(controller, state, "broker0", ZooKeeperConnectionLost("broker0"))
    out = Out()
    state = controller.on_step(state, ("session-expires", 0), out)
    assert state.alive == (False, True) and state.live_sessions_of_crashed == ()
    assert state.partitions[0][:3] == (1, 1, (1,))
    assert ("broker1", LeaderAndIsr(1, 1, (1,))) in out.sends
    state, sends = _deliver(controller, state, "broker0", BrokerZnode(0))
    assert state.alive == (True, True) and state.partitions[0].isr == (1,)
    assert sends == [("broker0", LeaderAndIsr(1, 1, (1,)))]


def test_only_the_zookeeper_controllers_leader_and_isr_may_be_lost() -> None:
    settings = KAFKA.defaults()
    kraft = Pipeline(pipeline_config(settings))
    settings["broker"].update(
        {
            "controller.mode": "zookeeper",
            "stale.broker.epoch.join.isr": True,
            "eligible.leader.replicas.version": 0,
        }
    )
    zookeeper = Pipeline(pipeline_config(settings))
    update = LeaderAndIsr(1, 1, (1,))
    assert zookeeper.loss_class("controller", "broker1", update) == "leader-and-isr-loss"
    assert zookeeper.loss_class("controller", "producer", UpdateMetadata(1, 1, "t-0")) is None
    assert kraft.loss_class("controller", "broker1", update) is None


# -- KRaft: controlled shutdown and clean-shutdown records -------------------------------


def _after_controlled_shutdown_of_broker1() -> tuple[Controller, ControllerState]:
    controller, state = _controller(KRAFT)
    state, sends = _deliver(controller, state, "broker1", ControlledShutdown(1, True))
    assert sends[-1] == ("broker1", ControlledShutdownResponse(True))
    assert state.alive == (True, False)
    assert (state.partitions[0].isr, state.partitions[0].elr) == ((0,), (1,))
    return controller, state


def test_a_cleanly_shut_down_broker_stays_in_the_elr() -> None:
    controller, state = _after_controlled_shutdown_of_broker1()
    state, sends = _deliver(controller, state, "broker1", BrokerRegistration(1, 0))
    assert state.partitions[0].elr == (1,)
    assert sends[-1][1].broker_epoch == 1


def test_a_registration_without_the_clean_shutdown_epoch_is_an_unclean_shutdown() -> None:
    controller, state = _after_controlled_shutdown_of_broker1()
    state, _ = _deliver(controller, state, "broker1", BrokerRegistration(1))
    assert state.partitions[0].elr == ()


def test_a_crash_in_kraft_expires_the_session_at_once() -> None:
    controller, state = _controller(KRAFT)
    state, _ = _deliver(controller, state, "broker1", SessionExpired("broker1"))
    assert state.alive == (True, False) and list(controller.steps(state)) == []


# -- clients ask for metadata ------------------------------------------------------------


def test_a_client_asking_while_no_replica_can_lead_hears_of_the_next_leader() -> None:
    """The controller never pushes metadata: it answers each MetadataRequest, and a
    partition without a leader once one is elected (the client keeps asking until then)."""
    controller, state = _controller(KRAFT)
    state, sends = _deliver(controller, state, "producer", MetadataRequest("topic-0"))
    assert sends == [("producer", UpdateMetadata(0, 0, "topic-0"))]
    for broker in (0, 1):
        state, sends = _deliver(
            controller, state, f"broker{broker}", SessionExpired(f"broker{broker}")
        )
        assert not any(to == "producer" for to, _ in sends)  # no push to a client
    assert state.partitions[0].leader == -1
    state, sends = _deliver(controller, state, "producer", MetadataRequest("topic-0"))
    assert sends == [] and state.waiting_for_leader == (("producer", 0),)
    state, sends = _deliver(controller, state, "broker1", BrokerRegistration(1, 0))
    assert ("producer", UpdateMetadata(1, 3, "topic-0")) in sends
    assert state.waiting_for_leader == ()


# -- the broker's side ---------------------------------------------------------------------


def test_a_broker_flushes_writes_its_clean_shutdown_file_and_stops() -> None:
    broker = Broker(
        1, dataclasses.replace(KRAFT, crash_loses_page_cache=True), Topic("t", 1, 2), False
    )
    state = broker.initial_state()._replace(log=(Entry(1, 0, -1, 0),), broker_epoch=3)
    assert ("controlled-shutdown",) in list(broker.steps(state))
    out = Out()
    state = broker.on_step(state, ("controlled-shutdown",), out)
    assert out.sends == [("controller", ControlledShutdown(1, True))] and state.shutting_down
    out = Out()
    state = broker.on_message(state, "controller", ControlledShutdownResponse(True), out)
    assert out.stopped and state.flushed == 1 and state.clean_shutdown_epoch == 3
    left = broker.after_crash(state)
    assert left.log == state.log and left.clean_shutdown_epoch == 3
    out = Out()
    started = broker.on_start(left, out)
    assert out.sends == [("controller", BrokerRegistration(1, 3))]
    assert started.clean_shutdown_epoch == -1  # read at startup, then deleted


def test_a_restarted_kraft_broker_leads_only_once_registered() -> None:
    """The controller elected broker1 before hearing of its power loss: the restarted
    broker ignores that LeaderAndIsr and takes the partition from its registration."""
    broker = Broker(1, KRAFT, Topic("t", 1, 2), False)
    restarted = broker.after_power_loss(broker.initial_state()._replace(log=(Entry(1, 0, -1, 0),)))
    assert restarted.log == () and restarted.role == "none"
    out = Out()
    state = broker.on_message(restarted, "controller", LeaderAndIsr(1, 1, (1,)), out)
    assert state == restarted and out.sends == []
    response = BrokerRegistrationResponse(1, LeaderAndIsr(0, 2, (0,)))
    state = broker.on_message(state, "controller", response, out)
    assert (state.role, state.leader, state.leader_epoch, state.broker_epoch) == (
        "follower",
        0,
        2,
        1,
    )
    # A ZooKeeper broker gets its partition as a LeaderAndIsr, registered or not.
    zookeeper = Broker(1, ZOOKEEPER, Topic("t", 1, 2), False)
    restarted = zookeeper.after_crash(zookeeper.initial_state())
    state = zookeeper.on_message(restarted, "controller", LeaderAndIsr(1, 1, (1,)), Out())
    assert state.role == "leader"


def test_a_zookeeper_broker_registers_its_znode() -> None:
    broker = Broker(1, ZOOKEEPER, Topic("t", 1, 2), False)
    out = Out()
    broker.on_start(broker.initial_state()._replace(role="none"), out)
    assert out.sends == [("controller", BrokerZnode(1))]
    assert str(BrokerRegistration(1, 3)) == "BrokerRegistration(broker 1, previous broker epoch 3)"
    assert str(BrokerRegistration(1)) == "BrokerRegistration(broker 1)"


# -- the actor layer: an actor that stops itself ------------------------------------------


class Talk(NamedTuple):
    heard: int = 0  # ghost: how often it heard its peer's connection close (durable)
    stopped: int = 0  # how often it stopped (durable)


class Stopper(Actor[Talk]):
    """Sends its peer a message and stops in the same step, once."""

    durable = ("heard", "stopped")

    def initial_state(self) -> Talk:
        return Talk()

    def steps(self, state: Talk):
        return ("stop",) if self.name == "a" and not state.stopped else ()

    def on_step(self, state: Talk, step, out: Out) -> Talk:
        out.send("b", "bye")
        out.stop()
        return state._replace(stopped=1)

    def on_connection_lost(self, state: Talk, peer: str, out: Out) -> Talk:
        return state._replace(heard=state.heard + 1)


def test_a_stopping_actor_goes_down_cleanly_without_a_fault() -> None:
    system = ActorSystem([Stopper("a"), Stopper("b")])
    world = system.initial_states()[0]
    transitions = system.transitions(world)
    assert [(action[0], key) for action, key, _ in transitions] == [("step", None)]
    after = transitions[0][2]
    assert not system.is_up(after, "a") and system.is_up(after, "b")
    assert system.state_of(after, "b").heard == 1  # b heard the connection close
    assert system.in_flight(after) == [("a", "b", "bye")]  # the last message still goes
    assert system.faults_spent(after) == {}
    kinds = [action[0] for action, _, _ in system.transitions(after)]
    assert sorted(kinds) == ["deliver", "restart"]
