"""The real reporter under a burst of adversarial requests: every one gets an error reply (or a
report, for the odd valid window), the process never dies, and a valid request is answered."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import orjson
import pika

from shared import topology
from tests.support import processes
from tests.support.wait import wait_until

GOOD = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
# Bodies that are not requests at all, or requests with absurd but well-formed windows.
ADVERSARIAL: list[bytes] = [
    b"",
    b"\xff\xfe\x00",
    b"null",
    b'"from"',
    b"[" * 5000 + b"]" * 5000,
    b'{"from": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    b'{"from": "\\ud800", "to": "x"}',
    b" " * (2 * 1024 * 1024),
    orjson.dumps({"from": "0001-01-01T00:00:00+23:59", "to": "9999-12-31T23:59:59-23:59"}),
    orjson.dumps({"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"}),
    orjson.dumps({**GOOD, "org_guids": ["'; DROP TABLE app_usage_events; --"]}),
    orjson.dumps({**GOOD, "space_guids": ["%(from)s"] * 1000}),
    orjson.dumps({**GOOD, "group_by": {"$ne": 1}}),
    orjson.dumps({**GOOD, "foundations": [None]}),
    json.dumps({**GOOD, "from": 10**400}).encode(),
]


def random_bodies(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(0, 400)) for _ in range(count)]


def test_report_request_burst_reporter_survives_and_answers(
    database_url: str, amqp_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO"}
    with processes.running(processes.python_module("reporter", env)) as reporter:
        wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter listening")
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = connection.channel()
        reply_to = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        replies: dict[str, dict[str, Any]] = {}

        def on_reply(_ch: Any, _m: Any, props: Any, body: bytes) -> None:
            replies[props.correlation_id] = orjson.loads(body)

        channel.basic_consume(reply_to, on_reply, auto_ack=True)

        def send(body: bytes) -> str:
            cid = str(uuid.uuid4())
            props = pika.BasicProperties(correlation_id=cid, reply_to=reply_to)
            channel.basic_publish("", topology.REPORT_REQUESTS_QUEUE, body, props)
            return cid

        sent = [send(body) for body in ADVERSARIAL + random_bodies(200)]
        valid = send(orjson.dumps(GOOD))

        def all_answered() -> bool:
            connection.process_data_events(time_limit=0.1)
            return valid in replies and all(cid in replies for cid in sent)

        wait_until(all_answered, timeout=120, what="every request answered")
        codes = {replies[cid]["error"]["code"] for cid in sent if replies[cid]["status"] != "ok"}
        assert codes == {"invalid_request"}, codes
        assert replies[valid]["status"] == "ok"
        connection.close()
        assert reporter.alive()
        assert "Traceback" not in reporter.logs()
        assert reporter.stop() == 0
