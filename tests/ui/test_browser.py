"""The status page in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven
through selenium), against a real loop on the local Admin. One browser for the module.

Skipped, saying how to install them, when Chromium, chromedriver or selenium are missing; the
plain HTTP tests (``test_ui_command.py``, ``test_loop_page.py``) always run. Screenshots go to
``.artifacts/``; with ``UPDATE_DOCS_SCREENSHOT=1`` the README's ``docs/status-page.png`` is
taken again from the same page.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from reconciler.render.page import resource_id
from tests.loop.conftest import DEADLINE, deactivate
from tests.ui.conftest import ARTIFACTS, DAILY, NIGHTLY, REPO
from tests.ui.states import EVIL

_T = TypeVar("_T")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL = (
    "apt-get install -y chromium chromium-driver (Debian) and pip install selenium "
    "(the project's test extra)"
)

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - the skip says why
    webdriver = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason=f"selenium is not installed: {INSTALL}"),
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason=f"chromium or chromedriver is not installed: {INSTALL}",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="reconciler-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver is given: selenium must not look for (or download) one
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(DEADLINE)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def until(check: Callable[[], _T | None], what: str, deadline: float = DEADLINE) -> _T:
    """Poll ``check`` (the page may reload itself under it) for at most ``deadline`` s."""
    end = time.monotonic() + deadline
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            value = check()
            if value:
                return value
        except WebDriverException as exc:  # a stale element across a refresh
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what} (last error: {last})")


def _row(driver: Any, address: str) -> Any:
    """The table row of a resource (its name links to the console: c/ID)."""
    link = driver.find_element(By.CSS_SELECTOR, f'a[href="c/{resource_id(address)}"]')
    return link.find_element(By.XPATH, "./ancestor::tr")


def _status(driver: Any, address: str) -> str:
    """The row's status, or "" while the page is between two refreshes (no cells yet)."""
    cells = _row(driver, address).find_elements(By.TAG_NAME, "td")
    return str(cells[0].text.split("\n")[0]) if cells else ""


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(max(int(width), 1100), min(int(height) + 140, 2400))
    driver.save_screenshot(str(path))
    return path


def _csp_errors(driver: Any) -> list[str]:
    return [
        str(entry["message"])
        for entry in driver.get_log("browser")
        if "Content Security Policy" in str(entry.get("message"))
    ]


def test_drift_shows_within_a_pass_and_a_click_opens_its_diff(browser, watched, stub) -> None:  # type: ignore[no-untyped-def]
    loop = watched.loop
    browser.get(loop.url + "/")
    until(lambda: _status(browser, NIGHTLY).startswith("drifted"), "the page of a pass")
    assert _status(browser, DAILY) == "synced"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # the inline style ran under the page's Content-Security-Policy: statuses are coloured
    synced = _row(browser, DAILY).find_elements(By.TAG_NAME, "td")[0]
    assert synced.value_of_css_property("color") == "rgba(29, 107, 47, 1)"
    before = int(loop.state()["last_pass"]["pass"])

    deactivate(stub)
    # no reload from here: the page refreshes itself (every 2 s for this 0.3 s loop)
    until(lambda: _status(browser, DAILY).startswith("drifted"), "the drift on the page")
    # within one pass: the pass in flight at the deactivation may have read Admin before it,
    # the next one saw it
    found = [p for p in loop.passes() if DAILY in p["drifted"]]
    assert found[0]["pass"] <= before + 2, found[0]
    shown = browser.find_element(By.XPATH, "//dt[.='Outcome']/following-sibling::dd[1]").text
    assert int(shown.split("(pass ")[1].split(",")[0]) >= found[0]["pass"]

    def opened() -> Any:
        row = _row(browser, DAILY)
        details = row.find_element(By.TAG_NAME, "details")
        if details.get_attribute("open") is None:
            row.find_element(By.TAG_NAME, "summary").click()
        pre = details.find_element(By.TAG_NAME, "pre")
        return pre if pre.is_displayed() else None

    diff = until(opened, "the diff to open")
    assert diff.text == "spec.active: false → true"
    # the README's picture: drift behind git's back, a new launch plan not applied yet, the
    # commit in git ahead of the one last applied
    path = _screenshot(browser, "status-page.png")
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):
        shutil.copyfile(path, REPO / "docs" / "status-page.png")
    # it stays open across the page's own refreshes (the few lines of JavaScript)
    browser.refresh()
    until(lambda: _row(browser, DAILY).find_element(By.TAG_NAME, "pre").is_displayed(), "open")

    # the filter form, without JavaScript's help: a GET with the query
    Select(browser.find_element(By.ID, "f-status")).select_by_visible_text("drifted")
    Select(browser.find_element(By.ID, "f-kind")).select_by_visible_text("LaunchPlan")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(lambda: "status=drifted" in browser.current_url, "the filtered page")
    assert "kind=LaunchPlan" in browser.current_url
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tbody tr > th a")]
    assert sorted(names) == ["daily", "nightly"]
    assert browser.find_element(By.TAG_NAME, "caption").text.startswith("2 of 5 resources")

    # a resource's own page: the whole diff as a table
    _row(browser, DAILY).find_element(By.CSS_SELECTOR, f'a[href="r/{resource_id(DAILY)}"]').click()
    until(lambda: browser.find_element(By.TAG_NAME, "h2").text == DAILY, "the resource page")
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "main table tbody td")]
    assert cells == ["false", "true"]
    _screenshot(browser, "status-page-resource.png")
    assert not _csp_errors(browser)


def test_markup_from_a_manifest_shows_as_text_and_never_runs(browser, watched) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{watched.loop.url}/r/{resource_id(NIGHTLY)}")
    until(lambda: browser.find_element(By.TAG_NAME, "h2").text == NIGHTLY, "the page")
    runbook = browser.find_element(
        By.XPATH, "//tr[th/code='annotations.runbook']/td[2]"
    ).text  # fmt: skip
    assert runbook == f'"{EVIL}"'
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    scripts = browser.execute_script("return document.scripts.length")
    assert scripts == 1  # the page's own
    assert not _csp_errors(browser)
