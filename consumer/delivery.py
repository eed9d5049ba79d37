"""One message as the broker delivered it, and the decision about it: store it or reject it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from consumer import plain_body
from shared import errors, events
from shared.messages import UsageEventMessage

# Longest reason text carried in a dead-letter header.
MAX_REASON_LENGTH = 500


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


def decode(delivery: Delivery, now: datetime) -> Accepted | Rejected:
    """Decode and validate a delivery; a failure becomes a Rejected naming field and value.

    A plainly valid body (every one this project publishes) is decoded by `plain_body`;
    any other is validated by the models, which name what is wrong.
    """
    event = plain_body.decode(delivery.body, now)
    if event is not None:
        return Accepted(delivery, event)
    return decode_with_models(delivery, now)


def decode_with_models(delivery: Delivery, now: datetime) -> Accepted | Rejected:
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
        event = events.decode(message, now)
    except errors.InvalidEvent as exc:
        return reject(delivery, payload, str(exc))
    return Accepted(delivery, event)


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
