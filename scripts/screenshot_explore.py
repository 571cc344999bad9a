"""Take screenshots of `kmodel explore` with headless Chromium, driven by Selenium.

    python scripts/screenshot_explore.py [docs]

Writes explore.png (the acks=1 counterexample forked: the leader crashes before it
answers, and the search from there says what can still break) and
explore-exercise.png (an exercise with its hints) into the folder given. Needs
`chromium` and `chromium-driver` (Debian) and selenium (the test extra).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from kmodel.explore.server import ExplorerServer
from kmodel.explore.session import Session
from kmodel.jobs.spec import load_job

ROOT = Path(__file__).resolve().parent.parent


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1500,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def shoot(spec: Path, path: str, clicks: list[str], png: Path) -> None:
    """Open `spec` at run `path`, click the elements with the ids `clicks`, wait for the
    answers and the diagram, and save the page's first screen as `png`."""
    server = ExplorerServer(Session(load_job(spec)), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = browser()
    try:
        driver.get(f"{server.url}#path={path}")
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.execute_script("return document.getElementById('diagram').complete"))
        for element in clicks:
            driver.find_element(By.ID, element).click()
            time.sleep(3)  # the answer of a search or a hint
        driver.save_screenshot(str(png))
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def main(folder: Path) -> None:
    shoot(
        ROOT / "specs" / "acks1-leader-failover.toml",
        "0.0.1.3",
        ["reach-button"],
        folder / "explore.png",
    )
    shoot(
        ROOT / "exercises" / "acks1-acknowledged-write-lost.toml",
        "0.0.1.1",
        ["hint-button", "hint-button"],
        folder / "explore-exercise.png",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs"))
