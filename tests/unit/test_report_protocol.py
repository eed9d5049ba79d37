"""Report request validation and reply serialisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from reporter import protocol
from shared import errors

GOOD = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00+02:00"}


def body(**changes: object) -> bytes:
    data = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def test_report_request_parses_a_good_request() -> None:
    request = protocol.parse_request(
        body(org_guids=["o"], space_guids=["s"], foundations=["f"], group_by="org", extra=1)
    )
    assert request.from_ == datetime(2026, 10, 1, tzinfo=UTC)
    assert request.to == datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=2)))
    assert request.group_by is protocol.GroupBy.ORG
    assert (request.org_guids, request.space_guids, request.foundations) == (("o",), ("s",), ("f",))


def test_report_request_defaults() -> None:
    request = protocol.parse_request(body(org_guids=[], group_by=None))
    assert request.group_by is protocol.GroupBy.RESOURCE
    assert request.org_guids is None and request.space_guids is None


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        (b"not json", None, "not JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b'"text"', None, "JSON object"),
        (b"[" * 5000 + b"]" * 5000, None, "not JSON"),
        (b'{"x": "' + b"a" * (protocol.MAX_BODY_BYTES + 1) + b'"}', None, "bytes"),
        (body(**{"from": ...}), "from", "required"),
        (body(to=None), "to", "required"),
        (body(to="2026-11-01"), "to", "'2026-11-01'"),
        (body(to="2026-11-01T00:00:00"), "to", "offset"),
        (body(to="yesterday"), "to", "'yesterday'"),
        (body(to=1700000000), "to", "1700000000"),
        (body(to="2026-13-01T00:00:00Z"), "to", "2026-13-01"),
        (body(to="2026-10-01T00:00:00Z"), "from", "earlier"),
        (body(to="2026-09-01T00:00:00Z"), "from", "earlier"),
        (body(group_by="app"), "group_by", "'app'"),
        (body(group_by=3), "group_by", "3"),
        (body(org_guids="o"), "org_guids", "list"),
        (body(space_guids=[1]), "space_guids", "1"),
        (body(foundations=[""]), "foundations", "''"),
        (body(org_guids=["o"] * 1001), "org_guids", "1001"),
        (body(org_guids={"a": 1}), "org_guids", "list"),
    ],
)
def test_report_request_rejects_bad_input(raw: bytes, field: str | None, fragment: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        protocol.parse_request(raw)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_report_reply_serialises_with_aliases() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    row = protocol.ServiceRow(
        resource_type="service",
        resource_guid="g",
        resource_name="db",
        foundation="f1",
        org_guid="o",
        space_guid="s",
        space_name="dev",
        service_plan_guid="p",
        service_plan_name="small",
        service_label="postgres",
        memory_gb_hours=0.0,
        instance_hours=2.0,
        service_hours=2.0,
    )
    report = protocol.Report(
        from_=start,
        to=start + timedelta(days=1),
        generated_at=start,
        group_by=protocol.GroupBy.RESOURCE,
        rows=(row,),
        totals=protocol.Totals(memory_gb_hours=0.0, instance_hours=2.0, service_hours=2.0),
    )
    data = orjson.loads(protocol.to_body(protocol.OkReply(report=report)))
    assert data["status"] == "ok"
    assert data["report"]["from"] == "2026-10-01T00:00:00Z"
    assert data["report"]["warnings"] == []
    assert data["report"]["rows"][0]["service_plan_name"] == "small"
    assert "parent_app_guid" not in data["report"]["rows"][0]


def test_report_error_reply_shape() -> None:
    reply = protocol.error_reply(protocol.ErrorCode.INVALID_REQUEST, "bad from", "from")
    assert orjson.loads(protocol.to_body(reply)) == {
        "status": "error",
        "error": {"code": "invalid_request", "message": "bad from", "field": "from"},
    }
