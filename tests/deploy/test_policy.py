"""Security and availability policy on every workload the charts render, and network reachability.

Reachability: a port a pod listens on is reachable only through an ingress rule of the pod's own
NetworkPolicy, and every call one service makes to another is allowed on both ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.deploy import charts
from tests.deploy.conftest import merge

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
Objects = dict[str, list[charts.Manifest]]


def workloads(platform: Objects) -> Iterator[tuple[str, charts.Manifest]]:
    for value_set, objects in platform.items():
        for o in objects:
            if o["kind"] in WORKLOAD_KINDS:
                yield value_set, o


def service_deployments(objects: list[charts.Manifest]) -> dict[str, charts.Manifest]:
    by_component = {o["metadata"]["labels"]["app.kubernetes.io/name"]: o for o in charts.of_kind(objects, "Deployment")}
    return {name: by_component[name] for name in charts.SERVICES if name in by_component}


def container_env(objects: list[charts.Manifest], deployment: charts.Manifest) -> dict[str, str]:
    """The plain environment a container sees: its ConfigMaps, then its own env values."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(charts.named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def test_every_workload_is_hardened(platform: Objects) -> None:
    seen = 0
    for value_set, workload in workloads(platform):
        where = f"{value_set}: {workload['metadata']['name']}"
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod.get("automountServiceAccountToken") is False, where
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"], where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{where}: unpinned {image}"
            assert container.get("readinessProbe") and container.get("livenessProbe"), where
        seen += 1
    assert seen >= 6 * len(platform)


def test_services_probe_healthz_and_readyz_on_the_port_they_serve_them(platform: Objects) -> None:
    for value_set, objects in platform.items():
        for name, deployment in service_deployments(objects).items():
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            env = container_env(objects, deployment)
            probe_port = container["livenessProbe"]["httpGet"]["port"]
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["readinessProbe"]["httpGet"]["port"] == probe_port
            port_numbers = {p["name"]: p["containerPort"] for p in container["ports"]}
            # The service reads its ops (or, for the partner API, HTTP) port from this variable.
            expected_env = "CW_PARTNER_API_HTTP_PORT" if name == "partner-api" else None
            prefix = deployment_prefix(env)
            expected_env = expected_env or f"{prefix}OPS_PORT"
            assert env[expected_env] == str(port_numbers[probe_port]), f"{value_set}/{name}"


def deployment_prefix(env: dict[str, str]) -> str:
    prefixes = {k.removesuffix("SHUTDOWN_GRACE_SECONDS") for k in env if k.endswith("_SHUTDOWN_GRACE_SECONDS")}
    assert len(prefixes) == 1, prefixes
    return prefixes.pop()


def test_every_port_variable_matches_a_container_port(platform: Objects) -> None:
    for objects in platform.values():
        for name, deployment in service_deployments(objects).items():
            env = container_env(objects, deployment)
            container_ports = {
                p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            }
            port_vars = {k: int(v) for k, v in env.items() if k.endswith("_PORT") and k.startswith("CW_")}
            assert port_vars, name
            assert set(port_vars.values()) == container_ports, f"{name}: {port_vars} vs {container_ports}"


def test_pods_outlive_their_own_drain(platform: Objects) -> None:
    for objects in platform.values():
        for name, deployment in service_deployments(objects).items():
            pod = deployment["spec"]["template"]["spec"]
            env = container_env(objects, deployment)
            grace = float(env[f"{deployment_prefix(env)}SHUTDOWN_GRACE_SECONDS"])
            pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert pod["terminationGracePeriodSeconds"] > pre_stop + grace, name


def test_gateway_rollouts_and_drains_never_drop_every_station(platform: Objects) -> None:
    for value_set, objects in platform.items():
        gateway = charts.named(objects, "Deployment", "cw-ocpp-gateway")
        hpa = charts.named(objects, "HorizontalPodAutoscaler", "cw-ocpp-gateway")
        pdb = charts.named(objects, "PodDisruptionBudget", "cw-ocpp-gateway")
        min_replicas = hpa["spec"]["minReplicas"]
        unavailable = gateway["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"]
        assert isinstance(unavailable, int) and 0 < unavailable < min_replicas, value_set
        assert 0 < pdb["spec"]["maxUnavailable"] < min_replicas, value_set
        assert gateway["spec"]["minReadySeconds"] > 0
        assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_ocpp_endpoint_is_plain_tcp_to_the_gateway_with_no_tls_terminating_ingress(platform: Objects) -> None:
    for value_set, objects in platform.items():
        public = charts.named(objects, "Service", "cw-ocpp-gateway-public")
        assert public["spec"]["type"] in ("LoadBalancer", "NodePort"), value_set
        assert public["spec"]["externalTrafficPolicy"] == "Local"
        assert [(p["protocol"], p["targetPort"]) for p in public["spec"]["ports"]] == [("TCP", "ocpp")]
        for ingress in charts.of_kind(objects, "Ingress"):
            backends = [p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
            assert "cw-ocpp-gateway" not in backends and "cw-ocpp-gateway-public" not in backends
    production = charts.named(platform["production"], "Deployment", "cw-ocpp-gateway")
    env = container_env(platform["production"], production)
    mounts = {m["mountPath"] for m in production["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    for variable in ("CW_GATEWAY_TLS_CERTIFICATE_FILE", "CW_GATEWAY_TLS_KEY_FILE", "CW_GATEWAY_TLS_CLIENT_CA_FILE"):
        assert env[variable].rsplit("/", 1)[0] in mounts, variable


def test_no_secret_values_outside_generated_development_secrets(platform: Objects, rendered: Any) -> None:
    for (chart, value_set), objects in rendered.items():
        secrets = list(charts.of_kind(objects, "Secret"))
        if chart == charts.UMBRELLA and value_set == "default":
            # Random values generated at install time, never taken from values.
            assert {s["metadata"]["name"] for s in secrets} == {"cw-keycloak-client", "cw-keycloak-admin"}
            assert all(s["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for s in secrets)
        else:
            assert secrets == [], f"{chart}/{value_set} ships a Secret"
        for config_map in charts.of_kind(objects, "ConfigMap"):
            for key in config_map.get("data", {}):
                assert "SECRET" not in key.upper() and "PASSWORD" not in key.upper(), (chart, key)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels", {})
    if not all(labels.get(k) == v for k, v in match.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
    return True


def _peer_allows(peer: dict[str, Any], source_labels: dict[str, str]) -> bool:
    """A same-namespace pod with these labels matches this NetworkPolicyPeer."""
    if "ipBlock" in peer or "namespaceSelector" in peer:
        return False
    return _selects(peer["podSelector"], source_labels)


def _policies_for(objects: list[charts.Manifest], labels: dict[str, str]) -> list[charts.Manifest]:
    return [p for p in charts.of_kind(objects, "NetworkPolicy") if _selects(p["spec"]["podSelector"], labels)]


def _ingress_allows(
    objects: list[charts.Manifest], target_labels: dict[str, str], port: int, source: dict[str, str]
) -> bool:
    for policy in _policies_for(objects, target_labels):
        for rule in policy["spec"].get("ingress", []):
            if any(p["port"] == port for p in rule.get("ports", [])) and any(
                _peer_allows(peer, source) for peer in rule.get("from", [])
            ):
                return True
    return False


def test_every_pod_has_a_policy_and_every_listening_port_a_rule(platform: Objects) -> None:
    for value_set, workload in workloads(platform):
        objects = platform[value_set]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        policies = _policies_for(objects, labels)
        assert len(policies) == 1, f"{workload['metadata']['name']}: {len(policies)} policies"
        spec = policies[0]["spec"]
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        listening = {p["containerPort"] for c in workload["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        rule_ports = set()
        for rule in spec.get("ingress", []):
            # No rule opens every port or admits everybody without saying from where.
            assert rule.get("ports") and rule.get("from"), f"{workload['metadata']['name']}: open rule {rule}"
            rule_ports |= {p["port"] for p in rule["ports"]}
        assert rule_ports <= listening, f"{workload['metadata']['name']} allows ports it does not serve"
        uncovered = listening - rule_ports
        # A port no rule covers is unreachable (kubelet probes excepted): fine only for the health ports of
        # the infrastructure pods; every port of a service has its declared callers.
        if uncovered:
            assert workload["metadata"]["labels"]["app.kubernetes.io/component"] == "infrastructure", uncovered


def test_only_the_ocpp_port_is_open_to_the_internet(platform: Objects) -> None:
    for value_set, objects in platform.items():
        for policy in charts.of_kind(objects, "NetworkPolicy"):
            for rule in policy["spec"].get("ingress", []):
                if any("ipBlock" in peer for peer in rule["from"]):
                    assert policy["metadata"]["name"] == "cw-ocpp-gateway", value_set
                    assert [p["port"] for p in rule["ports"]] == [9000]


def test_every_call_between_services_is_allowed_at_both_ends(platform: Objects) -> None:
    for value_set, objects in platform.items():
        deployments = service_deployments(objects)
        labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}
        edges = 0
        for name, deployment in deployments.items():
            env = container_env(objects, deployment)
            for variable, value in env.items():
                if not variable.endswith("_TARGET"):
                    continue
                host, port_text = value.rsplit(":", 1)
                port = int(port_text)
                service = charts.named(objects, "Service", host)
                target = service["spec"]["selector"]["app.kubernetes.io/name"]
                assert port in {p["port"] for p in service["spec"]["ports"]}, f"{variable}={value}"
                # Egress from the caller to the callee's pods on that port...
                egress_ok = any(
                    any(p["port"] == port for p in rule["ports"])
                    and any(_peer_allows(peer, labels[target]) for peer in rule["to"])
                    for policy in _policies_for(objects, labels[name])
                    for rule in policy["spec"]["egress"]
                )
                assert egress_ok, f"{value_set}: {name} may not call {target}:{port}"
                # ...and ingress at the callee from the caller.
                assert _ingress_allows(objects, labels[target], port, labels[name]), f"{target} refuses {name}"
                edges += 1
        assert edges >= 7, value_set


def test_metrics_ports_admit_only_prometheus_and_declared_callers(platform: Objects) -> None:
    objects = platform["default"]
    for name, deployment in service_deployments(objects).items():
        if name == "partner-api":
            continue
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        ops_port = next(
            p["containerPort"]
            for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            if p["name"] == "ops"
        )
        for other, other_deployment in service_deployments(objects).items():
            other_labels = other_deployment["spec"]["template"]["metadata"]["labels"]
            assert not _ingress_allows(objects, pod_labels, ops_port, other_labels), (
                f"{other} reaches {name}'s ops port"
            )


def test_infrastructure_admits_services_but_not_each_other(platform: Objects) -> None:
    objects = platform["default"]
    redis = charts.named(objects, "StatefulSet", "cw-redis")["spec"]["template"]["metadata"]["labels"]
    mongo = charts.named(objects, "StatefulSet", "cw-mongodb")["spec"]["template"]["metadata"]["labels"]
    telemetry = charts.named(objects, "Deployment", "cw-telemetry")["spec"]["template"]["metadata"]["labels"]
    assert _ingress_allows(objects, mongo, 27017, telemetry)
    assert _ingress_allows(objects, redis, 6379, telemetry)
    assert not _ingress_allows(objects, mongo, 27017, redis)


def test_every_egress_rule_is_a_declared_flow(
    platform: Objects, all_values: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """DNS, the infrastructure the service uses (and the collector), its peers' gRPC ports, and (partner API
    only) public HTTPS for webhooks: a rule outside these would be a flow nobody declared."""
    umbrella_defaults = charts.values_file(charts.HELM / charts.UMBRELLA / "values.yaml")
    for value_set, objects in platform.items():
        merged = merge(umbrella_defaults, all_values[(charts.UMBRELLA, value_set)])
        dependencies = merged["global"]["chargewatch"]["networkPolicy"]["dependencies"]
        for name, deployment in service_deployments(objects).items():
            values = charts.values_file(charts.HELM / name / "values.yaml")
            peers = {(peer, spec["port"]) for peer, spec in (values["peers"] or {}).items()}
            used = [dependencies[d] for d, on in values["uses"].items() if on] + [dependencies["otel"]]
            (policy,) = _policies_for(objects, deployment["spec"]["template"]["metadata"]["labels"])
            for rule in policy["spec"]["egress"]:
                ports = [p["port"] for p in rule["ports"]]
                targets = rule["to"]
                where = f"{value_set}: {name} egress {ports} to {targets}"
                if ports == [53, 53]:
                    assert targets == merged["global"]["chargewatch"]["networkPolicy"]["dns"], where
                elif any(t.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for t in targets):
                    assert name == "partner-api" and ports == [443], where
                elif any(
                    "app.kubernetes.io/instance" in t.get("podSelector", {}).get("matchLabels", {}) for t in targets
                ):
                    component = targets[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    assert len(ports) == 1 and (component, ports[0]) in peers, where
                else:
                    assert {"port": ports[0], "to": targets} in used and len(ports) == 1, where
