"""Commands to stations: which OCPP call a `CommandKind` becomes in each version, and its payload.

Everything here is plain code without I/O: `plan_command` turns (version, kind, arguments,
security profile) into the one OCPP call to send, or raises a `CommandRefused` saying why it
cannot be sent; `redacted` gives the arguments fit for an audit trail. Most kinds are "the
arguments are the payload"; the rest need a translation:

- REMOTE_START on 2.0.1 needs a `remoteStartId`; one is generated when the caller gives none.
- UPDATE_FIRMWARE is signed under security profiles 2 and 3 (1.6 security whitepaper:
  SignedUpdateFirmware; 2.0.1: UpdateFirmware with `signature` and `signingCertificate`); an
  unsigned update for such a station is refused before anything is sent.
- SET_PASSWORD is `{"password": "..."}`, sent as 1.6 ChangeConfiguration of `AuthorizationKey`
  (hex-encoded, as the 1.6 security whitepaper prescribes) or as 2.0.1 SetVariables of
  `SecurityCtrlr.BasicAuthPassword`. The password never appears in what `redacted` returns.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.v1 import common_pb2, gateway_pb2

Kind = gateway_pb2.CommandKind
Payload = dict[str, Any]

REDACTED: Final = "***"
# OCPP 1.6 AuthorizationKey and 2.0.1 BasicAuthPassword (passwordString): 16 to 40 characters.
PASSWORD_MIN_LENGTH: Final = 16
PASSWORD_MAX_LENGTH: Final = 40
_PASSWORD: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII without space
# Request ids we generate stay positive 31-bit integers (the schemas' "integer" is int32 in practice).
_MAX_GENERATED_ID: Final = 2**31 - 1
# Keys whose values are secrets wherever they appear in arguments.
_SECRET_KEY: Final = re.compile(r"password|secret|privatekey|authorizationkey", re.IGNORECASE)

_SNAKE_PART: Final = re.compile(r"_([a-z0-9])")


class Refusal(enum.Enum):
    """Why a command is not sent; grpc_api maps each to a status code."""

    UNKNOWN_KIND = "unknown_kind"  # not a CommandKind at all (INVALID_ARGUMENT)
    NOT_IN_VERSION = "not_in_version"  # a kind the station's OCPP version does not have (UNIMPLEMENTED)
    INVALID_ARGUMENTS = "invalid_arguments"  # INVALID_ARGUMENT
    PRECONDITION = "precondition"  # e.g. an unsigned firmware update at profile 2 or 3 (FAILED_PRECONDITION)


class CommandRefused(ValueError):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """The OCPP call a command becomes."""

    action: str
    payload: Payload


Translate = Callable[[Payload, "common_pb2.SecurityProfile"], PlannedCall]


# -- arguments ------------------------------------------------------------------------------------
def camel_case(key: str) -> str:
    """`connector_id` -> `connectorId`; a key already in camelCase is left as it is."""
    return _SNAKE_PART.sub(lambda match: match.group(1).upper(), key)


def _camelize(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel_case(k): _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(item) for item in value]
    return value


def command_arguments(arguments_json: str) -> Payload:
    """The command's arguments as an OCPP payload; ValueError when they are not a JSON object."""
    if not arguments_json.strip():
        return {}
    try:
        arguments = orjson.loads(arguments_json)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"arguments_json is not JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise ValueError("arguments_json must be a JSON object")
    camelized: Payload = _camelize(arguments)
    return camelized


def kind_name(kind: int) -> str:
    return Kind.Name(kind) if kind in Kind.values() else str(kind)


# -- translations ---------------------------------------------------------------------------------
def _as_is(action: str) -> Translate:
    def translate(arguments: Payload, _profile: common_pb2.SecurityProfile) -> PlannedCall:
        return PlannedCall(action, arguments)

    return translate


def _generated_id() -> int:
    return secrets.randbelow(_MAX_GENERATED_ID) + 1


def _with_id(action: str, field: str) -> Translate:
    """The arguments as they are, with `field` (a request id the caller may leave out) generated when absent."""

    def translate(arguments: Payload, _profile: common_pb2.SecurityProfile) -> PlannedCall:
        return PlannedCall(action, {field: _generated_id(), **arguments})

    return translate


def _signed_profile(profile: common_pb2.SecurityProfile) -> bool:
    return profile in (common_pb2.SECURITY_PROFILE_2_TLS_BASIC, common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS)


def _unsigned_refused() -> CommandRefused:
    return CommandRefused(
        Refusal.PRECONDITION,
        "the station runs security profile 2 or 3: a firmware update must be signed "
        "(give firmware.signature and firmware.signingCertificate)",
    )


def _update_firmware_v16(arguments: Payload, profile: common_pb2.SecurityProfile) -> PlannedCall:
    # The security whitepaper's SignedUpdateFirmware nests the image under "firmware";
    # the plain UpdateFirmware of 1.6 has a flat "location" and no signature at all.
    if "firmware" in arguments:
        return PlannedCall("SignedUpdateFirmware", {"requestId": _generated_id(), **arguments})
    if _signed_profile(profile):
        raise _unsigned_refused()
    return PlannedCall("UpdateFirmware", arguments)


def _update_firmware_v201(arguments: Payload, profile: common_pb2.SecurityProfile) -> PlannedCall:
    firmware = arguments.get("firmware")
    signed = isinstance(firmware, dict) and bool(firmware.get("signature")) and bool(firmware.get("signingCertificate"))
    if not signed and _signed_profile(profile):
        raise _unsigned_refused()
    return PlannedCall("UpdateFirmware", {"requestId": _generated_id(), **arguments})


def _password(arguments: Payload) -> str:
    password = arguments.get("password")
    if set(arguments) != {"password"} or not isinstance(password, str):
        raise CommandRefused(Refusal.INVALID_ARGUMENTS, 'SET_PASSWORD takes exactly {"password": "..."}')
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH or not _PASSWORD.fullmatch(password):
        raise CommandRefused(
            Refusal.INVALID_ARGUMENTS,
            f"the password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} printable ASCII characters",
        )
    return password


def _set_password_v16(arguments: Payload, _profile: common_pb2.SecurityProfile) -> PlannedCall:
    # 1.6 security whitepaper: AuthorizationKey is written as the hex form of the password's bytes.
    hex_key = _password(arguments).encode("ascii").hex()
    return PlannedCall("ChangeConfiguration", {"key": "AuthorizationKey", "value": hex_key})


def _set_password_v201(arguments: Payload, _profile: common_pb2.SecurityProfile) -> PlannedCall:
    password = _password(arguments)
    variable = {
        "attributeValue": password,
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "BasicAuthPassword"},
    }
    return PlannedCall("SetVariables", {"setVariableData": [variable]})


_V16: Final[Mapping[int, Translate]] = {
    Kind.COMMAND_KIND_REMOTE_START: _as_is("RemoteStartTransaction"),
    Kind.COMMAND_KIND_REMOTE_STOP: _as_is("RemoteStopTransaction"),
    Kind.COMMAND_KIND_RESET: _as_is("Reset"),
    Kind.COMMAND_KIND_CHANGE_AVAILABILITY: _as_is("ChangeAvailability"),
    Kind.COMMAND_KIND_UNLOCK_CONNECTOR: _as_is("UnlockConnector"),
    Kind.COMMAND_KIND_TRIGGER_MESSAGE: _as_is("TriggerMessage"),
    Kind.COMMAND_KIND_GET_CONFIGURATION: _as_is("GetConfiguration"),
    Kind.COMMAND_KIND_CHANGE_CONFIGURATION: _as_is("ChangeConfiguration"),
    Kind.COMMAND_KIND_SEND_LOCAL_LIST: _as_is("SendLocalList"),
    Kind.COMMAND_KIND_GET_LOCAL_LIST_VERSION: _as_is("GetLocalListVersion"),
    Kind.COMMAND_KIND_CLEAR_CACHE: _as_is("ClearCache"),
    Kind.COMMAND_KIND_UPDATE_FIRMWARE: _update_firmware_v16,
    Kind.COMMAND_KIND_GET_DIAGNOSTICS: _as_is("GetDiagnostics"),
    Kind.COMMAND_KIND_GET_LOG: _with_id("GetLog", "requestId"),  # the 1.6 security extension
    Kind.COMMAND_KIND_DATA_TRANSFER: _as_is("DataTransfer"),
    Kind.COMMAND_KIND_CERTIFICATE_SIGNED: _as_is("CertificateSigned"),
    Kind.COMMAND_KIND_INSTALL_CERTIFICATE: _as_is("InstallCertificate"),
    Kind.COMMAND_KIND_SET_PASSWORD: _set_password_v16,
}

_V201: Final[Mapping[int, Translate]] = {
    Kind.COMMAND_KIND_REMOTE_START: _with_id("RequestStartTransaction", "remoteStartId"),
    Kind.COMMAND_KIND_REMOTE_STOP: _as_is("RequestStopTransaction"),
    Kind.COMMAND_KIND_RESET: _as_is("Reset"),
    Kind.COMMAND_KIND_CHANGE_AVAILABILITY: _as_is("ChangeAvailability"),
    Kind.COMMAND_KIND_UNLOCK_CONNECTOR: _as_is("UnlockConnector"),
    Kind.COMMAND_KIND_TRIGGER_MESSAGE: _as_is("TriggerMessage"),
    Kind.COMMAND_KIND_GET_VARIABLES: _as_is("GetVariables"),
    Kind.COMMAND_KIND_SET_VARIABLES: _as_is("SetVariables"),
    Kind.COMMAND_KIND_SEND_LOCAL_LIST: _as_is("SendLocalList"),
    Kind.COMMAND_KIND_GET_LOCAL_LIST_VERSION: _as_is("GetLocalListVersion"),
    Kind.COMMAND_KIND_CLEAR_CACHE: _as_is("ClearCache"),
    Kind.COMMAND_KIND_UPDATE_FIRMWARE: _update_firmware_v201,
    Kind.COMMAND_KIND_GET_LOG: _with_id("GetLog", "requestId"),
    Kind.COMMAND_KIND_DATA_TRANSFER: _as_is("DataTransfer"),
    Kind.COMMAND_KIND_CERTIFICATE_SIGNED: _as_is("CertificateSigned"),
    Kind.COMMAND_KIND_INSTALL_CERTIFICATE: _as_is("InstallCertificate"),
    Kind.COMMAND_KIND_SET_PASSWORD: _set_password_v201,
}

COMMAND_TRANSLATIONS: Final[Mapping[OcppVersion, Mapping[int, Translate]]] = {
    OcppVersion.V16: _V16,
    OcppVersion.V201: _V201,
    OcppVersion.V21: _V201,  # 2.1 keeps these commands' 2.0.1 fields
}


def supported_kinds(version: OcppVersion) -> frozenset[int]:
    return frozenset(COMMAND_TRANSLATIONS[version])


def command_action(version: OcppVersion, kind: int) -> str | None:
    """The action a kind usually becomes (for kinds that depend on their arguments, the unsigned/plain form)."""
    translate = COMMAND_TRANSLATIONS[version].get(kind)
    if translate is None:
        return None
    if kind == Kind.COMMAND_KIND_SET_PASSWORD:
        return "ChangeConfiguration" if version is OcppVersion.V16 else "SetVariables"
    if kind == Kind.COMMAND_KIND_UPDATE_FIRMWARE:
        return "UpdateFirmware"
    return translate({}, common_pb2.SECURITY_PROFILE_1_BASIC).action


def plan_command(
    version: OcppVersion, kind: int, arguments: Payload, *, security_profile: common_pb2.SecurityProfile
) -> PlannedCall:
    """The OCPP call `kind` becomes for a station of `version` at `security_profile`; `CommandRefused` if none."""
    if kind == Kind.COMMAND_KIND_UNSPECIFIED or kind not in Kind.values():
        raise CommandRefused(Refusal.UNKNOWN_KIND, f"{kind_name(kind)} is not a command kind")
    translate = COMMAND_TRANSLATIONS[version].get(kind)
    if translate is None:
        available = ", ".join(sorted(kind_name(k) for k in COMMAND_TRANSLATIONS[version]))
        raise CommandRefused(
            Refusal.NOT_IN_VERSION,
            f"OCPP {version.label} has no {kind_name(kind)}; this station takes {available}",
        )
    return translate(arguments, security_profile)


def reply_status(planned: PlannedCall, kind: int, answer: Payload) -> str:
    """The station's "status" (for SET_PASSWORD on 2.0.1: the attributeStatus of its one variable)."""
    status = answer.get("status")
    if isinstance(status, str):
        return status
    if kind == Kind.COMMAND_KIND_SET_PASSWORD and planned.action == "SetVariables":
        results = answer.get("setVariableResult")
        if isinstance(results, list) and len(results) == 1 and isinstance(results[0], dict):
            attribute_status = results[0].get("attributeStatus")
            if isinstance(attribute_status, str):
                return attribute_status
    return ""


# -- redaction for audit trails -------------------------------------------------------------------
def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        redacted = {k: REDACTED if _SECRET_KEY.search(k) else _redact(v) for k, v in value.items()}
        # ChangeConfiguration {key: AuthorizationKey, value: ...} and SetVariables of a password variable.
        if isinstance(value.get("key"), str) and _SECRET_KEY.search(value["key"]) and "value" in value:
            redacted["value"] = REDACTED
        variable = value.get("variable")
        secret_variable = isinstance(variable, dict) and _SECRET_KEY.search(str(variable.get("name", "")))
        if secret_variable and "attributeValue" in value:
            redacted["attributeValue"] = REDACTED
        return redacted
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def redacted(payload: Payload) -> str:
    """`payload` as JSON with every secret value replaced by "***" (for audit events and logs)."""
    return orjson.dumps(_redact(payload), option=orjson.OPT_SORT_KEYS).decode()
