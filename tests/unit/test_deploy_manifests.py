"""The compose file, the Dockerfile and the deploy/ manifests parse and agree with the settings.

Docker does not run on the build machines, so these files are held correct by reading them.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from paas_billing import cli

ROOT = Path(__file__).resolve().parents[2]
# Process commands whose environment is a settings class in `<package>/settings.py`.
PROCESS_PACKAGES = {
    "producer": "producer",
    "consumer": "consumer",
    "reporter": "reporter",
    "api": "tenant_api",
}


def _settings_variables(package: str) -> set[str]:
    module = importlib.import_module(f"{package}.settings")
    names: set[str] = set()
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value is not BaseSettings
        ):
            prefix = str(value.model_config.get("env_prefix") or "")
            for field_name, field in value.model_fields.items():
                alias = field.validation_alias if isinstance(field.validation_alias, str) else None
                names.add((alias or prefix + field_name).upper())
    assert names, f"no settings class found in {package}.settings"
    return names


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _process_of(command: list[str]) -> str:
    return command[0]


def _billing_services() -> dict[str, Any]:
    """The compose services that run this project's image."""
    return {
        name: service
        for name, service in _compose()["services"].items()
        if service.get("image") == "paas-billing:local"
    }


def test_compose_services_run_real_commands() -> None:
    for name, service in _billing_services().items():
        assert _process_of(service["command"]) in cli.COMMANDS, name


def test_compose_environment_names_are_settings() -> None:
    for name, service in _compose()["services"].items():
        process = _process_of(service.get("command", ["-"]))
        if process not in PROCESS_PACKAGES:
            continue
        unknown = set(service.get("environment", {})) - _settings_variables(
            PROCESS_PACKAGES[process]
        )
        assert not unknown, f"compose service {name} sets {sorted(unknown)}"


def test_compose_waits_for_healthy_dependencies_and_the_migration() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency == "migrate":
                assert condition == {"condition": "service_completed_successfully"}, name
                continue
            assert condition["condition"] == "service_healthy", name
            assert "healthcheck" in services[dependency], dependency


def test_compose_consumer_can_scale() -> None:
    consumer = _compose()["services"]["consumer"]
    assert "container_name" not in consumer
    assert "ports" not in consumer


def test_compose_volumes_are_named() -> None:
    compose = _compose()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in compose["volumes"] or (ROOT / source).exists(), source


def test_dockerfile_runs_as_non_root_and_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.findall(r'"(\w+)\*"', pyproject.split("[tool.setuptools.packages.find]")[1])
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package


def _k8s_documents() -> list[dict[str, Any]]:
    """What `kubectl apply -f deploy/kubernetes/` applies, and the example Secret."""
    docs: list[dict[str, Any]] = []
    folder = ROOT / "deploy" / "kubernetes"
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("examples/*.yaml")]):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def test_kubernetes_env_names_are_settings() -> None:
    docs = _k8s_documents()
    config_maps = {d["metadata"]["name"]: set(d["data"]) for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: set(d["stringData"]) for d in docs if d["kind"] == "Secret"}
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert {d["spec"]["template"]["spec"]["containers"][0]["args"][0] for d in deployments} == set(
        PROCESS_PACKAGES
    )
    for deployment in deployments:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        process = container["args"][0]
        names = {env["name"] for env in container.get("env", [])}
        for source in container.get("envFrom", []):
            names |= config_maps[source["configMapRef"]["name"]]
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]], env["name"]
        unknown = names - _settings_variables(PROCESS_PACKAGES[process])
        assert not unknown, f"{process} deployment sets {sorted(unknown)}"


def test_kubernetes_producer_is_a_singleton() -> None:
    producer = next(
        d
        for d in _k8s_documents()
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("producer")
    )
    assert producer["spec"]["replicas"] == 1
    assert producer["spec"]["strategy"]["type"] == "Recreate"


def test_cloudfoundry_manifest_env_names_are_settings() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "cloudfoundry" / "manifest.yml").read_text())
    for app in manifest["applications"]:
        process = app["command"].split()[-1]
        unknown = set(app.get("env", {})) - _settings_variables(PROCESS_PACKAGES[process])
        assert not unknown, f"{app['name']} sets {sorted(unknown)}"


@pytest.mark.parametrize("path", [".env.example"])
def test_env_example_names_are_producer_or_api_settings(path: str) -> None:
    names = {
        line.split("=", 1)[0]
        for line in (ROOT / path).read_text().splitlines()
        if line and not line.startswith("#")
    }
    compose = {"COMPOSE_PROFILES"}  # read by Docker Compose itself
    settings = _settings_variables("producer") | _settings_variables("tenant_api")
    assert not names - settings - compose


def test_the_api_runs_everywhere_with_what_it_needs() -> None:
    """Compose, Kubernetes and Cloud Foundry run `api` with its two required variables, no
    CF credentials, and health checks on /readyz and /livez."""
    required = {"DATABASE_URL", "CF_API_ADDRESS"}
    credentials = {"CF_CLIENT_ID", "CF_CLIENT_SECRET", "CF_USERNAME", "CF_PASSWORD", "CF_TOKEN"}
    compose = _compose()["services"]["api"]
    assert compose["command"] == ["api"]
    assert required <= set(compose["environment"]) and not credentials & set(compose["environment"])
    docs = _k8s_documents()
    deployment = next(
        d for d in docs if d["metadata"]["name"] == "paas-billing-api" and d["kind"] == "Deployment"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "paas-billing-api"
    )
    names = {e["name"] for e in container["env"]} | set(config["data"])
    assert required <= names and not credentials & names
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    manifest = yaml.safe_load((ROOT / "deploy" / "cloudfoundry" / "manifest.yml").read_text())
    app = next(a for a in manifest["applications"] if a["command"].endswith(" api"))
    assert required <= set(app["env"]) and not credentials & set(app["env"])
    # CF restarts an instance whose health check fails: that is liveness, never readiness.
    assert app["health-check-http-endpoint"] == "/livez" and "$PORT" in app["command"]


def test_cloudfoundry_apps_serve_metrics_and_are_checked_for_liveness_only() -> None:
    manifest = yaml.safe_load((ROOT / "deploy" / "cloudfoundry" / "manifest.yml").read_text())
    for app in manifest["applications"]:
        assert app["health-check-type"] == "http", app["name"]
        assert app["health-check-http-endpoint"] == "/livez", app["name"]
        assert app["command"].startswith(("METRICS_PORT=$PORT ", "API_PORT=$PORT ")), app["name"]
        assert app.get("routes"), f"{app['name']} has no route to be scraped on"
