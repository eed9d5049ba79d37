"""Bill requests and replies: validated like report requests, amounts never floats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from reporter import bill_protocol, protocol
from shared import errors

GOOD = {"type": "bill", "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}


def body(**changes: object) -> bytes:
    data = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def test_bill_request_parses_a_good_request() -> None:
    request = bill_protocol.parse(body(org_guids=["o"], space_guids=["s"], foundations=["f"]))
    assert isinstance(request, bill_protocol.BillRequest)
    assert request.from_ == datetime(2026, 10, 1, tzinfo=UTC)
    assert request.to == datetime(2026, 11, 1, tzinfo=UTC)
    assert (request.org_guids, request.space_guids, request.foundations) == (("o",), ("s",), ("f",))


@pytest.mark.parametrize("kind", [..., None, "usage"])
def test_bill_request_without_type_or_usage_is_a_report_request(kind: object) -> None:
    request = bill_protocol.parse(body(type=kind, group_by="org"))
    assert isinstance(request, protocol.ReportRequest)
    assert request.group_by is protocol.GroupBy.ORG


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        (body(type="invoice"), "type", "'invoice'"),
        (body(type=5), "type", "5"),
        (body(**{"from": ...}), "from", "required"),
        (body(to="2026-11-01"), "to", "'2026-11-01'"),
        (body(to="2026-09-01T00:00:00Z"), "from", "earlier"),
        (body(org_guids="o"), "org_guids", "list"),
        (body(space_guids=[""]), "space_guids", "''"),
        (body(foundations=[1]), "foundations", "1"),
        (b"not json", None, "not JSON"),
        (b"[]", None, "JSON object"),
    ],
)
def test_bill_request_refusal_names_the_field(raw: bytes, field: str | None, fragment: str) -> None:
    with pytest.raises(errors.InvalidRequest) as refused:
        bill_protocol.parse(raw)
    assert refused.value.field == field
    assert fragment in str(refused.value)


def reply(amount: Decimal = Decimal("12.3456789012")) -> bill_protocol.BillReply:
    line = bill_protocol.BillLine(
        resource_type="app",
        resource_guid="app-1",
        resource_name="shop",
        foundation="default",
        space_guid="space-1",
        service_plan_guid=None,
        plan_name="app",
        component="compute",
        vat_code="standard",
        ex_vat=amount,
        vat=Decimal("1E-7"),
    )
    figures = {"ex_vat": Decimal("12.35"), "vat": Decimal("0.00"), "inc_vat": Decimal("12.35")}
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    return bill_protocol.BillReply(
        bill=bill_protocol.Bill(
            from_=moment,
            to=datetime(2026, 11, 1, tzinfo=UTC),
            generated_at=moment,
            currency="GBP",
            orgs=(bill_protocol.BillOrg(org_guid="org-1", lines=(line,), **figures),),
            totals=bill_protocol.Figures(**figures),
            warnings=(
                bill_protocol.BillWarning(
                    code="no_plan",
                    message="no plan in force for app",
                    resource_type="app",
                    resources=2,
                    from_=moment,
                    to=moment,
                ),
            ),
        )
    )


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _floats(item)]
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return []


def test_bill_reply_amounts_are_plain_decimal_strings_never_floats() -> None:
    data = orjson.loads(bill_protocol.to_body(reply()))
    assert _floats(data) == []
    bill = data["bill"]
    line = bill["orgs"][0]["lines"][0]
    assert (line["ex_vat"], line["vat"]) == ("12.3456789012", "0.0000001")
    assert bill["orgs"][0]["ex_vat"] == "12.35" and bill["totals"]["vat"] == "0.00"
    assert bill["from"] == "2026-10-01T00:00:00Z" and bill["closed"] is None
    assert line["service_plan_guid"] is None


def test_bill_reply_warnings_leave_out_what_does_not_apply() -> None:
    [warning] = orjson.loads(bill_protocol.to_body(reply()))["bill"]["warnings"]
    assert warning == {
        "code": "no_plan",
        "message": "no plan in force for app",
        "resource_type": "app",
        "service_plan_guid": None,
        "resources": 2,
        "from": "2026-10-01T00:00:00Z",
        "to": "2026-10-01T00:00:00Z",
    }


def test_bill_reply_closed_month() -> None:
    closed = bill_protocol.Closed(closed_at=datetime(2026, 11, 2, tzinfo=UTC), differs_now=True)
    made = reply()
    body_ = bill_protocol.to_body(
        made.model_copy(update={"bill": made.bill.model_copy(update={"closed": closed})})
    )
    assert orjson.loads(body_)["bill"]["closed"] == {
        "closed_at": "2026-11-02T00:00:00Z",
        "differs_now": True,
    }


def test_bill_reply_reads_back_exactly() -> None:
    made = reply(Decimal("0.1000000000000000000000000001"))
    assert bill_protocol.BillReply.model_validate_json(bill_protocol.to_body(made)) == made


def test_bill_reply_refuses_an_amount_given_as_a_json_number() -> None:
    data = orjson.loads(bill_protocol.to_body(reply()))
    data["bill"]["totals"]["ex_vat"] = 12.35
    with pytest.raises(ValidationError, match="decimal string"):
        bill_protocol.BillReply.model_validate_json(orjson.dumps(data))


def test_bill_reply_error_serialises_like_a_report_error() -> None:
    error = protocol.error_reply(protocol.ErrorCode.INVALID_REQUEST, "bad", "from")
    assert orjson.loads(bill_protocol.to_body(error)) == {
        "status": "error",
        "error": {"code": "invalid_request", "message": "bad", "field": "from"},
    }
