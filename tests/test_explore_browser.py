"""The explorer driven in headless Chromium, as a student would use it: jump to a
counterexample, step back, fork with a crash at another step, ask where the run can
go, and solve an exercise. Selenium drives Debian's chromedriver, named explicitly so
that it never looks for (or downloads) a browser of its own."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmodel.explore.server import ExplorerServer
from kmodel.explore.session import Session
from kmodel.jobs.spec import load_job

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the test extra)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 20  # seconds for the page to show an answer


def serve(spec: Path) -> Iterator[str]:
    server = ExplorerServer(Session(load_job(spec)), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def explorer() -> Iterator[str]:
    yield from serve(ROOT / "specs" / "acks1-leader-failover.toml")


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1500,1000")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def text(browser, element_id: str) -> str:
    """An element's text, read in one go (the page redraws parts while a test reads)."""
    return browser.execute_script(f"return document.getElementById('{element_id}').innerText;")


def steps(browser) -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#steps li')].map((item) => item.innerText);"
    )


def wait_for(browser, condition, message: str):
    return WebDriverWait(browser, WAIT).until(lambda _: condition(), message)


def click_button(browser, box: str, label: str) -> None:
    buttons = browser.find_elements(By.CSS_SELECTOR, f"#{box} button")
    next(b for b in buttons if b.text.startswith(label)).click()


def diagram_shown(browser) -> bool:
    return browser.execute_script(
        "const d = document.getElementById('diagram'); return d.complete && d.naturalWidth > 0;"
    )


def test_jump_to_a_counterexample_and_step_through_it(browser, explorer: str) -> None:
    browser.get(explorer)
    wait_for(browser, lambda: "read next" in text(browser, "normal"), "no first step offered")
    browser.find_element(By.ID, "jump").click()  # the first contract: no-acked-loss
    wait_for(browser, lambda: len(steps(browser)) == 12, "the counterexample was not followed")
    assert "Broken in this state: no-acked-loss" in text(browser, "broken")
    assert browser.current_url.endswith("#path=0.0.1.1.2.2.2.2.2.2.2.2")
    assert steps(browser)[4] == "crash broker0"
    changed = browser.find_elements(By.CSS_SELECTOR, "[data-actor=broker0] tr.changed")
    assert changed[-1].text == "log empty · HW 0 · LEO 0"  # broker0 truncated record 1
    wait_for(browser, lambda: diagram_shown(browser), "no diagram")
    browser.find_element(By.ID, "back").click()
    wait_for(browser, lambda: len(steps(browser)) == 11, "Back did not undo a step")
    assert text(browser, "broken") == ""
    browser.find_element(By.ID, "forward").click()
    wait_for(browser, lambda: len(steps(browser)) == 12, "Forward did not redo the step")
    assert "no-acked-loss" in text(browser, "broken")


def test_what_if_the_leader_crashed_before_it_answered(browser, explorer: str) -> None:
    browser.get(explorer + "#path=0.0.1.1.2.2.2.2.2.2.2.2")
    wait_for(browser, lambda: len(steps(browser)) == 12, "the link did not reproduce the run")
    browser.find_elements(By.CSS_SELECTOR, "#steps li")[2].click()  # after the ProduceRequest
    wait_for(browser, lambda: len(steps(browser)) == 3, "no going back to step 3")
    click_button(browser, "faults", "crash broker0 here")
    wait_for(browser, lambda: len(steps(browser)) == 4, "the crash was not taken")
    assert browser.current_url.endswith("#path=0.0.1.3")
    assert "none: the fault budget is spent" in text(browser, "faults")
    assert "ProduceResponse" not in text(browser, "normal")  # a crashed broker does not answer
    browser.find_element(By.ID, "reach-button").click()
    wait_for(browser, lambda: "states in" in text(browser, "reach"), "no answer from the search")
    assert "no-acked-loss can no longer break from here" in text(browser, "reach")
    assert "every state reachable from here was seen" in text(browser, "reach")


def follow_lasso(browser, url: str, contract: str, length: int, loop: int) -> None:
    """Open the explorer at `url` and follow `contract`'s counterexample, a lasso of
    `length` steps whose loop starts after step `loop`."""
    browser.get(url)
    wait_for(browser, lambda: "read next" in text(browser, "normal"), "no first step offered")
    browser.find_element(By.CSS_SELECTOR, f"#contract option[value={contract}]").click()
    browser.find_element(By.ID, "jump").click()
    wait_for(browser, lambda: len(steps(browser)) == length, "the lasso was not followed")
    assert browser.current_url.endswith(f"&loop={loop}&contract={contract}")


def test_a_lasso_is_followed_with_its_loop_and_a_promise_has_an_outlook(
    browser, explorer: str
) -> None:
    """A leads-to contract's counterexample is a lasso: the page keeps its loop in the
    URL and says the run rests there for ever with the promise unkept; stepping back
    leaves the lasso, and the question where the run can go says since when the promise
    is due and finds the lasso again."""
    follow_lasso(browser, explorer, "acked-reaches-isr", 21, 21)
    wait_for(browser, lambda: text(browser, "lasso") != "", "the loop is not shown")
    assert text(browser, "lasso").startswith("↻ the run rests here for ever (acked-reaches-isr)")
    assert "the promise of acked-reaches-isr" in text(browser, "lasso")
    assert not browser.find_elements(By.CSS_SELECTOR, "#steps li.loop")  # a loop of no steps
    assert "loop=21" in browser.find_element(By.ID, "export").get_attribute("href")
    wait_for(browser, lambda: diagram_shown(browser), "no diagram of the lasso")
    assert steps(browser)[4].startswith("ProduceResponse")
    browser.find_elements(By.CSS_SELECTOR, "#steps li")[4].click()
    wait_for(browser, lambda: len(steps(browser)) == 5, "no going back to step 5")
    assert "loop=" not in browser.current_url
    assert not browser.find_element(By.ID, "lasso").is_displayed()
    browser.find_element(By.ID, "reach-button").click()
    wait_for(browser, lambda: "(leads-to)" in text(browser, "reach"), "no outlook of the promise")
    assert (
        "acked-reaches-isr (leads-to): its promise is due since step 5; a fair run from here "
        "never keeps it: a lasso in 16 steps" in text(browser, "reach")
    )
    promise = next(
        item
        for item in browser.find_elements(By.CSS_SELECTOR, "#reach li")
        if "(leads-to)" in item.text
    )
    promise.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, lambda: len(steps(browser)) == 21, "the lasso from here was not followed")
    assert browser.current_url.endswith("&loop=21&contract=acked-reaches-isr")
    wait_for(browser, lambda: "rests here for ever" in text(browser, "lasso"), "no loop shown")


def test_a_loop_with_steps_is_marked_as_repeating(browser) -> None:
    """The consumer that skipped a record polls for ever: the page marks the six steps
    its lasso repeats, from step 17, and the diagram draws them."""
    for url in serve(ROOT / "specs" / "amo-consumer-crash-polls-past-skipped-record.toml"):
        follow_lasso(browser, url, "committed-is-read", 22, 16)
        looping = browser.find_elements(By.CSS_SELECTOR, "#steps li.loop")
        assert len(looping) == 6
        assert looping[0].get_attribute("class").split() == ["loop", "loop-start"]
        assert "refreshes the topic's metadata" in looping[0].text
        wait_for(browser, lambda: text(browser, "lasso") != "", "the loop is not explained")
        assert text(browser, "lasso").startswith(
            "↻ steps 17–22 repeat for ever (committed-is-read): From step 17 the run repeats"
        )
        wait_for(browser, lambda: diagram_shown(browser), "no diagram of the loop")


def test_an_exercise_shows_its_prompt_gives_hints_and_grades(browser) -> None:
    for url in serve(ROOT / "exercises" / "acks1-acknowledged-write-lost.toml"):
        browser.get(url)
        wait_for(browser, lambda: "Not yet" in text(browser, "grade"), "no grade shown")
        assert "acknowledged write disappears" in text(browser, "prompt")
        assert not browser.find_element(By.ID, "jump").is_displayed()  # no answer to jump to
        browser.find_element(By.ID, "hint-button").click()
        wait_for(browser, lambda: "crash of broker0" in text(browser, "hints"), "no first hint")
        browser.find_element(By.ID, "hint-button").click()
        wait_for(browser, lambda: "Next, take" in text(browser, "hints"), "no second hint")
        browser.get(url + "#path=0.0.1.1.2.2.2.2.2.2.2.2")
        wait_for(browser, lambda: "Solved" in text(browser, "grade"), "the solution was not graded")
