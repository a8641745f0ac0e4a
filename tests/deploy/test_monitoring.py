"""Dashboards and alert rules use only metric names the code exports; the realm ships unchanged."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.deploy import charts

# Records one measurement on every instrument the code declares, then prints what Prometheus would scrape.
# In a subprocess: the OpenTelemetry meter provider is process-global.
_EXPORT_SCRIPT = """
import importlib, pathlib
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import REGISTRY, generate_latest
metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
modules = ["chargewatch.streams._telemetry"]
for path in pathlib.Path("services").glob("*/src/chargewatch/*/instruments.py"):
    modules.append("chargewatch." + path.parent.name + ".instruments")
for name in modules:
    module = importlib.import_module(name)
    for value in vars(module).values():
        for method, argument in (("add", 1), ("record", 0.01), ("set", 1)):
            if type(value).__module__.startswith("opentelemetry") and hasattr(value, method):
                getattr(value, method)(argument)
                break
print(generate_latest(REGISTRY).decode())
"""


@pytest.fixture(scope="session")
def exported_metrics() -> set[str]:
    output = subprocess.run(
        [sys.executable, "-c", _EXPORT_SCRIPT], cwd=charts.REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    names = set(re.findall(r"^(chargewatch_[a-z0-9_]+)", output, flags=re.MULTILINE))
    assert "chargewatch_ocpp_connections" in names or any(n.startswith("chargewatch_ocpp") for n in names), output
    return names


def _metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\b(chargewatch_[a-z0-9_]+)", expression))


def _dashboards(objects: list[charts.Manifest]) -> dict[str, dict[str, object]]:
    found = {}
    for config_map in charts.of_kind(objects, "ConfigMap"):
        if config_map["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for file_name, text in config_map["data"].items():
                found[file_name] = json.loads(text)
    return found


def test_dashboards_ship_as_labelled_configmaps(platform: dict[str, list[charts.Manifest]]) -> None:
    dashboards = _dashboards(platform["default"])
    titles = {str(d["title"]) for d in dashboards.values()}
    for topic in ("Fleet uptime", "SLA budget burn", "OCPP gateway", "Stream lag", "Security alerts"):
        assert any(topic in t for t in titles), topic
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)


def test_dashboards_query_only_exported_metrics(
    platform: dict[str, list[charts.Manifest]], exported_metrics: set[str]
) -> None:
    used: set[str] = set()
    for dashboard in _dashboards(platform["default"]).values():
        for panel in dashboard["panels"]:  # type: ignore[attr-defined]
            for target in panel["targets"]:
                used |= _metric_names(target["expr"])
    assert used, "no metrics queried"
    assert used <= exported_metrics, f"not exported by the code: {sorted(used - exported_metrics)}"


def test_alert_rules_use_only_exported_metrics(
    platform: dict[str, list[charts.Manifest]], exported_metrics: set[str]
) -> None:
    rule = next(charts.of_kind(platform["production"], "PrometheusRule"))
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    for name in (
        "ChargeWatchSlaAtRisk",
        "ChargeWatchConsumerLag",
        "ChargeWatchGatewaySaturation",
        "ChargeWatchOcppErrorRate",
    ):
        assert name in alerts, name
    used = set().union(*(_metric_names(r["expr"]) for r in alerts.values()))
    assert used <= exported_metrics, f"not exported by the code: {sorted(used - exported_metrics)}"
    assert all(r["labels"]["severity"] in ("warning", "critical") for r in alerts.values())
    # Thresholds come from values.
    assert "4000" in alerts["ChargeWatchGatewaySaturation"]["expr"]


def test_realm_is_imported_unchanged_with_its_placeholders_filled(platform: dict[str, list[charts.Manifest]]) -> None:
    objects = platform["default"]
    realm_text = (charts.REPO / "k8s" / "keycloak" / "chargewatch-realm.json").read_text()
    config_map = charts.named(objects, "ConfigMap", "cw-keycloak-realm")
    assert json.loads(config_map["data"]["chargewatch-realm.json"]) == json.loads(realm_text)
    keycloak = charts.named(objects, "Deployment", "cw-keycloak")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in keycloak["containers"][0]["env"]}
    for placeholder in set(re.findall(r"\$\{([A-Z_]+)\}", realm_text)):
        assert placeholder in env, placeholder
    # Keycloak and authz share the services client's secret.
    authz = charts.named(objects, "Deployment", "cw-authz")["spec"]["template"]["spec"]["containers"][0]
    authz_ref = next(e for e in authz["env"] if e["name"] == "CW_AUTHZ_KEYCLOAK_CLIENT_SECRET")
    assert env["CW_SERVICES_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": authz_ref["valueFrom"]["secretKeyRef"]["name"],
        "key": authz_ref["valueFrom"]["secretKeyRef"]["key"],
    }
    mounts = {m["mountPath"] for m in keycloak["containers"][0]["volumeMounts"]}
    assert "/opt/keycloak/data/import" in mounts
