"""The usage-event message that the producer publishes and the consumer stores."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Protocol

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


class MessageFields(Protocol):
    """A message's fields, as the consumer decodes and the producer publishes them."""

    @property
    def foundation(self) -> str: ...
    @property
    def kind(self) -> EventKind: ...
    @property
    def api_version(self) -> ApiVersion: ...
    @property
    def sequence(self) -> int: ...
    @property
    def guid(self) -> str: ...
    @property
    def resource(self) -> dict[str, Any]: ...


class PlainMessage(NamedTuple):
    """A message whose every field already has the type and range the model demands.

    The consumer's `plain` makes one from a body it has parsed; the producer's plan makes one
    per event from values it holds (cheaper than the model, which it would only render).
    """

    foundation: str
    kind: EventKind
    api_version: ApiVersion
    sequence: int
    guid: str
    resource: dict[str, Any]


# The keys UsageEventMessage allows (it forbids others), and those it requires.
_KEYS = frozenset(UsageEventMessage.model_fields)
_REQUIRED_KEYS = frozenset(
    name for name, info in UsageEventMessage.model_fields.items() if info.is_required()
)
_KINDS = {kind.value: kind for kind in EventKind}
_VERSIONS = {version.value: version for version in ApiVersion}


def plain(payload: Any) -> PlainMessage | None:
    """The message of a parsed body that is plainly valid, without the model; else None.

    The consumer's hot path: every message this project publishes is plain, and validating
    it with the model costs several times more. Only what UsageEventMessage accepts with the
    same values is plain (a property test holds the two equal); anything else (a lax-mode
    coercion such as "5" for 5, a fault) is None, and the model then says what is wrong.
    """
    if type(payload) is not dict:
        return None
    keys = payload.keys()
    if not (keys >= _REQUIRED_KEYS and keys <= _KEYS):
        return None
    schema_version = payload.get("schema_version", 1)
    foundation, kind, version = payload["foundation"], payload["kind"], payload["api_version"]
    sequence, guid, resource = payload["sequence"], payload["guid"], payload["resource"]
    if not (
        type(schema_version) is int
        and schema_version == 1
        and type(foundation) is str
        and 1 <= len(foundation) <= FOUNDATION_MAX_LENGTH
        and type(kind) is str
        and kind in _KINDS
        and type(version) is str
        and version in _VERSIONS
        and type(sequence) is int
        and sequence >= 1
        and type(guid) is str
        and type(resource) is dict
    ):
        return None
    return PlainMessage(foundation, _KINDS[kind], _VERSIONS[version], sequence, guid, resource)
