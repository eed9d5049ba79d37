"""Messages that cannot be stored are dead-lettered with a reason; the rest flow on."""

from __future__ import annotations

from typing import Any

import orjson
import pika
import pytest

from consumer import dead_letter_command, dead_letters
from shared import events, topology
from tests.support import consumer_events as ev
from tests.support.wait import wait_until


def _dead_letters(amqp_url: str) -> list[tuple[dict[str, Any], bytes]]:
    """Every message in the dead-letter queue (headers, body), handed back afterwards."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        found: list[tuple[dict[str, Any], bytes]] = []
        while True:
            method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE)
            if method is None:
                return found
            found.append((dict(properties.headers or {}), body))
    finally:
        connection.close()


def _body(message: events.Message, **changes: Any) -> bytes:
    payload = ev.as_dict(message)
    payload.update(changes)
    return orjson.dumps(payload)


def test_consumer_dead_letters_malformed_messages_and_stores_the_rest(
    database_url: str, amqp_url: str
) -> None:
    good = [ev.message(i) for i in range(1, 6)]
    guid37 = ev.new_guid() + "x"
    nul_name = ev.message(10)
    nul_resource = ev.v2_app_resource(nul_name.guid, app_name="we\x00b")
    many = ev.message(11)
    many_resource = ev.v2_app_resource(many.guid, instance_count="many")
    huge = ev.message(12)
    huge_resource = ev.v2_app_resource(huge.guid, memory_in_mb_per_instance=10**12)
    out_of_range = ev.message(2**63)  # PostgreSQL refuses it: bigint out of range
    bad = {
        None: b'{"foundation": "default", "kind": ',
        "wrong-types": _body(ev.message(7, guid="wrong-types"), sequence="seven"),
        guid37: _body(
            ev.message(8, guid=guid37[:36]), guid=guid37, resource=ev.v2_app_resource(guid37)
        ),
        nul_name.guid: _body(nul_name, resource=nul_resource),
        many.guid: _body(many, resource=many_resource),
        huge.guid: _body(huge, resource=huge_resource),
        out_of_range.guid: events.encode(out_of_range),
    }
    with ev.publisher(amqp_url) as pub, ev.running_consumer(database_url, amqp_url) as (_, reg):
        pub.publish_messages(good[:2])
        for body in bad.values():
            pub.publish(body, "app", headers={"x-trace": "t-1"})
        pub.publish_messages(good[2:])
        wait_until(lambda: ev.count_rows(database_url) == 5, what="the good events stored")
        wait_until(
            lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == len(bad), what="dead letters"
        )
        assert (
            reg.get_sample_value("paas_billing_consumer_dead_lettered_total", {"kind": "app"})
            == len(bad) - 1
        )
    stored = ev.query(database_url, "SELECT id, guid FROM app_usage_events ORDER BY id")
    assert stored == [(m.sequence, m.guid) for m in good]

    letters = _dead_letters(amqp_url)
    reasons = {h.get(dead_letters.GUID_HEADER): h[topology.REASON_HEADER] for h, _ in letters}
    assert "body: not valid JSON" in reasons[None]
    assert reasons["wrong-types"].startswith("sequence:")
    assert reasons[guid37].startswith("metadata.guid:") and "36" in reasons[guid37]
    assert reasons[nul_name.guid] == "app_name: contains a NUL character"
    assert reasons[many.guid].startswith("instance_count:") and "'many'" in reasons[many.guid]
    assert reasons[huge.guid].startswith("memory_in_mb_per_instance:")
    assert str(10**12) in reasons[huge.guid]
    assert "out of range for type bigint" in reasons[out_of_range.guid]
    for headers, body in letters:
        assert headers["x-trace"] == "t-1"
        assert headers[dead_letters.ROUTING_KEY_HEADER] == "app"
        guid = headers.get(dead_letters.GUID_HEADER)
        assert body == bad[guid]
        if guid is not None:
            assert headers[dead_letters.KIND_HEADER] == "app"
            assert headers[dead_letters.FOUNDATION_HEADER] == "default"


def test_dead_letter_command_lists_and_replays_after_a_fix(
    database_url: str,
    amqp_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AMQP_URL", amqp_url)
    early = ev.message(1)
    other = ev.message(2, kind="service")
    # Rows an operator wrote by hand under the sequence numbers the producer then gave to
    # `early` and `other`: the consumer keeps them and sets the two events aside.
    held = {"app": ev.new_guid(), "service": ev.new_guid()}
    ev.execute(
        database_url,
        "INSERT INTO app_usage_events (id, guid, created_at, raw_message) VALUES"
        """ (1, %(app)s, now(), '{"state": "STARTED", "instance_count": 1,"""
        """ "memory_in_mb_per_instance": 1}')""",
        held,
    )
    ev.execute(
        database_url,
        "INSERT INTO service_usage_events (id, guid, created_at, raw_message) VALUES"
        """ (2, %(service)s, now(), '{"state": "CREATED", "service_instance_guid": "si"}')""",
        held,
    )
    with ev.publisher(amqp_url) as pub:
        with ev.running_consumer(database_url, amqp_url) as (_, registry):
            pub.publish_messages([early, other])
            wait_until(lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 2, what="dead")
            for kind in ("app", "service"):
                conflicts = {"kind": kind}
                assert (
                    registry.get_sample_value("paas_billing_consumer_conflicts_total", conflicts)
                    == 1
                )

        capsys.readouterr()  # drop the consumer's log lines
        assert dead_letter_command.main(["list", "--format", "json"]) == 0
        listed = orjson.loads(capsys.readouterr().out)
        assert {item["guid"] for item in listed} == {early.guid, other.guid}
        first = next(item for item in listed if item["guid"] == early.guid)
        assert first["kind"] == "app" and first["foundation"] == "default"
        assert first["reason"].startswith("sequence 1 of foundation default is held by event")
        assert held["app"] in first["reason"] and first["when"]
        assert dead_letter_command.main(["list"]) == 0
        table = capsys.readouterr().out
        assert early.guid in table and "2 dead letter(s)" in table
        wait_until(lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 2, what="still there")

        assert dead_letter_command.main(["replay", "--guid", early.guid]) == 0
        wait_until(lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 1, what="one left")
        assert dead_letter_command.main(["replay", "--guid", "no-such-guid"]) == 1
        # The fix: the operator removes the rows written by mistake.
        ev.execute(database_url, "DELETE FROM app_usage_events")
        ev.execute(database_url, "DELETE FROM service_usage_events")
        with ev.running_consumer(database_url, amqp_url):
            wait_until(lambda: ev.count_rows(database_url) == 1, what="replayed event stored")
            assert dead_letter_command.main(["replay", "--all"]) == 0
            wait_until(
                lambda: ev.count_rows(database_url, "service_usage_events") == 1,
                what="second replayed event stored",
            )
        wait_until(lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 0, what="none left")
    rows = ev.query(database_url, "SELECT id, guid FROM app_usage_events")
    assert rows == [(1, early.guid)]
