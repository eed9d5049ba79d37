"""Everything the project does below pika's public API, in one place, on tested pika only.

Three hand-written paths reach into pika's private members (docs/architecture.md, "Hot
paths", says what each saves and how to remove it):

- `reading.LenientConnection`, under every receiving connection (`shared.amqp.connect`),
  replaces the frame decoder (`_read_frame`) so that a message whose properties pika cannot
  decode arrives with `properties.UnreadableProperties` instead of dropping the connection
  (a fault fix: the broker would redeliver that message for ever);
- `reading.DeliveryConnection`, the consumer's, replaces the read loop
  (`_on_data_available`) to hand each whole delivery to its channel at once (speed);
- `writing.PublishingConnection`, the producer's, writes the frames of a page, built by
  `writing.content`, in one call to `_adapter_emit_data` (speed).

`enabled()` is True only on the pika versions these were tested with (TESTED_PIKA_VERSIONS,
the version pyproject.toml pins). On any other version the callers take pika's own classes
and `basic_publish`: slower, and a message with unreadable properties drops the connection
as pika does. A warning says so once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pika
import structlog
from pika.adapters.select_connection import SelectConnection

from shared.amqp_frames import reading, writing

log = structlog.get_logger()

# pika versions the hand-written paths are tested with (tests/unit/test_amqp_*).
TESTED_PIKA_VERSIONS = frozenset({"1.4.4"})


def enabled(version: str | None = None) -> bool:
    """True when the running pika (or `version`) is one the hand-written paths are tested with."""
    return _tested(pika.__version__ if version is None else version)


def receiving(whole_deliveries: bool, hand_written: bool | None = None) -> Any:
    """The connection class for a BlockingConnection: the consumer's reads whole deliveries.

    `hand_written` forces one path or the other (tests); None decides by the pika version.
    """
    if not (enabled() if hand_written is None else hand_written):
        return SelectConnection
    return reading.DeliveryConnection if whole_deliveries else reading.LenientConnection


def publishing(hand_written: bool | None = None) -> Any:
    """The producer's connection class: one that takes pre-marshalled frames, or pika's own."""
    if not (enabled() if hand_written is None else hand_written):
        return SelectConnection
    return writing.PublishingConnection


@lru_cache(maxsize=8)
def _tested(version: str) -> bool:
    if version in TESTED_PIKA_VERSIONS:
        return True
    log.warning(
        "pika_untested",
        version=version,
        tested=sorted(TESTED_PIKA_VERSIONS),
        using="pika's own frame reading and writing: slower, and a message whose properties "
        "pika cannot decode drops the connection",
    )
    return False
