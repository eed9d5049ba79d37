"""The usage-event message that the producer publishes and the consumer stores."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.states import ApiVersion, EventKind

# Content type of every message body this project publishes.
CONTENT_TYPE = "application/json"
# Longest foundation name a message may carry.
FOUNDATION_MAX_LENGTH = 64


class UsageEventMessage(BaseModel):
    """One CF usage event, as listed by the API, with its place in the API's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    foundation: str = Field(min_length=1, max_length=FOUNDATION_MAX_LENGTH)
    kind: EventKind
    api_version: ApiVersion
    # Position in the API's order for this foundation and kind: stored as `id`.
    sequence: int = Field(ge=1)
    guid: str
    # The resource as received: v2 `{"metadata", "entity"}`, v3 the resource object.
    resource: dict[str, Any]

    def to_body(self) -> bytes:
        """The JSON body to publish."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_body(cls, body: bytes) -> UsageEventMessage:
        """Parse a body; raises ValueError (orjson) or ValidationError (pydantic)."""
        return cls.model_validate(orjson.loads(body))
