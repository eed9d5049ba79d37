"""Bills through the real processes: apply a pricing file, ingest a history, bill a month over
the queue, close it, and be refused a pricing that would change it (CONTRACT "Prices and
bills")."""

from __future__ import annotations

import copy
import csv
import io
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg2

from tests.support import pipeline
from tests.support.pipeline import Pipeline, api_guids, simulator
from tests.support.wait import wait_until

DEMO_PRICING = Path(__file__).resolve().parents[2] / "paas_billing" / "demo_pricing.json"
MONTH = ("2026-10-01", "2026-11-01")


def paas_billing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real console command (`python -m paas_billing`), configured by env only."""
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", *args],
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def bill(env: dict[str, str], *extra: str) -> dict[str, Any]:
    done = paas_billing(
        env, "bill", "--from", MONTH[0], "--to", MONTH[1], "--format", "json", *extra
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


def adds_up(body: dict[str, Any]) -> None:
    ex_vat = sum(Decimal(org["ex_vat"]) for org in body["orgs"])
    vat = sum(Decimal(org["vat"]) for org in body["orgs"])
    assert Decimal(body["totals"]["ex_vat"]) == ex_vat
    assert Decimal(body["totals"]["inc_vat"]) == ex_vat + vat


def test_bills_apply_ingest_bill_close_and_refuse_a_change(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    applied = paas_billing(env, "pricing", "apply", str(DEMO_PRICING))
    assert applied.returncode == 0, applied.stderr
    with (
        simulator(events=3000, seed=5, start="2026-09-01T00:00:00Z", days=60) as sim,
        Pipeline(sim.url, database_url, amqp_url) as pipe,
    ):
        pipe.start_producer()
        pipe.start_consumers(1)
        pipe.start_reporter()
        pipe.wait_stored(api_guids(sim.url))

        first = bill(env)
        assert first["currency"] == "GBP" and first["closed"] is None
        assert first["orgs"] and Decimal(first["totals"]["inc_vat"]) > 0
        adds_up(first)
        kinds = {line["resource_type"] for org in first["orgs"] for line in org["lines"]}
        assert {"app", "service"} <= kinds, kinds

        org = first["orgs"][0]
        one = bill(env, "--org", org["org_guid"])
        assert [o["org_guid"] for o in one["orgs"]] == [org["org_guid"]]
        assert one["orgs"][0]["inc_vat"] == org["inc_vat"]

        csv_out = paas_billing(env, "bill", "--from", MONTH[0], "--to", MONTH[1], "--format", "csv")
        assert csv_out.returncode == 0, csv_out.stderr
        rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
        [total] = [row for row in rows if row["space_guid"] == "total (GBP)"]
        assert (total["ex_vat"], total["inc_vat"]) == (
            first["totals"]["ex_vat"],
            first["totals"]["inc_vat"],
        )
        assert sum(1 for row in rows if row["resource_guid"]) == sum(
            len(o["lines"]) for o in first["orgs"]
        )

        closed = paas_billing(env, "bills", "close", "2026-10")
        assert closed.returncode == 0, closed.stderr
        assert "2026-10 closed at" in closed.stdout
        assert f"inc VAT {first['totals']['inc_vat']}" in closed.stdout
        again = paas_billing(env, "bills", "close", "2026-10")
        assert again.returncode == 0 and "was closed already" in again.stdout

        stored = bill(env)
        assert stored["closed"]["differs_now"] is False and stored["closed"]["closed_at"]
        assert stored["orgs"] == first["orgs"] and stored["totals"] == first["totals"]

        # A price edited in place for a closed month: refused, naming it; nothing changes.
        pricing = orjson.loads(DEMO_PRICING.read_bytes())
        edited = copy.deepcopy(pricing)
        edited["plans"][0]["components"][0]["formula"] += " * 2"
        edited_file = tmp_path / "edited.json"
        edited_file.write_bytes(orjson.dumps(edited))
        refused = paas_billing(env, "pricing", "apply", str(edited_file))
        assert refused.returncode == 2
        assert "2026-10" in refused.stderr and pricing["plans"][0]["name"] in refused.stderr
        # A new version from the next month on is a change after the closed month: applied.
        later = copy.deepcopy(pricing)
        version = copy.deepcopy(pricing["plans"][0])
        version["valid_from"] = "2026-11-01"
        version["components"][0]["formula"] += " * 2"
        later["plans"].append(version)
        later_file = tmp_path / "later.json"
        later_file.write_bytes(orjson.dumps(later))
        accepted = paas_billing(env, "pricing", "apply", str(later_file))
        assert accepted.returncode == 0, accepted.stderr
        assert bill(env)["closed"]["differs_now"] is False

        # An event of October arriving late: still answered from what was stored, flagged.
        late_org = org["org_guid"]
        with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO app_usage_events (id, guid, created_at, raw_message, foundation)"
                " VALUES (-1, %s, '2026-10-15T00:00:00Z', %s, 'default')",
                (
                    str(uuid.uuid4()),
                    orjson.dumps(
                        {"state": "STARTED", "instance_count": 4, "memory_in_mb_per_instance": 1024,
                         "app_guid": str(uuid.uuid4()), "app_name": "late", "org_guid": late_org,
                         "space_guid": "late-space", "space_name": "late"}
                    ).decode(),
                ),
            )  # fmt: skip
        conn.close()
        flagged = bill(env)
        assert flagged["closed"]["differs_now"] is True
        assert flagged["totals"] == first["totals"]
        wait_until(lambda: pipe.reporters[0].alive(), what="the reporter still running")
    assert pipeline.count_rows(database_url, pipeline.EventKind.APP) > 0
