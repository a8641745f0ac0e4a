"""Command arguments and gateway settings (no network)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chargewatch.ocpp_gateway.commands import camel_case, command_action, command_arguments
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.dispatch import trace_limits
from chargewatch.ocpp_gateway.handlers import TABLES
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.tracing import NO_LIMIT, ratio_limit
from chargewatch.v1 import gateway_pb2


def test_arguments_accept_snake_case() -> None:
    assert camel_case("connector_id") == "connectorId"
    assert camel_case("connectorId") == "connectorId"
    assert command_arguments('{"requested_message": "Heartbeat", "evse": {"connector_id": 1}}') == {
        "requestedMessage": "Heartbeat",
        "evse": {"connectorId": 1},
    }
    assert command_arguments("") == {}
    with pytest.raises(ValueError, match="JSON object"):
        command_arguments("[1]")
    with pytest.raises(ValueError, match="not JSON"):
        command_arguments("{nope")


def test_command_kinds_per_version() -> None:
    assert command_action(OcppVersion.V16, gateway_pb2.COMMAND_KIND_RESET) == "Reset"
    assert command_action(OcppVersion.V201, gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE) == "TriggerMessage"
    assert command_action(OcppVersion.V16, gateway_pb2.COMMAND_KIND_REMOTE_START) == "RemoteStartTransaction"
    assert command_action(OcppVersion.V16, gateway_pb2.COMMAND_KIND_GET_VARIABLES) is None  # a 2.0.1 kind


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_GATEWAY_OCPP_PORT", "9100")
    monkeypatch.setenv("CW_GATEWAY_OCPP_PATH_PREFIX", "ocpp/v1/")
    monkeypatch.setenv("CW_GATEWAY_OCPP_SUBPROTOCOLS", '["ocpp1.6"]')
    monkeypatch.setenv("CW_GATEWAY_AUTHZ_TARGET", "authz:50051")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    settings = GatewaySettings()
    assert settings.ocpp_port == 9100
    assert settings.ocpp_path_prefix == "/ocpp/v1"
    assert settings.ocpp_subprotocols == ["ocpp1.6"]
    assert settings.authz_target == "authz:50051"
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.grpc_port, settings.ops_port, settings.heartbeat_interval_seconds) == (50052, 9102, 300)
    assert settings.gateway_instance


def test_settings_defaults_and_refusals() -> None:
    settings = GatewaySettings()
    assert (settings.ocpp_host, settings.ocpp_port, settings.ocpp_path_prefix) == ("0.0.0.0", 9000, "/ocpp")
    assert settings.ocpp_subprotocols == ["ocpp2.0.1", "ocpp2.1", "ocpp1.6"]
    assert (settings.authz_deadline_seconds, settings.max_frame_bytes) == (2.0, 65536)
    with pytest.raises(ValidationError):
        GatewaySettings(ocpp_subprotocols=["ocpp1.5"])
    with pytest.raises(ValidationError):
        GatewaySettings(ocpp_subprotocols=[])
    # The service account's secret is what authz admits the gateway by: a placeholder is refused.
    with pytest.raises(ValidationError, match="client_secret"):
        GatewaySettings(client_secret="changeme")
    for name, field in GatewaySettings.model_fields.items():
        assert field.description, name


def test_trace_ratios_per_action(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().trace_ratio_by_action == {"MeterValues": 0.01}
    monkeypatch.setenv("CW_GATEWAY_TRACE_RATIO_BY_ACTION", '{"MeterValues": 0.001, "Heartbeat": 0}')
    ratios = GatewaySettings().trace_ratio_by_action
    assert ratios == {"MeterValues": 0.001, "Heartbeat": 0.0}
    limits = trace_limits(ratios, TABLES)
    assert limits == {"MeterValues": ratio_limit(0.001), "Heartbeat": 0}
    assert 0 < limits["MeterValues"] < ratio_limit(0.01) < NO_LIMIT
    with pytest.raises(ValidationError, match="between 0 and 1"):
        GatewaySettings(trace_ratio_by_action={"MeterValues": 1.5})
    # A misspelt action (or one only the gateway sends) would silently keep the full ratio: refused.
    with pytest.raises(ValueError, match=r"no station sends: \['MeterValue', 'Reset'\]"):
        trace_limits({"MeterValue": 0.01, "Reset": 0.5, "TransactionEvent": 0.5}, TABLES)
