"""The sample pricing shipped for the demo prices everything the simulator's marketplace has."""

from __future__ import annotations

import random
from importlib import resources

from reporter import billing, tariff
from shared import pricing_file
from simulator import catalog
from tests.support.billing_cases import at


def demo_pricing() -> tariff.Tariff:
    content = resources.files("paas_billing").joinpath("demo_pricing.json").read_bytes()
    return tariff.build(pricing_file.parse(content))


def test_demo_pricing_prices_every_resource_type_and_simulator_plan() -> None:
    keys = set(demo_pricing().plans)
    assert {("app", None), ("task", None), ("staging", None)} <= keys
    assert {("service", guid) for guid in catalog.PLAN_GUIDS.values()} <= keys


def test_demo_pricing_simulator_plan_guids_are_the_same_for_every_seed() -> None:
    for seed in (1, 2, 3):
        plans = catalog.make_plans(random.Random(seed))
        assert {plan.guid for plan in plans} == set(catalog.PLAN_GUIDS.values())


def test_demo_pricing_bills_an_hour_of_each() -> None:
    segments = [
        billing.Segment(kind, "default", kind, None, at(0), at(3600), 2, 1024)
        for kind in ("app", "task", "staging")
    ]
    segments += [
        billing.Segment("service", "default", f"db-{n}", guid, at(0), at(3600), 0, 0)
        for n, guid in enumerate(catalog.PLAN_GUIDS.values())
    ]
    priced = billing.price(demo_pricing(), at(0), at(hours=1), segments)
    assert priced.unpriced == []
    assert {key.resource_guid for key in priced.lines} == {s.resource_guid for s in segments}
    assert all(line.ex_vat > 0 for line in priced.lines.values())
