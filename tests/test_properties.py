"""Kafka .properties files as spec input: read as Java's Properties.load reads them, values
parsed as Kafka's ConfigDef parses them, paths kept inside the spec's folder."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main
from kmodel.core.schema import SpecError
from kmodel.jobs.properties import parse_properties, read_properties
from kmodel.jobs.spec import load_job
from kmodel.kafka.config import pipeline_config

HERE = Path("p.properties")


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


# (id, file text, what Java's Properties.load makes of it)
JAVA_LOAD = [
    ("backslash-at-end-of-file", "a=1\nb=2\\", {"a": "1", "b": "2"}),
    ("backslash-and-newline-at-end", "a=1\nb=2\\\n", {"a": "1", "b": "2"}),
    ("lone-backslash-at-end", "a=1\n\\", {"a": "1", "": ""}),
    ("even-backslashes-end-the-line", "a=x\\\\\nb=2\n", {"a": "x\\", "b": "2"}),
    ("odd-backslashes-continue", "a=x\\\\\\\n  y\n", {"a": "x\\y"}),
    ("continuation-skips-leading-space", "a=b\\\n \t\fc\n", {"a": "bc"}),
    ("continued-line-is-no-comment", "a=b\\\n#c\n", {"a": "b#c"}),
    ("continuation-across-crlf", "a=b\\\r\n  c\r\nd=e\r\n", {"a": "bc", "d": "e"}),
    ("old-mac-line-ends", "a=1\rb=2\r", {"a": "1", "b": "2"}),
    ("blank-continuation-ends-the-line", "a=b\\\n\nc=d\n", {"a": "b", "c": "d"}),
    ("comment-after-a-value-is-value", "a=b # not a comment\n", {"a": "b # not a comment"}),
    ("indented-comments", "   # x=1\n\t! y=2\n", {}),
    ("escaped-separators-in-key", "a\\=b\\:c\\ d=e\n", {"a=b:c d": "e"}),
    ("space-then-equals", "a = = b\n", {"a": "= b"}),
    ("colon-separator", "a:b\n", {"a": "b"}),
    ("space-separator", "a b\n", {"a": "b"}),
    ("tab-and-form-feed", "a\tb\nc\fd\n", {"a": "b", "c": "d"}),
    ("key-alone", "a\n", {"a": ""}),
    ("unicode-escapes", "\\u0061cks=\\u0031\n", {"acks": "1"}),
    ("character-escapes", "a=x\\ty\\nz\\q\n", {"a": "x\ty\nzq"}),
    ("later-key-wins", "a=1\na=2\n", {"a": "2"}),
    ("trailing-space-is-kept", "a=1  \n", {"a": "1  "}),
    ("no-final-newline", "a=1", {"a": "1"}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=name) for name, t, e in JAVA_LOAD]
)
def test_read_as_java_properties_load(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text, HERE) == expected


def test_malformed_unicode_escape_names_the_line_not_its_text() -> None:
    with pytest.raises(SpecError) as error:
        parse_properties("a=1\n\nsecret=CANARY\\u00zz\n", HERE)
    message = str(error.value)
    assert message.startswith("p.properties: line 3: malformed \\uXXXX escape")
    assert "CANARY" not in message and "secret" not in message


def test_bytes_are_iso_8859_1(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_bytes(b"client.id=caf\xe9\n")
    assert read_properties(path) == {"client.id": "café"}


def _spec(tmp_path: Path, properties: str, extra: str = "") -> Path:
    (tmp_path / "producer.properties").write_text(properties)
    spec = tmp_path / "spec.toml"
    spec.write_text('model = "kafka"\n[properties]\nproducer = "producer.properties"\n' + extra)
    return spec


def test_file_values_apply_and_the_spec_overrides_them(tmp_path: Path) -> None:
    text = "bootstrap.servers=k:9092\nacks=1\nretries=0\nenable.idempotence=false\n"
    job = load_job(_spec(tmp_path, text, "[producer]\nretries = 2\n"))
    config = pipeline_config(job.settings)
    assert config.producer.acks == "1" and not config.producer.idempotence
    assert job.settings["producer"]["retries"] == 2  # the spec's own table wins
    assert job.ignored == {"producer.properties": ("bootstrap.servers",)}


# (file line, the setting's value as Kafka's ConfigDef parses it)
CONFIG_DEF_ACCEPTS = [
    ("retries= 5 ", ("retries", 5)),
    ("retries=+3", ("retries", 3)),
    ("retries=\t7\x0b", ("retries", 7)),  # String.trim drops every character up to U+0020
    ("enable.idempotence=TRUE", ("enable.idempotence", True)),
    ("enable.idempotence= False", ("enable.idempotence", False)),
    ("acks=-1", ("acks", -1)),
    ("acks=all", ("acks", "all")),
    ("retries=" + "0" * 5000 + "3", ("retries", 3)),  # parseInt takes any leading zeros
    ("delivery.timeout.ms=2147483647", ("delivery.timeout.ms", 2_147_483_647)),
]


@pytest.mark.parametrize(
    ("line", "expected"), CONFIG_DEF_ACCEPTS, ids=[x[:30] for x, _ in CONFIG_DEF_ACCEPTS]
)
def test_values_kafka_accepts(tmp_path: Path, line: str, expected: tuple[str, object]) -> None:
    key, value = expected
    settings = load_job(_spec(tmp_path, line + "\n")).settings["producer"]
    assert settings[key] == value and type(settings[key]) is type(value)


CONFIG_DEF_REFUSES = [
    "retries=1_000",
    "retries=1.0",
    "retries=1e3",
    "retries=0x10",
    "retries=",
    "linger.ms=2147483648",  # beyond Java's int
    "retries=" + "9" * 5000,
    "enable.idempotence=yes",
    "enable.idempotence=1",
    "acks=+1",
    "acks=1.0",
    "acks=ALL",  # acks is one of a list, matched as written
]


@pytest.mark.parametrize("line", CONFIG_DEF_REFUSES, ids=[x[:30] for x in CONFIG_DEF_REFUSES])
def test_values_kafka_refuses(tmp_path: Path, line: str) -> None:
    key = line.split("=")[0]
    spec = _spec(tmp_path, line + "\n")
    with pytest.raises(SpecError) as error:
        load_job(spec)
    message = str(error.value)
    assert message.startswith(f"{spec}: properties.producer: {tmp_path / 'producer.properties'}:")
    assert f" {key} is " in message and "but it must be" in message


def test_bad_values_and_files_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"producer.properties: acks is \"2\""):
        load_job(_spec(tmp_path, "acks=2\n"))
    with pytest.raises(SpecError, match=r"properties.producer: .*nope.properties: no such"):
        spec = tmp_path / "missing.toml"
        spec.write_text('model = "kafka"\n[properties]\nproducer = "nope.properties"\n')
        load_job(spec)
    with pytest.raises(SpecError, match=r"properties\.nosuch is not one of"):
        spec = tmp_path / "section.toml"
        spec.write_text('model = "kafka"\n[properties]\nnosuch = "x.properties"\n')
        load_job(spec)
    # Kafka's own rules apply to values read from a file too.
    with pytest.raises(SpecError, match="Must set acks to all"):
        load_job(_spec(tmp_path, "enable.idempotence=true\nacks=1\n"))


def _pointing_at(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    spec = folder / "spec.toml"
    spec.write_text(f'model = "kafka"\n[properties]\nproducer = "{name}"\n', encoding="utf-8")
    return spec


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "secret.properties"
    outside.write_text("CANARY_LINE_FROM_OUTSIDE=1\nacks=1\n")
    return outside


@pytest.mark.parametrize("how", ["relative", "absolute", "link"])
def test_a_file_outside_the_spec_folder_is_refused(tmp_path: Path, how: str) -> None:
    outside = _outside(tmp_path)
    name = {"relative": "../secret.properties", "absolute": str(outside), "link": "inside.link"}
    spec = _pointing_at(tmp_path, name[how])
    (spec.parent / "inside.link").symlink_to(outside)
    result = CliRunner().invoke(main, ["check", str(spec), "--quiet", "--format", "json"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kmodel: {spec}: properties.producer is ")
    assert "leaves the spec's folder" in result.stderr
    assert "--allow-properties-outside" in result.stderr
    assert "CANARY" not in result.output
    # The user can allow it.
    allowed = CliRunner().invoke(
        main, ["check", str(spec), "--quiet", "--format", "json", "--allow-properties-outside"]
    )
    assert allowed.exit_code == 0, allowed.output
    report = json.loads(allowed.stdout)
    assert report["settings"]["producer"]["acks"] == 1
    assert report["ignored_properties"] == {name[how]: ["CANARY_LINE_FROM_OUTSIDE"]}


def test_a_file_below_the_spec_folder_is_read(tmp_path: Path) -> None:
    spec = _pointing_at(tmp_path, "config/../config/p.properties")
    (spec.parent / "config").mkdir()
    (spec.parent / "config" / "p.properties").write_text("acks=1\n")
    assert load_job(spec).settings["producer"]["acks"] == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "properties.producer is empty; it must name a .properties file"),
        ("a\\u0000b", "properties.producer: a file name cannot contain a NUL character"),
        (".", "is a directory; give a properties file"),
        ("fifo", "is not a regular file"),
    ],
    ids=["empty", "nul", "directory", "fifo"],
)
def test_paths_that_name_no_file(tmp_path: Path, name: str, words: str) -> None:
    spec = _pointing_at(tmp_path, name)
    os.mkfifo(spec.parent / "fifo")
    with pytest.raises(SpecError) as error:
        load_job(spec)
    assert str(error.value).startswith(f"{spec}: properties.producer")
    assert words in str(error.value)


def test_unused_keys_reach_json_and_the_report(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "acks=1\nbootstrap.servers=k:9092\nmax.request.size=1\n")
    text = spec.read_text() + "[bounds]\nconsumers = 0\nrecords = 1\n"
    spec.write_text(text)
    result = CliRunner().invoke(main, ["check", str(spec), "--quiet", "--format", "json"])
    report = json.loads(result.stdout)
    assert report["ignored_properties"] == {
        "producer.properties": ["bootstrap.servers", "max.request.size"]
    }
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["verify", str(spec), "--out", str(out)])
    assert "(ignored: producer.properties: bootstrap.servers, max.request.size)" in result.stdout
    page = (out / "spec.html").read_text(encoding="utf-8")
    assert "producer.properties: bootstrap.servers, max.request.size" in page
