"""Every chart lints with Helm, renders with each of its value sets, and yields valid Kubernetes objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.deploy import charts, kube_schema
from tests.deploy.conftest import Rendered

ALL_CHARTS = (*charts.SERVICES, *charts.INFRA, charts.UMBRELLA)
WARNING = 2


@pytest.mark.parametrize("name", ALL_CHARTS)
def test_chart_lints_without_warnings(helm_root: Path, name: str) -> None:
    report = helm.lint(charts.chart_dirs(helm_root)[name], namespace=charts.NAMESPACE, kube_version="v1.35.0")
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert report["errors"] == [] and problems == [], problems


def test_library_chart_lints(helm_root: Path) -> None:
    report = helm.lint(helm_root / "chargewatch-lib")
    assert [m for m in report["messages"] if m["severity"] >= WARNING] == []


def test_every_chart_has_ci_values_and_a_schema() -> None:
    for name, path in charts.chart_dirs(charts.HELM).items():
        assert (path / "values.schema.json").is_file(), name
        if name in charts.SERVICES or name == charts.UMBRELLA:
            assert (path / "ci" / "default-values.yaml").is_file(), name
            assert (path / "ci" / "production-values.yaml").is_file(), name


def test_every_render_is_valid_for_the_kubernetes_api(rendered: Rendered) -> None:
    checked = 0
    for (chart, value_set), objects in rendered.items():
        assert objects, f"{chart}/{value_set} renders nothing"
        for manifest in objects:
            where = f"{chart}/{value_set}: {manifest['kind']}/{manifest['metadata']['name']}"
            if kube_schema.is_custom(manifest):
                assert manifest["spec"], where
                continue
            try:
                kube_schema.validate(manifest)
            except jsonschema.ValidationError as error:
                pytest.fail(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
            checked += 1
    assert checked > 200


def test_kubernetes_validation_catches_a_broken_object(platform: dict[str, list[charts.Manifest]]) -> None:
    deployment = next(charts.of_kind(platform["default"], "Deployment"))
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "three"}}
    with pytest.raises(jsonschema.ValidationError):
        kube_schema.validate(broken)


def test_object_names_are_unique_per_kind(platform: dict[str, list[charts.Manifest]]) -> None:
    for value_set, objects in platform.items():
        keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
        assert len(keys) == len(set(keys)), value_set


def test_umbrella_installs_every_service_and_the_bundled_infrastructure(
    platform: dict[str, list[charts.Manifest]],
) -> None:
    deployments = {o["metadata"]["name"] for o in charts.of_kind(platform["default"], "Deployment")}
    statefulsets = {o["metadata"]["name"] for o in charts.of_kind(platform["default"], "StatefulSet")}
    assert {f"{charts.RELEASE}-{s}" for s in charts.SERVICES} | {"cw-keycloak", "cw-otel-collector"} <= deployments
    assert {"cw-redis", "cw-mongodb"} == statefulsets
    production = {o["metadata"]["name"] for o in platform["production"] if o["kind"] in ("Deployment", "StatefulSet")}
    assert production == {f"{charts.RELEASE}-{s}" for s in charts.SERVICES}, "production uses external infrastructure"


BAD_VALUES: dict[str, dict[str, Any]] = {
    "a secret in plain config": {"config": {"CW_AUTHZ_KEYCLOAK_CLIENT_SECRET": "hunter2"}},
    "root user": {"securityContext": {"runAsUser": 0, "runAsGroup": 65532}},
    "a misspelt top-level key": {"replicas": 3},
    "an invalid env name": {"config": {"not-a-name": "x"}},
    "a port out of range": {"ports": {"grpc": {"port": 70000}}},
    "a rollout that may stop every pod": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}},
    "a secret reference without key": {"secretEnv": {"CW_AUTHZ_X": {"name": "s"}}},
    "internet egress on a port out of range": {"networkPolicy": {"publicEgress": {"ports": [0], "exceptCidrs": []}}},
    "internet egress excluding nothing": {"networkPolicy": {"publicEgress": {"ports": [443], "exceptCidrs": []}}},
    "an ingress path without its slash": {"ingress": {"paths": ["v1"]}},
    "a mounted key at an absolute path": {
        "secretMounts": [{"name": "x", "secretName": "s", "mountPath": "/m", "items": [{"key": "k", "path": "/etc/k"}]}]
    },
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_refuses_bad_values(helm_root: Path, case: str) -> None:
    with helm.Chart.load(helm_root / "authz") as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(BAD_VALUES[case])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"config": {"CW_AUTHZ_GRPC_PORT": "1234"}}, "set ports.grpc.port instead"),
        ({"config": {"CW_AUTHZ_SHUTDOWN_GRACE_SECONDS": "99"}}, "set lifecycle.shutdownGraceSeconds instead"),
        ({"probes": {"port": "nope"}}, 'probes.port "nope" names no entry of ports'),
    ],
)
def test_library_refuses_settings_that_would_desynchronise_the_pod(
    helm_root: Path, values: dict[str, object], message: str
) -> None:
    with pytest.raises(helm.HelmError, match=message):
        charts.render(helm_root / "authz", values)


def test_schema_accepts_every_ci_value_set(helm_root: Path, all_values: dict[tuple[str, str], dict[str, Any]]) -> None:
    dirs = charts.chart_dirs(helm_root)
    for (name, _), values in all_values.items():
        with helm.Chart.load(dirs[name]) as chart:
            chart.validate_schema(values)
