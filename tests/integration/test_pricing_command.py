"""`paas-billing pricing apply|show` as a subprocess against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import orjson
import yaml

from shared import db, pricing, pricing_file
from tests.support.pricing_documents import sample


def run(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", "pricing", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def write(tmp_path: Path, document: dict[str, object], name: str = "prices.json") -> str:
    path = tmp_path / name
    if name.endswith(".yaml"):
        path.write_text(yaml.safe_dump(document))
    else:
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return str(path)


def test_pricing_command_applies_a_file_then_shows_it(database_url: str, tmp_path: Path) -> None:
    applied = run(database_url, "apply", write(tmp_path, sample()))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("pricing applied: prices.json (sha256 ")
    shown = run(database_url, "show")
    assert shown.returncode == 0, shown.stderr
    for text in (
        "Billing currency: GBP",
        "USD          0.8",
        "standard     0.2",
        "'postgres small'  (memory_in_mb 0, storage_in_mb 102400, number_of_nodes 1)",
        "instance: ceil($time_in_seconds / 3600) * 0.041  [USD, VAT standard]",
        "Closed months: none",
    ):
        assert text in shown.stdout
    as_json = orjson.loads(run(database_url, "show", "--format", "json").stdout)
    expected = pricing_file.parse(orjson.dumps(sample()))
    assert as_json["pricing"] == pricing.to_document(expected)
    assert as_json["file"]["name"] == "prices.json"


def test_pricing_command_same_file_twice_is_unchanged(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, sample())
    assert run(database_url, "apply", path).returncode == 0
    again = run(database_url, "apply", path)
    assert again.returncode == 0
    assert again.stdout.startswith("pricing unchanged: prices.json")


def test_pricing_command_reads_yaml(database_url: str, tmp_path: Path) -> None:
    applied = run(database_url, "apply", write(tmp_path, sample(), "prices.yaml"))
    assert applied.returncode == 0, applied.stderr
    shown = orjson.loads(run(database_url, "show", "--format", "json").stdout)
    assert shown["pricing"] == pricing.to_document(pricing_file.parse(orjson.dumps(sample())))


def test_pricing_command_refused_file_exits_2_one_line_per_problem_nothing_changed(
    database_url: str, tmp_path: Path
) -> None:
    assert run(database_url, "apply", write(tmp_path, sample())).returncode == 0
    before = run(database_url, "show", "--format", "json").stdout
    document = sample()
    document["plans"][0]["components"][0]["formula"] = "$number_of_nodes ** 2"
    document["plans"][1]["storage_in_mb"] = "1e5"
    refused = run(database_url, "apply", write(tmp_path, document, "bad.json"))
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert len(lines) == 2, refused.stderr
    assert "plans[0] 'app'" in lines[0] and "component 'compute'" in lines[0]
    assert "found '*'" in lines[0]
    assert "plans[1] 'postgres small'" in lines[1] and "1e5" in lines[1]
    assert "Traceback" not in refused.stderr
    assert run(database_url, "show", "--format", "json").stdout == before


def test_pricing_command_refuses_a_change_to_a_closed_month(
    database_url: str, tmp_path: Path
) -> None:
    assert run(database_url, "apply", write(tmp_path, sample())).returncode == 0
    conn = db.connect(database_url)
    with db.transaction(conn) as cursor:
        cursor.execute(
            "INSERT INTO closed_months (month, generated_at, currency) VALUES (%s, now(), 'GBP')",
            (date(2026, 9, 1),),
        )
    conn.close()
    document = sample()
    document["vat_rates"][0]["rate"] = "0.25"
    refused = run(database_url, "apply", write(tmp_path, document, "vat.json"))
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("vat_rates 'standard': 0.2 from 2026-09-01T00:00:00Z would become 0.25")
    assert "closed month 2026-09" in line
    assert (
        "Closed months (their prices can no longer change): 2026-09"
        in run(database_url, "show").stdout
    )


def test_pricing_command_show_before_any_apply(database_url: str) -> None:
    shown = run(database_url, "show")
    assert shown.returncode == 0
    assert shown.stdout.startswith("No pricing in force")


def test_pricing_command_configuration_and_file_errors_exit_2(
    database_url: str, tmp_path: Path
) -> None:
    missing = run(None, "apply", write(tmp_path, sample()))
    assert missing.returncode == 2
    assert missing.stderr.strip() == "configuration error: DATABASE_URL is required but not set"
    absent = run(database_url, "apply", str(tmp_path / "nowhere.json"))
    assert absent.returncode == 2
    assert "cannot read" in absent.stderr and "nowhere.json" in absent.stderr
    assert run(database_url).returncode == 2  # a subcommand is required
