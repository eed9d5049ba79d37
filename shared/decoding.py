"""What the project's msgspec decoders share: why a document was refused, and lenient leaves.

`reason(exc, document, root)` turns a msgspec error, which names the path and what was
expected but not the value, into `field: what was expected (got value)`, the value read
from the document itself. It runs only for a document that was refused.

A few leaf values were read by pydantic's lax mode when the project decoded with pydantic
models, and what that accepted is what the project still accepts: an integer given as text
or as a whole float (the message's `sequence`, a CF page's `total_results`), `true` or `1.0`
for the schema version, and event times in shapes other than RFC 3339's usual one. Those
leaves are read here by pydantic's own parsers (exact by construction), and only for values
that are not already of the schema's JSON type: the schemas are msgspec structs, and every
document this project publishes or the CF API serves decodes without this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from pydantic import Field, TypeAdapter, ValidationError

T = TypeVar("T")
# A leaf reader: the field's name and the value as decoded; the value to put in its place.
Leaf = Callable[[str, Any], Any]
# msgspec's message: what was wrong, then where (`$` the document, `.name` a field, `[3]` an
# item); at the document itself the place is left out.
_MESSAGE = re.compile(r"(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.S)
_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `(?P<name>[^`]+)`")
# One step of a path: `.name` or `[index]`.
_STEP = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>-?\d+)\]")
# Widest value quoted in a reason.
VALUE_WIDTH = 80
# What msgspec raises on a document it cannot read: a DecodeError (ValidationError among
# them), or a RecursionError for one nested deeper than the interpreter recurses.
ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, RecursionError)


class Refused(ValueError):
    """A document the decoder does not take; `reason` names the field and the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason(exc: Exception, document: bytes, root: str, prefix: str = "") -> str:
    """`field: what (got value)` for a msgspec error; `root` names the document itself, and
    `prefix` goes before the names of its fields (where the document sits in a larger one)."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return f"{root}: not valid JSON: {text}"
    found = _MESSAGE.fullmatch(text)
    what, path = (found["what"], found["path"] or "") if found else (text, "")
    named = _FIELD.fullmatch(what)
    if named is not None:
        path += "." + named["name"]
    field = prefix + path.lstrip(".") if path else root
    if what.startswith("Object missing required field"):
        return f"{field}: required, missing"
    what = "unknown field" if named is not None else _without_value(what)
    value = _value_at(document, path)
    return (
        f"{field}: {what}"
        if value is _MISSING
        else f"{field}: {what} (got {value!r:.{VALUE_WIDTH}})"
    )


def decode(
    decoder: msgspec.json.Decoder[T], document: bytes, root: str, leaves: Mapping[str, Leaf]
) -> T:
    """`decoder.decode(document)`, its top-level `leaves` read leniently where they are not of
    the schema's type; raise Refused naming the field and the value.

    Meant for the except branch of a hot path's own `decoder.decode`: a document that is
    refused only for a lenient leaf is decoded once more with that leaf read, its other
    fields re-rendered as msgspec renders them (the same JSON values).
    """
    try:
        return decoder.decode(document)
    except msgspec.ValidationError as exc:
        found = _MESSAGE.fullmatch(str(exc))
        if found is None or (found["path"] or "").lstrip(".") not in leaves:
            raise Refused(reason(exc, document, root)) from None
        refusal = exc
    except ERRORS as exc:
        raise Refused(reason(exc, document, root)) from None
    try:
        data = msgspec.json.decode(document)
    except ERRORS:
        raise Refused(reason(refusal, document, root)) from None
    for name, read in leaves.items():
        if name in data:
            data[name] = read(name, data[name])
    rendered = msgspec.json.encode(data)
    try:
        return decoder.decode(rendered)
    except ERRORS as exc:
        raise Refused(reason(exc, rendered, root)) from None


def _without_value(what: str) -> str:
    """msgspec's message less what it says of the value (the reason quotes the value)."""
    if what.startswith("Invalid enum value"):
        return "Invalid enum value"
    return re.sub(r", got `[^`]*`$", "", what)


def integer(minimum: int | None = None, optional: bool = False) -> Leaf:
    """A leaf that is an integer (at least `minimum`; or null when `optional`), or what
    pydantic's lax mode reads as one: text such as "5" or " 5 ", a whole float, a boolean."""
    kind: Any = Annotated[int, Field(ge=minimum)] if minimum is not None else int
    return _lax(kind | None if optional else kind)


def literal_one() -> Leaf:
    """A leaf that must be 1, or what pydantic's lax mode takes for it (`true`, `1.0`)."""
    return _lax(Literal[1])


def aware_time(text: str) -> datetime:
    """An event time in a shape other than RFC 3339's usual one, read as pydantic reads a
    datetime (a `t` or a space for the `T`, minutes without seconds, more than six digits of
    fraction, Unix seconds as text, ...); it must carry a UTC offset. Raise ValueError."""
    try:
        value = _datetime().validate_python(text)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"]) from None
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    return value


def _lax(kind: Any) -> Leaf:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def read(name: str, value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            what = exc.errors()[0]["msg"]
            raise Refused(f"{name}: {what} (got {value!r:.{VALUE_WIDTH}})") from None

    return read


@lru_cache(maxsize=1)
def _datetime() -> TypeAdapter[datetime]:
    return TypeAdapter(datetime)


class _Missing:
    pass


_MISSING: Any = _Missing()


def _value_at(document: bytes, path: str) -> Any:
    """The value at a msgspec path in the document; _MISSING where it cannot be read."""
    try:
        value = msgspec.json.decode(document)
    except ERRORS:
        return _MISSING
    for step in _STEP.finditer(path):
        name, index = step["name"], step["index"]
        if name is not None and isinstance(value, dict) and name in value:
            value = value[name]
        elif (
            index is not None and isinstance(value, list) and -len(value) <= int(index) < len(value)
        ):
            value = value[int(index)]
        else:
            return _MISSING
    return value
