"""The bill engine's cost per segment (reporter/billing.py), without the database.

    python benchmarks/billing_engine.py [--segments 350000] [--runs 5] [--seed 1]

Builds a month's segments shaped like a busy platform's all-orgs bill (the shape of issue
14's history: about 15k processes cut by their scaling, 117k tasks, 62k staging pairs and
service instances on 7 plans; most segments short, some whole-month) and prices them with a
pricing of one component per plan, then of two components per plan (the second in another
currency, with a currency rate and a VAT rate changing mid-month, so that track is cut).
Each is priced from segments with datetimes (`billing.price`) and from rows with epoch
microseconds (`billing.price_microseconds`). Prints the median of --runs: wall and CPU
seconds (this process's; other sessions' load inflates wall time most), CPU microseconds per
segment, and the lines produced. A second table splits the CPU of the whole bill after the
query: the engine, `bill_assembly.attribute` (each line given an org among 50, a space and a
name), `assemble` (orgs, rounding, totals) and `reply_body` (the JSON reply).
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reporter import bill_assembly, billing, tariff
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


def microsecond_rows(found: list[billing.Segment]) -> list[billing.MicrosecondRow]:
    """The segments as plain tuples with epoch microseconds, as SQL would return them."""
    return [
        (*s[:4], tariff.microseconds(s.start), tariff.microseconds(s.end), s[6], s[7])
        for s in found
    ]


def split(laid_out: tariff.Tariff, rows: list[billing.MicrosecondRow], runs: int) -> str:
    """One row of the second table: CPU seconds of each step of a whole bill."""
    low, high = tariff.microseconds(WINDOW_FROM), tariff.microseconds(WINDOW_TO)
    steps: dict[str, list[float]] = {"engine": [], "attribute": [], "assemble": [], "body": []}
    size = 0
    for _ in range(runs):
        began = time.process_time()
        priced = billing.price_microseconds(laid_out, low, high, rows)
        steps["engine"].append(time.process_time() - began)
        owners = {
            key[:4]: bill_assembly.Attribution(f"org-{n % 50}", f"space-{n % 500}", key[2])
            for n, key in enumerate(priced.lines)
        }
        began = time.process_time()
        lines = list(bill_assembly.attribute(priced, owners, bill_assembly.Filters()))
        steps["attribute"].append(time.process_time() - began)
        began = time.process_time()
        bill = bill_assembly.assemble(
            lines, start=WINDOW_FROM, end=WINDOW_TO, generated_at=WINDOW_TO, currency="GBP"
        )
        steps["assemble"].append(time.process_time() - began)
        began = time.process_time()
        size = len(bill_assembly.reply_body(bill))
        steps["body"].append(time.process_time() - began)
        del priced, owners, lines, bill  # garbage before the next run
    medians = [statistics.median(values) for values in steps.values()]
    cells = " | ".join(f"{value:.3f}" for value in medians)
    return f"{cells} | {sum(medians):.3f} | {size / 1e6:.1f}"


def run(count: int, runs: int, seed: int) -> None:
    """Each input is built alone: a list of 350,000 NamedTuples stays tracked by the cyclic
    garbage collector (plain tuples of strings and ints do not), and each full collection
    walks it, so a second input alive beside the first would slow both."""
    low, high = tariff.microseconds(WINDOW_FROM), tariff.microseconds(WINDOW_TO)
    print(f"python {platform.python_version()}, {count} segments, median of {runs} runs")
    print("| components per plan | input | wall s | CPU s | CPU µs per segment | lines |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    splits = []
    for two in (False, True):
        laid_out = tariff.build(pricing_file.parse(orjson.dumps(pricing_document(two))))
        for label in ("datetimes", "microseconds"):
            found = segments(count, seed)
            priced_count = len(found)
            rows = microsecond_rows(found) if label == "microseconds" else []
            if rows:
                del found[:]
            gc.collect()
            walls, cpus, lines = [], [], 0
            for _ in range(runs):
                wall, cpu = time.perf_counter(), time.process_time()
                if rows:
                    priced = billing.price_microseconds(laid_out, low, high, rows)
                else:
                    priced = billing.price(laid_out, WINDOW_FROM, WINDOW_TO, found)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                lines = len(priced.lines)
                del priced  # garbage before the next run, as a bill is once replied
            cpu_time = statistics.median(cpus)
            print(
                f"| {2 if two else 1} | {label} | {statistics.median(walls):.3f} | "
                f"{cpu_time:.3f} | {cpu_time / priced_count * 1e6:.2f} | {lines} |"
            )
            if rows:
                splits.append(f"| {2 if two else 1} | {split(laid_out, rows, runs)} |")
    print("\nCPU seconds of a whole bill after the query (microsecond rows):\n")
    print("| components per plan | engine | attribute | assemble | reply_body | total | MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(splits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=350_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run(args.segments, args.runs, args.seed)


if __name__ == "__main__":
    main()
