"""The z3 encoding of Kafka's rules agrees with the explicit validator on the advisor's
finite domains: what z3 allows, Kafka accepts, and the other way round."""

from __future__ import annotations

import itertools

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.advise.space import Space
from kmodel.kafka.model import KAFKA

SPACE = Space(KAFKA.defaults())


def _agree(values: dict) -> None:
    accepted = not KAFKA.rules(SPACE.applied(values))
    solver = z3.Solver()
    solver.add(*SPACE.domain(), *SPACE.kafka_rules(), *SPACE.fixed(values))
    assert (solver.check() == z3.sat) == accepted, values


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_encoding_agrees_with_kafkas_validator(data) -> None:
    _agree({key: data.draw(st.sampled_from(c.values)) for key, c in SPACE.choices.items()})


@pytest.mark.slow
def test_the_encoding_agrees_on_every_combination() -> None:
    keys = list(SPACE.choices)
    for combination in itertools.product(*(SPACE.choices[key].values for key in keys)):
        _agree(dict(zip(keys, combination, strict=True)))


def test_a_value_outside_the_domain_stays_a_candidate() -> None:
    """A configuration's own value joins its domain, so keeping it changes nothing."""
    own = KAFKA.defaults()
    own["producer"]["retries"] = 3
    space = Space(own)
    assert space.choices["producer.retries"].values[0] == 3
    solver = z3.Solver()
    solver.add(*space.domain(), *space.kafka_rules(), z3.Not(space.changed("producer.retries")))
    assert solver.check() == z3.sat
    assert space.assignment(solver.model())["producer.retries"] == 3
