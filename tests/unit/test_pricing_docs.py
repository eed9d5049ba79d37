"""docs/pricing.md's example plans are valid, and price what the text says they do."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from reporter import billing
from tests.support.billing_cases import at, build, document

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"


def example_plans() -> list[dict[str, Any]]:
    """The JSON blocks that are one whole plan (the others are sketches with `...`)."""
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    return [orjson.loads(b) for b in blocks if b.startswith('{"resource_type"') and "..." not in b]


def test_pricing_docs_example_plans_are_valid_and_price_as_described() -> None:
    app, service = example_plans()
    pricing = build(document(app, service))
    priced = billing.price(
        pricing,
        at(0),
        at(hours=1),
        [billing.Segment("app", "default", "a", None, at(0), at(3600), 2, 512)],
    )
    [line] = priced.lines.values()
    assert (line.ex_vat, line.vat) == (Decimal("0.008"), Decimal("0.0016"))
    assert service["service_plan_guid"] in {key[1] for key in pricing.plans}
