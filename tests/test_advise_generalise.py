"""A counterexample rules out every configuration that would repeat it: what its replay
reads of the configuration decides which, and each configuration it rules out is
checked here to replay it to the same broken contract."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kmodel.advise.classify import classify, load_configuration, menu_settings
from kmodel.advise.generalise import keeping, ruled_out, trace_reads
from kmodel.advise.reads import Watched, value_at
from kmodel.advise.space import Space
from kmodel.core.trace import breaks
from kmodel.kafka.config import BrokerConfig, PipelineConfig
from kmodel.kafka.model import KAFKA, configure


def _configuration(tmp_path: Path, producer: str, consumer: str):
    files = {}
    for name, text in (("producer", producer), ("consumer", consumer)):
        path = tmp_path / f"{name}.properties"
        path.write_text(text, encoding="utf-8")
        files[name] = path
    return load_configuration(files, None)


def test_a_watched_configuration_notes_each_value_read_by_its_path() -> None:
    paths: set[str] = set()
    config = configure(KAFKA.defaults())
    watched = Watched(config, paths)
    assert isinstance(watched, PipelineConfig) and isinstance(watched.broker, BrokerConfig)
    assert watched.broker.min_insync == config.broker.min_insync
    assert watched.broker.page_cache_matters == config.broker.page_cache_matters
    assert paths == {"broker.min_insync", "broker.page_cache_matters"}
    assert value_at(config, "broker.min_insync") == config.broker.min_insync
    with pytest.raises(dataclasses.FrozenInstanceError):
        watched.records = 3


@pytest.mark.parametrize(
    ("producer", "consumer"),
    [
        ("acks=1\nenable.idempotence=false\nretries=3\n", "enable.auto.commit=true\n"),
        ("acks=all\n", "enable.auto.commit=false\nauto.offset.reset=earliest\n"),
    ],
)
def test_every_configuration_a_trace_rules_out_replays_it_to_the_same_break(
    tmp_path: Path, producer: str, consumer: str
) -> None:
    configuration = _configuration(tmp_path, producer, consumer)
    space = Space(configuration.settings)
    broken = [f for f in classify(configuration).findings if f.trace is not None]
    assert broken
    for finding in broken:
        run = menu_settings(configuration.settings, None, finding.run)
        rule = ruled_out(space, space.current, run, trace_reads(run, finding.trace, finding.name))
        others = list(keeping(space, space.current, set(rule.kept)))
        assert len(others) == rule.configurations > 1  # more than the candidate itself
        for values in others:
            assert breaks(KAFKA.build(space.applied(values, run)), finding.trace, finding.name)


def test_a_trace_that_does_not_break_the_contract_is_refused(tmp_path: Path) -> None:
    configuration = _configuration(tmp_path, "acks=all\n", "auto.offset.reset=earliest\n")
    finding = next(f for f in classify(configuration).findings if f.trace is not None)
    run = menu_settings(configuration.settings, None, finding.run)
    with pytest.raises(ValueError, match="does not break"):
        trace_reads(run, finding.trace, "no-loss" if finding.name != "no-loss" else "no-skip")
