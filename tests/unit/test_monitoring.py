"""The monitoring that ships (deploy/monitoring/): Prometheus's config and alert rules as
promtool reads them, the rules' own tests, and the rules and the dashboard naming only
metrics that the processes export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from consumer.metrics import ConsumerMetrics
from producer.metrics import ProducerMetrics
from reporter import database_gauges
from reporter.metrics import ReporterMetrics
from shared import metrics
from tenant_api.metrics import ApiMetrics

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "rules" / "paas-billing.yml"
RULE_TESTS = MONITORING / "rules" / "paas-billing.test.yml"
DASHBOARD = MONITORING / "grafana" / "paas-billing.json"
PROMTOOL = shutil.which("promtool")
# A paas-billing metric's name in a PromQL expression.
_METRIC = re.compile(r"\bpaas_billing_[a-z0-9_]+")
# Suffixes Prometheus adds to a counter's or histogram's samples.
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (Debian's `prometheus` package; .ci/run installs it)"
)


def _promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL or "promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def exported_names() -> set[str]:
    """Every sample name the four processes can export."""
    registry = CollectorRegistry()
    for build in (ProducerMetrics, ConsumerMetrics, ReporterMetrics, ApiMetrics):
        build(registry)
    metrics.register_process(registry, "any")
    names = {family.name for family in registry.collect()}
    gaps = database_gauges.CollectionGaps("postgres://nobody@127.0.0.1:1/none")
    names |= {
        "paas_billing_reporter_collection_gaps",
        "paas_billing_reporter_collection_gap_detected_timestamp_seconds",
    }
    assert not list(gaps.collect())  # those two exist only when the database answers
    return {name + suffix for name in names for suffix in ("", *_SUFFIXES)}


def _rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


@needs_promtool
def test_prometheus_config_and_rules_are_valid() -> None:
    assert _promtool("check", "config", "prometheus.yml").returncode == 0
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_alert_rules_pass_their_tests() -> None:
    tested = _promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_the_rule_tests_catch_a_threshold_that_would_page_for_nothing(tmp_path: Path) -> None:
    """With the producer alert at 15 seconds instead of 15 minutes, the tests fail."""
    loose = RULES.read_text().replace(
        "paas_billing_producer_last_successful_poll_timestamp_seconds) > 900",
        "paas_billing_producer_last_successful_poll_timestamp_seconds) > 15",
    )
    assert loose != RULES.read_text()
    (tmp_path / RULES.name).write_text(loose)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    tested = _promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0


def test_every_alert_has_a_severity_and_a_summary() -> None:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]


def test_every_alert_is_tested_firing() -> None:
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    fired = {
        check["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for check in test.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert alerts == fired


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_rules_and_dashboard_name_only_exported_metrics(source: str) -> None:
    expressions = _rule_expressions() if source == "rules" else _dashboard_expressions()
    named = {name for expr in expressions for name in _METRIC.findall(expr)}
    assert named and named <= exported_names(), sorted(named - exported_names())


def test_dashboard_uses_the_provisioned_data_source_and_unique_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    source = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def test_prometheus_scrapes_every_process_under_the_jobs_the_rules_name() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    processes = {"producer", "consumer", "reporter", "api"}
    assert {f"paas-billing-{p}" for p in processes} | {"rabbitmq"} <= jobs
