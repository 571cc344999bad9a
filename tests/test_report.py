"""`kmodel verify` and `kmodel matrix`: the report's pages, links, matrix and exit codes."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.jobs.spec import SEMANTICS
from kmodel.report import reference
from kmodel.report.discover import library, spec_paths
from kmodel.report.matrix import derive

SPECS = Path(__file__).resolve().parent.parent / "specs"
SMALL = ("amo-producer-crash-before-send", "alo-duplicate-consumer-redelivery")
RETRY = "alo-duplicate-producer-retry"


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def copy_spec(name: str, directory: Path, semantic: str | None = None, extra: str = "") -> Path:
    text = (SPECS / f"{name}.toml").read_text(encoding="utf-8")
    if semantic:  # the spec's own semantic, if any, gives way
        kept = [line for line in text.splitlines() if not line.startswith("semantic =")]
        text = f'semantic = "{semantic}"\n' + "\n".join(kept) + "\n"
    path = directory / f"{name}.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small specs, two of them marked with the reference's semantics."""
    directory = tmp_path_factory.mktemp("specs")
    copy_spec(SMALL[0], directory, "at-most-once")
    copy_spec(SMALL[1], directory, "at-least-once")
    copy_spec(RETRY, directory, "at-least-once")
    return directory


@pytest.fixture(scope="module")
def report(library_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("report")
    return kmodel("verify", library_dir, "--out", out, "--quiet"), out


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_verify_writes_index_with_the_matrix(report: tuple[Result, Path]) -> None:
    result, out = report
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'class="matrix"' in html
    for label in ("At-most-once", "At-least-once", "Message loss", "Duplicates"):
        assert label in html
    # no spec names exactly-once: not a row of the matrix, but noted below it
    matrix = html[html.index('class="matrix"') : html.index("</table>")]
    assert "Exactly-once" not in matrix
    assert "Not yet covered by a spec" in html and "Exactly-once" in html
    assert "Avoided when replication is healthy" in html  # the reference's claim
    assert "possible" in html and "not found" in html
    for name in (*SMALL, RETRY):
        assert (out / f"{name}.html").is_file()
        assert name in html
    assert (out / "states.png").read_bytes().startswith(b"\x89PNG")
    markdown = (out / "index.md").read_text(encoding="utf-8")
    assert "| Semantic | Message loss | Duplicates |" in markdown


def test_every_link_and_image_of_the_report_resolves(report: tuple[Result, Path]) -> None:
    _, out = report
    pages = [out / "index.html", *(out / f"{name}.html" for name in (*SMALL, RETRY))]
    checked = 0
    for page in pages:
        for target in parse(page).targets:
            parts = urlsplit(target)
            assert not parts.scheme, target
            path = page.parent / unquote(parts.path) if parts.path else page
            assert path.is_file(), f"{page.name}: {target}"
            if parts.fragment:
                assert parts.fragment in parse(path).ids, f"{page.name}: {target}"
            checked += 1
    assert checked > 10


def test_spec_page_shows_counterexample(report: tuple[Result, Path]) -> None:
    _, out = report
    page = (out / f"{RETRY}.html").read_text(encoding="utf-8")
    assert f'src="{RETRY}/no-duplicate-effect.svg"' in page
    assert '<ol class="steps">' in page
    for ext in ("puml", "mmd", "json", "txt"):
        assert f"{RETRY}/no-duplicate-effect.{ext}" in page
    assert "Configuration" in page and "bounds.records" in page


def test_matrix_is_derived_from_the_violations(library_dir: Path) -> None:
    from kmodel.jobs.run import run_job
    from kmodel.report.runner import load_jobs

    outcomes = [run_job(job) for job in load_jobs(spec_paths([library_dir]))]
    rows = {row.semantic: row for row in derive(outcomes)}
    assert list(rows) == ["at-most-once", "at-least-once"]
    amo_loss, amo_dup = rows["at-most-once"].cells
    assert amo_loss.possible and amo_loss.agrees
    claimed = reference.BY_SEMANTIC["at-most-once"]
    assert not amo_dup.possible and amo_dup.claim == claimed.duplicates
    alo_loss, alo_dup = rows["at-least-once"].cells
    assert alo_dup.possible and not alo_loss.possible
    assert {o.job.name for o, _ in alo_dup.evidence} == {SMALL[1], RETRY}


def test_unmet_expectation_exits_1(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    path = copy_spec(SMALL[0], specs)
    text = path.read_text(encoding="utf-8").replace('no-loss = "violated"', 'no-loss = "holds"')
    path.write_text(text, encoding="utf-8")
    result = kmodel("verify", path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "✗ amo-producer-crash-before-send" in result.output
    assert "expectations not met: amo-producer-crash-before-send" in result.output
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "✗" in html


def test_verify_bad_paths_exit_2(tmp_path: Path) -> None:
    result = kmodel("verify", tmp_path / "missing", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "no such spec file or directory" in result.output
    (tmp_path / "empty").mkdir()
    result = kmodel("verify", tmp_path / "empty", "--out", tmp_path / "out")
    assert result.exit_code == 2


def test_default_library_is_the_shipped_specs() -> None:
    assert library() == SPECS
    found = [path.resolve() for path in spec_paths([])]
    assert found == sorted(SPECS.glob("*.toml"))


def test_html_escapes_spec_text(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    path = copy_spec(SMALL[0], specs)
    text = path.read_text(encoding="utf-8").replace(
        'title = "', 'title = "<script>alert(1)</script> ', 1
    )
    path.write_text(text, encoding="utf-8")
    assert kmodel("verify", path, "--out", tmp_path / "out", "--quiet").exit_code == 0
    for page in (tmp_path / "out").glob("*.html"):
        assert "<script>" not in page.read_text(encoding="utf-8")


def test_matrix_markdown_and_text(library_dir: Path) -> None:
    result = kmodel("matrix", library_dir, "--format", "md", "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| Semantic | Message loss | Duplicates |"
    assert lines[1].startswith("|:---|")
    assert lines[2].startswith("| **At-most-once** | **possible**")
    assert len(lines) == 4
    result = kmodel("matrix", library_dir, "--quiet")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == ["Semantic", "Message", "loss", "Duplicates"]


def test_matrix_without_semantics(tmp_path: Path) -> None:
    path = copy_spec("page-cache-loss", tmp_path)  # a spec of the protocol, not a semantic
    result = kmodel("matrix", path, "--quiet")
    assert result.exit_code == 0
    assert "no matrix" in result.stdout


def test_check_traces_are_written_alongside_the_summary(tmp_path: Path) -> None:
    spec = SPECS / f"{RETRY}.toml"
    args = ("--quiet", "--trace", "svg", "--trace", "json", "--out", tmp_path)
    result = kmodel("check", spec, *args)
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*"))
    assert written == [
        f"{RETRY}/no-duplicate-effect.json",
        f"{RETRY}/no-duplicate-effect.svg",
        f"{RETRY}/no-duplicate-in-log.json",
        f"{RETRY}/no-duplicate-in-log.svg",
    ]
    assert f"wrote {tmp_path / RETRY / 'no-duplicate-effect.svg'}" in result.stdout
    assert result.stdout.index("expectations met") < result.stdout.index("wrote")


def test_check_trace_needs_out() -> None:
    result = kmodel("check", SPECS / f"{RETRY}.toml", "--trace", "svg")
    assert result.exit_code == 2
    assert "--trace needs --out" in result.output


def test_the_semantics_a_spec_may_name_are_the_reference_rows() -> None:
    assert [row.semantic for row in reference.ROWS] == list(SEMANTICS)


def test_verify_refuses_an_expectation_no_run_can_meet(tmp_path: Path) -> None:
    path = copy_spec(SMALL[0], tmp_path, extra='redelivered = "holds"\n')
    result = kmodel("verify", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert 'expect.redelivered is "holds", which a sometimes property never is' in result.stderr
    assert not (tmp_path / "out").exists()  # refused before anything ran or was written


def test_a_conditional_claim_counts_only_the_specs_that_meet_its_condition() -> None:
    """At-least-once "avoids loss when replication is healthy": an unclean election
    (unhealthy) that loses a write is shown beside the cell but does not count against
    it; the cell needs a replicated spec that meets the condition, and a power cut of
    every replica (healthy by configuration) shows where the claim stops holding."""
    from kmodel.jobs.run import run_job
    from kmodel.jobs.spec import load_job

    def outcome(name: str):
        return run_job(load_job(SPECS / f"{name}.toml"))

    unclean = outcome("min-isr-1-unclean-election")
    flushed = outcome("power-loss-flush-every-write")
    (row,) = derive([unclean])
    loss = row.cells[0]
    assert loss.condition == "replication is healthy"
    assert (loss.verdict, loss.agrees) == ("not shown", False)
    assert [o.job.name for o, _ in loss.outside] == ["min-isr-1-unclean-election"]
    (row,) = derive([unclean, flushed])
    loss = row.cells[0]
    assert (loss.verdict, loss.agrees) == ("not found", True)
    assert [o.job.name for o, _ in loss.explored] == ["power-loss-flush-every-write"]
    (row,) = derive([unclean, flushed, outcome("power-loss-acks-all")])
    loss = row.cells[0]
    assert (loss.verdict, loss.agrees) == ("possible", False)
    assert [o.job.name for o, _ in loss.evidence] == ["power-loss-acks-all"]


@pytest.mark.parametrize(
    ("name", "within"),
    [
        ("eos-read-process-write", True),
        ("eos-end-to-end", True),  # its reader writes by upsert
        ("eos-replicated-unclean-election", True),  # a deployment's choice, not a protocol's
        ("eos-end-to-end-appending-sink", False),
        ("eos-read-uncommitted-reader", False),
        ("eos-original-protocol-late-write", False),
        ("eos-commit-timeout-next-transaction", False),
        ("kafka-to-sink-offsets-in-transaction", False),
        ("alo-upsert-sink", False),
    ],
)
def test_within_kafka_transactions_is_todays_protocol_used_as_documented(
    name: str, within: bool
) -> None:
    from kmodel.jobs.spec import load_job
    from kmodel.report.matrix import within_kafka_transactions

    assert within_kafka_transactions(load_job(SPECS / f"{name}.toml")) is within


def test_exactly_once_counts_only_the_specs_within_kafka_transactions() -> None:
    """A retry of a timed-out write outside the transaction's protocol duplicates; it is
    shown beside the cell, which the spec within Kafka transactions decides."""
    from kmodel.jobs.run import run_job
    from kmodel.jobs.spec import load_job

    outcomes = [
        run_job(load_job(SPECS / f"{name}.toml"))
        for name in ("eos-read-process-write", "eos-timeout-resend-duplicates")
    ]
    (row,) = derive(outcomes)
    duplicates = row.cells[1]
    assert duplicates.condition == "within Kafka transactions"
    assert (duplicates.verdict, duplicates.agrees) == ("not found", True)
    assert [o.job.name for o, _ in duplicates.explored] == ["eos-read-process-write"]
    assert [o.job.name for o, _ in duplicates.outside] == ["eos-timeout-resend-duplicates"]


def test_the_spec_table_names_each_broken_contract_with_a_link_to_its_trace(
    report: tuple[Result, Path],
) -> None:
    _, out = report
    html = (out / "index.html").read_text(encoding="utf-8")
    specs = html[html.index('<table class="specs">') :]
    row = specs[specs.index(f'href="{RETRY}.html"') :]
    row = row[: row.index("</tr>")]
    assert f'href="{RETRY}.html#trace-no-duplicate-effect"' in row
    assert "✗ no-duplicate-effect</a> violated in" in row
    markdown = (out / "index.md").read_text(encoding="utf-8")
    assert f"✗ [no-duplicate-effect]({RETRY}.html#trace-no-duplicate-effect) violated" in markdown


def test_a_report_removes_what_the_last_one_wrote_and_this_one_does_not(
    library_dir: Path, tmp_path: Path
) -> None:
    """Rewritten with one spec fewer, the folder loses that spec's page and traces, and
    keeps a file of the user's; a listed path outside the folder is never touched."""
    out = tmp_path / "out"
    assert kmodel("verify", library_dir, "--out", out, "--quiet").exit_code == 0
    assert (out / RETRY).is_dir() and (out / f"{RETRY}.html").is_file()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    with (out / ".kmodel-written").open("a", encoding="utf-8") as listed:
        listed.write("../outside.txt\n")
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    for name in SMALL:
        shutil.copy(library_dir / f"{name}.toml", fewer)
    assert kmodel("verify", fewer, "--out", out, "--quiet").exit_code == 0
    assert not (out / f"{RETRY}.html").exists() and not (out / RETRY).exists()
    assert all((out / f"{name}.html").is_file() for name in SMALL)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert outside.read_text(encoding="utf-8") == "keep"


def test_the_states_plot_grows_with_the_specs_so_every_name_is_readable(
    report: tuple[Result, Path], tmp_path: Path
) -> None:
    import matplotlib.image

    from kmodel.jobs.run import run_job
    from kmodel.jobs.spec import load_job
    from kmodel.report.plot import states_plot

    outcome = run_job(load_job(SPECS / f"{SMALL[0]}.toml"))
    few = matplotlib.image.imread(states_plot([outcome] * 3, tmp_path / "few.png"))
    many = matplotlib.image.imread(states_plot([outcome] * 120, tmp_path / "many.png"))
    assert many.shape[0] >= 120 * 0.2 * 100 > few.shape[0]  # ≥ 0.2 inch a spec
