"""Bad input: every mistake in a spec or on the command line exits with code 2 and one
paragraph that names the file and the field, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main
from kmodel.core.schema import Model, Setting, SpecError
from kmodel.jobs.spec import load_job

TWO_PHASE = 'model = "two-phase-commit"\n'
LOSSY_LINK = 'model = "lossy-link"\n'
TXN = 'model = "kafka"\n'


def bad_input(*args: str | Path) -> str:
    """Run `kmodel` expecting exit code 2; the error text (standard error)."""
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    return result.stderr


def spec_error(*args: str | Path) -> str:
    """Like `bad_input`, for the errors kmodel words itself: one paragraph, one line."""
    text = bad_input(*args)
    assert text.startswith("kmodel: ")
    assert text.endswith("\n") and text.count("\n") == 1
    return text


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# (id, spec text, words the message must contain besides the file's path)
SPEC_MISTAKES = [
    ("invalid-toml", TWO_PHASE + "rms = \n", ["not valid TOML", "line 2"]),
    ("unknown-top-level-field", TWO_PHASE + 'colour = "red"\n', ["unknown field 'colour'"]),
    (
        "unknown-model",
        'model = "three-phase-commit"\n',
        ["field 'model' is 'three-phase-commit'", "known models are", "two-phase-commit"],
    ),
    (
        "model-merged-into-kafka",
        'model = "kafka-transactions"\n',
        ["known models are", 'model = "kafka"', 'application.kind = "read-process-write"'],
    ),
    ("missing-model", 'title = "no model"\n', ["field 'model' is missing"]),
    ("title-not-a-string", TWO_PHASE + "title = 3\n", ["field 'title' must be a string"]),
    (
        "unknown-setting",
        TWO_PHASE + "[parameters]\nrms = 3\nreplicas = 2\n",
        ["unknown setting parameters.replicas", "accepts rms"],
    ),
    (
        "section-of-another-model",
        TWO_PHASE + "[bounds]\nlose = 1\n",
        ["section [bounds]", "'two-phase-commit'", "parameters"],
    ),
    ("section-not-a-table", TWO_PHASE + "parameters = 3\n", ["[parameters] must be a table"]),
    (
        "wrong-type",
        TWO_PHASE + '[parameters]\nrms = "three"\n',
        ['parameters.rms is "three"', "an integer ≥ 1 and ≤ 12"],
    ),
    ("boolean-for-integer", TWO_PHASE + "[parameters]\nrms = true\n", ["parameters.rms is true"]),
    ("float-for-integer", TWO_PHASE + "[parameters]\nrms = 3.5\n", ["parameters.rms is 3.5"]),
    ("below-minimum", TWO_PHASE + "[parameters]\nrms = 0\n", ["parameters.rms is 0", "≥ 1"]),
    ("above-maximum", TWO_PHASE + "[parameters]\nrms = 13\n", ["parameters.rms is 13", "≤ 12"]),
    (
        "not-a-choice",
        LOSSY_LINK + '[parameters]\nnetwork = "pigeon"\n',
        ['parameters.network is "pigeon"', 'one of "fifo", "unordered"'],
    ),
    (
        "bounds-out-of-range",
        LOSSY_LINK + "[bounds]\nlose = 9\n",
        ["bounds.lose is 9", "≤ 4"],
    ),
    (
        "unknown-search-option",
        TWO_PHASE + "[search]\nspeed = 3\n",
        ["unknown setting search.speed", "accepts engine, workers, max_states"],
    ),
    (
        "unknown-engine",
        TWO_PHASE + '[search]\nengine = "astar"\n',
        ['search.engine is "astar"', 'one of "bfs", "dfs"'],
    ),
    (
        "negative-state-limit",
        TWO_PHASE + "[search]\nmax_states = -5\n",
        ["search.max_states is -5", "an integer ≥ 0"],
    ),
    (
        "negative-depth-limit",
        TWO_PHASE + "[search]\nmax_depth = -1\n",
        ["search.max_depth is -1", "an integer ≥ 0"],
    ),
    (
        "negative-time-limit",
        TWO_PHASE + "[search]\nmax_seconds = -0.5\n",
        ["search.max_seconds is -0.5", "a number ≥ 0"],
    ),
    (
        "time-limit-not-a-number",
        TWO_PHASE + "[search]\nmax_seconds = nan\n",
        ["search.max_seconds is nan", "a number ≥ 0"],
    ),
    (
        "model-name-not-a-string",
        'model = ["two-phase-commit"]\n',
        ["field 'model' is an array, not a string", "known models are"],
    ),
    (
        "model-name-a-table",
        "[model]\nname = 1\n",
        ["field 'model' is a table, not a string", "known models are"],
    ),
    (
        "unquoted-dotted-key",
        'model = "kafka"\n[producer]\ndelivery.timeout.ms = 1\n',
        ["producer.delivery.timeout.ms", '"delivery.timeout.ms" = 1', "nested tables"],
    ),
    (
        "unquoted-dotted-unknown-key",
        'model = "kafka"\n[producer]\nbatch.size.bytes = "x"\n',
        ["unknown setting producer.batch.size.bytes", '"batch.size.bytes" = "x"'],
    ),
    (
        "table-for-a-setting",
        TWO_PHASE + "[parameters]\nrms = { count = 3 }\n",
        ["parameters.rms is a table", "an integer ≥ 1 and ≤ 12"],
    ),
    ("array-for-a-setting", TWO_PHASE + "[parameters]\nrms = [3]\n", ["parameters.rms is [3]"]),
    ("search-not-a-table", TWO_PHASE + 'search = "fast"\n', ["[search] must be a table"]),
    (
        "unknown-expected-status",
        TWO_PHASE + '[expect]\nconsistent = "fine"\n',
        ['expect.consistent is "fine"', "holds, violated, reached, unreached"],
    ),
    (
        "unknown-expected-status-in-table",
        TWO_PHASE + '[expect]\nconsistent = { status = "unknown" }\n',
        ['expect.consistent is "unknown"'],
    ),
    (
        "unknown-expectation-key",
        TWO_PHASE + '[expect]\nconsistent = { status = "holds", step = 3 }\n',
        ["expect.consistent has unknown key 'step'"],
    ),
    (
        "steps-not-a-number",
        TWO_PHASE + '[expect]\nall-aborted = { status = "reached", steps = "three" }\n',
        ['expect.all-aborted.steps is "three"', "a whole number of steps, 0 or more"],
    ),
    (
        "kafka-rule",
        'model = "kafka"\n[broker]\n"min.insync.replicas" = 2\n',
        ["broker.min.insync.replicas: min.insync.replicas (2) is larger than replication.factor"],
    ),
    (
        "not-one-of-mixed-choices",
        'model = "kafka"\n[producer]\nacks = "most"\n',
        ['producer.acks is "most"', 'one of 0, 1, "all", -1'],
    ),
    (
        "boolean-for-mixed-choices",
        'model = "kafka"\n[producer]\nacks = true\n',
        ["producer.acks is true"],
    ),
    (
        "transactions-need-idempotence",
        TXN + '[producer]\n"transactional.id" = "app"\n"enable.idempotence" = false\n',
        ["producer.enable.idempotence", "without also enabling idempotence"],
    ),
    (
        "consumer-after-an-external-sink",
        TXN + '[producer]\n"transactional.id" = "app"\n[application]\n'
        'kind = "read-process-write"\noutput = "sink"\n[bounds]\nconsumers = 1\n',
        ["bounds.consumers", 'application.output = "kafka"', "set consumers = 0"],
    ),
    (
        "consumer-faults-without-a-consumer",
        TXN + '[producer]\n"transactional.id" = "app"\n[application]\n'
        'kind = "read-process-write"\n[bounds]\nconsumers = 0\nconsumer_crashes = 1\n',
        ["bounds.consumer_crashes", "consumer that reads the output topic", "consumers = 1"],
    ),
    (
        "transactions-need-acks-all",
        TXN + '[producer]\n"transactional.id" = "app"\nacks = 1\n',
        ["producer.acks", "Must set acks to all"],
    ),
    (
        "transaction-timeout-above-broker-maximum",
        TXN + '[producer]\n"transaction.timeout.ms" = 1000000\n',
        ["producer.transaction.timeout.ms", "transaction.max.timeout.ms"],
    ),
    (
        "transaction-version-2-without-verification",
        TXN + '[broker]\n"transaction.partition.verification.enable" = false\n',
        ["broker.transaction.partition.verification.enable", "KIP-890"],
    ),
    (
        "transaction-setting-for-a-producer-application",
        TXN + '[application]\n"on.send.timeout" = "resend"\n',
        [
            "application.on.send.timeout",
            'applies to application.kind = "read-process-write" only',
            'this spec\'s kind is "producer"',
        ],
    ),
    (
        "last-epoch-unlogged-with-transaction-version-2",
        TXN + '[broker]\n"transaction.log.last.epoch" = false\n',
        ["broker.transaction.log.last.epoch", "before 2.4", "transaction.version = 0"],
    ),
    (
        "offsets-in-sink-with-kafka-output",
        TXN + '[application]\noffsets = "sink"\n',
        ["application.offsets", 'output = "sink"'],
    ),
    (
        "isolation-level-not-a-choice",
        TXN + '[consumer]\n"isolation.level" = "committed"\n',
        ['consumer.isolation.level is "committed"', '"read_committed", "read_uncommitted"'],
    ),
    ("expect-not-a-table", TWO_PHASE + 'expect = "holds"\n', ["[expect] must be a table"]),
    (
        "float-for-acks",
        'model = "kafka"\n[producer]\nacks = 0.0\n',
        ["producer.acks is 0.0, a float", 'one of 0, 1, "all", -1: write 0.'],
    ),
    (
        "float-minus-one-for-acks",
        'model = "kafka"\n[producer]\nacks = -1.0\n',
        ["producer.acks is -1.0, a float", ": write -1."],
    ),
    (
        "quoted-number-for-acks",
        'model = "kafka"\n[producer]\nacks = "1"\n',
        ['producer.acks is "1", a string, but', ": remove the quotes."],
    ),
    (
        "quoted-number-for-an-integer",
        'model = "kafka"\n[producer]\nretries = "3"\n',
        ['producer.retries is "3", a string', ": remove the quotes."],
    ),
    (
        "quoted-boolean",
        'model = "kafka"\n[consumer]\n"enable.auto.commit" = "false"\n',
        ['consumer.enable.auto.commit is "false", a string', "true or false: remove the quotes."],
    ),
    (
        "integer-for-a-boolean",
        'model = "kafka"\n[consumer]\n"enable.auto.commit" = 0\n',
        ["consumer.enable.auto.commit is 0, but it must be true or false."],
    ),
    (
        "number-for-a-string",
        TXN + '[producer]\n"transactional.id" = 7\n',
        ["producer.transactional.id is 7, not a string", ": put it in quotes."],
    ),
    (
        "integer-beyond-java-int",
        'model = "kafka"\n[producer]\n"linger.ms" = 2147483648\n',
        ["producer.linger.ms is 2147483648", "≤ 2147483647"],
    ),
    (
        "unknown-semantic",
        TWO_PHASE + 'semantic = "exactly-twice"\n',
        ["field 'semantic' is \"exactly-twice\"", '"at-most-once", "at-least-once"', "left out"],
    ),
    (
        "status-of-the-wrong-kind-for-an-invariant",
        TWO_PHASE + '[expect]\nconsistent = "reached"\n',
        ['expect.consistent is "reached"', "always property never is", "holds or violated"],
    ),
    (
        "status-of-the-wrong-kind-for-a-witness",
        TWO_PHASE + '[expect]\nall-committed = "holds"\n',
        ['expect.all-committed is "holds"', "sometimes property", "reached or unreached"],
    ),
    (
        "steps-on-a-contract-expected-to-hold",
        TWO_PHASE + '[expect]\nconsistent = { status = "holds", steps = 3 }\n',
        ["expect.consistent: steps counts the steps of a trace", "remove steps"],
    ),
    (
        "negative-steps",
        TWO_PHASE + '[expect]\nall-aborted = { status = "reached", steps = -1 }\n',
        ["expect.all-aborted.steps is -1", "0 or more"],
    ),
    (
        "number-of-thousands-of-digits",
        TWO_PHASE + "[parameters]\nrms = " + "9" * 5000 + "\n",
        ["a number in the spec has too many digits"],
    ),
    (
        "nested-too-deeply",
        TWO_PHASE + "x = " + "[" * 2000 + "]" * 2000 + "\n",
        ["nested too deeply"],
    ),
    (
        "control-characters-in-a-value-are-escaped",
        LOSSY_LINK + '[parameters]\nnetwork = "\\u001b[2J\\r"\n',
        ['parameters.network is "\\u001b[2J\\r"'],
    ),
    (
        "expectation-of-no-property",
        TWO_PHASE + '[expect]\nconsistent = "holds"\nisolated = "holds"\n',
        ["expect.isolated names no property", "consistent, all-committed, all-aborted"],
    ),
]


@pytest.mark.parametrize(
    ("text", "words"),
    [pytest.param(text, words, id=name) for name, text, words in SPEC_MISTAKES],
)
def test_spec_mistake(tmp_path: Path, text: str, words: list[str]) -> None:
    spec = write(tmp_path, text)
    message = spec_error("check", spec, "--quiet")
    assert message.startswith(f"kmodel: {spec}: ")
    for word in words:
        assert word in message


def test_missing_file(tmp_path: Path) -> None:
    spec = tmp_path / "absent.toml"
    message = spec_error("check", spec)
    assert message == f"kmodel: {spec}: no such spec file.\n"


def test_limits_of_zero_mean_no_limit(tmp_path: Path) -> None:
    spec = write(tmp_path, TWO_PHASE + "[search]\nmax_states = 0\nmax_depth = 0\nmax_seconds = 0\n")
    job = load_job(spec)
    assert (job.search["max_states"], job.search["max_depth"]) == (0, 0)
    assert job.search["max_seconds"] == 0.0
    result = CliRunner().invoke(main, ["check", str(spec), "--quiet"])
    assert result.exit_code == 0 and "complete" in result.stdout


# (id, --set argument, words the message must contain)
OVERRIDE_MISTAKES = [
    ("no-equals-sign", "rms5", ["--set 'rms5'", "expected key=value"]),
    ("unknown-key", "replicas=2", ["--set replicas", "is not a setting", "parameters.rms"]),
    ("unknown-key-in-section", "parameters.replicas=2", ["parameters.replicas", "accepts rms"]),
    ("unknown-section", "bounds.lose=1", ["--set bounds.lose", "is not a setting"]),
    ("not-a-number", "rms=three", ['--set rms is "three"', "an integer"]),
    ("out-of-range", "parameters.rms=99", ["--set parameters.rms is 99", "≤ 12"]),
    ("empty-value", "rms=", ['--set rms is ""']),
]


@pytest.mark.parametrize(
    ("override", "words"),
    [pytest.param(override, words, id=name) for name, override, words in OVERRIDE_MISTAKES],
)
def test_bad_override(tmp_path: Path, override: str, words: list[str]) -> None:
    spec = write(tmp_path, TWO_PHASE)
    message = spec_error("check", spec, "--set", override)
    # Every override error names the spec file it applies to.
    assert message.startswith(f"kmodel: {spec}: --set ")
    for word in words:
        assert word in message


def test_bad_override_of_a_choice(tmp_path: Path) -> None:
    spec = write(tmp_path, LOSSY_LINK)
    message = spec_error("check", spec, "--set", "network=pigeon")
    assert message.startswith(f"kmodel: {spec}: --set network is ")
    assert '--set network is "pigeon"' in message and '"fifo", "unordered"' in message


# (id, command-line options, words of the error line)
OPTION_MISTAKES = [
    ("bad-engine", ["--engine", "astar"], ["'--engine'", "'astar'", "'bfs', 'dfs'"]),
    ("zero-state-limit", ["--max-states", "0"], ["'--max-states'"]),
    ("non-numeric-depth", ["--max-depth", "deep"], ["'--max-depth'", "'deep'"]),
    ("zero-seconds", ["--max-seconds", "0"], ["'--max-seconds'"]),
    ("bad-format", ["--format", "xml"], ["'--format'", "'xml'"]),
    ("unknown-option", ["--colour"], ["--colour"]),
]


@pytest.mark.parametrize(
    ("options", "words"),
    [pytest.param(options, words, id=name) for name, options, words in OPTION_MISTAKES],
)
def test_bad_command_line_option(tmp_path: Path, options: list[str], words: list[str]) -> None:
    spec = write(tmp_path, TWO_PHASE)
    error = spec_error("check", spec, *options)
    for word in words:
        assert word in error


def test_directory_instead_of_file(tmp_path: Path) -> None:
    error = spec_error("check", tmp_path)
    assert str(tmp_path) in error and "directory" in error
    # Below the command line, loading a directory is a spec error as well.
    with pytest.raises(SpecError, match="is a directory"):
        load_job(tmp_path)


def test_missing_spec_argument() -> None:
    assert "Missing argument 'SPEC'" in spec_error("check")


@pytest.mark.parametrize(
    "args", [["run"], ["--colour", "check"]], ids=["unknown-command", "option-before-command"]
)
def test_mistakes_before_the_command(args: list[str]) -> None:
    error = spec_error(*args)
    assert args[0] in error


def test_help_still_works() -> None:
    for args, word in ((["--help"], "models"), (["check", "--help"], "--max-states")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0
        assert result.stdout.startswith("Usage: ") and word in result.stdout


def test_errors_reach_the_terminal_without_a_traceback(tmp_path: Path) -> None:
    spec = write(tmp_path, TWO_PHASE + "[parameters]\nrms = 0\n")
    done = subprocess.run(
        [sys.executable, "-c", "from kmodel.cli import main; main()", "check", str(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    problem = "parameters.rms is 0, but it must be an integer ≥ 1 and ≤ 12."
    assert done.stderr == f"kmodel: {spec}: {problem}\n"


# -- rules that only a model's own definition can exercise ----------------------------


def two_sections(rules=lambda settings: []) -> dict[str, Model]:
    model = Model(
        name="pair",
        summary="two sections sharing a setting name",
        sections={
            "producer": (Setting("acks", object, 1, "acks", choices=(0, 1, "all")),),
            "consumer": (Setting("acks", object, 1, "acks", choices=(0, 1, "all")),),
        },
        build=lambda settings: None,
        rules=rules,
    )
    return {model.name: model}


def test_ambiguous_override(tmp_path: Path) -> None:
    spec = write(tmp_path, 'model = "pair"\n')
    with pytest.raises(SpecError, match="--set acks: is ambiguous") as error:
        load_job(spec, ["acks=0"], models=two_sections())
    assert "producer.acks, consumer.acks" in str(error.value)
    job = load_job(spec, ["consumer.acks=all"], models=two_sections())
    assert job.settings == {"producer": {"acks": 1}, "consumer": {"acks": "all"}}


def test_cross_field_rule(tmp_path: Path) -> None:
    def rules(settings):
        if settings["producer"]["acks"] != settings["consumer"]["acks"]:
            return [("consumer.acks", "must equal producer.acks")]
        return []

    spec = write(tmp_path, 'model = "pair"\n[consumer]\nacks = 0\n')
    with pytest.raises(SpecError) as error:
        load_job(spec, models=two_sections(rules))
    assert str(error.value) == f"{spec}: consumer.acks: must equal producer.acks"
    job = load_job(spec, ["producer.acks=0"], models=two_sections(rules))
    assert job.settings == {"producer": {"acks": 0}, "consumer": {"acks": 0}}


# -- inputs that escape as tracebacks -----------------------------------------------


@pytest.mark.parametrize("value", ['["two-phase-commit"]', "{ name = 1 }"], ids=["list", "table"])
def test_model_name_of_the_wrong_type(tmp_path: Path, value: str) -> None:
    spec = write(tmp_path, f"model = {value}\n")
    message = spec_error("check", spec)
    assert message.startswith(f"kmodel: {spec}: field 'model' is ")
    assert "not a string" in message and "two-phase-commit" in message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.toml"
    title = 'title = "Zweiphasen-Commit für Käse"\n'.encode("latin-1")
    spec.write_bytes(TWO_PHASE.encode() + title)
    message = spec_error("check", spec)
    assert message.startswith(f"kmodel: {spec}: ")
    assert "UTF-8" in message and "0xfc" in message


def test_path_through_a_file(tmp_path: Path) -> None:
    spec = write(tmp_path, TWO_PHASE)
    message = spec_error("check", spec / "inner.toml")
    assert message.startswith(f"kmodel: {spec / 'inner.toml'}: no such spec file")
    assert f"{spec} is a file" in message


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(tmp_path, TWO_PHASE)

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    # Also for root, who may read any file.
    monkeypatch.setattr(os, "open", refuse)
    message = spec_error("check", spec)
    assert message == f"kmodel: {spec}: cannot read the spec file: permission denied.\n"


def test_negative_time_limit_in_a_spec(tmp_path: Path) -> None:
    spec = write(tmp_path, TWO_PHASE + "[search]\nmax_seconds = -1.0\n")
    message = spec_error("check", spec, "--quiet")
    assert message == (
        f"kmodel: {spec}: search.max_seconds is -1.0, but it must be a number ≥ 0.\n"
    )
