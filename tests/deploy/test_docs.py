"""docs/deploy.md says what the tests render: its sizing table, value files, alerts and metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy import charts
from tests.deploy import metrics_catalogue as catalogue
from tests.deploy.conftest import UMBRELLA_SETS, merge

DOCS = charts.REPO / "docs" / "deploy.md"
SIZING_SETS = {"~1,000 stations": "sizing-1k", "~10,000 stations": "sizing-10k", "~100,000 stations": "sizing-100k"}
Objects = dict[str, list[charts.Manifest]]


def _sizing_table() -> dict[str, dict[str, str]]:
    """Row label -> {column header -> cell} of the table under "## Sizing"."""
    section = DOCS.read_text().split("\n## Sizing", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return rows


def _numbers(cell: str) -> tuple[int, ...]:
    return tuple(int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", cell))


def _replicas(objects: list[charts.Manifest], service: str) -> tuple[int, ...]:
    name = f"{charts.RELEASE}-{service}"
    hpa = [o for o in charts.of_kind(objects, "HorizontalPodAutoscaler") if o["metadata"]["name"] == name]
    if hpa:
        return hpa[0]["spec"]["minReplicas"], hpa[0]["spec"]["maxReplicas"]
    return (charts.named(objects, "Deployment", name)["spec"]["replicas"],)


def _config(objects: list[charts.Manifest], service: str, variable: str) -> str:
    value: str = charts.named(objects, "ConfigMap", f"{charts.RELEASE}-{service}")["data"][variable]
    return value


def test_the_sizing_table_is_what_the_sizing_files_render(platform: Objects) -> None:
    table = _sizing_table()
    assert set(next(iter(table.values()))) == set(SIZING_SETS)
    compared = 0
    for column, value_set in SIZING_SETS.items():
        objects = platform[value_set]
        assert table["value file"][column] == f"`helm/chargewatch/ci/{value_set}.yaml`"
        for label, cells in table.items():
            service = label.split(" ", 1)[0]
            if service in charts.SERVICES and " replicas" in label:
                assert _numbers(cells[column]) == _replicas(objects, service), f"{label} / {column}"
                compared += 1
        partitions = _config(objects, "telemetry", "CW_STREAM_PARTITIONS")
        assert _numbers(table["stream partitions (`CW_STREAM_PARTITIONS`)"][column]) == (int(partitions),)
        rule = next(charts.of_kind(objects, "PrometheusRule"))
        saturation = next(
            r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "ChargeWatchGatewaySaturation"
        )
        planned = _numbers(table["gateway connections per pod planned (`gatewayConnectionsPerPod`)"][column])[0]
        assert f"> {planned * 0.8:g}" in saturation["expr"].replace("\n", " "), column
    assert compared == 6 * len(SIZING_SETS)


def _umbrella_files(value_set: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for file in UMBRELLA_SETS[value_set]:
        values = merge(values, charts.values_file(charts.HELM / charts.UMBRELLA / file))
    return values


@pytest.mark.parametrize("value_set", sorted(SIZING_SETS.values()))
def test_sizing_sets_only_values_that_take_effect(value_set: str) -> None:
    """A replica range for a chart whose autoscaling is off, or SLA engine replicas that would own no
    partition, would be sizing on paper only."""
    values = _umbrella_files(value_set)
    sizing = charts.values_file(charts.HELM / charts.UMBRELLA / "ci" / f"{value_set}.yaml")
    for service in charts.SERVICES:
        defaults = charts.values_file(charts.HELM / service / "values.yaml")
        merged = merge(defaults, values.get(service, {}))
        if not merged["autoscaling"]["enabled"]:
            assert "autoscaling" not in sizing.get(service, {}), f"{service}: autoscaling is off"
    # The HPA may keep two SLA engine replicas for availability, but never adds one that owns no partition.
    partitions = values["global"]["chargewatch"]["streams"]["partitions"]
    replicas = values["sla-engine"]["autoscaling"]
    assert replicas["maxReplicas"] <= max(partitions, replicas["minReplicas"]) and replicas["minReplicas"] <= max(
        partitions, 2
    )


def test_every_value_file_the_docs_name_is_one_the_tests_render() -> None:
    text = DOCS.read_text()
    rendered = {f"helm/chargewatch/{f}" for files in UMBRELLA_SETS.values() for f in files}
    named = set(re.findall(r"helm/chargewatch/ci/[\w.-]+\.yaml", text))
    assert named and named <= rendered, named - rendered
    for command in re.findall(r"helm upgrade --install[^`]*?(?=\n\s*```)", text, flags=re.S):
        for file in re.findall(r"-f (\S+)", command):
            assert file in rendered or file == "my-site-values.yaml", file
    for step in ("kubectl apply -k k8s/", "helm upgrade --install", "production-values.yaml", "make images"):
        assert step in text, step


def test_the_docs_list_every_alert_and_only_exported_metrics(platform: Objects) -> None:
    text = DOCS.read_text()
    rule = next(charts.of_kind(platform["production"], "PrometheusRule"))
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    documented_alerts = set(re.findall(r"`(ChargeWatch\w+)`", text))
    assert documented_alerts == alerts
    documented_metrics = set(re.findall(r"`(chargewatch_\w+)`", text))
    exported = catalogue.exported_names()
    for metric in documented_metrics:
        assert metric in exported or f"{metric}_bucket" in exported, metric
    families = {re.sub(r"_(total|bucket|sum|count|created)$", "", name) for name in exported}
    assert families <= {re.sub(r"_total$", "", m) for m in documented_metrics} | {
        m.removesuffix("_total") for m in documented_metrics
    }, "an exported metric is missing from the docs' table"
