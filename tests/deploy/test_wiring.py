"""Each chart gives its service what the service's settings say it needs, and no more.

Derived from the settings classes and the code, so a service that gains a peer, a database or a secret
fails here until its chart follows: every gRPC target points at the peer's Service (and the network policy
lets the call through), infrastructure egress matches the settings, every Secret a pod references exists
(generated in development, created by the operator as docs/deploy.md says in production), file settings
point into mounted volumes, and the partner API's Ingress publishes its API and nothing internal.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest

from tests.deploy import charts
from tests.deploy.test_policy import _ingress_allows, _policies_for, container_env, service_deployments
from tests.deploy.test_settings_coverage import env_names, settings_class

Objects = dict[str, list[charts.Manifest]]
VALUE_SETS = ("default", "production")


def _values(service: str) -> dict[str, Any]:
    return charts.values_file(charts.HELM / service / "values.yaml")


def _labels(deployment: charts.Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("value_set", VALUE_SETS)
@pytest.mark.parametrize("service", charts.SERVICES)
def test_every_grpc_target_setting_points_at_the_peer_service(platform: Objects, service: str, value_set: str) -> None:
    """A `*_target` setting left at its 127.0.0.1 default would make the pod call itself."""
    objects = platform[value_set]
    deployment = charts.named(objects, "Deployment", f"{charts.RELEASE}-{service}")
    env = container_env(objects, deployment)
    targets = {v for f, v in env_names(settings_class(service)).items() if f.endswith("_target")}
    for variable in targets:
        assert variable in env, f"{service}: {variable} is not set by the chart (peers.<peer>.env)"
        host, port = env[variable].rsplit(":", 1)
        callee = charts.named(objects, "Service", host)
        grpc = next(p for p in callee["spec"]["ports"] if p["name"] == "grpc")
        assert int(port) == grpc["port"], f"{variable}={env[variable]}"


@pytest.mark.parametrize("service", charts.SERVICES)
def test_infrastructure_egress_follows_the_settings(platform: Objects, service: str) -> None:
    fields = set(settings_class(service).model_fields)
    uses = _values(service)["uses"]
    assert uses["mongo"] == ("mongo_url" in fields), "uses.mongo must match whether the service reads MONGO_URL"
    assert uses["keycloak"] == ("keycloak_url" in fields), "uses.keycloak must match KEYCLOAK_URL"
    assert uses["redis"] == ("redis_url" in fields)
    objects = platform["default"]
    deployment = charts.named(objects, "Deployment", f"{charts.RELEASE}-{service}")
    egress_ports = {
        p["port"]
        for policy in _policies_for(objects, _labels(deployment))
        for r in policy["spec"]["egress"]
        for p in r["ports"]
    }
    assert (27017 in egress_ports) == uses["mongo"] and (8080 in egress_ports) == uses["keycloak"], egress_ports


def test_grpc_ports_admit_only_services_that_call_them(platform: Objects) -> None:
    """Least privilege both ways: every declared peer may call, and nobody else may."""
    objects = platform["default"]
    deployments = service_deployments(objects)
    calls = {(caller, peer) for caller in charts.SERVICES for peer in _values(caller)["peers"] or {}}
    assert len(calls) >= 12, sorted(calls)
    for callee, deployment in deployments.items():
        ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
        grpc = next((p for p in ports if p["name"] == "grpc"), None)
        if grpc is None:
            assert callee == "partner-api", callee  # HTTP only; nothing calls it from inside
            continue
        for caller, caller_deployment in deployments.items():
            allowed = _ingress_allows(objects, _labels(deployment), grpc["containerPort"], _labels(caller_deployment))
            assert allowed == ((caller, callee) in calls), f"{caller} -> {callee}: allowed={allowed}"


def _secret_references(objects: list[charts.Manifest]) -> dict[str, set[str]]:
    """Secret name -> the objects that need it (env, envFrom, volumes, Ingress TLS)."""
    found: dict[str, set[str]] = {}
    for workload in objects:
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        if workload["kind"] in ("Deployment", "StatefulSet"):
            pod = workload["spec"]["template"]["spec"]
            for container in pod["containers"] + pod.get("initContainers", []):
                for entry in container.get("env", []):
                    if "secretKeyRef" in entry.get("valueFrom", {}):
                        found.setdefault(entry["valueFrom"]["secretKeyRef"]["name"], set()).add(where)
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        found.setdefault(source["secretRef"]["name"], set()).add(where)
            for volume in pod.get("volumes", []):
                if "secret" in volume:
                    found.setdefault(volume["secret"]["secretName"], set()).add(where)
        elif workload["kind"] == "Ingress":
            for tls in workload["spec"].get("tls", []):
                found.setdefault(tls["secretName"], set()).add(where)
    return found


def _documented_secrets() -> set[str]:
    docs = (charts.REPO / "docs" / "deploy.md").read_text()
    return set(re.findall(r"kubectl -n chargewatch create secret (?:generic|tls) ([a-z0-9-]+)", docs))


def test_every_secret_a_pod_needs_exists_or_is_documented(platform: Objects) -> None:
    default = platform["default"]
    generated = {s["metadata"]["name"] for s in charts.of_kind(default, "Secret")}
    assert set(_secret_references(default)) <= generated, "development install: every Secret is generated"
    needed = _secret_references(platform["production"])
    documented = _documented_secrets()
    assert set(needed) == documented, f"production needs {sorted(needed)}; docs/deploy.md creates {sorted(documented)}"
    assert needed["chargewatch-keycloak-client"] == {
        "Deployment/cw-authz",
        "Deployment/cw-ocpp-gateway",
        "Deployment/cw-security-monitor",
        "Deployment/cw-sla-engine",
    }


def _paths(value: str) -> list[str]:
    if value.startswith("/"):
        return [value]
    if value.startswith("["):
        loaded = json.loads(value)
        if isinstance(loaded, list) and all(isinstance(v, str) and v.startswith("/") for v in loaded):
            return [str(v) for v in loaded]
    return []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_file_settings_point_into_mounted_volumes(platform: Objects, value_set: str) -> None:
    objects = platform[value_set]
    checked = 0
    for name, deployment in service_deployments(objects).items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        for variable, value in container_env(objects, deployment).items():
            for path in _paths(value):
                directory, file_name = path.rsplit("/", 1)
                assert directory in mounts, f"{name}: {variable} -> {path} is on no mounted volume"
                items = mounts[directory].get("secret", {}).get("items")
                if items:
                    assert file_name in {i["path"] for i in items}, f"{name}: {path} is not among the mounted keys"
                checked += 1
    if value_set == "production":
        assert checked >= 5  # the gateway's certificate, key and CA; the monitor's certificate and CA


def test_the_security_monitor_reads_the_gateway_certificate_but_never_its_key(platform: Objects) -> None:
    pod = charts.named(platform["production"], "Deployment", "cw-security-monitor")["spec"]["template"]["spec"]
    tls = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "chargewatch-ocpp-tls")
    assert [i["key"] for i in tls["secret"]["items"]] == ["tls.crt"]


def _public_egress(objects: list[charts.Manifest]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in charts.of_kind(objects, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" in peer and ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0:
                    found.setdefault(policy["metadata"]["name"], []).append(rule)
    return found


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_only_the_partner_api_reaches_the_internet_and_only_public_https(platform: Objects, value_set: str) -> None:
    """Webhook deliveries go to partners' HTTPS endpoints; a URL resolving to a private address (a pod, the cloud
    metadata service) finds no route, whatever the API's own URL checks let through."""
    egress = _public_egress(platform[value_set])
    assert set(egress) == {"cw-partner-api"}
    for rule in egress["cw-partner-api"]:
        assert [p["port"] for p in rule["ports"]] == [443]
        excluded = [ipaddress.ip_network(c) for peer in rule["to"] for c in peer["ipBlock"].get("except", [])]
        for private in ("10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "127.0.0.1"):
            assert any(ipaddress.ip_address(private) in network for network in excluded), private


def test_the_ingress_publishes_the_partner_api_and_keeps_probes_and_metrics_inside(platform: Objects) -> None:
    from chargewatch.partner_api.api import ROUTERS

    ingress = charts.named(platform["production"], "Ingress", "cw-partner-api")
    prefixes = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert all(p["pathType"] == "Prefix" for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"])

    def routed(path: str) -> bool:
        return any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in prefixes)

    routes = [route.path for router in ROUTERS for route in router.routes]  # type: ignore[attr-defined]
    assert len(routes) > 20
    unrouted = [path for path in routes if not routed(path)]
    assert unrouted == [], f"public routes the Ingress does not forward: {unrouted}"
    assert routed("/docs") and routed("/openapi.json")
    for internal in ("/metrics", "/healthz", "/readyz"):
        assert not routed(internal), internal


def test_authz_sizes_its_password_hashing_pool_from_its_cpu_limit(platform: Objects) -> None:
    """The service counts the CPUs it may run on, which in a pod are the node's: the chart passes the limit."""
    for objects in platform.values():
        container = charts.named(objects, "Deployment", "cw-authz")["spec"]["template"]["spec"]["containers"][0]
        entry = next(e for e in container["env"] if e["name"] == "CW_AUTHZ_PASSWORD_HASH_THREADS")
        assert entry["valueFrom"]["resourceFieldRef"] == {"resource": "limits.cpu", "divisor": "1"}
        assert "cpu" in container["resources"]["limits"]
