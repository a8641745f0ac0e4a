"""Command planning (kind -> OCPP call per version), signed firmware, SET_PASSWORD, redaction (no network)."""

from __future__ import annotations

import orjson
import pytest

from chargewatch.ocpp_gateway.commands import (
    COMMAND_TRANSLATIONS,
    CommandRefused,
    PlannedCall,
    Refusal,
    plan_command,
    redacted,
    reply_status,
)
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.validation import schemas
from chargewatch.v1 import common_pb2, gateway_pb2

K = gateway_pb2
P1, P2, P3 = (
    common_pb2.SECURITY_PROFILE_1_BASIC,
    common_pb2.SECURITY_PROFILE_2_TLS_BASIC,
    common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS,
)
FIRMWARE_201 = {
    "location": "https://firmware.example/fw.bin",
    "retrieveDateTime": "2026-01-01T00:00:00Z",
    "signingCertificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----",
    "signature": "c2lnbmF0dXJl",
}
PASSWORD = "Sup3r-Secret-Passw0rd!"


def test_every_command_kind_exists_in_at_least_one_version() -> None:
    every_kind = {k for k in K.CommandKind.values() if k != K.COMMAND_KIND_UNSPECIFIED}
    assert set(COMMAND_TRANSLATIONS[OcppVersion.V16]) | set(COMMAND_TRANSLATIONS[OcppVersion.V201]) == every_kind
    only_16 = {K.COMMAND_KIND_GET_CONFIGURATION, K.COMMAND_KIND_CHANGE_CONFIGURATION, K.COMMAND_KIND_GET_DIAGNOSTICS}
    only_201 = {K.COMMAND_KIND_GET_VARIABLES, K.COMMAND_KIND_SET_VARIABLES}
    assert every_kind - set(COMMAND_TRANSLATIONS[OcppVersion.V16]) == only_201
    assert every_kind - set(COMMAND_TRANSLATIONS[OcppVersion.V201]) == only_16


@pytest.mark.parametrize(
    ("version", "kind", "action"),
    [
        (OcppVersion.V16, K.COMMAND_KIND_REMOTE_START, "RemoteStartTransaction"),
        (OcppVersion.V201, K.COMMAND_KIND_REMOTE_START, "RequestStartTransaction"),
        (OcppVersion.V16, K.COMMAND_KIND_REMOTE_STOP, "RemoteStopTransaction"),
        (OcppVersion.V201, K.COMMAND_KIND_REMOTE_STOP, "RequestStopTransaction"),
        (OcppVersion.V16, K.COMMAND_KIND_GET_LOG, "GetLog"),
        (OcppVersion.V16, K.COMMAND_KIND_GET_DIAGNOSTICS, "GetDiagnostics"),
        (OcppVersion.V201, K.COMMAND_KIND_SET_VARIABLES, "SetVariables"),
    ],
)
def test_kinds_become_their_version_s_action(version: OcppVersion, kind: int, action: str) -> None:
    assert plan_command(version, kind, {}, security_profile=P1).action == action
    assert schemas(version).knows(action)


def test_every_planned_action_is_an_action_of_its_version() -> None:
    for version, table in COMMAND_TRANSLATIONS.items():
        for kind in table:
            arguments = {"password": PASSWORD} if kind == K.COMMAND_KIND_SET_PASSWORD else {}
            assert schemas(version).knows(plan_command(version, kind, arguments, security_profile=P1).action)


def test_remote_start_on_2_0_1_gets_a_remote_start_id_unless_given() -> None:
    token = {"idToken": {"idToken": "RFID-1", "type": "ISO14443"}}
    generated = plan_command(OcppVersion.V201, K.COMMAND_KIND_REMOTE_START, token, security_profile=P1).payload
    assert isinstance(generated["remoteStartId"], int) and generated["remoteStartId"] > 0
    schemas(OcppVersion.V201).validate("RequestStartTransaction", generated)
    given = plan_command(
        OcppVersion.V201, K.COMMAND_KIND_REMOTE_START, {**token, "remoteStartId": 7}, security_profile=P1
    )
    assert given.payload["remoteStartId"] == 7


def test_unknown_and_absent_kinds_are_refused_with_their_reason() -> None:
    with pytest.raises(CommandRefused) as unknown:
        plan_command(OcppVersion.V16, K.COMMAND_KIND_UNSPECIFIED, {}, security_profile=P1)
    assert unknown.value.refusal is Refusal.UNKNOWN_KIND
    with pytest.raises(CommandRefused) as unknown_number:
        plan_command(OcppVersion.V16, 999, {}, security_profile=P1)
    assert unknown_number.value.refusal is Refusal.UNKNOWN_KIND
    with pytest.raises(CommandRefused) as absent:
        plan_command(OcppVersion.V16, K.COMMAND_KIND_SET_VARIABLES, {}, security_profile=P1)
    assert absent.value.refusal is Refusal.NOT_IN_VERSION
    assert "OCPP 1.6 has no COMMAND_KIND_SET_VARIABLES" in str(absent.value)
    assert "COMMAND_KIND_CHANGE_CONFIGURATION" in str(absent.value)


def test_firmware_updates_are_signed_under_profiles_2_and_3() -> None:
    unsigned_16 = {"location": "https://firmware.example/fw.bin", "retrieveDate": "2026-01-01T00:00:00Z"}
    assert plan_command(OcppVersion.V16, K.COMMAND_KIND_UPDATE_FIRMWARE, unsigned_16, security_profile=P1) == (
        PlannedCall("UpdateFirmware", unsigned_16)
    )
    for profile in (P2, P3):
        with pytest.raises(CommandRefused) as refused:
            plan_command(OcppVersion.V16, K.COMMAND_KIND_UPDATE_FIRMWARE, unsigned_16, security_profile=profile)
        assert refused.value.refusal is Refusal.PRECONDITION
    signed_16 = plan_command(
        OcppVersion.V16, K.COMMAND_KIND_UPDATE_FIRMWARE, {"firmware": FIRMWARE_201}, security_profile=P3
    )
    assert signed_16.action == "SignedUpdateFirmware"
    schemas(OcppVersion.V16).validate("SignedUpdateFirmware", signed_16.payload)

    unsigned_201 = {"firmware": {"location": "https://x/fw.bin", "retrieveDateTime": "2026-01-01T00:00:00Z"}}
    assert plan_command(OcppVersion.V201, K.COMMAND_KIND_UPDATE_FIRMWARE, unsigned_201, security_profile=P1).action == (
        "UpdateFirmware"
    )
    with pytest.raises(CommandRefused) as refused_201:
        plan_command(OcppVersion.V201, K.COMMAND_KIND_UPDATE_FIRMWARE, unsigned_201, security_profile=P2)
    assert refused_201.value.refusal is Refusal.PRECONDITION
    signed_201 = plan_command(
        OcppVersion.V201, K.COMMAND_KIND_UPDATE_FIRMWARE, {"firmware": FIRMWARE_201}, security_profile=P2
    )
    schemas(OcppVersion.V201).validate("UpdateFirmware", signed_201.payload)


def test_set_password_on_1_6_writes_the_hex_authorization_key() -> None:
    planned = plan_command(OcppVersion.V16, K.COMMAND_KIND_SET_PASSWORD, {"password": PASSWORD}, security_profile=P2)
    assert planned == PlannedCall("ChangeConfiguration", {"key": "AuthorizationKey", "value": PASSWORD.encode().hex()})
    schemas(OcppVersion.V16).validate("ChangeConfiguration", planned.payload)


def test_set_password_on_2_0_1_sets_the_basic_auth_password_variable() -> None:
    planned = plan_command(OcppVersion.V201, K.COMMAND_KIND_SET_PASSWORD, {"password": PASSWORD}, security_profile=P2)
    assert planned.action == "SetVariables"
    (variable,) = planned.payload["setVariableData"]
    assert variable == {
        "attributeValue": PASSWORD,
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
    }
    schemas(OcppVersion.V201).validate("SetVariables", planned.payload)
    answer = {
        "setVariableResult": [{"attributeStatus": "Accepted", **{k: variable[k] for k in ("component", "variable")}}]
    }
    assert reply_status(planned, K.COMMAND_KIND_SET_PASSWORD, answer) == "Accepted"


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"password": "short"},
        {"password": "x" * 41},
        {"password": "has a space in it!!"},
        {"password": 12345678901234567},
        {"password": PASSWORD, "extra": 1},
    ],
)
def test_bad_passwords_are_refused_without_echoing_them(arguments: dict[str, object]) -> None:
    for version in (OcppVersion.V16, OcppVersion.V201):
        with pytest.raises(CommandRefused) as refused:
            plan_command(version, K.COMMAND_KIND_SET_PASSWORD, arguments, security_profile=P1)
        assert refused.value.refusal is Refusal.INVALID_ARGUMENTS
        assert str(arguments.get("password", "")) not in str(refused.value) or not arguments.get("password")


def test_redaction_removes_every_secret() -> None:
    planned_16 = plan_command(OcppVersion.V16, K.COMMAND_KIND_SET_PASSWORD, {"password": PASSWORD}, security_profile=P1)
    planned_201 = plan_command(
        OcppVersion.V201, K.COMMAND_KIND_SET_PASSWORD, {"password": PASSWORD}, security_profile=P1
    )
    for payload in (
        planned_16.payload,
        planned_201.payload,
        {"password": PASSWORD},
        {"nested": [{"clientSecret": PASSWORD}]},
    ):
        text = redacted(payload)
        assert PASSWORD not in text and PASSWORD.encode().hex() not in text
        assert "***" in text
    assert orjson.loads(redacted(planned_16.payload)) == {"key": "AuthorizationKey", "value": "***"}
    # Ordinary values stay readable in the audit trail.
    assert orjson.loads(redacted({"key": "HeartbeatInterval", "value": "60"})) == {
        "key": "HeartbeatInterval",
        "value": "60",
    }
