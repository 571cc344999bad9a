"""Every model a spec can name, with the settings it accepts."""

from __future__ import annotations

from collections.abc import Sequence

from kmodel.core.schema import Model, Setting
from kmodel.core.system import Property
from kmodel.examples.lossy_link import lossy_link
from kmodel.examples.two_phase_commit import TwoPhaseCommit
from kmodel.kafka.model import KAFKA

TWO_PHASE_COMMIT = Model(
    name="two-phase-commit",
    summary="Gray & Lamport's two-phase commit: a transaction manager and N resource managers",
    sections={
        "parameters": (
            Setting("rms", int, 3, "number of resource managers", minimum=1, maximum=12),
        )
    },
    build=lambda s: TwoPhaseCommit(s["parameters"]["rms"]),
)

LOSSY_LINK = Model(
    name="lossy-link",
    summary="A sender retrying over a lossy link to a receiver (the actor layer's example)",
    sections={
        "parameters": (
            Setting("records", int, 2, "records the sender must deliver", minimum=1, maximum=6),
            Setting("max_retries", int, 1, "resends per record", minimum=0, maximum=5),
            Setting("network", str, "fifo", "the link", choices=("fifo", "unordered")),
        ),
        "bounds": (
            Setting("lose", int, 1, "messages lost in flight", minimum=0, maximum=4),
            Setting("crash_sender", int, 0, "sender crashes", minimum=0, maximum=3),
        ),
    },
    build=lambda s: lossy_link(
        records=s["parameters"]["records"],
        max_retries=s["parameters"]["max_retries"],
        losses=s["bounds"]["lose"],
        sender_crashes=s["bounds"]["crash_sender"],
        network=_network(s["parameters"]["network"]),
    ),
    budget_bounds={"lose": "bounds.lose", "crash:sender": "bounds.crash_sender"},
)


def _network(name: str):
    from kmodel.core.network import FifoNetwork, UnorderedNetwork

    return UnorderedNetwork() if name == "unordered" else FifoNetwork()


MODELS: dict[str, Model] = {model.name: model for model in (TWO_PHASE_COMMIT, LOSSY_LINK, KAFKA)}


def contracts(model: Model) -> Sequence[Property]:
    """The properties a spec of `model` can expect verdicts of: those of its defaults
    (with each variant's changes) with every bound at its largest, so each fault's
    witness is among them."""
    found: dict[str, Property] = {}
    for variant in model.variants:
        settings = model.defaults()
        for section, changes in variant.items():
            settings[section].update(changes)
        for setting in model.sections.get("bounds", ()):
            if setting.maximum is not None:
                settings["bounds"][setting.name] = int(setting.maximum)
        for prop in model.build(settings).properties():
            found.setdefault(prop.name, prop)
    return list(found.values())
