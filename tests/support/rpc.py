"""A raw report client and a reporter process, for tests of the reporter's faults."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pika

from shared import topology
from tests.support import processes
from tests.support.wait import wait_until

# A good request over one day.
GOOD = orjson.dumps({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"})


class Client:
    """A raw AMQP client: any properties on a request, replies collected by correlation id."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.reply_to = self.channel.queue_declare("", exclusive=True).method.queue
        self.replies: dict[str, dict[str, Any]] = {}
        self.channel.basic_consume(self.reply_to, self._on_reply, auto_ack=True)

    def _on_reply(self, _ch: Any, _m: Any, props: Any, body: bytes) -> None:
        self.replies[props.correlation_id] = orjson.loads(body)

    def send(self, body: bytes = GOOD, properties: Any = None, **fields: Any) -> str:
        cid = str(uuid.uuid4())
        fields.setdefault("reply_to", self.reply_to)
        props = properties or pika.BasicProperties(
            correlation_id=cid, content_type="application/json", **fields
        )
        if properties is not None:
            props.correlation_id = cid
        self.channel.basic_publish("", topology.REPORT_REQUESTS_QUEUE, body, props)
        return cid

    def wait(self, cid: str, timeout: float = 60) -> dict[str, Any]:
        def arrived() -> bool:
            self.connection.process_data_events(time_limit=0.1)
            return cid in self.replies

        wait_until(arrived, timeout=timeout, what=f"reply {cid}")
        return self.replies[cid]

    def requests_waiting(self) -> int:
        declared = self.channel.queue_declare(topology.REPORT_REQUESTS_QUEUE, passive=True)
        return int(declared.method.message_count)


def start_reporter(database_url: str, amqp_url: str, **extra: str) -> processes.Process:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO", **extra}
    process = processes.python_module("reporter", env)
    wait_until(lambda: "reporter_listening" in process.logs(), what="reporter listening")
    return process
