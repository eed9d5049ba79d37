"""Usage-event messages as the producer publishes them, and a consumer loop to run in tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
import pika
import psycopg2
from prometheus_client import CollectorRegistry

from consumer.broker import Broker
from consumer.metrics import ConsumerMetrics
from consumer.runner import Runner, utc_now
from consumer.settings import ConsumerSettings
from consumer.writer import Writer
from shared import amqp, events, topology
from shared.states import ApiVersion, EventKind
from tests.support.wait import wait_until

# A fixed, plausible event time.
BASE_TIME = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)


def new_guid() -> str:
    return str(uuid.uuid4())


def v2_app_resource(guid: str, *, when: datetime = BASE_TIME, **entity: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": "STARTED",
        "previous_state": "STOPPED",
        "memory_in_mb_per_instance": 256,
        "previous_memory_in_mb_per_instance": 128,
        "instance_count": 2,
        "previous_instance_count": 1,
        "app_guid": "a1" + guid[2:],
        "app_name": "web",
        "space_guid": "s-guid",
        "space_name": "dev",
        "org_guid": "o-guid",
        "buildpack_guid": "b-guid",
        "buildpack_name": "python_buildpack",
        "package_state": "STAGED",
        "previous_package_state": "PENDING",
        "parent_app_guid": "p-guid",
        "parent_app_name": "web",
        "process_type": "web",
        "task_guid": None,
        "task_name": None,
    }
    body.update(entity)
    return {
        "metadata": {
            "guid": guid,
            "url": f"/v2/app_usage_events/{guid}",
            "created_at": when.isoformat().replace("+00:00", "Z"),
        },
        "entity": body,
    }


def v2_service_resource(guid: str, *, when: datetime = BASE_TIME, **entity: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": "CREATED",
        "org_guid": "o-guid",
        "space_guid": "s-guid",
        "space_name": "dev",
        "service_instance_guid": "si-guid",
        "service_instance_name": "db",
        "service_instance_type": "managed_service_instance",
        "service_plan_guid": "plan-guid",
        "service_plan_name": "small",
        "service_guid": "svc-guid",
        "service_label": "postgres",
        "service_broker_name": "broker",
        "service_broker_guid": "broker-guid",
    }
    body.update(entity)
    return {
        "metadata": {
            "guid": guid,
            "url": f"/v2/service_usage_events/{guid}",
            "created_at": when.isoformat().replace("+00:00", "Z"),
        },
        "entity": body,
    }


def v3_app_resource(guid: str, *, when: datetime = BASE_TIME, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "guid": guid,
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "updated_at": when.isoformat().replace("+00:00", "Z"),
        "state": {"current": "STARTED", "previous": "STOPPED"},
        "app": {"guid": "app-guid", "name": "web"},
        "process": {"guid": "proc-guid", "type": "web"},
        "space": {"guid": "s-guid", "name": "dev"},
        "organization": {"guid": "o-guid"},
        "buildpack": {"guid": "b-guid", "name": "python_buildpack"},
        "task": {"guid": None, "name": None},
        "memory_in_mb_per_instance": {"current": 512, "previous": 256},
        "instance_count": {"current": 3, "previous": 1},
    }
    resource.update(fields)
    return resource


def v3_service_resource(guid: str, *, when: datetime = BASE_TIME, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "guid": guid,
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "updated_at": when.isoformat().replace("+00:00", "Z"),
        "state": "CREATED",
        "space": {"guid": "s-guid", "name": "dev"},
        "organization": {"guid": "o-guid"},
        "service_instance": {"guid": "si-guid", "name": "db", "type": "managed_service_instance"},
        "service_plan": {"guid": "plan-guid", "name": "small"},
        "service_offering": {"guid": "svc-guid", "name": "postgres"},
        "service_broker": {"guid": "broker-guid", "name": "broker"},
    }
    resource.update(fields)
    return resource


def message(
    sequence: int,
    *,
    kind: str = "app",
    api_version: str = "v2",
    guid: str | None = None,
    foundation: str = "default",
    resource: dict[str, Any] | None = None,
    when: datetime = BASE_TIME,
) -> events.Message:
    """A message as the producer publishes it (the resource rendered by orjson)."""
    guid = guid or new_guid()
    if resource is None:
        builders = {
            ("app", "v2"): v2_app_resource,
            ("service", "v2"): v2_service_resource,
            ("app", "v3"): v3_app_resource,
            ("service", "v3"): v3_service_resource,
        }
        resource = builders[(kind, api_version)](guid, when=when)
    return events.Message(
        foundation=foundation,
        kind=EventKind(kind),
        api_version=ApiVersion(api_version),
        sequence=sequence,
        guid=guid,
        resource=msgspec.Raw(orjson.dumps(resource)),
    )


def as_dict(item: events.Message) -> dict[str, Any]:
    """The message as the JSON object its body holds (to change a field and render it again)."""
    value: dict[str, Any] = msgspec.json.decode(events.encode(item))
    return value


def resource_of(item: events.Message) -> dict[str, Any]:
    """The message's resource as a JSON object."""
    value: dict[str, Any] = msgspec.json.decode(item.resource)
    return value


def read(body: bytes) -> events.Message:
    """A body as the message it holds (the consumer decodes it into the event it stores)."""
    return msgspec.json.decode(body, type=events.Message)


class Publisher:
    """Publishes raw bodies to the events exchange with confirms, as the producer does."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(amqp.parameters(url, name="test-publisher"))
        self.channel = self.connection.channel()
        topology.declare_events(self.channel)
        self.channel.confirm_delivery()

    def publish(
        self, body: bytes, routing_key: str = "app", headers: dict[str, Any] | None = None
    ) -> None:
        self.channel.basic_publish(
            exchange=topology.EVENTS_EXCHANGE,
            routing_key=routing_key,
            body=body,
            properties=pika.BasicProperties(
                content_type="application/json", delivery_mode=2, headers=headers
            ),
            mandatory=True,
        )

    def publish_messages(self, messages: Iterable[events.Message]) -> None:
        for item in messages:
            self.publish(events.encode(item), item.kind.value)

    def queue_depth(self, queue: str) -> int:
        result = self.channel.queue_declare(queue=queue, passive=True)
        return int(result.method.message_count)

    def close(self) -> None:
        amqp.close_quietly(self.connection)


@contextmanager
def publisher(url: str) -> Iterator[Publisher]:
    pub = Publisher(url)
    try:
        yield pub
    finally:
        pub.close()


def consumer_settings(database_url: str, amqp_url: str, **overrides: Any) -> ConsumerSettings:
    values: dict[str, Any] = {"database_url": database_url, "amqp_url": amqp_url}
    values.update(overrides)
    return ConsumerSettings(**values)


@contextmanager
def running_consumer(
    database_url: str,
    amqp_url: str,
    now: Callable[[], datetime] | None = None,
    hand_written: bool | None = None,
    **overrides: Any,
) -> Iterator[tuple[Runner, CollectorRegistry]]:
    """The consumer loop on a thread of its own; stopped (as by SIGTERM) at the end.

    `hand_written` forces the whole-delivery reading of shared.amqp_frames on or off.
    """
    registry = CollectorRegistry()
    config = consumer_settings(database_url, amqp_url, **overrides)
    stop = threading.Event()
    metrics = ConsumerMetrics(registry)
    broker = Broker(amqp_url, config.consumer_prefetch, hand_written=hand_written)
    runner = Runner(config, Writer(database_url), metrics, stop, now or utc_now, broker)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(runner.run()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: runner.connected, timeout=30, what="consumer connected")
        yield runner, registry
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "consumer thread did not stop"
        assert result == [0]


def count_rows(database_url: str, table: str = "app_usage_events") -> int:
    return int(query(database_url, f"SELECT count(*) FROM {table}")[0][0])


def query(database_url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        conn.close()


def execute(database_url: str, sql: str, params: Any = None) -> None:
    """Run one statement and commit it."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        conn.close()


def in_a_day(now: datetime) -> datetime:
    return now + timedelta(days=1)
