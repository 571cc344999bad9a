"""Take a screenshot of a verification report's index page with headless Chromium.

    python scripts/screenshot_report.py [reports/index.html] [docs/report-screenshot.png]

Run `kmodel verify` first. Needs `chromium` (Debian: apt-get install chromium).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 1800) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("screenshot_report: chromium is not installed")
    if not page.is_file():
        raise SystemExit(f"screenshot_report: {page} does not exist; run kmodel verify first")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={png.resolve()}",
                f"--window-size={width},{height}",
                page.resolve().as_uri(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    return png


def main(argv: list[str]) -> None:
    page = Path(argv[0]) if argv else Path("reports/index.html")
    png = Path(argv[1]) if len(argv) > 1 else Path("docs/report-screenshot.png")
    print(screenshot(page, png))


if __name__ == "__main__":
    main(sys.argv[1:])
