"""Debian's Chromium, headless, driven by Selenium through Debian's chromium-driver.

JavaScript is switched off for every page (the dashboard must work without it; the test's
own WebDriver calls still run). Screenshots of whole pages go under SCREENSHOTS (the README
names the folder; git ignores it), one per page and width.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
# Where the screenshots go (CI keeps them as artefacts).
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Debian's packages `chromium` and `chromium-driver`.
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Window widths: a desktop and a phone (CSS pixels).
DESKTOP, PHONE = (1280, 900), (390, 844)
# Longest wait for a page's element, in seconds.
WAIT = 20
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def missing() -> str | None:
    """What is not installed, or None."""
    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: apt-get install -y {package} (.ci/run does)"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    try:
        driver.set_window_size(*DESKTOP)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, css: str) -> None:
    """Until an element matching `css` is on the page; else fail saying where it is."""
    try:
        WebDriverWait(driver, WAIT).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text[:500]
        raise AssertionError(f"no {css} after {WAIT}s at {driver.current_url}: {body}") from None


def text(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def overflows(driver: WebDriver) -> bool:
    """Whether the page is wider than the window (a phone would scroll sideways)."""
    wider: bool = driver.execute_script(
        "return document.documentElement.scrollWidth > window.innerWidth"
    )
    return wider


def screenshots(driver: WebDriver, name: str) -> list[Path]:
    """The whole page at desktop and at phone width (Chromium's own full-page capture); the
    window is left at desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(width, height)
        full = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": full[0], "height": full[1], "scale": 1},
            },
        )
        path = SCREENSHOTS / f"{name}-{label}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        saved.append(path)
    driver.set_window_size(*DESKTOP)
    return saved
