"""The dashboard in a real browser (headless Chromium, JavaScript off): each demo user signs
in through the simulator's login page, sees what they may see and nothing else, and every
page is saved as a screenshot at desktop and phone width (artifacts/screenshots/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support import browser, dashboard, services
from tests.support.browser import screenshots, text, wait_for
from tests.support.dashboard import MONTH, ORG_A, ORG_B, PASSWORDS, Stack


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with services.cloned_database(postgres_admin_url, template_database) as database_url:
        dashboard.prepare(database_url)
        with dashboard.stack(database_url, Path(tmp_path_factory.mktemp("dash"))) as running:
            yield running


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    problem = browser.missing()
    if problem is not None:
        pytest.fail(problem)
    with browser.chromium() as found:
        yield found


def sign_in(driver: WebDriver, stack: Stack, username: str, shoot: bool = False) -> None:
    """From the front page, through the UAA's login page, back to the dashboard."""
    driver.get(stack.url + "/")
    wait_for(driver, "a.button[href='/sign-in']")
    if shoot:
        screenshots(driver, "front-page")
    driver.find_element(By.CSS_SELECTOR, "a.button[href='/sign-in']").click()
    wait_for(driver, "input#username")
    if shoot:
        screenshots(driver, "uaa-login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]:not([name])").click()
    wait_for(driver, "header.top .who")
    assert driver.current_url.startswith(stack.url)


def open_org(driver: WebDriver, stack: Stack, org: str) -> None:
    driver.get(f"{stack.url}/orgs/{org}?month={MONTH}")
    wait_for(driver, "main h1")


def assert_figures_of_v1(driver: WebDriver, stack: Stack, username: str, org: str) -> None:
    totals = stack.bill(username, org)["totals"]
    shown = {name: text(driver, f"#{name.replace('_', '-')}") for name in totals}
    assert shown == totals


def test_browser_billing_manager_sees_own_org_only(driver: WebDriver, stack: Stack) -> None:
    sign_in(driver, stack, "billing-manager", shoot=True)
    assert f"/orgs/{ORG_A}" in driver.current_url  # one org: straight to its page
    open_org(driver, stack, ORG_A)
    assert_figures_of_v1(driver, stack, "billing-manager", ORG_A)
    assert "no price" in text(driver, ".banner")  # the task has no plan
    assert driver.find_element(By.CSS_SELECTOR, "svg.chart title").get_attribute("id")
    assert not browser.overflows(driver)
    screenshots(driver, "org-month-billing-manager")
    driver.set_window_size(*browser.PHONE)
    assert not browser.overflows(driver)  # readable at phone width: nothing scrolls sideways
    driver.set_window_size(*browser.DESKTOP)

    open_org(driver, stack, ORG_B)  # another org, by its address
    assert text(driver, "main h1") == "You cannot open this org's page"
    assert ORG_B not in driver.page_source.split("<main", 1)[1].split("</main>")[0]
    screenshots(driver, "forbidden-billing-manager")

    driver.get(stack.url + "/orgs")
    wait_for(driver, "main h1")
    assert "administrators" in text(driver, "main h1")

    open_org(driver, stack, ORG_A)
    driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button").click()
    wait_for(driver, "a.button[href='/sign-in']")
    open_org(driver, stack, ORG_A)  # signed out: the page asks to sign in again
    wait_for(driver, "input#username")


def test_browser_admin_sees_every_org_ranked(driver: WebDriver, stack: Stack) -> None:
    sign_in(driver, stack, "admin")
    assert driver.current_url.split("?")[0].endswith("/orgs")
    driver.get(f"{stack.url}/orgs?month={MONTH}")
    wait_for(driver, "table")
    rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr th[scope=row] a")
    assert [row.text for row in rows] == [ORG_A, ORG_B]  # the costlier first
    screenshots(driver, "every-org-admin")
    rows[1].click()
    wait_for(driver, "#inc-vat")
    assert_figures_of_v1(driver, stack, "admin", ORG_B)
    screenshots(driver, "org-month-admin")


def test_browser_user_with_no_role_sees_no_org(driver: WebDriver, stack: Stack) -> None:
    sign_in(driver, stack, "no-role")
    assert text(driver, "main h1") == "There is no org for you to see"
    screenshots(driver, "no-org-no-role")
    open_org(driver, stack, ORG_A)
    assert text(driver, "main h1") == "You cannot open this org's page"
