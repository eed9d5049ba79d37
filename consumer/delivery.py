"""One message as the broker delivered it, and the decision about it: store it or reject it."""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from consumer import decoder
from shared import amqp, decoding, errors, events

# Longest reason text carried in a dead-letter header.
MAX_REASON_LENGTH = 500


# One of each per message: NamedTuples, cheaper to build than frozen dataclasses
# (docs/architecture.md, "Hot paths").


class Delivery(NamedTuple):
    """A delivered message: its tag on the channel, routing key, properties and body."""

    tag: int
    routing_key: str
    properties: amqp.Properties
    body: bytes


class Accepted(NamedTuple):
    """A delivery that decoded into an event to store."""

    delivery: Delivery
    event: events.StoredEvent


class Rejected(NamedTuple):
    """A delivery that cannot be stored, why, and what is known of it (for the headers)."""

    delivery: Delivery
    reason: str
    foundation: str | None = None
    kind: str | None = None
    guid: str | None = None


def decode(delivery: Delivery) -> Accepted | Rejected:
    """Decode and validate a delivery; a failure becomes a Rejected naming field and value.
    One whose properties could not be read is set aside whatever its body, with what the body
    says of it where it can be read."""
    try:
        decided: Accepted | Rejected = Accepted(delivery, decoder.decode(delivery.body))
    except errors.InvalidEvent as exc:
        decided = reject(delivery, str(exc))
    problem = amqp.unreadable(delivery.properties)
    if problem is None:
        return decided
    reason = f"properties: {problem}"
    if isinstance(decided, Rejected):
        return decided._replace(reason=_clip(f"{reason}; {decided.reason}"))
    event = decided.event
    return Rejected(delivery, _clip(reason), event.foundation, event.kind, event.guid)


class _Envelope(msgspec.Struct):
    """What a dead letter's headers name, read from a body that was refused."""

    foundation: Any = None
    kind: Any = None
    guid: Any = None


def reject(delivery: Delivery, reason: str) -> Rejected:
    """A Rejected carrying the foundation, kind and guid the body names, where it does
    (msgspec skips the rest of the body without building it)."""
    try:
        known = msgspec.json.decode(delivery.body, type=_Envelope)
    except decoding.ERRORS:
        known = _Envelope()
    return Rejected(
        delivery,
        _clip(reason),
        foundation=_text_or_none(known.foundation),
        kind=_text_or_none(known.kind),
        guid=_text_or_none(known.guid),
    )


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value and "\x00" not in value:
        return value[:100]
    return None


def _clip(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 1] + "…"
