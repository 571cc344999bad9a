"""Kafka .properties files as spec input: parsing, applying, ignoring, errors."""

from pathlib import Path

import pytest

from kmodel.jobs.properties import read_properties
from kmodel.jobs.schema import SpecError
from kmodel.jobs.spec import load_job
from kmodel.kafka.config import pipeline_config


def test_properties_syntax(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_text(
        "# comment\n! another\n\nacks = all\nretries:3\nlinger.ms 5\nclient.id=a\\\n    b\nempty=\n"
    )
    assert read_properties(path) == {
        "acks": "all",
        "retries": "3",
        "linger.ms": "5",
        "client.id": "ab",
        "empty": "",
    }


def _spec(tmp_path: Path, properties: str, extra: str = "") -> Path:
    (tmp_path / "producer.properties").write_text(properties)
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'model = "kafka-pipeline"\n[properties]\nproducer = "producer.properties"\n' + extra
    )
    return spec


def test_file_values_apply_and_the_spec_overrides_them(tmp_path: Path) -> None:
    text = "bootstrap.servers=k:9092\nacks=1\nretries=0\nenable.idempotence=false\n"
    job = load_job(_spec(tmp_path, text, "[producer]\nretries = 2\n"))
    config = pipeline_config(job.settings)
    assert config.producer.acks == "1" and not config.producer.idempotence
    assert job.settings["producer"]["retries"] == 2  # the spec's own table wins
    assert job.ignored == ("producer.properties: bootstrap.servers",)


def test_bad_values_and_files_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"producer.properties: acks is \"2\""):
        load_job(_spec(tmp_path, "acks=2\n"))
    with pytest.raises(SpecError, match="cannot read the properties file"):
        spec = tmp_path / "missing.toml"
        spec.write_text('model = "kafka-pipeline"\n[properties]\nproducer = "nope.properties"\n')
        load_job(spec)
    with pytest.raises(SpecError, match=r"properties\.nosuch is not one of"):
        spec = tmp_path / "section.toml"
        spec.write_text('model = "kafka-pipeline"\n[properties]\nnosuch = "x.properties"\n')
        load_job(spec)
    # Kafka's own rules apply to values read from a file too.
    with pytest.raises(SpecError, match="Must set acks to all"):
        load_job(_spec(tmp_path, "enable.idempotence=true\nacks=1\n"))
