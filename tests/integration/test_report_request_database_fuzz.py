"""Every request the decoder accepts, PostgreSQL accepts too: a value the database would
refuse (a NUL character, say) must be an `invalid_request` naming the field, never an
`internal_error` from the query. Random requests go through the real answerer and database."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from reporter.answer import Answerer
from reporter.metrics import ReporterMetrics
from reporter.settings import ReporterSettings

GOOD = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
# Characters PostgreSQL text or its UTF-8 encoding refuse, and some it takes that look odd.
ODD = st.sampled_from(["\x00", "\ud800", "\udfff", "\ufffe", "\uffff", "\U0010ffff", "\\", "'"])
items = st.lists(st.text(max_size=6) | ODD, min_size=1, max_size=3).map("".join)
requests = st.fixed_dictionaries(
    {},
    optional={
        "org_guids": st.lists(items, max_size=3),
        "space_guids": st.lists(items, max_size=3),
        "foundations": st.lists(items, max_size=3),
        "group_by": st.sampled_from(["resource", "space", "org"]) | items,
    },
)


# The database is only read, so every example may share the one the fixture made.
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=requests, ascii_only=st.booleans())
def test_report_request_the_decoder_accepts_the_database_accepts(
    database_url: str, request: dict[str, Any], ascii_only: bool
) -> None:
    config = ReporterSettings(
        database_url=database_url,
        amqp_url="amqp://guest:guest@127.0.0.1:5672/%2f",
        report_db_retries=0,
        report_db_retry_wait=timedelta(milliseconds=1),
    )
    answerer = Answerer(config, ReporterMetrics(CollectorRegistry()))
    try:
        body = json.dumps({**GOOD, **request}, ensure_ascii=ascii_only)
        answer = answerer.answer(body.encode("utf-8", "surrogatepass"))
    finally:
        answerer.close()
    reply = orjson.loads(answer.body)
    assert answer.outcome in ("ok", "invalid_request"), reply
    if reply["status"] == "error":
        assert reply["error"]["field"] in (None, *request), reply
