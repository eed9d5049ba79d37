"""The field types of a pricing file, each refusing a bad value with a message that names it.

Numbers arrive as the text the file wrote (`pricing_reader` never lets a JSON or YAML number
become a float) and are read by `plain_decimal`: digits, one optional point, an optional sign;
no exponent, no NaN, no binary float.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainValidator

from shared import errors, formula_syntax

# A plain decimal number: optional sign, digits, optional fraction.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# A decimal written with an exponent, refused with its own message.
_EXPONENT_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+")
# A date, which means 00:00 UTC of that day.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An RFC 3339 time with a mandatory offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")
# An ISO 4217 currency code.
_CURRENCY = re.compile(r"[A-Z]{3}")
# Longest name, code or guid accepted.
MAX_TEXT_LENGTH = 255


class NumberText(str):
    """The text of a number as the file wrote it (a JSON or YAML number, not a string)."""

    __slots__ = ()


def plain_decimal(value: object) -> Decimal:
    """A Decimal from a plain decimal string, a file's number text, an int or a Decimal."""
    if isinstance(value, bool | float):
        raise ValueError(f"{value!r} is a binary float or a boolean, not a decimal number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN_DECIMAL.fullmatch(text):
            return Decimal(text)
        if _EXPONENT_DECIMAL.fullmatch(text):
            raise ValueError(f"{text} has an exponent: write the number plainly")
    raise ValueError(f"{_show(value)} is not a plain decimal number such as 0.041")


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"{value} is not above 0")
    return value


def moment(value: object) -> datetime:
    """A UTC time from a date (00:00 UTC) or an RFC 3339 time with an offset."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset")
        return value.astimezone(UTC)
    if isinstance(value, str) and not isinstance(value, NumberText):
        try:
            if _DATE.fullmatch(value):
                return datetime.combine(date.fromisoformat(value), time(), UTC)
            if _RFC3339.fullmatch(value):
                parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
                return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValueError(f"{value!r} is not a valid date or time") from None
    raise ValueError(
        f"{_show(value)} is not a date (2017-01-01) or an RFC 3339 time with an offset "
        "(2017-01-01T00:00:00Z)"
    )


def _text(value: object) -> str:
    if not isinstance(value, str) or isinstance(value, NumberText):
        raise ValueError(f"{_show(value)} is not text")
    if not value.strip():
        raise ValueError("is empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"is {len(value)} characters long, more than {MAX_TEXT_LENGTH}")
    return value


def _currency(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise ValueError(f"{value!r} is not a currency code of three capital letters such as GBP")
    return value


def _formula(value: object) -> str:
    if not isinstance(value, str) or isinstance(value, NumberText):
        raise ValueError(f"{_show(value)} is not text")
    try:
        formula_syntax.parse(value)
    except errors.InvalidFormula as exc:
        raise ValueError(str(exc)) from None
    return value


def _show(value: object) -> str:
    text = repr(str(value) if isinstance(value, NumberText) else value)
    return text if len(text) <= 80 else text[:77] + "..."


# A plain decimal number (string or number text), at least 0.
NonNegativeDecimal = Annotated[
    Decimal, PlainValidator(plain_decimal), AfterValidator(_not_negative)
]
# A plain decimal number above 0.
PositiveDecimal = Annotated[Decimal, PlainValidator(plain_decimal), AfterValidator(_positive)]
# A date or an RFC 3339 time, as a UTC datetime.
Moment = Annotated[datetime, PlainValidator(moment)]
# Non-empty text of at most MAX_TEXT_LENGTH characters.
Text = Annotated[str, PlainValidator(_text)]
# A currency code (ISO 4217 style).
CurrencyCode = Annotated[str, PlainValidator(_text), AfterValidator(_currency)]
# A formula that parses (`formula_syntax`).
FormulaText = Annotated[str, PlainValidator(_formula)]
