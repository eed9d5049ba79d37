"""`python -m simulator`: configuration, readiness, truth export and clean shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import settings
from simulator.truth import expected_usage, load
from tests.simulator import fixtures
from tests.simulator.reference import usage_from_events


def test_main_help_documents_every_flag_and_its_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        cwd=fixtures.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in settings.Settings.model_fields:
        assert "--" + name.replace("_", "-") in result.stdout
        assert "SIMULATOR_" + name.upper() in result.stdout


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--events", "abc"], {}, "--events"),
        ([], {"SIMULATOR_FAULT_RATE": "2"}, "SIMULATOR_FAULT_RATE"),
        ([], {"SIMULATOR_TOKEN_TTL": "soon"}, "SIMULATOR_TOKEN_TTL"),
    ],
)
def test_main_bad_setting_exits_2_with_one_line(
    argv: list[str], env: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", *argv],
        cwd=fixtures.ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]


def test_main_flag_wins_over_environment() -> None:
    loaded = settings.load(
        ["--seed", "5"],
        {"SIMULATOR_SEED": "9", "SIMULATOR_EVENTS": "400", "SIMULATOR_TOKEN_TTL": "30s"},
    )
    assert (loaded.seed, loaded.events, loaded.token_ttl.total_seconds()) == (5, 400, 30)


def fetch_all(url: str, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    link: str | None = f"{path}?results-per-page=100"
    while link is not None:
        body = requests.get(url + link, headers=headers, timeout=10).json()
        events += body["resources"]
        link = body["next_url"]
    return events


def test_main_runs_exports_truth_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    truth_file = tmp_path / "run.truth.json"
    simulator = fixtures.start_simulator(
        env={"SIMULATOR_EVENTS": "2500", "SIMULATOR_SEED": "3"},
        export_truth=truth_file,
        start="2026-02-01T00:00:00Z",
        malformed_events=3,
    )
    try:
        headers = fixtures.bearer(fixtures.token(simulator.url))
        apps = fetch_all(simulator.url, "/v2/app_usage_events", headers)
        services = fetch_all(simulator.url, "/v2/service_usage_events", headers)
        logged = [
            json.loads(line) for line in simulator.logs().splitlines() if line.startswith("{")
        ]
        assert any(
            e["event"] == "simulator_listening" and e["url"] == simulator.url for e in logged
        )
    finally:
        assert simulator.stop() == 0
    truth = load(truth_file)
    assert truth.seed == 3 and len(truth.malformed_guids) == 3
    assert truth.history_start.isoformat() == "2026-02-01T00:00:00+00:00"
    assert len(apps) + len(services) == 2500
    # What the served events imply equals what really ran.
    window = (truth.history_start + timedelta(days=2), truth.history_end - timedelta(days=1))
    expected = expected_usage(truth, *window)
    implied = usage_from_events(
        apps, services, *window, truth.history_end, set(truth.malformed_guids)
    )
    assert expected.keys() == implied.keys() and expected
    for key, row in expected.items():
        assert implied[key]["memory_gb_hours"] == pytest.approx(row["memory_gb_hours"])
        assert implied[key]["service_hours"] == pytest.approx(row["service_hours"])


def test_main_same_flags_serve_byte_identical_pages() -> None:
    bodies = []
    for _ in range(2):
        with fixtures.in_process(
            seed=4, events=700, start="2026-03-01T00:00:00Z", api_url="http://sim.example"
        ) as simulator:
            headers = fixtures.bearer(fixtures.token(simulator.local_url))
            bodies.append(
                [
                    requests.get(
                        simulator.local_url + path,
                        headers=headers,
                        timeout=10,
                        params={size: "5000"},
                    ).content
                    for path, size in (
                        ("/v2/app_usage_events", "results-per-page"),
                        ("/v3/service_usage_events", "per_page"),
                    )
                ]
            )
    assert bodies[0] == bodies[1]
    assert b"http://sim.example/v3/service_usage_events?page=1&per_page=5000" in bodies[0][1]
