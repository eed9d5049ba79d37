"""Dashboard sessions across replicas and restarts: several real API processes on different
ports of 127.0.0.1, behind nothing. A `requests.Session` plays the browser: cookies are not
port-scoped, so it sends the same cookies to every replica, as a browser does behind a
round-robin router."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from paas_billing import demo_users
from simulator.accounts import DASHBOARD_CLIENT
from tenant_api.dashboard import sealing, sessions
from tests.support import dashboard, services
from tests.support.dashboard import MONTH, ORG_A, TIMEOUT, Replicas, sign_in

# The replicas' DASHBOARD_SESSION_KEY, and the next one (a rotation).
OLD_KEY, NEW_KEY = "old-key-" + "o" * 40, "new-key-" + "n" * 40


@pytest.fixture(scope="module")
def replicas(
    postgres_admin_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    with services.cloned_database(postgres_admin_url, template_database) as database_url:
        dashboard.prepare(database_url)
        workdir = Path(tmp_path_factory.mktemp("replicas"))
        with dashboard.replicas(database_url, workdir, DASHBOARD_SESSION_KEY=OLD_KEY) as running:
            yield running


def org_page(browser: requests.Session, url: str) -> requests.Response:
    return browser.get(
        f"{url}/orgs/{ORG_A}", params={"month": MONTH}, allow_redirects=False, timeout=TIMEOUT
    )


def signed_in(browser: requests.Session, url: str) -> bool:
    page = org_page(browser, url)
    if page.status_code == 200:
        assert 'id="inc-vat"' in page.text  # the org's figures, not some other page
        return True
    assert page.status_code == 303, page.text
    target = urlsplit(page.headers["Location"])
    assert target.path == "/sign-in", page.headers["Location"]
    assert parse_qs(target.query)["return_to"] == [f"/orgs/{ORG_A}?month={MONTH}"]
    return False


def browser_with(session_cookie: str) -> requests.Session:
    browser = requests.Session()
    browser.cookies.set("pb_session", session_cookie, domain="127.0.0.1", path="/")
    return browser


def signed_in_count(replicas: Replicas, url: str) -> int:
    return replicas.logs(url).count('"signed_in"')


def test_dashboard_signed_in_on_one_replica_reads_pages_on_the_other(replicas: Replicas) -> None:
    first, second = replicas.urls[:2]
    browser = sign_in(first, "billing-manager")
    for url in (second, first, second, second):
        assert signed_in(browser, url), url


@pytest.mark.parametrize("started_on", [0, 1])
def test_dashboard_sign_in_started_on_one_replica_finishes_on_the_other(
    replicas: Replicas, started_on: int
) -> None:
    start, callback = replicas.urls[started_on], replicas.urls[1 - started_on]
    before = signed_in_count(replicas, callback), signed_in_count(replicas, start)
    browser = sign_in(start, "billing-manager", callback_url=callback)
    assert (signed_in_count(replicas, callback), signed_in_count(replicas, start)) == (
        before[0] + 1, before[1]
    )  # fmt: skip
    assert "pb_signin" not in browser.cookies  # the sign-in cookie is cleared once used
    assert signed_in(browser, start) and signed_in(browser, callback)


def test_dashboard_a_restarted_replica_keeps_the_session(replicas: Replicas) -> None:
    restarted = replicas.start()
    browser = sign_in(replicas.urls[0], "billing-manager")
    assert signed_in(browser, restarted)
    assert replicas.stop(restarted) == 0
    assert not _answers(restarted)
    again = replicas.start(port=urlsplit(restarted).port)
    assert again == restarted and signed_in(browser, again)


def test_dashboard_key_rotation_in_three_steps_signs_nobody_out(replicas: Replicas) -> None:
    """docs/dashboard.md: add the new key second everywhere, then put it first, then drop the
    old one once DASHBOARD_SESSION_TTL has passed."""
    old_only = replicas.urls[0]
    browser = sign_in(old_only, "billing-manager")  # sealed with OLD_KEY
    step_1 = replicas.start(DASHBOARD_SESSION_KEY=f"{OLD_KEY},{NEW_KEY}")
    step_2 = replicas.start(DASHBOARD_SESSION_KEY=f"{NEW_KEY},{OLD_KEY}")
    step_3 = replicas.start(DASHBOARD_SESSION_KEY=NEW_KEY)
    assert signed_in(browser, step_1) and signed_in(browser, step_2)
    assert not signed_in(browser, step_3)
    # a session begun in step 2 is sealed with the new key: step 1 already opens it, a
    # replica that has only the old key does not (hence step 1 before step 2)
    fresh = sign_in(step_2, "billing-manager", callback_url=step_2)
    for url in (step_1, step_2, step_3):
        assert signed_in(fresh, url), url
    assert not signed_in(fresh, old_only)
    assert "dashboard_cookie_keys" in replicas.logs(step_3)
    for url in (step_1, step_2, step_3):
        assert NEW_KEY not in replicas.logs(url) and OLD_KEY not in replicas.logs(url)


def test_dashboard_a_changed_or_foreign_key_cookie_asks_to_sign_in(replicas: Replicas) -> None:
    url = replicas.urls[1]
    good = sign_in(replicas.urls[0], "billing-manager").cookies["pb_session"]
    token = replicas_token(replicas)
    expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    foreign = sealing.Sealer(["a-foreign-key-" * 4])
    derived = sealing.Sealer([DASHBOARD_CLIENT[1]])  # the default key: not these replicas'
    forged = [
        sessions.Sessions(sealer, ttl=3600).start(token, expires)[0]
        for sealer in (foreign, derived)
    ]
    middle = len(good) // 2
    changed = [
        good[:middle] + ("A" if good[middle] != "A" else "B") + good[middle + 1 :],
        good[:-2],
        good + "AA",
        "not-a-sealed-value",
        token,  # the bare token, as a cookie that held it in clear would have it
    ]
    assert signed_in(browser_with(good), url)
    for value in [*forged, *changed]:
        browser = browser_with(value)
        assert not signed_in(browser, url)
        home = browser.get(url + "/", timeout=TIMEOUT)
        assert home.status_code == 200 and 'href="/sign-in"' in home.text
        out = browser.post(url + "/sign-out", data={"csrf": "x"}, allow_redirects=False,
                           timeout=TIMEOUT)  # fmt: skip
        assert out.status_code == 303
    assert "Traceback" not in replicas.logs(url)
    assert '"status": 500' not in replicas.logs(url) and '"status":500' not in replicas.logs(url)


def test_dashboard_sign_out_on_one_replica_signs_the_browser_out_of_both(
    replicas: Replicas,
) -> None:
    first, second = replicas.urls[:2]
    browser = sign_in(first, "billing-manager")
    page = org_page(browser, second)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    refused = browser.post(second + "/sign-out", data={"csrf": "forged"}, timeout=TIMEOUT)
    assert refused.status_code == 403 and signed_in(browser, first)
    out = browser.post(
        second + "/sign-out", data={"csrf": csrf[1]}, allow_redirects=False, timeout=TIMEOUT
    )
    assert out.status_code == 303 and "pb_session" not in browser.cookies
    assert not signed_in(browser, first) and not signed_in(browser, second)


def replicas_token(replicas: Replicas) -> str:
    """A real token of the billing manager (the cf CLI's password grant)."""
    return demo_users.token(replicas.cf_url, "billing-manager")


def _answers(url: str) -> bool:
    try:
        requests.get(url + "/healthz", timeout=5)
    except requests.ConnectionError:
        return False
    return True
