"""The dead-letter queue as an operator sees it: browse without consuming, replay after a fix.

Browsing takes messages with basic.get and hands them back with nack(requeue): nothing is
removed. Replay republishes a message to the events exchange (confirmed) before acking it off
the dead-letter queue, so a crash in between leaves a copy in both places (the consumer's guid
dedupe makes that harmless), never in neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumer import dead_letters
from shared import amqp, errors, topology

# Headers the broker adds when it dead-letters on its own (delivery limit reached).
_BROKER_DEATH_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
)


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message and what its headers say about it."""

    tag: int
    body: bytes
    properties: amqp.Properties
    guid: str | None
    kind: str | None
    foundation: str | None
    reason: str
    when: str | None
    routing_key: str | None

    def summary(self) -> dict[str, str | None]:
        return {
            "guid": self.guid,
            "kind": self.kind,
            "foundation": self.foundation,
            "reason": self.reason,
            "when": self.when,
        }


def browse(channel: amqp.Channel, limit: int) -> Iterator[DeadLetter]:
    """Take up to `limit` messages unacked, one at a time (only the one in hand is kept in
    memory, whatever the bodies weigh); the caller acks or returns them."""
    for _ in range(limit):
        try:
            method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE)
        except amqp.CONNECTION_ERRORS as exc:
            failed = f"reading the dead-letter queue failed: {exc!r}"
            raise errors.BrokerUnavailable(failed) from exc
        if method is None:
            return
        yield _read(method.delivery_tag, method.routing_key, properties, body)


def give_back(channel: amqp.Channel) -> None:
    """Return every message this channel holds unacked to the queue."""
    try:
        channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
    except amqp.CONNECTION_ERRORS as exc:
        raise errors.BrokerUnavailable(f"returning dead letters failed: {exc!r}") from exc


def replay(channel: amqp.Channel, letter: DeadLetter) -> None:
    """Republish to the events exchange with confirms, then remove from the dead letters."""
    routing_key = letter.routing_key or letter.kind
    if routing_key not in ("app", "service"):
        raise errors.PublishFailed(f"cannot tell the kind of {letter.guid}: got {routing_key!r}")
    headers = dict(getattr(letter.properties, "headers", None) or {})
    for name in (*dead_letters.ADDED_HEADERS, *_BROKER_DEATH_HEADERS):
        headers.pop(name, None)
    properties = dead_letters.copy_properties(letter.properties, headers)
    dead_letters.confirmed_publish(
        channel, topology.EVENTS_EXCHANGE, routing_key, letter.body, properties
    )
    try:
        channel.basic_ack(delivery_tag=letter.tag)
    except amqp.CONNECTION_ERRORS as exc:
        raise errors.BrokerUnavailable(f"removing a replayed dead letter failed: {exc!r}") from exc


def _read(tag: int, routing_key: str, properties: amqp.Properties, body: bytes) -> DeadLetter:
    """What a dead letter's headers say, whatever they hold (anyone may publish to the
    dead-letter exchange, and the broker keeps headers that pika cannot decode)."""
    headers = getattr(properties, "headers", None)
    headers = headers if isinstance(headers, dict) else {}
    deaths = headers.get("x-death")
    first_death = deaths[-1] if isinstance(deaths, list) and deaths else {}
    first_death = first_death if isinstance(first_death, dict) else {}
    reason = _text(headers.get(topology.REASON_HEADER))
    if reason is None:
        broker_reason = headers.get("x-first-death-reason") or first_death.get("reason")
        reason = f"dead-lettered by the broker: {_text(broker_reason) or 'unknown'}"
    problem = amqp.unreadable(properties)
    if problem is not None:
        reason += f"; its properties cannot be read in full, replay leaves out: {problem}"
    when = headers.get(dead_letters.DEAD_LETTERED_AT_HEADER) or first_death.get("time")
    original_keys = first_death.get("routing-keys")
    original_key = original_keys[0] if isinstance(original_keys, list) and original_keys else None
    return DeadLetter(
        tag=tag,
        body=body,
        properties=properties,
        guid=_text(headers.get(dead_letters.GUID_HEADER)),
        kind=_text(headers.get(dead_letters.KIND_HEADER)),
        foundation=_text(headers.get(dead_letters.FOUNDATION_HEADER)),
        reason=reason,
        when=when.isoformat() if isinstance(when, datetime) else _text(when),
        routing_key=_text(headers.get(dead_letters.ROUTING_KEY_HEADER))
        or _text(original_key)
        or (routing_key or None),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
