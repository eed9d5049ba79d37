"""The Kubernetes manifests are valid against the Kubernetes schemas, meet the `restricted`
Pod Security Standard, probe liveness apart from readiness, and leave migrations to a Job.

Docker and a cluster do not run on the build machines: the files are checked by reading
them, with kubernetes-validate's copy of the API schemas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "kubernetes"
# The Kubernetes version whose schemas the manifests must satisfy (the oldest still
# supported upstream when this was written; every field used exists in later ones too).
KUBERNETES_VERSION = "1.30.0"
# Kinds that run pods, and where their pod template is.
POD_TEMPLATES = {"Deployment": ("spec", "template"), "Job": ("spec", "template")}
# Capabilities the restricted standard lets a container add back.
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
# Volume types the restricted standard allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip


def _documents(pattern: str = "*.yaml") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(FOLDER.glob(pattern)):
        out += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return out


def _pods() -> list[tuple[str, dict[str, Any]]]:
    pods = []
    for _, doc in _documents():
        if doc["kind"] in POD_TEMPLATES:
            template = doc
            for key in POD_TEMPLATES[doc["kind"]]:
                template = template[key]
            pods.append((f"{doc['kind']}/{doc['metadata']['name']}", template["spec"]))
    return pods


def _deployments() -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]["spec"]["containers"][0]
        for _, doc in _documents()
        if doc["kind"] == "Deployment"
    }


@pytest.mark.parametrize(
    ("name", "document"),
    [
        pytest.param(name, doc, id=f"{name}:{doc['kind']}/{doc['metadata']['name']}")
        for name, doc in _documents() + _documents("examples/*.yaml")
    ],
)
def test_manifest_is_valid_against_the_kubernetes_schema(name: str, document: Any) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_refuses_a_field_kubernetes_does_not_know() -> None:
    _name, deployment = next(d for d in _documents() if d[1]["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What in a pod spec the `restricted` Pod Security Standard (and `baseline`) forbids."""
    found: list[str] = []
    context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(f"{flag} is set")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume['name']} is {sorted(kinds)}")
    if context.get("runAsUser") == 0:
        found.append("the pod runs as user 0")
    containers = pod.get("containers", []) + pod.get("initContainers", [])
    for container in containers:
        own = container.get("securityContext", {})
        name = container["name"]
        if own.get("runAsNonRoot", context.get("runAsNonRoot")) is not True:
            found.append(f"{name}: runAsNonRoot is not true")
        if own.get("runAsUser", context.get("runAsUser")) == 0:
            found.append(f"{name}: runs as user 0")
        seccomp = own.get("seccompProfile", context.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile is {seccomp}")
        if own.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if own.get("privileged"):
            found.append(f"{name}: privileged")
        capabilities = own.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities are not all dropped")
        if set(capabilities.get("add", [])) - ALLOWED_ADDED_CAPABILITIES:
            found.append(f"{name}: adds capabilities {capabilities['add']}")
        if any("hostPort" in port for port in container.get("ports", [])):
            found.append(f"{name}: uses a hostPort")
    return found


def test_the_restricted_check_finds_what_the_first_manifests_had() -> None:
    """The check itself fails on the pod spec the project shipped before (issue 20)."""
    before = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
        "containers": [
            {
                "name": "consumer",
                "securityContext": {"allowPrivilegeEscalation": False},
            }
        ],
    }
    assert restricted_violations(before) == [
        "consumer: seccompProfile is None",
        "consumer: capabilities are not all dropped",
    ]


@pytest.mark.parametrize(("name", "pod"), _pods(), ids=[name for name, _ in _pods()])
def test_pod_meets_the_restricted_pod_security_standard(name: str, pod: dict[str, Any]) -> None:
    assert restricted_violations(pod) == []
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert "limits" in container["resources"]


def test_liveness_is_not_readiness() -> None:
    """Liveness asks /livez (no dependency); readiness /readyz; a startup probe first."""
    for name, container in _deployments().items():
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["startupProbe"]["httpGet"]["path"] == "/livez", name


def test_processes_wait_for_the_migration_job() -> None:
    for name, container in _deployments().items():
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["MIGRATE_ON_START"] == "false", name
    jobs = [doc for _, doc in _documents() if doc["kind"] == "Job"]
    assert [job["spec"]["template"]["spec"]["containers"][0]["args"] for job in jobs] == [
        ["migrate"]
    ]
    assert "activeDeadlineSeconds" not in jobs[0]["spec"]


def test_readers_use_the_read_only_role_and_writers_the_owner() -> None:
    def database_key(container: dict[str, Any]) -> str:
        env = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
        return str(env["valueFrom"]["secretKeyRef"]["key"])

    keys = {name: database_key(c) for name, c in _deployments().items()}
    assert keys == {
        "paas-billing-producer": "DATABASE_URL",
        "paas-billing-consumer": "DATABASE_URL",
        "paas-billing-reporter": "READER_DATABASE_URL",
        "paas-billing-api": "READER_DATABASE_URL",
    }


def test_applying_the_folder_never_overwrites_a_secret() -> None:
    assert [doc for _, doc in _documents() if doc["kind"] == "Secret"] == []
    examples = [doc for _, doc in _documents("examples/*.yaml") if doc["kind"] == "Secret"]
    secret_keys = set(examples[0]["stringData"])
    for container in _deployments().values():
        for env in container["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            assert ref is None or ref["key"] in secret_keys


def test_network_policies_cover_every_pod_both_ways() -> None:
    policies = [doc for _, doc in _documents() if doc["kind"] == "NetworkPolicy"]
    whole = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "paas-billing"}}
    ]
    assert whole and set(whole[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
