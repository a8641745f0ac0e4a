"""Every environment variable a service reads can be set through its chart, and the chart's defaults are
what the service itself accepts.

Other engineers add settings all the time: a new field passes as long as the generic `config` map carries
it into the pod (or, for a secret, a Secret reference does); it fails only when the chart can carry it
nowhere. Fields the chart documents by name must also keep the service's own defaults.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from tests.deploy import charts
from tests.deploy.test_policy import container_env

SETTINGS = {
    "ocpp-gateway": "chargewatch.ocpp_gateway.config:GatewaySettings",
    "authz": "chargewatch.authz.config:AuthzSettings",
    "telemetry": "chargewatch.telemetry.config:TelemetrySettings",
    "sla-engine": "chargewatch.sla_engine.config:SlaEngineSettings",
    "security-monitor": "chargewatch.security_monitor.config:SecurityMonitorSettings",
    "partner-api": "chargewatch.partner_api.config:PartnerApiSettings",
}
PROBE = "probe-value-from-config"


def settings_class(service: str) -> type[BaseSettings]:
    module, name = SETTINGS[service].split(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BaseSettings)
    return cls


def env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """field name -> the environment variable pydantic-settings reads it from."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names[field_name] = f"{prefix}{field_name}".upper()
        else:
            choices = getattr(alias, "choices", [alias])
            names[field_name] = str(choices[0])
    return names


def is_secret(cls: type[BaseSettings], field_name: str) -> bool:
    annotation = repr(cls.model_fields[field_name].annotation)
    return "SecretStr" in annotation or field_name in getattr(cls, "secret_fields", ())


def documented_names(service: str) -> set[str]:
    """Environment variables named in the chart's values.yaml or the umbrella's (which documents the shared ones)."""
    text = (charts.HELM / service / "values.yaml").read_text()
    text += (charts.HELM / charts.UMBRELLA / "values.yaml").read_text()
    return set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", text))


@pytest.mark.parametrize("service", charts.SERVICES)
def test_every_setting_is_documented_or_passable(helm_root: Path, service: str) -> None:
    cls = settings_class(service)
    names = env_names(cls)
    documented = documented_names(service)
    secret = {n for n in names if is_secret(cls, n)}
    plain = {n: env for n, env in names.items() if n not in secret}
    passable_values: dict[str, Any] = {"config": {env: PROBE for env in plain.values() if env not in documented}}
    passable_values["envFromSecrets"] = ["extra-secret-settings"]
    objects = charts.render(helm_root / service, passable_values)
    deployment = next(charts.of_kind(objects, "Deployment"))
    env = container_env(objects, deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    secret_refs = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    env_from_secrets = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]

    missing = []
    for field_name, variable in names.items():
        if field_name in secret:
            # A secret reaches the pod by a named Secret reference or through envFromSecrets, never by value.
            if variable not in secret_refs and "extra-secret-settings" not in env_from_secrets:
                missing.append(variable)
            continue
        if variable in documented:
            continue
        if env.get(variable) != PROBE:
            missing.append(variable)
    assert missing == [], f"{service}: settings the chart can neither document nor pass: {missing}"


@pytest.mark.parametrize("service", charts.SERVICES)
def test_named_secret_settings_come_from_secret_references(service: str) -> None:
    cls = settings_class(service)
    values = charts.values_file(charts.HELM / service / "values.yaml")
    for field_name, variable in env_names(cls).items():
        if is_secret(cls, field_name) and variable in documented_names(service):
            assert variable in values["secretEnv"], f"{variable} is documented but not a Secret reference"
            assert variable not in values["config"]


@pytest.mark.parametrize("service", charts.SERVICES)
def test_chart_leaves_service_defaults_alone_and_documents_only_real_settings(service: str) -> None:
    """The chart sets no service setting by default (the service's own defaults apply, so they cannot
    drift), and every setting values.yaml documents under `config` is one the service really reads."""
    cls = settings_class(service)
    known = set(env_names(cls).values())
    text = (charts.HELM / service / "values.yaml").read_text()
    assert charts.values_file(charts.HELM / service / "values.yaml")["config"] == {}
    block = text.split("\nconfig: {}\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^  # ([A-Z][A-Z0-9_]+): ", block, flags=re.MULTILINE)
    assert documented, service
    stale = [name for name in documented if name not in known]
    assert stale == [], f"{service}: values.yaml documents settings {cls.__name__} does not have: {stale}"


@pytest.mark.parametrize("value_set", ["default", "production"])
@pytest.mark.parametrize("service", charts.SERVICES)
def test_rendered_environment_is_accepted_by_the_service(
    platform: dict[str, list[charts.Manifest]], monkeypatch: pytest.MonkeyPatch, service: str, value_set: str
) -> None:
    objects = platform[value_set]
    deployment = charts.named(objects, "Deployment", f"{charts.RELEASE}-{service}")
    env = container_env(objects, deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for entry in container["env"]:
        if "secretKeyRef" in entry.get("valueFrom", {}):
            # What the referenced Secret would hold.
            env[entry["name"]] = {"REDIS_URL": "redis://:pw@redis:6379/0", "MONGO_URL": "mongodb://u:pw@mongo/"}.get(
                entry["name"], "a-real-secret-from-the-cluster"
            )
    cls = settings_class(service)
    for variable in set(env_names(cls).values()):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    settings = cls()
    names = env_names(cls)
    for field_name, variable in names.items():
        value = getattr(settings, field_name)
        if variable in env and isinstance(value, str):
            assert value == env[variable], variable
    loaded = settings.model_dump()
    assert loaded["mode"].value == "production"
    assert loaded["redis_url"] != "redis://127.0.0.1:6379/0", "REDIS_URL reaches the pod"
    secret_values = [getattr(settings, f) for f in names if is_secret(cls, f)]
    assert all(isinstance(v, SecretStr) and v.get_secret_value() for v in secret_values)
