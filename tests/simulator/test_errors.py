"""Error statuses and bodies, exactly as the Cloud Controller writes them (spec §1.4, §3, §4)."""

from __future__ import annotations

import pytest
import requests

from tests.simulator import fixtures

TIMEOUT = 10
V2_JSON = "application/json;charset=utf-8"
V3_JSON = "application/json; charset=utf-8"


def get(
    url: str, path: str, headers: dict[str, str] | None = None, **params: str
) -> requests.Response:
    return requests.get(url + path, params=params, headers=headers or {}, timeout=TIMEOUT)


@pytest.mark.parametrize("path", ["/v2/app_usage_events", "/v2/service_usage_events"])
def test_errors_v2_unknown_after_guid_is_400(
    url: str, reader_headers: dict[str, str], path: str
) -> None:
    response = get(url, path, reader_headers, after_guid="no-such-guid")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == V2_JSON
    assert response.content == (
        b'{"description":"The query parameter is invalid: no-such-guid",'
        b'"error_code":"CF-BadQueryParameter","code":10005}\n'
    )


@pytest.mark.parametrize(
    ("path", "noun"), [("/v3/app_usage_events", "app"), ("/v3/service_usage_events", "service")]
)
def test_errors_v3_unknown_after_guid_is_422(
    url: str, reader_headers: dict[str, str], path: str, noun: str
) -> None:
    response = get(url, path, reader_headers, after_guid="no-such-guid")
    assert response.status_code == 422
    assert response.headers["Content-Type"] == V3_JSON
    assert response.json() == {
        "errors": [
            {
                "detail": f"After guid filter must be a valid {noun} usage event guid.",
                "title": "CF-UnprocessableEntity",
                "code": 10008,
            }
        ]
    }


@pytest.mark.parametrize(
    ("path", "limit"), [("/v2/app_usage_events", 10000), ("/v2/service_usage_events", 100)]
)
def test_errors_v2_page_size_over_the_limit(
    url: str, reader_headers: dict[str, str], path: str, limit: int
) -> None:
    assert get(url, path, reader_headers, **{"results-per-page": str(limit)}).status_code == 200
    response = get(url, path, reader_headers, **{"results-per-page": str(limit + 1)})
    assert response.status_code == 400
    assert response.json()["description"] == (
        f"The query parameter is invalid: results_per_page must be <= {limit}"
    )


def test_errors_v3_page_size_over_the_limit(url: str, reader_headers: dict[str, str]) -> None:
    response = get(url, "/v3/app_usage_events", reader_headers, per_page="5001")
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == "Per page must be between 1 and 5000"
    zero = get(url, "/v3/app_usage_events", reader_headers, per_page="0")
    assert zero.json()["errors"][0]["detail"] == "Per page must be a positive integer"


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/v3/app_usage_events", ""),
        ("/v3/service_usage_events", ", 'service_instance_types', 'service_offering_guids'"),
    ],
)
def test_errors_v3_unknown_parameter_is_422(
    url: str, reader_headers: dict[str, str], path: str, extra: str
) -> None:
    response = get(url, path, reader_headers, garbage="1")
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == (
        "Unknown query parameter(s): 'garbage'. Valid parameters are: 'page', 'per_page', "
        "'order_by', 'created_ats', 'updated_ats', 'guids', 'after_guid'" + extra
    )


def test_errors_v2_order_and_q(url: str, reader_headers: dict[str, str]) -> None:
    order_by = get(url, "/v2/app_usage_events", reader_headers, **{"order-by": "created_at"})
    assert order_by.status_code == 500
    assert order_by.json()["error_code"] == "CF-OrderByParameterInvalid"
    direction = get(url, "/v2/app_usage_events", reader_headers, **{"order-direction": "up"})
    assert direction.json()["description"] == (
        "The query parameter is invalid: order_direction must be 'asc' or 'desc' but was 'up'"
    )
    assert get(url, "/v2/app_usage_events", reader_headers, q="state:STARTED").status_code == 400
    managed = get(
        url,
        "/v2/service_usage_events",
        reader_headers,
        q="service_instance_type:managed_service_instance",
    )
    assert managed.status_code == 200
    assert {r["entity"]["service_instance_type"] for r in managed.json()["resources"]} == {
        "managed_service_instance"
    }
    assert "q=service_instance_type:managed_service_instance" in managed.json()["next_url"]


@pytest.mark.parametrize("path", ["/v2/app_usage_events", "/v3/app_usage_events"])
def test_errors_missing_and_bad_tokens_are_401(url: str, path: str) -> None:
    v3 = path.startswith("/v3")
    missing = get(url, path)
    assert missing.status_code == 401
    invalid = get(url, path, {"Authorization": "bearer not-a-token"})
    assert invalid.status_code == 401
    if v3:
        assert missing.json() == {
            "errors": [
                {"detail": "Authentication error", "title": "CF-NotAuthenticated", "code": 10002}
            ]
        }
        assert invalid.json() == {
            "errors": [
                {"detail": "Invalid Auth Token", "title": "CF-InvalidAuthToken", "code": 1000}
            ]
        }
    else:
        assert missing.json() == {
            "description": "Authentication error",
            "error_code": "CF-NotAuthenticated",
            "code": 10002,
        }
        assert invalid.json() == {
            "description": "Invalid Auth Token",
            "error_code": "CF-InvalidAuthToken",
            "code": 1000,
        }


def test_errors_global_auditor_scopes(url: str) -> None:
    auditor = fixtures.bearer(fixtures.token(url, fixtures.AUDITOR))
    forbidden = get(url, "/v2/app_usage_events", auditor)
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "description": "Your token lacks the necessary scopes to access this resource.",
        "error_code": "CF-InsufficientScope",
        "code": 10007,
    }
    assert get(url, "/v2/service_usage_events", auditor).status_code == 200
    assert get(url, "/v3/app_usage_events", auditor).json()["resources"]


def test_errors_read_only_scope_gets_an_empty_v3_list(url: str) -> None:
    reader = fixtures.bearer(fixtures.token(url, fixtures.READER))
    body = get(url, "/v3/app_usage_events", reader).json()
    assert body["resources"] == [] and body["pagination"]["total_results"] == 0
    assert get(url, "/v2/app_usage_events", reader).status_code == 403


def test_errors_unknown_single_event(url: str, reader_headers: dict[str, str]) -> None:
    v2 = get(url, "/v2/service_usage_events/nope", reader_headers)
    assert v2.status_code == 404
    assert v2.json() == {
        "description": "Event could not be found: nope",
        "error_code": "CF-EventNotFound",
        "code": 230002,
    }
    v3 = get(url, "/v3/app_usage_events/nope", reader_headers)
    assert v3.status_code == 404
    assert v3.json()["errors"][0] == {
        "detail": "App usage event not found",
        "title": "CF-ResourceNotFound",
        "code": 10010,
    }


def test_errors_bad_client_credentials_are_401(url: str) -> None:
    for auth, data in [
        (("paas-billing", "wrong"), {"grant_type": "client_credentials"}),
        (None, {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}),
        (("cf", ""), {"grant_type": "password", "username": "admin", "password": "wrong"}),
    ]:
        response = requests.post(url + "/oauth/token", auth=auth, data=data, timeout=TIMEOUT)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "error_description": "Bad credentials"}


def test_errors_unknown_route_is_404(url: str) -> None:
    response = get(url, "/v2/apps")
    assert response.status_code == 404
    assert response.json()["error_code"] == "CF-NotFound"


def test_errors_v3_validation_messages(url: str, reader_headers: dict[str, str]) -> None:
    def detail(**params: str) -> str:
        response = get(url, "/v3/app_usage_events", reader_headers, **params)
        assert response.status_code == 422
        return str(response.json()["errors"][0]["detail"])

    assert detail(after_guid="a,b") == "After guid filter accepts only one guid"
    assert detail(order_by="guid") == "Order by can only be: 'created_at'"
    assert detail(page="0") == "Page must be a positive integer"
    assert detail(**{"created_ats[gt]": "2026-01-01"}) == (
        "Created ats has an invalid timestamp format. Timestamps should be formatted as "
        "'YYYY-MM-DDThh:mm:ssZ'"
    )
    assert detail(updated_ats="2026-01-01T00:00:00Z") == (
        "Filtering by 'updated_ats' is not allowed on this resource."
    )
    assert detail(page="0", per_page="0") == (
        "Page must be a positive integer, Per page must be a positive integer"
    )
