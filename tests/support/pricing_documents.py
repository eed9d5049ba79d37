"""Pricing files for tests: the contract's example, to change in each test."""

from __future__ import annotations

from typing import Any

SERVICE_PLAN = "9c0b6b8e-2a9f-4c52-8d7a-2c1e0c4f5a10"


def sample() -> dict[str, Any]:
    """The contract's example pricing file."""
    return {
        "currency": "GBP",
        "currency_rates": [{"code": "USD", "valid_from": "2017-01-01", "rate": "0.8"}],
        "vat_rates": [
            {"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"},
            {"code": "zero", "valid_from": "2017-01-01", "rate": "0"},
        ],
        "plans": [
            {
                "resource_type": "app",
                "name": "app",
                "valid_from": "2017-01-01",
                "components": [
                    {
                        "name": "compute",
                        "currency": "USD",
                        "vat": "standard",
                        "formula": "$number_of_nodes * $time_in_seconds * ($memory_in_mb / 1024)"
                        " * (0.01 / 3600)",
                    }
                ],
            },
            {
                "resource_type": "service",
                "service_plan_guid": SERVICE_PLAN,
                "name": "postgres small",
                "valid_from": "2017-01-01",
                "storage_in_mb": 102400,
                "components": [
                    {
                        "name": "instance",
                        "currency": "USD",
                        "vat": "standard",
                        "formula": "ceil($time_in_seconds / 3600) * 0.041",
                    }
                ],
            },
        ],
    }
