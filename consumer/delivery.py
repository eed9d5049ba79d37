"""One message as the broker delivered it, and the decision about it: store it or reject it."""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
import orjson
from pydantic import ValidationError

from consumer import plain_body
from shared import amqp_deliveries, errors, events
from shared.messages import UsageEventMessage

# Longest reason text carried in a dead-letter header.
MAX_REASON_LENGTH = 500
# Largest message body taken: a usage event's raw message is at most
# events.MAX_RAW_MESSAGE_BYTES, and the envelope adds little.
MAX_BODY_BYTES = 2 * events.MAX_RAW_MESSAGE_BYTES


# One of each per message: NamedTuples, which cost a third of a frozen dataclass to build.


class Delivery(NamedTuple):
    """A delivered message: its tag on the channel, routing key, properties and body."""

    tag: int
    routing_key: str
    properties: Any
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
    decided = _decode_body(delivery)
    problem = amqp_deliveries.unreadable(delivery.properties)
    if problem is None:
        return decided
    reason = f"properties: {problem}"
    if isinstance(decided, Rejected):
        return decided._replace(reason=_clip(f"{reason}; {decided.reason}"))
    event = decided.event
    return Rejected(delivery, _clip(reason), event.foundation, event.kind, event.guid)


def _decode_body(delivery: Delivery) -> Accepted | Rejected:
    """`decode` of the body: a plainly valid body (every one this project publishes) is
    decoded by `plain_body`; any other is validated by the models, which name what is wrong.
    """
    if len(delivery.body) > MAX_BODY_BYTES:
        reason = (
            f"body: {len(delivery.body)} bytes, more than the {MAX_BODY_BYTES} "
            "a usage event message may have"
        )
        return reject(delivery, _envelope(delivery.body), reason)
    event = plain_body.decode(delivery.body)
    if event is not None:
        return Accepted(delivery, event)
    return decode_with_models(delivery)


def decode_with_models(delivery: Delivery) -> Accepted | Rejected:
    """`decode` for any body: parsed into dicts and validated by the pydantic models."""
    try:
        payload = orjson.loads(delivery.body)
    except orjson.JSONDecodeError as exc:
        return Rejected(delivery, _clip(f"body: not valid JSON: {exc}"))
    try:
        message = UsageEventMessage.model_validate(payload)
    except ValidationError as exc:
        return reject(delivery, payload, describe(exc))
    try:
        event = events.decode(message)
    except errors.InvalidEvent as exc:
        return reject(delivery, payload, str(exc))
    return Accepted(delivery, event)


class _Envelope(msgspec.Struct):
    """What a dead letter's headers name, read from a body too large to decode whole."""

    foundation: Any = None
    kind: Any = None
    guid: Any = None


def _envelope(body: bytes) -> dict[str, Any]:
    """The envelope's foundation, kind and guid (msgspec skips the rest without building it)."""
    try:
        known = msgspec.json.decode(body, type=_Envelope)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return {}
    return {"foundation": known.foundation, "kind": known.kind, "guid": known.guid}


def reject(delivery: Delivery, payload: Any, reason: str) -> Rejected:
    """A Rejected carrying the foundation, kind and guid the payload names, where it does."""
    known = payload if isinstance(payload, dict) else {}
    return Rejected(
        delivery,
        _clip(reason),
        foundation=_text_or_none(known.get("foundation")),
        kind=_text_or_none(known.get("kind")),
        guid=_text_or_none(known.get("guid")),
    )


def describe(exc: ValidationError) -> str:
    """The first validation error as `field: message (got value)`."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{field}: {first['msg']} (got {first.get('input')!r:.80})"


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value and "\x00" not in value:
        return value[:100]
    return None


def _clip(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 1] + "…"
