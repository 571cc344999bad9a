"""`kmodel classify`: a user's own files, checked under the standard fault menu, read as a
row of the delivery-semantics table with its weakest links."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kmodel.advise.classify import load_configuration
from kmodel.cli import main


def _files(tmp_path: Path, **texts: str) -> list[str]:
    """Write each file (section=text) and return the command-line options naming them."""
    options = []
    for section, text in texts.items():
        suffix = "toml" if section == "application" else "properties"
        path = tmp_path / f"{section}.{suffix}"
        path.write_text(text, encoding="utf-8")
        options += [f"--{section}", str(path)]
    return options


def _classify(*args: str):
    return CliRunner().invoke(main, ["classify", *args])


def test_a_latency_first_configuration_delivers_no_guarantee(tmp_path: Path) -> None:
    """acks=1 without idempotence, auto commit from the latest offset: records are lost
    (the consumer starts past them, even without a fault) and duplicated (the producer
    retries a timed-out write)."""
    options = _files(
        tmp_path,
        producer="bootstrap.servers=k:9092\nacks=1\nenable.idempotence=false\n",
        consumer="group.id=g\nenable.auto.commit=true\n",
    )
    result = _classify(*options, "--want", "at-least-once", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["delivers"], report["wanted_holds"]) == ("none", False)
    assert "producer" in report["weakest_links"]["no-duplicate-effect"]
    assert "consumer" in report["weakest_links"]["no-loss"]
    contracts = {c["name"]: c for c in report["contracts"]}
    assert contracts["no-duplicate-in-log"]["fault"].startswith("a slow broker")
    assert contracts["no-loss"]["fault"] is None  # it needs no fault at all
    assert [f["bound"] for f in report["faults"]][:3] == [
        "producer_crashes",
        "network_failures",
        "timeouts",
    ]
    assert report["unused_settings"] == {
        str(tmp_path / "producer.properties"): ["bootstrap.servers"],
        str(tmp_path / "consumer.properties"): ["group.id"],
    }
    text = _classify(*options).stdout
    assert text.startswith("Your pipeline delivers none")
    assert "✗ no-duplicate-effect breaks in" in text and "1. The producer" in text


def test_a_correct_at_least_once_configuration_gives_what_is_wanted(tmp_path: Path) -> None:
    options = _files(
        tmp_path,
        producer="acks=all\n",
        consumer="enable.auto.commit=false\nauto.offset.reset=earliest\n",
        application='[application]\n"source.commit" = "after-ack"\n'
        '"consumer.commit" = "after-processing"\n',
    )
    result = _classify(*options, "--want", "at-least-once")
    assert result.exit_code == 0, result.output
    assert "delivers at-least-once" in result.stdout
    assert "✓ no-loss holds under each fault explored" in result.stdout
    markdown = _classify(*options, "--format", "md").stdout
    assert markdown.startswith("## Your pipeline delivers at-least-once")
    assert _classify(*options, "--want", "exactly-once").exit_code == 1


def test_a_topic_setting_wins_over_the_brokers_default(tmp_path: Path) -> None:
    options = _files(
        tmp_path,
        broker="default.replication.factor=3\nlog.dirs=/var/kafka\n",
        topic="replication.factor=1\n",
    )
    report = json.loads(_classify(*options, "--format", "json").stdout)
    assert report["unused_settings"] == {str(tmp_path / "broker.properties"): ["log.dirs"]}
    assert report["settings"]["broker"]["replication.factor"] == 1
    # Without a topic file, the broker's default stands for the topic's setting.
    broker = Path(options[1])
    defaults_only = load_configuration({"broker": broker}, None)
    assert defaults_only.settings["broker"]["replication.factor"] == 3


def test_bad_input_is_named_with_exit_code_2(tmp_path: Path) -> None:
    misspelt = _files(tmp_path, producer="enable.idempotance=true\n")
    result = _classify(*misspelt)
    assert result.exit_code == 2
    assert "did you mean 'enable.idempotence'" in result.output
    assert "producer.properties" in result.output
    assert _classify().exit_code == 2
    assert "at least one .properties file" in _classify().output
    good = _files(tmp_path, consumer="enable.auto.commit=true\n")
    result = _classify(*good, "--bounds", "recrds=2")
    assert result.exit_code == 2 and "recrds=2" in result.output
    result = _classify("--producer", str(tmp_path / "missing.properties"))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_streams_application_with_exactly_once_v2(tmp_path: Path) -> None:
    """processing.guarantee=exactly_once_v2 is the read-process-write application with
    KIP-447 fencing; with a read_committed consumer and an upserting sink after it, the
    pipeline is exactly-once end to end, and a plain appending sink makes it
    at-least-once: the consumer, which reads again after a crash what it had processed,
    and the sink, which takes a retried write twice, are its weakest links."""
    options = _files(
        tmp_path,
        streams="application.id=wordcount\nprocessing.guarantee=exactly_once_v2\n"
        "producer.acks=all\nconsumer.max.poll.records=10\nstate.dir=/tmp/x\n",
        consumer="isolation.level=read_committed\nenable.auto.commit=false\n"
        "auto.offset.reset=earliest\n",
        application='[sink]\nwrite = "upsert"\n',
    )
    report = json.loads(_classify(*options, "--format", "json").stdout)
    assert report["delivers"] == "exactly-once"
    assert report["settings"]["producer"]["transactional.id"] == "wordcount"
    assert report["unused_settings"] == {
        str(tmp_path / "streams.properties"): ["consumer.max.poll.records", "state.dir"]
    }
    appending = options[:-2]  # without the application file: the sink appends
    report = json.loads(_classify(*appending, "--format", "json").stdout)
    assert report["delivers"] == "at-least-once"
    assert report["weakest_links"] == {"no-duplicate-effect": ["consumer", "sink"]}


def test_a_streams_application_at_least_once_commits_after_the_output_is_acknowledged(
    tmp_path: Path,
) -> None:
    """processing.guarantee=at_least_once is the pipeline without transactions whose input
    position is committed once the output is acknowledged: a crash between the two writes
    the output again, so it duplicates and the producer is the link that does."""
    options = _files(
        tmp_path,
        streams="application.id=app\nprocessing.guarantee=at_least_once\n",
        consumer="enable.auto.commit=false\nauto.offset.reset=earliest\n",
    )
    report = json.loads(_classify(*options, "--format", "json").stdout)
    assert report["settings"]["application"]["kind"] == "producer"
    assert report["settings"]["producer"]["transactional.id"] == ""
    assert report["delivers"] == "at-least-once"
    assert "producer" in report["weakest_links"]["no-duplicate-effect"]


def test_an_unknown_processing_guarantee_is_refused(tmp_path: Path) -> None:
    options = _files(tmp_path, streams="processing.guarantee=exactly_twice\n")
    result = _classify(*options)
    assert result.exit_code == 2
    assert "processing.guarantee is 'exactly_twice'" in result.output
    assert "at_least_once" in result.output
