"""k8s/ manifests, skaffold.yaml, the Dockerfiles, the Makefile targets and docs/deploy.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.util import find_spec
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy import charts, kube_schema

MODULES = {
    "ocpp-gateway": "chargewatch.ocpp_gateway",
    "authz": "chargewatch.authz",
    "telemetry": "chargewatch.telemetry",
    "sla-engine": "chargewatch.sla_engine",
    "security-monitor": "chargewatch.security_monitor",
    "partner-api": "chargewatch.partner_api",
}


@pytest.fixture(scope="module")
def cluster_objects() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    output = subprocess.run(
        [kubectl, "kustomize", str(charts.REPO / "k8s")], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(output) if d]


def test_cluster_manifests_are_valid(cluster_objects: list[dict[str, Any]]) -> None:
    assert len(cluster_objects) >= 5
    for manifest in cluster_objects:
        try:
            kube_schema.validate(manifest)
        except jsonschema.ValidationError as error:
            pytest.fail(f"{manifest['kind']}: {error.message}")


def test_namespace_enforces_the_restricted_pod_security_standard(cluster_objects: list[dict[str, Any]]) -> None:
    namespace = next(o for o in cluster_objects if o["kind"] == "Namespace")
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_namespace_denies_all_traffic_by_default_except_dns(cluster_objects: list[dict[str, Any]]) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in cluster_objects if o["kind"] == "NetworkPolicy"}
    deny = policies["default-deny-all"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    dns = policies["allow-dns-egress"]
    assert dns["policyTypes"] == ["Egress"]
    assert {p["port"] for rule in dns["egress"] for p in rule["ports"]} == {53}


def test_realm_configmap_for_an_external_keycloak_is_the_repository_file(
    cluster_objects: list[dict[str, Any]],
) -> None:
    realm = next(o for o in cluster_objects if o["kind"] == "ConfigMap")
    text = (charts.REPO / "k8s" / "keycloak" / "chargewatch-realm.json").read_text()
    assert realm["data"]["chargewatch-realm.json"] == text


def test_the_pod_security_profile_admits_every_rendered_pod(platform: dict[str, list[charts.Manifest]]) -> None:
    """The restricted profile's rules, applied to every pod template of every value set."""
    for objects in platform.values():
        for workload in objects:
            if workload["kind"] not in ("Deployment", "StatefulSet"):
                continue
            pod = workload["spec"]["template"]["spec"]
            for volume in pod.get("volumes", []):
                assert not {"hostPath"} & set(volume), workload["metadata"]["name"]
            for container in pod["containers"]:
                for port in container.get("ports", []):
                    assert "hostPort" not in port


@pytest.fixture(scope="module")
def skaffold() -> dict[str, Any]:
    loaded = yaml.safe_load((charts.REPO / "skaffold.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_skaffold_builds_one_artifact_per_service(skaffold: dict[str, Any]) -> None:
    assert str(skaffold["apiVersion"]).startswith("skaffold/v4") and skaffold["kind"] == "Config"
    build = skaffold["build"]
    assert build["tagPolicy"] == {"gitCommit": {}}
    artifacts = {a["image"]: a for a in build["artifacts"]}
    assert set(artifacts) == {f"chargewatch/{s}" for s in charts.SERVICES}
    for service in charts.SERVICES:
        artifact = artifacts[f"chargewatch/{service}"]
        dockerfile = artifact["docker"]["dockerfile"]
        assert dockerfile == f"services/{service}/Dockerfile"
        assert (charts.REPO / artifact["context"] / dockerfile).is_file()


def test_skaffold_deploys_the_umbrella_chart_with_the_built_images(skaffold: dict[str, Any]) -> None:
    release = skaffold["deploy"]["helm"]["releases"][0]
    assert (charts.REPO / release["chartPath"] / "Chart.yaml").is_file()
    assert release["chartPath"] == "helm/chargewatch"
    for values_file in release["valuesFiles"]:
        assert (charts.REPO / values_file).is_file()
    templates = release["setValueTemplates"]
    for service in charts.SERVICES:
        key = "IMAGE_REPO_chargewatch_" + service.replace("-", "_")
        assert key in templates[f"{service}.image.repository"]
    profiles = {p["name"]: p for p in skaffold["profiles"]}
    assert {"dev", "prod"} <= set(profiles)
    prod_files = next(p["value"] for p in profiles["prod"]["patches"] if p["path"].endswith("valuesFiles"))
    assert all((charts.REPO / f).is_file() for f in prod_files)
    assert "helm/chargewatch/ci/production-values.yaml" in prod_files


@pytest.mark.parametrize("service", charts.SERVICES)
def test_dockerfile_is_small_locked_and_unprivileged(service: str) -> None:
    text = (charts.REPO / "services" / service / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert len(froms) >= 2, "multi-stage"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, flags=re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1)), (
        "pinned slim base"
    )
    assert f"uv sync --frozen --no-dev --no-editable --package chargewatch-{service}" in text
    user = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert user and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0"
    entrypoint = re.search(r'^ENTRYPOINT \["python", "-m", "([\w.]+)"\]', text, flags=re.MULTILINE)
    assert entrypoint and entrypoint.group(1) == MODULES[service]
    assert find_spec(f"{MODULES[service]}.__main__") is not None
    # The chart's user must be the image's user.
    chart_user = charts.values_file(charts.HELM / service / "values.yaml")["securityContext"]["runAsUser"]
    assert str(chart_user) == user[-1].split(":")[0]


def test_docker_context_leaves_out_what_images_do_not_need() -> None:
    ignored = (charts.REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "tests", "helm"):
        assert entry in ignored


def test_make_has_commented_images_and_charts_targets() -> None:
    makefile = (charts.REPO / "Makefile").read_text()
    for target in ("images", "charts", "test"):
        assert re.search(rf"^{target}:.*## \S", makefile, flags=re.MULTILINE), target
    output = subprocess.run(["make", "-s", "help"], cwd=charts.REPO, capture_output=True, text=True, timeout=60).stdout
    assert "images" in output and "charts" in output


def test_every_dockerfile_pins_the_same_base_and_uv() -> None:
    dockerfiles = [charts.REPO / "Dockerfile", *(charts.REPO / "services" / s / "Dockerfile" for s in charts.SERVICES)]
    bases = {m for p in dockerfiles for m in re.findall(r"^ARG PYTHON_IMAGE=(\S+)", p.read_text(), flags=re.MULTILINE)}
    uvs = {m for p in dockerfiles for m in re.findall(r"\buv==([\d.]+)", p.read_text())}
    assert len(bases) == 1 and len(uvs) == 1, (bases, uvs)
    for path in dockerfiles:
        text = path.read_text()
        assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in text and "--no-dev --no-editable" in text, path


@pytest.mark.parametrize("service", charts.SERVICES)
def test_dockerfile_exposes_the_ports_the_chart_opens(service: str) -> None:
    text = (charts.REPO / "services" / service / "Dockerfile").read_text()
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", text, flags=re.MULTILINE) for p in line.split()}
    ports = charts.values_file(charts.HELM / service / "values.yaml")["ports"]
    assert exposed == {p["port"] for p in ports.values()}
