"""Read a pricing file's bytes into plain data, without ever making a number a float.

JSON (the contract's format) and YAML (`.yaml`, `.yml`) are read so that every number stays
the text the file wrote (`pricing_fields.NumberText`), which `pricing_fields.plain_decimal`
then reads as a Decimal or refuses (an exponent, NaN). YAML dates and times stay text too.
A key given twice in one object is refused: JSON and YAML readers would keep the last one
silently, and a price must never depend on which of two lines a reader believed.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from shared import errors
from shared.pricing_fields import NumberText

# File name endings read as YAML; anything else is read as JSON.
YAML_SUFFIXES = (".yaml", ".yml")


def read(content: bytes, *, as_yaml: bool) -> Any:
    """The file's data; InvalidPricing with one problem when it cannot be read at all."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.InvalidPricing([f"file is not UTF-8 text: {exc}"]) from None
    if as_yaml:
        return _read_yaml(text)
    return _read_json(text)


def _read_json(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_float=NumberText,
            parse_int=NumberText,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise errors.InvalidPricing([f"file is not JSON: {exc}"]) from None
    except _Refused as exc:
        raise errors.InvalidPricing([str(exc)]) from None


class _Refused(ValueError):
    """Something the readers accept and a pricing must not hold."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number a pricing may hold")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"key {key!r} is given twice in one object")
        found[key] = value
    return found


class _TextNumberLoader(yaml.SafeLoader):
    """YAML's safe loader with numbers, dates and times kept as their text."""


def _number_text(loader: yaml.SafeLoader, node: yaml.Node) -> NumberText:
    return NumberText(loader.construct_scalar(node))  # type: ignore[arg-type]


def _plain_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    pairs = loader.construct_pairs(node, deep=True)
    keys = [key for key, _value in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _Refused(f"key {key!r} is given twice in one object (line {_line(node)})")
    return dict(pairs)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


_TextNumberLoader.add_constructor("tag:yaml.org,2002:float", _number_text)
_TextNumberLoader.add_constructor("tag:yaml.org,2002:int", _number_text)
_TextNumberLoader.add_constructor("tag:yaml.org,2002:timestamp", _plain_text)
_TextNumberLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def _read_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_TextNumberLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise errors.InvalidPricing([f"file is not YAML: {_one_line(exc)}"]) from None
    except _Refused as exc:
        raise errors.InvalidPricing([str(exc)]) from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
