"""Message properties that the broker holds but pika cannot decode (issue 21, item 5).

An AMQP timestamp header holding 2^62 seconds is valid on the wire and RabbitMQ keeps it,
but no `datetime` can hold it: pika's table decoder raises, and before the fix that dropped
the reader's connection every time the message was delivered.
"""

from __future__ import annotations

import struct
from typing import Any

import pika

# Seconds in the unreadable timestamp: far past datetime's year 9999.
POISON_SECONDS = 2**62
# A 64-bit integer header value, encoded as `l`, replaced with the timestamp once encoded.
_PLACEHOLDER = 0x5EADBEEF5EADBEEF
_ENCODED_PLACEHOLDER = b"l" + struct.pack(">q", _PLACEHOLDER)


class TimestampHeaderProperties(pika.BasicProperties):  # type: ignore[misc]
    """Basic properties whose header `name` is an AMQP timestamp holding `seconds`."""

    def __init__(self, name: str = "x-sent-at", seconds: int = POISON_SECONDS, **fields: Any):
        headers = dict(fields.pop("headers", None) or {})
        headers[name] = _PLACEHOLDER
        super().__init__(headers=headers, **fields)
        self.poison_seconds = seconds

    def encode(self) -> list[bytes]:
        encoded = b"".join(super().encode())
        assert encoded.count(_ENCODED_PLACEHOLDER) == 1
        timestamp = b"T" + struct.pack(">Q", self.poison_seconds)
        return [encoded.replace(_ENCODED_PLACEHOLDER, timestamp)]
