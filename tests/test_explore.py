"""The explorer's session logic: runs as paths, the actions offered at each step,
bounded searches from the current state, exercises and their grading, and the command
that serves it all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main
from kmodel.core.result import Status
from kmodel.core.schema import SpecError
from kmodel.core.search import Limits
from kmodel.core.system import Property
from kmodel.core.trace import PATH, Trace, breaks, broken_at
from kmodel.explore import api, grading
from kmodel.explore.paths import PathError, follow, parse_path, path_text
from kmodel.explore.reach import reach
from kmodel.explore.session import Session
from kmodel.jobs.spec import load_job

ROOT = Path(__file__).resolve().parent.parent
ACKS1 = ROOT / "specs" / "acks1-leader-failover.toml"
EXERCISE = ROOT / "exercises" / "acks1-acknowledged-write-lost.toml"
# The shortest acks=1 loss: read, record, ProduceRequest, ProduceResponse, crash broker0 ...
LOSS = "0.0.1.1.2.2.2.2.2.2.2.2"
BEFORE_ACK = (0, 0, 1)  # the leader has the record; the producer has no answer yet


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(load_job(ACKS1))


@pytest.fixture(scope="module")
def exercise() -> Session:
    return Session(load_job(EXERCISE))


def test_a_path_reads_back_as_written() -> None:
    assert parse_path("3.0.15") == (3, 0, 15)
    assert parse_path("") == ()
    assert path_text(parse_path(LOSS)) == LOSS
    for bad in ("3..1", "a.1", "-1", "1.2.", "١"):
        with pytest.raises(PathError, match="numbers joined by dots"):
            parse_path(bad)


def test_a_path_past_the_enabled_actions_names_its_step(session: Session) -> None:
    with pytest.raises(PathError, match="step 3 chooses action 9, but only 5 are enabled"):
        session.worlds((0, 0, 9))


def test_faults_are_offered_apart_from_normal_steps_while_the_budget_lasts(
    session: Session,
) -> None:
    run = api.run(session, path_text(BEFORE_ACK))
    assert [c["label"] for c in run["normal"]][1] == "ProduceResponse(r1 at offset 0)"
    assert [(c["label"], c["actor"], c["fault"]) for c in run["faults"]] == [
        ("crash", "broker0", "crash:broker"),
        ("crash", "broker1", "crash:broker"),
    ]
    assert run["faults_left"] == {"crash:broker": 1}
    crashed = api.run(session, path_text((*BEFORE_ACK, run["faults"][0]["index"])))
    assert crashed["faults"] == []
    assert crashed["faults_left"] == {"crash:broker": 0}
    assert crashed["steps"][-1] == {"label": "crash", "who": "broker0", "fault": "crash:broker"}


def test_the_state_panel_marks_what_the_last_step_changed(session: Session) -> None:
    panel = {part["actor"]: part["rows"] for part in api.run(session, "0.0.1")["state"]}
    changed = {
        (actor, row["label"]) for actor, rows in panel.items() for row in rows if row["changed"]
    }
    assert changed == {("broker0", "log")}  # the ProduceRequest appended record 1
    assert {row["label"]: row["value"] for row in panel["broker0"]}[
        "log"
    ] == "0:r1@e0 · HW 0 · LEO 1"
    start = api.run(session, "")["state"]
    assert not any(row["changed"] for part in start for row in part["rows"])


def test_the_counterexample_is_the_spec_searchs_trace_replayed_as_a_path(
    session: Session,
) -> None:
    path = session.counterexample("no-acked-loss")
    assert path_text(path) == LOSS
    worlds = session.worlds(path)
    assert session.broken(worlds[-1]) == ["no-acked-loss"]
    assert not session.broken(worlds[-2])
    assert follow(session.system, worlds) == path
    assert session.counterexample("producer-order") is None
    with pytest.raises(api.NotFound, match="producer-order has no counterexample: it holds"):
        api.counterexample(session, "producer-order")


def test_an_exported_run_replays_and_breaks_what_the_page_said(session: Session) -> None:
    output, name = api.diagram(session, LOSS, "json")
    trace = Trace.loads(output)
    assert name == f"acks1-leader-failover-{LOSS}.json"
    assert trace.property == "no-acked-loss"
    assert breaks(session.system, trace, "no-acked-loss")
    mermaid, _ = api.diagram(session, LOSS, "mermaid")
    assert mermaid.startswith("sequenceDiagram")
    assert "contract no-acked-loss broken" in mermaid
    text, _ = api.diagram(session, LOSS, "text")
    assert "the contract no-acked-loss" in text.splitlines()[-1]
    with pytest.raises(api.BadRequest, match="unknown format 'gif'"):
        api.diagram(session, LOSS, "gif")


def test_a_run_that_breaks_nothing_is_exported_as_a_plain_path(session: Session) -> None:
    """The page's diagram and text of a run that has broken nothing say how far it went,
    with no witness and no broken contract in them."""
    text = path_text(BEFORE_ACK)
    assert session.broken(session.worlds(BEFORE_ACK)[-1]) == []
    for fmt in ("mermaid", "plantuml", "svg", "text"):
        output, _ = api.diagram(session, text, fmt)
        assert "the run so far: 3 steps, 0 faults" in str(output).lower()
        assert not re.search("witness|broken", str(output))
    trace = Trace.loads(api.diagram(session, text, "json")[0])
    assert trace.kind == PATH and trace.property == "" and len(trace) == 3


def test_no_one_state_breaks_a_leads_to_contract(session: Session) -> None:
    """A leads-to contract breaks only along a run that loops or rests with its promise
    due, so the page never calls one broken where the run stands."""
    start = session.worlds(())[-1]
    for due in (True, False):  # the promise due from the start, or not yet made
        never_kept = Property.leads_to("never-kept", lambda world, due=due: due, lambda _: False)
        assert not broken_at(session.system, never_kept, start)


def test_a_leads_to_counterexample_is_followed_as_a_lasso(session: Session) -> None:
    """The jump to a leads-to contract's counterexample keeps where its loop starts
    (here: it rests after step 21), and the run, its diagram and its export say so; a
    run that does not loop back, or that keeps the promise, is refused as a lasso."""
    found = api.counterexample(session, "acked-reaches-isr")
    assert found["loop"] == 21 == len(parse_path(found["path"]))
    assert api.counterexample(session, "no-acked-loss")["loop"] is None
    run = api.run(session, found["path"], "21", "acked-reaches-isr")
    assert run["lasso"]["start"] == 21
    assert "come to rest, and the promise of acked-reaches-isr" in run["lasso"]["text"]
    assert api.run(session, found["path"])["lasso"] is None
    output, _ = api.diagram(session, found["path"], "json", "21", "acked-reaches-isr")
    trace = Trace.loads(output)
    assert trace.loop_start == 21 and breaks(session.system, trace, "acked-reaches-isr")
    assert (
        "the run rests here"
        in api.diagram(session, found["path"], "plantuml", "21", "acked-reaches-isr")[0]
    )
    with pytest.raises(api.BadRequest, match="does not come back after step 3"):
        api.run(session, found["path"], "3", "acked-reaches-isr")
    with pytest.raises(api.BadRequest, match="'no-acked-loss' is no leads-to contract"):
        api.run(session, LOSS, "12", "no-acked-loss")
    with pytest.raises(api.BadRequest, match="not due all along the loop"):
        api.run(session, "", "0", "acked-reaches-isr")
    with pytest.raises(api.BadRequest, match="a lasso is named by loop"):
        api.run(session, found["path"], "x", "acked-reaches-isr")


def test_where_next_says_whether_a_promise_is_due_and_finds_its_lasso(session: Session) -> None:
    """Before the ProduceResponse nothing is due; after it (step 4) the acknowledged write
    is owed to every in-sync replica, and a fair run from here (the leader crashing) rests
    with it unkept: its lasso is a path the page can follow, loop and all."""

    def promise(text: str) -> dict:
        outlooks = api.where_next(session, text)["outlooks"]
        (found,) = [o for o in outlooks if o["leads_to"]]
        assert found["name"] == "acked-reaches-isr"
        return found

    before, after = promise("0.0.1"), promise("0.0.1.1")
    assert before["due_since"] is None and after["due_since"] == 4
    assert after["status"] == "violated" and after["steps"] == 17 and after["loop"] == 21
    assert after["path"].startswith("0.0.1.1.")
    run = api.run(session, after["path"], str(after["loop"]), "acked-reaches-isr")
    assert run["lasso"]["start"] == 21
    at_rest = promise(after["path"])
    assert at_rest["due_since"] == 4 and at_rest["steps"] == 0 and at_rest["loop"] == 21
    safety = [o for o in api.where_next(session, "0.0.1")["outlooks"] if not o["leads_to"]]
    assert "acked-reaches-isr" not in [o["name"] for o in safety]


def test_reach_finds_the_shortest_break_from_here_and_what_can_no_longer_break(
    session: Session,
) -> None:
    found = reach(session.system, session.worlds(BEFORE_ACK)[-1])
    outlook = {o.name: o for o in found.outlooks}
    assert found.complete
    assert outlook["no-acked-loss"].status is Status.VIOLATED
    assert BEFORE_ACK + outlook["no-acked-loss"].steps == parse_path(LOSS)
    assert outlook["producer-order"].status is Status.HOLDS
    # Crash the leader before it answers: nothing acknowledged can be lost any more.
    after_crash = session.worlds((*BEFORE_ACK, 3))[-1]
    assert reach(session.system, after_crash, ["no-acked-loss"]).outlooks[0].status is Status.HOLDS


def test_reach_says_when_its_budget_was_spent(session: Session) -> None:
    found = reach(session.system, session.worlds(())[0], limits=Limits(max_states=20))
    assert not found.complete
    assert found.stop_reason == "max_states"
    assert all(o.status is Status.UNKNOWN and o.steps is None for o in found.outlooks)


def test_an_exercise_is_graded_when_its_goal_breaks(exercise: Session) -> None:
    start = exercise.worlds(())[-1]
    assert not grading.grade(exercise, start).solved
    solved = grading.grade(exercise, exercise.worlds(parse_path(LOSS))[-1])
    assert solved.solved
    assert "no-acked-loss" in solved.text
    assert api.run(exercise, LOSS)["grade"]["solved"] is True


def test_hints_name_the_fault_then_the_next_step(exercise: Session) -> None:
    start = exercise.worlds(())[-1]
    assert grading.hint(exercise, start, 1) == (
        "The shortest run that breaks no-acked-loss takes 12 steps and needs a crash of broker0."
    )
    assert grading.hint(exercise, start, 2).startswith("Next, take “read next (producer → source)”")
    dead_end = exercise.worlds((*BEFORE_ACK, 3))[-1]
    assert "no run breaks no-acked-loss any more" in grading.hint(exercise, dead_end, 2)
    there = exercise.worlds(parse_path(LOSS))[-1]
    assert grading.hint(exercise, there, 2) == "You are there: this state breaks no-acked-loss."


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('goal = "no-acked-loss"', "exercise.prompt is missing; it must be a non-empty string"),
        ('goal = "no-acked-loss"\nprompt = ""\n', 'exercise.prompt is ""'),
        ('goal = 1\nprompt = "p"', "exercise.goal is 1"),
        ('goal = "x"\nprompt = "p"\nhint = "h"', "exercise.hint is not a field of [exercise]"),
        ('goal = "no-loss-at-all"\nprompt = "p"', 'exercise.goal "no-loss-at-all" is unknown'),
        ('goal = "failover"\nprompt = "p"', "is a witness, which is reached, not broken"),
    ],
)
def test_a_bad_exercise_is_refused_naming_the_file_and_field(
    tmp_path: Path, table: str, message: str
) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(ACKS1.read_text().replace("[expect]", f"[exercise]\n{table}\n\n[expect]"))
    with pytest.raises(SpecError) as error:
        Session(load_job(spec))
    assert str(error.value).startswith(f"{spec}: ")
    assert message in str(error.value)
    result = CliRunner().invoke(main, ["explore", str(spec), "--no-browser"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_shipped_exercises_can_be_solved() -> None:
    exercises = sorted((ROOT / "exercises").glob("*.toml"))
    assert len(exercises) >= 3
    for spec in exercises:
        session = Session(load_job(spec))
        goal = session.job.exercise.goal
        path = session.counterexample(goal)
        assert path is not None, spec
        assert grading.grade(session, session.worlds(path)[-1]).solved, spec


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such.toml"], "no-such.toml: no such spec file."),
        (
            [str(ACKS1), "--port", "http"],
            "Invalid value for '--port': 'http' is not a valid integer range.",
        ),
        (
            [str(ACKS1), "--port", "70000"],
            "Invalid value for '--port': 70000 is not in the range 0<=x<=65535.",
        ),
    ],
)
def test_bad_input_is_a_paragraph_and_exit_two(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["explore", *args, "--no-browser"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["explore", str(ACKS1), "--port", str(port), "--no-browser"]
        )
    assert result.exit_code == 2
    assert f"--port {port}: cannot serve on 127.0.0.1:{port}" in result.output
    assert "--port 0 for any free one" in result.output


def test_the_command_serves_on_localhost_until_ctrl_c(deadline) -> None:
    command = [sys.executable, "-m", "kmodel", "explore", str(ACKS1), "--port", "0", "--no-browser"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with deadline(30):
            line = process.stdout.readline()
            url = line.split()[2]
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url + "api/spec") as response:
                assert json.load(response)["title"] == "acks=1 with a leader failover"
            with urllib.request.urlopen(url) as response:
                assert b'id="steps"' in response.read()
            process.send_signal(signal.SIGINT)
            out, err = process.communicate()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert out.strip() == "stopped."
    assert "Traceback" not in err
