"""The bill engine's cost per segment (reporter/billing.py), without the database.

    python benchmarks/billing_engine.py [--segments 350000] [--runs 5] [--seed 1]

Builds a month's segments shaped like a busy platform's all-orgs bill (the shape of issue
14's history: about 15k processes cut by their scaling, 117k tasks, 62k staging pairs and
service instances on 7 plans; most segments short, some whole-month) and prices them with a
pricing of one component per plan, then of two components per plan (the second in another
currency, with a currency rate and a VAT rate changing mid-month, so that track is cut).
Prints the median of --runs: seconds and microseconds per segment, and lines produced.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reporter import billing, tariff
from shared import pricing_file

WINDOW_FROM = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_TO = datetime(2026, 11, 1, tzinfo=UTC)
# Service plan guids of the generated service segments.
SERVICE_PLANS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(7)]
# How segments split between resource types (about the month of all orgs).
MIX = (("app", 0.45), ("task", 0.3), ("staging", 0.15), ("service", 0.10))


def pricing_document(two_components: bool) -> dict[str, Any]:
    """Per-second app, task and staging plans in USD; hourly service plans with storage."""
    second = {
        "name": "platform",
        "currency": "EUR",
        "vat": "reduced",
        "formula": "$time_in_seconds * 0.000001",
    }
    per_second = "$number_of_nodes * $time_in_seconds * ($memory_in_mb / 1024) * (0.01 / 3600)"
    hourly = "ceil($time_in_seconds / 3600) * (0.041 + $storage_in_mb / 1024 * 0.0001)"
    plans: list[dict[str, Any]] = [
        {
            "resource_type": kind,
            "name": kind,
            "valid_from": "2017-01-01",
            "components": [
                {"name": "compute", "currency": "USD", "vat": "standard", "formula": per_second},
                *([second] if two_components else []),
            ],
        }
        for kind in ("app", "task", "staging")
    ]
    plans += [
        {
            "resource_type": "service",
            "service_plan_guid": guid,
            "name": f"plan {n}",
            "valid_from": "2017-01-01",
            "storage_in_mb": str(1024 * (n + 1)),
            "components": [
                {"name": "instance", "currency": "USD", "vat": "standard", "formula": hourly},
                *([second] if two_components else []),
            ],
        }
        for n, guid in enumerate(SERVICE_PLANS)
    ]
    return {
        "currency": "GBP",
        "currency_rates": [
            {"code": "USD", "valid_from": "2017-01-01", "rate": "0.8"},
            {"code": "EUR", "valid_from": "2017-01-01", "rate": "0.86"},
            {"code": "EUR", "valid_from": "2026-10-15T12:00:00Z", "rate": "0.87"},
        ],
        "vat_rates": [
            {"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"},
            {"code": "reduced", "valid_from": "2017-01-01", "rate": "0.05"},
            {"code": "reduced", "valid_from": "2026-10-20", "rate": "0.06"},
        ],
        "plans": plans,
    }


def segments(count: int, seed: int) -> list[billing.Segment]:
    rng = random.Random(seed)
    month = (WINDOW_TO - WINDOW_FROM).total_seconds()
    kinds = rng.choices([k for k, _ in MIX], [w for _, w in MIX], k=count)
    found = []
    for n, kind in enumerate(kinds):
        length = month if rng.random() < 0.05 else rng.expovariate(1 / 3600)
        start = WINDOW_FROM + timedelta(microseconds=rng.randrange(int(month * 1e6)))
        end = min(start + timedelta(microseconds=max(1, int(length * 1e6))), WINDOW_TO)
        if end <= start:
            continue
        found.append(
            billing.Segment(
                kind,
                "default",
                f"{kind}-{n % 40_000:08d}",
                rng.choice(SERVICE_PLANS) if kind == "service" else None,
                start,
                end,
                rng.randint(1, 4),
                rng.choice((128, 256, 512, 1024, 2048)),
            )
        )
    return found


def run(count: int, runs: int, seed: int) -> None:
    import orjson

    work = segments(count, seed)
    print(f"python {platform.python_version()}, {len(work)} segments, median of {runs} runs")
    print("| components per plan | seconds | µs per segment | lines |")
    print("| ---: | ---: | ---: | ---: |")
    for two in (False, True):
        document = orjson.dumps(pricing_document(two))
        laid_out = tariff.build(pricing_file.parse(document))
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            priced = billing.price(laid_out, WINDOW_FROM, WINDOW_TO, work)
            times.append(time.perf_counter() - began)
        best = statistics.median(times)
        per = best / len(work) * 1e6
        print(f"| {2 if two else 1} | {best:.3f} | {per:.2f} | {len(priced.lines)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=350_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run(args.segments, args.runs, args.seed)


if __name__ == "__main__":
    main()
