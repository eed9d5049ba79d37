"""The dashboard without a browser: its sign-in through the simulator's UAA, sessions,
access and figures, through the real API process (`requests` plays the browser)."""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import dashboard, services
from tests.support.dashboard import MONTH, ORG_A, ORG_B, TIMEOUT, Stack, sign_in


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with services.cloned_database(postgres_admin_url, template_database) as database_url:
        dashboard.prepare(database_url)
        workdir = Path(tmp_path_factory.mktemp("dash"))
        with dashboard.stack(database_url, workdir, login_host="localhost") as running:
            yield running


def figure(page: requests.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" class="amount">([^<]*)<', page.text)
    assert found is not None, page.text
    return found[1]


def org_page(browser: requests.Session, url: str, org: str) -> requests.Response:
    return browser.get(f"{url}/orgs/{org}", params={"month": MONTH}, timeout=TIMEOUT)


def test_dashboard_front_page_offers_sign_in(stack: Stack) -> None:
    page = requests.get(stack.url + "/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert 'href="/sign-in"' in page.text and '<html lang="en">' in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_dashboard_sends_browsers_to_the_login_address_and_fetches_tokens_itself(
    stack: Stack,
) -> None:
    started = requests.get(stack.url + "/sign-in", allow_redirects=False, timeout=TIMEOUT)
    assert started.status_code == 303
    login = urlsplit(started.headers["Location"])
    assert (login.hostname, login.path) == ("localhost", "/oauth/authorize")
    assert urlsplit(stack.cf_url).hostname == "127.0.0.1"
    # the code comes back through the browser; the API trades it at the UAA's own address
    browser = sign_in(stack.url, "billing-manager")
    assert browser.get(stack.url + f"/orgs/{ORG_A}", timeout=TIMEOUT).status_code == 200


def test_dashboard_billing_manager_sees_the_figures_of_v1_bills(stack: Stack) -> None:
    browser = sign_in(stack.url, "billing-manager")
    home = browser.get(stack.url + "/", allow_redirects=False, timeout=TIMEOUT)
    assert home.status_code == 303 and home.headers["Location"] == f"/orgs/{ORG_A}"
    page = org_page(browser, stack.url, ORG_A)
    assert page.status_code == 200, page.text
    totals = stack.bill("billing-manager", ORG_A)["totals"]
    assert Decimal(totals["inc_vat"]) > 0
    for name in ("ex_vat", "vat", "inc_vat"):
        assert figure(page, name.replace("_", "-")) == totals[name]
    assert "shop-web" in page.text and "shop-db" in page.text and "postgres small" in page.text
    assert 'data-code="no_plan"' in page.text  # the task has no price: the banner says so
    assert "<svg" in page.text and "<title id=" in page.text
    # the days, priced by the bill's engine one by one, add up to the bill here
    assert f"The days add up to {totals['ex_vat']}." in page.text
    assert "That is not exactly" not in page.text


def test_dashboard_billing_manager_cannot_open_another_org(stack: Stack) -> None:
    browser = sign_in(stack.url, "billing-manager")
    other, unknown = org_page(browser, stack.url, ORG_B), org_page(browser, stack.url, "no-org")
    assert other.status_code == unknown.status_code == 403
    assert other.headers["Content-Type"].startswith("text/html")
    assert other.text == unknown.text  # nothing says whether an org exists
    csv_other = browser.get(f"{stack.url}/orgs/{ORG_B}/bill.csv", timeout=TIMEOUT)
    assert csv_other.status_code == 403
    assert browser.get(stack.url + "/orgs", timeout=TIMEOUT).status_code == 403


def test_dashboard_csv_holds_the_lines_of_v1_bills(stack: Stack) -> None:
    browser = sign_in(stack.url, "billing-manager")
    response = browser.get(
        f"{stack.url}/orgs/{ORG_A}/bill.csv", params={"month": MONTH}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    (org,) = stack.bill("billing-manager", ORG_A)["orgs"]
    expected = {(line["resource_guid"], line["component"], line["ex_vat"], line["vat"])
                for line in org["lines"]}  # fmt: skip
    assert {(r["resource_guid"], r["component"], r["ex_vat"], r["vat"]) for r in rows} == expected


def test_dashboard_admin_sees_every_org_ranked(stack: Stack) -> None:
    browser = sign_in(stack.url, "admin")
    home = browser.get(stack.url + "/", allow_redirects=False, timeout=TIMEOUT)
    assert home.status_code == 303 and home.headers["Location"] == "/orgs"
    ranking = browser.get(stack.url + "/orgs", params={"month": MONTH}, timeout=TIMEOUT)
    assert ranking.status_code == 200
    assert ranking.text.index(ORG_A) < ranking.text.index(ORG_B)  # ORG_A costs more
    page = org_page(browser, stack.url, ORG_B)
    assert figure(page, "inc-vat") == stack.bill("admin", ORG_B)["totals"]["inc_vat"]


def test_dashboard_user_with_no_role_sees_no_org(stack: Stack) -> None:
    browser = sign_in(stack.url, "no-role")
    home = browser.get(stack.url + "/", timeout=TIMEOUT)
    assert home.status_code == 200 and "There is no org for you to see" in home.text
    assert org_page(browser, stack.url, ORG_A).status_code == 403


def test_dashboard_pages_need_a_session(stack: Stack) -> None:
    response = requests.get(
        f"{stack.url}/orgs/{ORG_A}", params={"month": MONTH}, allow_redirects=False,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/sign-in"
    assert parse_qs(target.query)["return_to"] == [f"/orgs/{ORG_A}?month={MONTH}"]


def test_dashboard_session_cookie_is_httponly_samesite_and_holds_no_readable_token(
    stack: Stack,
) -> None:
    browser = requests.Session()
    started = browser.get(stack.url + "/sign-in", allow_redirects=False, timeout=TIMEOUT)
    assert "HttpOnly" in started.headers["Set-Cookie"]
    assert "SameSite=lax" in started.headers["Set-Cookie"]
    signed = sign_in(stack.url, "billing-manager")
    session = signed.cookies.get("pb_session")
    assert session is not None and len(session) >= 40 and "." not in session  # not a JWT
    # sealed: neither the token's text nor its decoded header and claims are in it
    raw = base64.urlsafe_b64decode(session + "=" * (-len(session) % 4))
    assert not raw.startswith(b"eyJ") and "eyJ" not in session
    for plain in (b"billing-manager", b"RS256", b"cloud_controller", b"paas-billing-dashboard"):
        assert plain not in raw


def test_dashboard_callback_takes_only_this_browsers_state_once(stack: Stack) -> None:
    mine, theirs = requests.Session(), requests.Session()
    started = mine.get(stack.url + "/sign-in", allow_redirects=False, timeout=TIMEOUT)
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    forged = theirs.get(
        stack.url + "/auth/callback", params={"code": "x", "state": state}, timeout=TIMEOUT
    )
    assert forged.status_code == 400 and "did not start here" in forged.text
    cancelled = mine.get(
        stack.url + "/auth/callback", params={"error": "access_denied", "state": state},
        timeout=TIMEOUT,
    )  # fmt: skip
    assert cancelled.status_code == 401
    replayed = mine.get(
        stack.url + "/auth/callback", params={"code": "x", "state": state}, timeout=TIMEOUT
    )
    assert replayed.status_code == 400


def test_dashboard_sign_out_needs_the_form_token_and_clears_the_session(stack: Stack) -> None:
    browser = sign_in(stack.url, "billing-manager")
    page = org_page(browser, stack.url, ORG_A)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    refused = browser.post(stack.url + "/sign-out", data={"csrf": "forged"}, timeout=TIMEOUT)
    assert refused.status_code == 403
    assert org_page(browser, stack.url, ORG_A).status_code == 200
    out = browser.post(
        stack.url + "/sign-out", data={"csrf": csrf[1]}, allow_redirects=False, timeout=TIMEOUT
    )
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert "pb_session" not in browser.cookies  # this browser is signed out
    after = org_page(browser, stack.url, ORG_A)
    assert after.history and after.history[0].status_code == 303


def test_dashboard_errors_are_pages_and_v1_errors_stay_json(stack: Stack) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    missing = requests.get(stack.url + "/no/such/page", headers=html, timeout=TIMEOUT)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    for path, headers in (("/no/such/page", {}), ("/v1/nothing", html)):
        json_missing = requests.get(stack.url + path, headers=headers, timeout=TIMEOUT)
        assert json_missing.status_code == 404
        assert json_missing.headers["Content-Type"] == "application/json"
    browser = sign_in(stack.url, "billing-manager")
    bad = browser.get(f"{stack.url}/orgs/{ORG_A}", params={"month": "13/2026"}, timeout=TIMEOUT)
    assert bad.status_code == 400 and "month must be" in bad.text
    assert "Traceback" not in bad.text


def test_dashboard_logs_name_who_but_never_a_token_session_or_state(stack: Stack) -> None:
    browser = sign_in(stack.url, "billing-manager")
    assert org_page(browser, stack.url, ORG_A).status_code == 200
    started = requests.get(stack.url + "/sign-in", allow_redirects=False, timeout=TIMEOUT)
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    logs = stack.api.logs()
    assert '"path": "/orgs/' + ORG_A in logs or f'"path":"/orgs/{ORG_A}' in logs
    session = browser.cookies.get("pb_session")
    assert session and session not in logs
    assert state not in logs
    assert "eyJ" not in logs  # no JWT: neither the user's token nor a code's answer


def test_dashboard_pages_stay_out_of_the_openapi_document(stack: Stack) -> None:
    paths = set(requests.get(stack.url + "/openapi.json", timeout=TIMEOUT).json()["paths"])
    assert paths == {"/healthz", "/livez", "/readyz", "/v1/usage", "/v1/bills", "/v1/pricing"}
