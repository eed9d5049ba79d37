"""The consumer's one decoder: a message body into the event to store, or why it cannot be.

msgspec parses and type-checks a body against `shared.events` in C, in one pass per level
(the envelope, then the resource, then a v2 entity), and the raw message is kept as the
bytes the body holds. Only a refused body pays for naming what is wrong: the field, from
msgspec's path, and the value, read back from the body (`shared.decoding.reason`).

Beyond the schema's types, the decoder takes what the project has always taken (see
`shared.decoding` for why): a `sequence` or `schema_version` that pydantic's lax mode read as
one, and times in other shapes than RFC 3339's usual one. A raw message that holds a `\\u`
escape is read once more to find a NUL (which PostgreSQL cannot store) and name where it is;
one longer than the limit is measured as compact JSON.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from shared import decoding, errors, events
from shared.states import ApiVersion, EventKind

# RFC 3339's usual shape of a time, as the API writes it: read by datetime.fromisoformat
# (as pydantic reads it; a property test holds the two equal). Other shapes go to
# decoding.aware_time.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_MESSAGE = msgspec.json.Decoder(events.Message)
_V2_RESOURCE = msgspec.json.Decoder(events.V2Resource)
# Per kind and version: the decoder that validates the raw message.
_RAW: dict[tuple[EventKind, ApiVersion], msgspec.json.Decoder[Any]] = {
    (EventKind.APP, ApiVersion.V2): msgspec.json.Decoder(events.V2AppEntity),
    (EventKind.SERVICE, ApiVersion.V2): msgspec.json.Decoder(events.V2ServiceEntity),
    (EventKind.APP, ApiVersion.V3): msgspec.json.Decoder(events.V3AppResource),
    (EventKind.SERVICE, ApiVersion.V3): msgspec.json.Decoder(events.V3ServiceResource),
}
# The envelope's leaves read leniently when they are not integers.
_LENIENT = {"sequence": decoding.integer(minimum=1), "schema_version": decoding.literal_one()}


def decode(body: bytes) -> events.StoredEvent:
    """The event a message body carries; raise InvalidEvent naming the field and value."""
    if len(body) > events.MAX_BODY_BYTES:
        raise errors.InvalidEvent(
            f"body: {len(body)} bytes, more than the {events.MAX_BODY_BYTES} "
            "a usage event message may have"
        )
    try:
        message = _MESSAGE.decode(body)
    except decoding.ERRORS:
        message = _leniently(body)
    validator = _RAW[(message.kind, message.api_version)]
    if message.api_version is ApiVersion.V2:
        try:
            head = _V2_RESOURCE.decode(message.resource)
        except decoding.ERRORS as exc:
            raise _refused(exc, message.resource, "resource") from None
        guid, when = head.metadata.guid, _time(head.metadata.created_at, "metadata.created_at")
        raw = head.entity
        try:
            validator.decode(raw)
        except decoding.ERRORS as exc:
            raise _refused(exc, raw, "entity") from None
    else:
        raw = message.resource
        try:
            checked = validator.decode(raw)
        except decoding.ERRORS as exc:
            raise _refused(exc, raw, "resource") from None
        guid, when = checked.guid, _time(checked.created_at, "created_at")
    if guid != message.guid:
        raise errors.InvalidEvent(f"guid: message says {message.guid!r}, resource {guid!r}")
    try:
        raw_json = bytes(raw).decode()
    except UnicodeDecodeError as exc:
        raise errors.InvalidEvent(f"body: not valid JSON: {exc}") from None
    if "\\u" in raw_json or len(raw) > events.MAX_RAW_MESSAGE_BYTES:
        _check_storable(raw)
    return events.StoredEvent(
        message.kind,
        message.foundation,
        message.api_version,
        message.sequence,
        guid,
        when,
        raw_json,
    )


def _leniently(body: bytes) -> events.Message:
    try:
        return decoding.decode(_MESSAGE, body, "body", _LENIENT)
    except decoding.Refused as exc:
        raise errors.InvalidEvent(exc.reason) from None


def _refused(exc: Exception, document: msgspec.Raw, root: str) -> errors.InvalidEvent:
    return errors.InvalidEvent(decoding.reason(exc, bytes(document), root))


def _time(text: str, field: str) -> datetime:
    """An event time with a UTC offset; InvalidEvent naming the field and the text."""
    if _TIME.fullmatch(text) is not None:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # a month 13 and the like: the lenient reading names what is wrong
    try:
        return decoding.aware_time(text)
    except ValueError as exc:
        raise errors.InvalidEvent(f"{field}: {exc} (got {text!r:.80})") from None


def _check_storable(raw: msgspec.Raw) -> None:
    """InvalidEvent naming where a NUL is, or the size when the compact JSON is too large."""
    try:
        value = msgspec.json.decode(raw)
    except decoding.ERRORS as exc:  # e.g. a number beyond a float's range
        raise errors.InvalidEvent(f"body: not valid JSON: {exc}") from None
    _check_text(value)
    size = len(msgspec.json.encode(value))
    if size > events.MAX_RAW_MESSAGE_BYTES:
        raise errors.InvalidEvent(
            f"raw_message: {size} bytes, more than the {events.MAX_RAW_MESSAGE_BYTES} "
            "a usage event may have"
        )


def _check_text(value: Any, path: str = "") -> None:
    """PostgreSQL cannot store NUL in text or jsonb; name where it is."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.InvalidEvent(f"{path or 'value'}: contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")
