"""Dashboards and alert rules use only metric and label names the code exports; the alerts fire when they
should (promtool's rule unit tests on synthetic series); the realm ships unchanged.

The known names come from the code (tests/deploy/metrics_catalogue.py): a dashboard or rule naming a metric
nobody exports fails here, whoever renames an instrument.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import charts
from tests.deploy import metrics_catalogue as catalogue

# Grafana variables, replaced by values so an expression becomes plain PromQL.
GRAFANA_VARIABLES = {"$__range": "1d", "$namespace": "chargewatch", "$target": "97"}


def _dashboards(objects: list[charts.Manifest]) -> dict[str, dict[str, Any]]:
    found = {}
    for config_map in charts.of_kind(objects, "ConfigMap"):
        if config_map["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for file_name, text in config_map["data"].items():
                found[file_name] = json.loads(text)
    return found


def _dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable.get("type") == "query":
            expressions.append(variable["query"])
    return expressions


def _rules(platform: dict[str, list[charts.Manifest]]) -> list[dict[str, Any]]:
    rule = next(charts.of_kind(platform["production"], "PrometheusRule"))
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def _plain(expression: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    return expression


def test_the_catalogue_finds_the_instruments_of_every_layer() -> None:
    """Guards the scanner itself: instruments of the libraries and of four services, both client libraries."""
    names = catalogue.exported_names()
    for expected in (
        "chargewatch_stream_published_total",
        "chargewatch_stream_consumer_lag_seconds_bucket",
        "chargewatch_ocpp_connections",
        "chargewatch_sla_ports",
        "chargewatch_security_alerts_total",
        "chargewatch_authz_identity_provider_up",
        "chargewatch_partner_api_request_seconds_count",
    ):
        assert expected in names, expected
    assert {"family", "group", "version", "state", "rule", "severity", "status"} <= catalogue.label_names()


def test_the_check_catches_unknown_metrics_recordings_and_labels() -> None:
    assert catalogue.unknown_names('sum(rate(chargewatch_ocpp_messages_total{outcome="x"}[5m]))') == []
    assert catalogue.unknown_names("sum(rate(chargewatch_ocpp_message_total[5m]))") == [
        "chargewatch_ocpp_message_total"
    ]
    assert catalogue.unknown_names("chargewatch:nothing:ratio") == ["chargewatch:nothing:ratio"]
    assert catalogue.unknown_names("sum by (familly) (chargewatch_stream_published_total)") == ["label familly"]
    # A label value that looks like a metric name is a string, not a reference.
    assert catalogue.unknown_names('chargewatch_sla_ports{state="chargewatch_x"}') == []


def test_dashboards_ship_as_labelled_configmaps(platform: dict[str, list[charts.Manifest]]) -> None:
    dashboards = _dashboards(platform["default"])
    titles = {str(d["title"]) for d in dashboards.values()}
    for topic in ("Fleet uptime", "SLA budget burn", "OCPP gateway", "Stream lag", "Security alerts"):
        assert any(topic in t for t in titles), topic
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)
    assert {p.name for p in (charts.HELM / charts.UMBRELLA / "dashboards").glob("*.json")} == set(dashboards)


def test_dashboards_query_only_exported_metrics_and_labels(platform: dict[str, list[charts.Manifest]]) -> None:
    used: set[str] = set()
    problems = {}
    for name, dashboard in _dashboards(platform["default"]).items():
        for expression in _dashboard_expressions(dashboard):
            used |= catalogue.metric_names(expression)
            if unknown := catalogue.unknown_names(expression):
                problems[f"{name}: {expression}"] = unknown
    assert problems == {}, f"not exported by the code: {problems}"
    # Each topic reads the metric that measures it, not a proxy.
    for metric in (
        "chargewatch_sla_ports",
        "chargewatch_stream_consumer_lag_seconds_bucket",
        "chargewatch_ocpp_connections",
        "chargewatch_ocpp_messages_total",
        "chargewatch_security_alerts_total",
    ):
        assert metric in used, metric


def test_alert_rules_use_only_exported_metrics_and_their_own_recordings(
    platform: dict[str, list[charts.Manifest]],
) -> None:
    rules = _rules(platform)
    recorded = frozenset(r["record"] for r in rules if "record" in r)
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    for name in (
        "ChargeWatchSlaAtRisk",
        "ChargeWatchConsumerLag",
        "ChargeWatchGatewaySaturation",
        "ChargeWatchOcppErrorRate",
        "ChargeWatchPartnerApiErrorRate",
        "ChargeWatchStreamHandlerErrors",
    ):
        assert name in alerts, name
    problems = {r.get("alert") or r["record"]: catalogue.unknown_names(r["expr"], recorded=recorded) for r in rules}
    assert {k: v for k, v in problems.items() if v} == {}, "not defined by the code or the rule file"
    assert all(r["labels"]["severity"] in ("warning", "critical") for r in alerts.values())
    # Thresholds come from values.
    assert "4000" in alerts["ChargeWatchGatewaySaturation"]["expr"]
    assert "(1 - 97 / 100) > 14.4" in alerts["ChargeWatchSlaAtRisk"]["expr"]


def test_rules_are_off_by_default_and_follow_the_release_namespace(platform: dict[str, list[charts.Manifest]]) -> None:
    assert list(charts.of_kind(platform["default"], "PrometheusRule")) == []
    for rule in _rules(platform):
        for selector in re.findall(r"\b(?:chargewatch[_:][\w:]+|up)\{([^}]*)\}", rule["expr"]):
            assert f'namespace="{charts.NAMESPACE}"' in selector, rule.get("alert") or rule["record"]


# -- promtool: the Prometheus rule checker and unit tester (Debian's `prometheus` package) -----------------


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


def _promtool(promtool: str, *args: str, cwd: Path) -> None:
    result = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_and_dashboard_queries_parse(
    promtool: str, platform: dict[str, list[charts.Manifest]], tmp_path: Path
) -> None:
    rule = next(charts.of_kind(platform["production"], "PrometheusRule"))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    # Every dashboard query as a recording rule: promtool parses each one.
    queries = [
        {"record": f"dashboard:query_{index}", "expr": _plain(expression)}
        for index, expression in enumerate(
            e for d in _dashboards(platform["default"]).values() for e in _dashboard_expressions(d)
        )
        if not expression.startswith("label_values(")
    ]
    (tmp_path / "dashboards.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": queries}]}))
    _promtool(promtool, "check", "rules", "rules.yaml", "dashboards.yaml", cwd=tmp_path)


NS = f'namespace="{charts.NAMESPACE}"'
ALERT_LABELS = {"team": "sre"}


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    matchers = ", ".join([NS, *(f'{k}="{v}"' for k, v in labels.items())])
    return {"series": f"{name}{{{matchers}}}", "values": values}


def _fires(alert: str, at: str, severity: str = "warning", **labels: str) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [{"exp_labels": {**ALERT_LABELS, "severity": severity, **labels}}],
    }


def _quiet(alert: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


def _lag_buckets(group: str, slow: bool) -> list[dict[str, str]]:
    """Consumer lag histogram series: every batch under 1 s, or every batch between 60 and 300 s."""
    series = []
    for le in ("1", "60", "300", "+Inf"):
        cumulative = "0+10x40" if (not slow or le in ("300", "+Inf")) else "0x40"
        series.append(
            _series("chargewatch_stream_consumer_lag_seconds_bucket", cumulative, group=group, family="status", le=le)
        )
    return series


# Each case: synthetic series (only names the code exports, checked below) and what the alerts must do.
RULE_TESTS: list[dict[str, Any]] = [
    {
        "name": "half the ports down pages; a few percent down and an empty fleet stay quiet",
        "input_series": [
            _series("chargewatch_sla_ports", "50x120", state="available", pod="sla-0"),
            _series("chargewatch_sla_ports", "50x120", state="faulted", pod="sla-0"),
        ],
        "alert_rule_test": [_fires("ChargeWatchSlaAtRisk", "70m", "critical", namespace=charts.NAMESPACE)],
    },
    {
        "name": "one percent down is within a 97 % budget",
        "input_series": [
            _series("chargewatch_sla_ports", "99x500", state="occupied", pod="sla-0"),
            _series("chargewatch_sla_ports", "1x500", state="offline", pod="sla-1"),
        ],
        "alert_rule_test": [_quiet("ChargeWatchSlaAtRisk", "70m"), _quiet("ChargeWatchSlaBudgetBurning", "8h")],
    },
    {
        "name": "a fifth of the ports down for hours burns the budget slowly",
        "input_series": [
            _series("chargewatch_sla_ports", "80x500", state="available", pod="sla-0"),
            _series("chargewatch_sla_ports", "20x500", state="unavailable", pod="sla-0"),
        ],
        "alert_rule_test": [
            _quiet("ChargeWatchSlaAtRisk", "7h"),
            _fires("ChargeWatchSlaBudgetBurning", "7h", namespace=charts.NAMESPACE),
        ],
    },
    {
        "name": "no ports tracked yet: no burn alert",
        "input_series": [_series("chargewatch_ocpp_connections", "10x120", version="1.6", pod="gw-0")],
        "alert_rule_test": [_quiet("ChargeWatchSlaAtRisk", "70m")],
    },
    {
        "name": "a group handling events minutes late alerts; a fast one does not",
        "input_series": [*_lag_buckets("telemetry", slow=True), *_lag_buckets("sla-engine", slow=False)],
        "alert_rule_test": [_fires("ChargeWatchConsumerLag", "30m", group="telemetry")],
    },
    {
        "name": "a group that stops acknowledging falls behind",
        "input_series": [
            _series("chargewatch_stream_published_total", "0+6000x40", family="meter", pod="gw-0"),
            _series("chargewatch_stream_consumed_total", "0+6000x40", group="telemetry", family="meter", pod="t-0"),
            _series("chargewatch_stream_consumed_total", "0x40", group="security-monitor", family="meter", pod="s-0"),
        ],
        "alert_rule_test": [
            _fires("ChargeWatchConsumerBacklogGrowing", "35m", group="security-monitor", family="meter")
        ],
    },
    {
        "name": "a gateway pod beyond 80 % of its planned connections",
        "input_series": [
            _series("chargewatch_ocpp_connections", "2500x30", version="1.6", pod="gw-0"),
            _series("chargewatch_ocpp_connections", "2000x30", version="2.0.1", pod="gw-0"),
            _series("chargewatch_ocpp_connections", "1000x30", version="1.6", pod="gw-1"),
        ],
        "alert_rule_test": [_fires("ChargeWatchGatewaySaturation", "20m", pod="gw-0")],
    },
    {
        "name": "CALLERRORs above 5 % of the messages",
        "input_series": [
            _series(
                "chargewatch_ocpp_messages_total", "0+900x40", version="1.6", action="MeterValues", outcome="answered"
            ),
            _series(
                "chargewatch_ocpp_messages_total",
                "0+100x40",
                version="1.6",
                action="MeterValues",
                outcome="FormationViolation",
            ),
        ],
        "alert_rule_test": [_fires("ChargeWatchOcppErrorRate", "30m")],
    },
    {
        "name": "stations dropping off the gateways",
        "input_series": [_series("chargewatch_ocpp_connections", "1000x60 500x60", version="1.6", pod="gw-0")],
        "alert_rule_test": [
            _quiet("ChargeWatchStationsDisconnected", "55m"),
            _fires("ChargeWatchStationsDisconnected", "90m"),
        ],
    },
    {
        "name": "handler errors, dead letters, API 5xx, Keycloak away, slow detections",
        "input_series": [
            _series("chargewatch_stream_handler_duration_seconds_count", "0+100x40", group="telemetry", outcome="ok"),
            _series("chargewatch_stream_handler_duration_seconds_count", "0+10x40", group="telemetry", outcome="error"),
            _series(
                "chargewatch_stream_dead_lettered_total",
                "0x10 1+1x30",
                group="telemetry",
                family="meter",
                reason="handler",
            ),
            _series(
                "chargewatch_partner_api_request_seconds_count",
                "0+100x40",
                route="/v1/stations",
                method="GET",
                status="2xx",
            ),
            _series(
                "chargewatch_partner_api_request_seconds_count",
                "0+10x40",
                route="/v1/stations",
                method="GET",
                status="5xx",
            ),
            _series("chargewatch_authz_identity_provider_up", "1x40", pod="authz-0"),
            _series("chargewatch_authz_identity_provider_up", "0x40", pod="authz-1"),
            _series("chargewatch_security_detection_delay_seconds_bucket", "0x40", le="60", rule="brute_force"),
            _series("chargewatch_security_detection_delay_seconds_bucket", "0+5x40", le="120", rule="brute_force"),
            _series("chargewatch_security_detection_delay_seconds_bucket", "0+5x40", le="+Inf", rule="brute_force"),
        ],
        "alert_rule_test": [
            _fires("ChargeWatchStreamHandlerErrors", "30m", group="telemetry"),
            _fires("ChargeWatchDeadLetters", "20m", group="telemetry", family="meter", reason="handler"),
            _fires("ChargeWatchPartnerApiErrorRate", "30m"),
            _fires("ChargeWatchIdentityProviderUnreachable", "30m"),
            _fires("ChargeWatchSecurityDetectionSlow", "35m"),
        ],
    },
]


def test_rule_tests_feed_only_exported_series() -> None:
    for case in RULE_TESTS:
        for series in case["input_series"]:
            assert catalogue.unknown_names(series["series"]) == [], case["name"]


def test_alerts_fire_exactly_when_they_should(
    promtool: str, platform: dict[str, list[charts.Manifest]], tmp_path: Path
) -> None:
    rule = next(charts.of_kind(platform["production"], "PrometheusRule"))
    spec = copy.deepcopy(rule["spec"])
    # The logic is under test, not the wording: annotations would have to be repeated verbatim.
    for group in spec["groups"]:
        for entry in group["rules"]:
            entry.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    tests = [{"interval": "1m", **{k: v for k, v in case.items() if k != "name"}} for case in RULE_TESTS]
    (tmp_path / "tests.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    _promtool(promtool, "test", "rules", "tests.yaml", cwd=tmp_path)


def test_realm_is_imported_unchanged_with_its_placeholders_filled(platform: dict[str, list[charts.Manifest]]) -> None:
    objects = platform["default"]
    realm_text = (charts.REPO / "k8s" / "keycloak" / "chargewatch-realm.json").read_text()
    config_map = charts.named(objects, "ConfigMap", "cw-keycloak-realm")
    assert json.loads(config_map["data"]["chargewatch-realm.json"]) == json.loads(realm_text)
    keycloak = charts.named(objects, "Deployment", "cw-keycloak")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in keycloak["containers"][0]["env"]}
    for placeholder in set(re.findall(r"\$\{([A-Z_]+)\}", realm_text)):
        assert placeholder in env, placeholder
    # Keycloak, authz and the security monitor share the services client's secret.
    for service, variable in (
        ("authz", "CW_AUTHZ_KEYCLOAK_CLIENT_SECRET"),
        ("security-monitor", "CW_SECURITY_CLIENT_SECRET"),
    ):
        container = charts.named(objects, "Deployment", f"cw-{service}")["spec"]["template"]["spec"]["containers"][0]
        reference = next(e for e in container["env"] if e["name"] == variable)
        assert env["CW_SERVICES_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
            "name": reference["valueFrom"]["secretKeyRef"]["name"],
            "key": reference["valueFrom"]["secretKeyRef"]["key"],
        }, service
    mounts = {m["mountPath"] for m in keycloak["containers"][0]["volumeMounts"]}
    assert "/opt/keycloak/data/import" in mounts
