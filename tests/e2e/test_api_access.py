"""The API process against the simulator as UAA and Cloud Controller: who gets what.

Every row of issue 16's matrix, through the real `python -m tenant_api` process: tokens
that must get 401, readers that get every org, managers that get only their own, users
without a manager role, bad parameters, and never a 5xx or a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from shared import db, pricing_file, pricing_store
from simulator import keys
from tests.simulator import fixtures
from tests.support import api, event_rows, pricing_documents, services
from tests.support.api import ORG_A, ORG_B, Stack


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with services.cloned_database(postgres_admin_url, template_database) as database_url:
        event_rows.insert(database_url, api.history())
        apply_pricing(database_url, pricing_documents.sample())
        with api.stack(database_url, Path(tmp_path_factory.mktemp("api"))) as running:
            yield running


def apply_pricing(database_url: str, document: dict[str, Any]) -> None:
    content = orjson.dumps(document)
    conn = db.connect(database_url)
    try:
        pricing_store.apply(conn, content, "sample.json", pricing_file.parse(content))
    finally:
        conn.close()


def billed_orgs(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {org["org_guid"] for org in response.json()["orgs"]}


def orgs_of(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["org_guid"] for row in response.json()["rows"]}


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert "Traceback" not in response.text
    return error


def assert_unauthorized(response: requests.Response) -> None:
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --------------------------------------------------------------------------- 401


def test_api_without_a_token_is_401(stack: Stack) -> None:
    assert_unauthorized(stack.usage(None))
    # The token is checked first: an anonymous caller learns nothing about the parameters.
    assert_unauthorized(stack.get("/v1/usage", None, {"from": "bad", "org_guid": "x" * 300}))
    assert_unauthorized(stack.get("/v1/usage", None, WINDOW_PARAMS, Authorization="Bearer"))
    basic = base64.b64encode(b"admin:admin").decode()
    assert_unauthorized(stack.get("/v1/usage", None, WINDOW_PARAMS, Authorization=f"Basic {basic}"))


WINDOW_PARAMS = {**api.WINDOW, "org_guid": ORG_A}


def test_api_garbage_token_is_401(stack: Stack) -> None:
    for garbage in ("garbage", "a.b.c", "x" * 20_000, "eyJhbGciOiJSUzI1NiJ9.e30.", "é"):
        assert_unauthorized(stack.usage(garbage, org_guid=ORG_A))


def test_api_expired_token_is_401(stack: Stack) -> None:
    expired = api.mint(stack.key, api.claims_for("admin-id", ["cloud_controller.admin"], -120))
    response = stack.usage(expired)
    assert_unauthorized(response)
    assert "expired" in response.json()["error"]["message"]


def test_api_token_of_another_key_with_the_same_kid_is_401(stack: Stack) -> None:
    other = keys.generate(api.KID).private
    forged = api.mint(other, api.claims_for("admin-id", ["cloud_controller.admin"]))
    assert_unauthorized(stack.usage(forged))


def test_api_alg_none_and_other_algorithms_are_401(stack: Stack) -> None:
    claims = api.claims_for("admin-id", ["cloud_controller.admin"])
    unsigned = api.mint(None, claims, algorithm="none")
    assert_unauthorized(stack.usage(unsigned))
    assert_unauthorized(stack.usage(unsigned.rstrip(".") + ".c2ln"))
    # HS256 keyed with the public key's PEM: the classic algorithm confusion.
    listing = requests.get(stack.simulator.url + "/token_keys", timeout=10).json()
    pem = next(k["value"] for k in listing["keys"] if k["kid"] == api.KID)
    header = _b64(orjson.dumps({"alg": "HS256", "kid": api.KID, "typ": "JWT"}))
    payload = _b64(orjson.dumps(claims))
    signature = hmac.new(pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert_unauthorized(stack.usage(f"{header}.{payload}.{_b64(signature)}"))


def test_api_payload_altered_after_signing_is_401(stack: Stack) -> None:
    token = stack.token("billing")
    assert stack.usage(token, org_guid=ORG_A).status_code == 200
    header, payload, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = [*claims["scope"], "cloud_controller.admin"]
    altered = f"{header}.{_b64(orjson.dumps(claims))}.{signature}"
    assert_unauthorized(stack.usage(altered))


def test_api_refresh_token_and_unknown_kid_are_401(stack: Stack) -> None:
    granted = requests.post(
        stack.simulator.url + "/oauth/token",
        auth=("cf", ""),
        data={"grant_type": "password", "username": "admin", "password": "admin"},
        timeout=10,
    ).json()
    assert_unauthorized(stack.usage(granted["refresh_token"]))
    unknown = api.mint(stack.key, api.claims_for("admin-id", ["cloud_controller.admin"]), "nope")
    assert_unauthorized(stack.usage(unknown))


def test_api_a_token_of_the_other_listed_key_is_accepted(stack: Stack) -> None:
    """The UAA lists two keys; the token's kid picks the one that verifies it."""
    listing = requests.get(stack.simulator.url + "/token_keys", timeout=10).json()
    assert [k["kid"] for k in listing["keys"]] == [api.KID, "key-2"]
    minted = api.mint(stack.key, api.claims_for("admin-id", ["cloud_controller.admin"]))
    assert orgs_of(stack.usage(minted)) == {ORG_A, ORG_B}


# --------------------------------------------------------------------------- 200 for readers


@pytest.mark.parametrize("user", ["admin", "auditor", "reader"])
def test_api_global_readers_read_any_org_and_all(stack: Stack, user: str) -> None:
    token = stack.token(user)
    assert orgs_of(stack.usage(token)) == {ORG_A, ORG_B}
    assert orgs_of(stack.usage(token, org_guid=ORG_B)) == {ORG_B}
    assert orgs_of(stack.usage(token, org_guid=[ORG_A, ORG_B])) == {ORG_A, ORG_B}
    assert orgs_of(stack.usage(token, org_guid="no-such-org")) == set()


def test_api_client_credentials_with_admin_read_only_read_all(stack: Stack) -> None:
    token = fixtures.token(stack.simulator.url)
    assert orgs_of(stack.usage(token)) == {ORG_A, ORG_B}


# --------------------------------------------------------------------------- managers


@pytest.mark.parametrize(
    ("user", "own", "other"), [("billing", ORG_A, ORG_B), ("manager", ORG_B, ORG_A)]
)
def test_api_managers_read_their_org_only(stack: Stack, user: str, own: str, other: str) -> None:
    token = stack.token(user)
    report = stack.usage(token, org_guid=own)
    assert orgs_of(report) == {own}
    assert report.json()["totals"]["memory_gb_hours"] == 24.0
    assert orgs_of(stack.usage(token, org_guid=own, group_by="org")) == {own}
    denied = assert_error(stack.usage(token, org_guid=other), 403, "forbidden")
    assert other in denied["message"]
    assert_error(stack.usage(token, org_guid=[own, other]), 403, "forbidden")
    none_named = assert_error(stack.usage(token), 403, "forbidden")
    assert "org_guid" in none_named["message"]
    # A space filter narrows the report of an allowed org; it never opens another.
    assert orgs_of(stack.usage(token, org_guid=own, space_guid="space-a")) <= {own}


def test_api_roles_are_read_over_every_page(stack: Stack) -> None:
    """The user holds 231 roles, the last one in ORG_B: the API must follow `next`."""
    token = stack.token("many")
    assert orgs_of(stack.usage(token, org_guid=ORG_B)) == {ORG_B}
    assert_error(stack.usage(token, org_guid=ORG_A), 403, "forbidden")


@pytest.mark.parametrize("user", ["developer", "norole"])
def test_api_users_without_a_manager_role_are_403(stack: Stack, user: str) -> None:
    token = stack.token(user)
    assert_error(stack.usage(token, org_guid=ORG_A), 403, "forbidden")
    assert_error(stack.usage(token, org_guid=ORG_B), 403, "forbidden")
    assert_error(stack.usage(token), 403, "forbidden")


def test_api_403_does_not_say_whether_another_org_exists(stack: Stack) -> None:
    token = stack.token("billing")
    real = stack.usage(token, org_guid=ORG_B).json()["error"]["message"]
    made_up = stack.usage(token, org_guid="made-up-org").json()["error"]["message"]
    assert real.replace(ORG_B, "X") == made_up.replace("made-up-org", "X")


# --------------------------------------------------------------------------- 400


BAD = [
    ({"from": None}, "from"),
    ({"to": None}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-10-01T00:00:00"}, "from"),
    ({"from": "2026-10-01T00:00:00 01:00"}, "from"),
    ({"to": "2026-13-01T00:00:00Z"}, "to"),
    ({"from": "2026-10-02T00:00:00Z"}, "from"),
    ({"from": "2026-10-03T00:00:00Z"}, "from"),
    ({"group_by": "app"}, "group_by"),
    ({"group_by": ""}, "group_by"),
    ({"org_guid": "o" * 256}, "org_guid"),
    ({"org_guid": "bad\x00guid"}, "org_guid"),
    ({"space_guid": "bad\nguid"}, "space_guid"),
    ({"org_guid": ""}, "org_guid"),
    ({"org_guids": ORG_A}, "org_guids"),
    ({"from": ["2026-10-01T00:00:00Z", "2026-10-01T01:00:00Z"]}, "from"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_api_bad_parameters_are_400_naming_the_field(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    params = {k: v for k, v in {**api.WINDOW, **change}.items() if v is not None}
    error = assert_error(
        stack.get("/v1/usage", stack.token("admin"), params), 400, "invalid_request"
    )
    assert error["field"] == field


def test_api_a_guid_of_255_characters_is_accepted(stack: Stack) -> None:
    assert orgs_of(stack.usage(stack.token("admin"), org_guid="o" * 255)) == set()


# --------------------------------------------------------------------------- never a 5xx


def test_api_never_answers_5xx_or_a_traceback(stack: Stack) -> None:
    admin, billing = stack.token("admin"), stack.token("billing")
    attempts: list[requests.Response] = [
        stack.get("/nope"),
        stack.get("/v1/nope", admin),
        stack.get("/v1/usage/../../etc/passwd", admin),
        requests.post(stack.url + "/v1/usage", timeout=10),
        requests.delete(stack.url + "/v1/usage", headers={"Authorization": f"Bearer {admin}"},
                        timeout=10),
        stack.get("/v1/usage?from=%ff%fe&to=%00", admin),
        stack.get("/v1/usage?" + "org_guid=x&" * 1200 + "from=2026-10-01T00:00:00Z", admin),
        stack.get("/v1/usage", admin, {"from": "9999-12-31T23:59:59-15:59",
                                       "to": "9999-12-31T23:59:59+15:59"}),
        stack.get("/v1/usage", admin, {"from": "0001-01-01T00:00:00+15:00", "to": "2026-01-01Z"}),
        stack.get("/v1/usage", billing, {**api.WINDOW, "org_guid": ORG_A, "group_by": "space"}),
        stack.get("/v1/usage", admin, {**api.WINDOW, "foundation": "f1", "group_by": "org"}),
        stack.get("/healthz"),
        stack.get("/openapi.json"),
        stack.get("/docs"),
    ]  # fmt: skip
    for response in attempts:
        assert response.status_code < 500, (response.url, response.text)
        assert "Traceback" not in response.text
        assert response.headers["content-type"].startswith("application/json"), response.url
    assert "Traceback" not in stack.api.logs()


# --------------------------------------------------------------------------- what is logged


def test_api_logs_who_asked_which_orgs_and_the_status_never_the_token(stack: Stack) -> None:
    token = stack.token("billing")
    assert stack.usage(token, org_guid=ORG_A).status_code == 200
    assert stack.usage(token, org_guid=ORG_B).status_code == 403
    lines = [orjson.loads(line) for line in stack.api.logs().splitlines() if line.startswith("{")]
    answered = [x for x in lines if x.get("event") == "request_answered"]
    mine = [x for x in answered if x.get("user_id") == "billing-id"]
    assert {(x["status"], str(x["orgs"])) for x in mine} >= {(200, str([ORG_A])), (403, "None")}
    assert all(x["client_id"] == "cf" for x in mine)
    refused = next(x for x in mine if x["status"] == 403)
    assert ORG_B in refused["refusal"] and refused["orgs_asked"] == [ORG_B]
    signature = token.rsplit(".", 1)[1]
    assert signature not in stack.api.logs()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_api_openapi_document_describes_usage_as_answered(stack: Stack) -> None:
    document = stack.get("/openapi.json").json()
    usage = document["paths"]["/v1/usage"]["get"]
    names = {p["name"] for p in usage["parameters"]}
    assert {"from", "to", "org_guid", "space_guid", "group_by"} <= names
    assert set(usage["responses"]) == {"200", "400", "401", "403", "503"}
    assert usage["security"] == [{"uaaBearer": []}]
    assert document["components"]["securitySchemes"]["uaaBearer"]["scheme"] == "bearer"
    assert (
        "/healthz" in document["paths"] and "security" not in document["paths"]["/healthz"]["get"]
    )


# --------------------------------------------------------------------------- bills, pricing


def test_api_bills_follow_the_same_access_rules(stack: Stack) -> None:
    """Readers get every org's bill; managers their own org's only, and must name it."""
    admin = stack.token("admin")
    assert billed_orgs(stack.bills(admin)) == {ORG_A, ORG_B}
    assert billed_orgs(stack.bills(admin, org_guid=ORG_B)) == {ORG_B}
    manager = stack.token("billing")
    assert billed_orgs(stack.bills(manager, org_guid=ORG_A)) == {ORG_A}
    assert_error(stack.bills(manager, org_guid=ORG_B), 403, "forbidden")
    assert_error(stack.bills(manager), 403, "forbidden")
    assert_error(stack.bills(stack.token("norole"), org_guid=ORG_A), 403, "forbidden")
    assert_unauthorized(stack.bills(None, org_guid=ORG_A))


def test_api_bill_body_is_the_bill_object(stack: Stack) -> None:
    """Amounts as decimal strings; one org's day at the sample's price: 24 GB-hours of an app
    at $0.01 a GB-hour, USD at 0.8, 20% VAT."""
    body = stack.bills(stack.token("admin"), org_guid=ORG_A).json()
    assert body["currency"] == "GBP" and body["closed"] is None
    [org] = body["orgs"]
    assert (org["ex_vat"], org["vat"], org["inc_vat"]) == ("0.19", "0.04", "0.23")
    [line] = org["lines"]
    assert (line["component"], line["vat_code"], line["ex_vat"]) == ("compute", "standard", "0.192")


def test_api_bills_bad_parameters_are_400_naming_the_field(stack: Stack) -> None:
    admin = stack.token("admin")
    error = assert_error(stack.get("/v1/bills", admin, {"to": WINDOW_PARAMS["to"]}), 400,
                         "invalid_request")  # fmt: skip
    assert error["field"] == "from"
    error = assert_error(stack.bills(admin, group_by="org"), 400, "invalid_request")
    assert error["field"] == "group_by"


def test_api_pricing_is_for_any_valid_token(stack: Stack) -> None:
    for user in ("norole", "developer"):
        response = stack.get("/v1/pricing", stack.token(user))
        assert response.status_code == 200, response.text
        assert response.json()["pricing"]["currency"] == "GBP"
    assert_unauthorized(stack.get("/v1/pricing", None))
    error = assert_error(stack.get("/v1/pricing", stack.token("norole"), {"x": "1"}), 400,
                         "invalid_request")  # fmt: skip
    assert error["field"] == "x"
