"""The AMQP 0-9-1 frame layout the hand-written paths read and write."""

from __future__ import annotations

import struct

import pika.spec

# Frame types and the frame-end octet.
FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_END = 0xCE
# A frame's start: type, channel, payload size. A method payload starts with its 32-bit id.
FRAME_START = struct.Struct(">BHI")
METHOD_START = struct.Struct(">BHII")
# A content header's payload: class id, weight, body size (then the property flags).
CONTENT_HEADER = struct.Struct(">HHQ")
# The basic class (its content headers) and basic.deliver's method id.
BASIC_CLASS = pika.spec.Basic.INDEX
DELIVER = pika.spec.Basic.Deliver.INDEX
