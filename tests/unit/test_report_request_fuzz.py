"""Fuzz of the reporter's request decoder: any body is an ok request or an `invalid_request`
naming the field; nothing else ever escapes (which would cost a reply or kill the reporter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporter import protocol
from shared import errors

# Fields a request may name in an error (None: the body as a whole).
NAMED_FIELDS = ("from", "to", "group_by", *protocol.FILTER_FIELDS)
FIELDS = {None, *NAMED_FIELDS}
GOOD = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
FUZZ = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)

adversarial_strings = st.sampled_from(
    [
        "",
        "\x00",
        "\ud800",  # a lone surrogate (not encodable as UTF-8)
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-10-01T24:00:00Z",
        "2026-10-01T00:00:00+99:99",
        "2026-10-01T00:00:00",
        "2026-10-01T00:00:00.1234567Z",
        "2026-10-01t00:00:00z",
        "resource",
        "org' OR '1'='1",
        "'; DROP TABLE app_usage_events; --",
        "%s %(from)s {0}",
        "\u202e" * 50,
        "x" * 101,
        "9" * 5000,
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    adversarial_strings,
    st.datetimes().map(lambda t: t.isoformat()),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=40,
)
field_values = st.one_of(json_values, st.lists(adversarial_strings, max_size=3))


def check(body: bytes) -> None:
    """Either a valid request or InvalidRequest naming a known field; the reply serialises."""
    try:
        request = protocol.parse_request(body)
    except errors.InvalidRequest as exc:
        assert exc.field in FIELDS, exc.field
        assert str(exc)
        reply = protocol.error_reply(protocol.ErrorCode.INVALID_REQUEST, str(exc), exc.field)
        assert orjson.loads(protocol.to_body(reply))["error"]["field"] == exc.field
        return
    assert isinstance(request.from_, datetime) and request.from_.tzinfo is not None
    assert request.from_ < request.to
    for moment in (request.from_, request.to):  # what PostgreSQL and the arithmetic accept
        offset = moment.utcoffset()
        assert offset is not None and abs(offset) <= protocol.MAX_UTC_OFFSET
        moment.astimezone(UTC)


def test_report_request_fuzz_times_postgresql_would_refuse_are_invalid() -> None:
    """Found by the burst test: a +23:59 offset passed the decoder and PostgreSQL refused it."""
    for name, value in (
        ("from", "0001-01-01T00:00:00+23:59"),
        ("to", "9999-12-31T23:59:59-01:00"),
        ("from", "0001-01-01T00:00:00+01:00"),
    ):
        try:
            protocol.parse_request(json.dumps({**GOOD, name: value}).encode())
        except errors.InvalidRequest as exc:
            assert exc.field == name
        else:
            raise AssertionError(f"{name}={value} was accepted")


@FUZZ
@given(st.binary(max_size=300))
def test_report_request_fuzz_arbitrary_bytes(body: bytes) -> None:
    check(body)


@FUZZ
@given(json_values)
def test_report_request_fuzz_arbitrary_json(value: Any) -> None:
    check(json.dumps(value).encode())


@FUZZ
@given(st.dictionaries(st.sampled_from(NAMED_FIELDS), field_values, max_size=6))
def test_report_request_fuzz_wrong_types_in_known_fields(changes: dict[str, Any]) -> None:
    check(json.dumps({**GOOD, **changes}).encode())


@FUZZ
@given(st.sampled_from(NAMED_FIELDS), json_values)
def test_report_request_fuzz_one_bad_field_is_named(name: str, value: Any) -> None:
    body = json.dumps({**GOOD, name: value}).encode()
    try:
        protocol.parse_request(body)
    except errors.InvalidRequest as exc:
        # from >= to is reported on `from`, whichever of the two moved; a lone surrogate
        # makes the whole body invalid JSON (no field).
        if exc.field is None:
            assert "not JSON" in str(exc), exc
        else:
            assert exc.field in (name, "from"), (name, exc.field)


@FUZZ
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from([b"[", b"{", b'{"a":']))
def test_report_request_fuzz_deep_nesting(depth: int, opener: bytes) -> None:
    closer = {b"[": b"]", b"{": b"}", b'{"a":': b"}"}[opener]
    inner = b"1" if opener != b"{" else b""
    body = opener * depth + inner + closer * depth
    check(body)
    check(b'{"from": ' + b"[" * depth + b"]" * depth + b', "to": "2026-11-01T00:00:00Z"}')


def test_report_request_fuzz_huge_bodies_are_refused_unparsed() -> None:
    big = protocol.MAX_BODY_BYTES + 1
    for body in (
        b" " * big,
        b'{"from": "' + b"9" * big + b'"}',
        json.dumps({**GOOD, "org_guids": ["x" * 36] * 40_000}).encode(),
    ):
        check(body)
    many = json.dumps({**GOOD, "org_guids": ["o"] * (protocol.MAX_FILTER_ITEMS + 1)}).encode()
    try:
        protocol.parse_request(many)
    except errors.InvalidRequest as exc:
        assert exc.field == "org_guids"
    else:
        raise AssertionError("a filter over the limit was accepted")


def test_report_request_fuzz_invalid_utf8_and_lone_surrogates() -> None:
    for body in (
        b'{"from": "\xff\xfe", "to": "2026-11-01T00:00:00Z"}',
        b'{"from": "\\ud800", "to": "2026-11-01T00:00:00Z"}',
        b"\xef\xbb\xbf" + json.dumps(GOOD).encode(),  # a byte-order mark
        json.dumps({**GOOD, "org_guids": ["\ud800"]}).encode(),
    ):
        check(body)
