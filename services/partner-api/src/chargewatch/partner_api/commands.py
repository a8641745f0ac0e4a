"""Remote commands: the API's version-neutral bodies, as the arguments the station's OCPP version takes.

The gateway sends a command's arguments as the OCPP payload of the station's version, so the API
translates here, once, from what a partner means ("start charging on EVSE 1 with this token") to
RemoteStartTransaction (1.6) or RequestStartTransaction (2.0.1). Plain code, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel

from chargewatch.partner_api.models import (
    AvailabilityCommand,
    ChangeConfigurationCommand,
    DataTransferCommand,
    EmptyCommand,
    FirmwareCommand,
    GetConfigurationCommand,
    LogCommand,
    ResetCommand,
    StartCommand,
    StopCommand,
    TriggerCommand,
    UnlockCommand,
)
from chargewatch.v1 import gateway_pb2

V16: Final = "1.6"
V201: Final = "2.0.1"
V21: Final = "2.1"  # its commands take 2.0.1's arguments
# OCPP 1.6 IdToken (CiString20Type) and transactionId (integer) are narrower than 2.0.1's.
_V16_ID_TAG_MAX: Final = 20


class CommandNotApplicable(ValueError):
    """The command cannot be expressed for this station (its version, its numbering)."""


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    name: str
    kind: int
    arguments: dict[str, Any]


KINDS: Final = {
    "start": gateway_pb2.COMMAND_KIND_REMOTE_START,
    "stop": gateway_pb2.COMMAND_KIND_REMOTE_STOP,
    "reset": gateway_pb2.COMMAND_KIND_RESET,
    "unlock": gateway_pb2.COMMAND_KIND_UNLOCK_CONNECTOR,
    "availability": gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY,
    "trigger": gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE,
    "clear-cache": gateway_pb2.COMMAND_KIND_CLEAR_CACHE,
    "local-list-version": gateway_pb2.COMMAND_KIND_GET_LOCAL_LIST_VERSION,
    "data-transfer": gateway_pb2.COMMAND_KIND_DATA_TRANSFER,
    "firmware": gateway_pb2.COMMAND_KIND_UPDATE_FIRMWARE,
}
# Station secrets are set by authz alone (credentials/rotate), never as a plain configuration value.
_SECRET_SETTING: Final = re.compile(r"(?i)(password|authorizationkey|secret|privatekey)")


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _configuration(body: BaseModel, v16: bool) -> tuple[int, dict[str, Any]]:
    """GetConfiguration / ChangeConfiguration (1.6) or GetVariables / SetVariables (2.0.1)."""
    if isinstance(body, GetConfigurationCommand):
        if v16:
            if body.variables is not None:
                raise CommandNotApplicable("an OCPP 1.6 station has configuration keys: give `keys`, not `variables`")
            return gateway_pb2.COMMAND_KIND_GET_CONFIGURATION, {"key": body.keys} if body.keys else {}
        if not body.variables or body.keys is not None:
            raise CommandNotApplicable("an OCPP 2.0.1 station has component variables: give `variables`, not `keys`")
        data = []
        for v in body.variables:
            component: dict[str, Any] = {"name": v.component}
            if v.evse_id is not None:
                component["evse"] = {"id": v.evse_id}
            data.append({"component": component, "variable": {"name": v.variable}})
        return gateway_pb2.COMMAND_KIND_GET_VARIABLES, {"getVariableData": data}
    assert isinstance(body, ChangeConfigurationCommand)
    names = [body.key, body.component, body.variable]
    if any(name and _SECRET_SETTING.search(name) for name in names):
        raise CommandNotApplicable("station credentials change through credentials/rotate, never as a setting")
    if v16:
        if body.key is None or body.component is not None or body.variable is not None:
            raise CommandNotApplicable("an OCPP 1.6 station has configuration keys: give `key` and `value`")
        return gateway_pb2.COMMAND_KIND_CHANGE_CONFIGURATION, {"key": body.key, "value": body.value}
    if body.component is None or body.variable is None or body.key is not None:
        raise CommandNotApplicable(
            "an OCPP 2.0.1 station has component variables: give `component`, `variable`, `value`"
        )
    target: dict[str, Any] = {"name": body.component}
    if body.evse_id is not None:
        target["evse"] = {"id": body.evse_id}
    variable = {"attributeValue": body.value, "component": target, "variable": {"name": body.variable}}
    return gateway_pb2.COMMAND_KIND_SET_VARIABLES, {"setVariableData": [variable]}


def _firmware(body: FirmwareCommand, v16: bool) -> dict[str, Any]:
    if (body.signature is None) != (body.signing_certificate is None):
        raise CommandNotApplicable("a signed update needs both `signature` and `signing_certificate`")
    retry: dict[str, Any] = {}
    if body.retries is not None:
        retry["retries"] = body.retries
    if body.retry_interval_seconds is not None:
        retry["retryInterval"] = body.retry_interval_seconds
    if v16 and body.signature is None:
        return {"location": body.location, "retrieveDate": _stamp(body.retrieve_at), **retry}
    firmware: dict[str, Any] = {"location": body.location, "retrieveDateTime": _stamp(body.retrieve_at)}
    if body.signature is not None:
        firmware |= {"signature": body.signature, "signingCertificate": body.signing_certificate}
    return {"firmware": firmware, **retry}


def _log(body: LogCommand, v16: bool) -> tuple[int, dict[str, Any]]:
    if body.since is not None and body.until is not None and body.since >= body.until:
        raise CommandNotApplicable("`since` must be before `until`")
    if v16 and body.log == "diagnostics":
        arguments: dict[str, Any] = {"location": body.location}
        if body.since is not None:
            arguments["startTime"] = _stamp(body.since)
        if body.until is not None:
            arguments["stopTime"] = _stamp(body.until)
        return gateway_pb2.COMMAND_KIND_GET_DIAGNOSTICS, arguments
    log: dict[str, Any] = {"remoteLocation": body.location}
    if body.since is not None:
        log["oldestTimestamp"] = _stamp(body.since)
    if body.until is not None:
        log["latestTimestamp"] = _stamp(body.until)
    kind = "SecurityLog" if body.log == "security" else "DiagnosticsLog"
    return gateway_pb2.COMMAND_KIND_GET_LOG, {"logType": kind, "log": log}


def plan(name: str, body: BaseModel, ocpp_version: str | None) -> PlannedCommand:
    if ocpp_version not in (V16, V201, V21):
        raise CommandNotApplicable(
            "the station has not told its OCPP version yet (it has never booted); commands need it"
        )
    v16 = ocpp_version == V16
    arguments: dict[str, Any]
    if isinstance(body, StartCommand):
        if v16:
            if len(body.id_token) > _V16_ID_TAG_MAX:
                raise CommandNotApplicable(f"an OCPP 1.6 station takes id tokens of at most {_V16_ID_TAG_MAX} chars")
            arguments = {"idTag": body.id_token}
            if body.evse_id is not None:
                arguments["connectorId"] = body.evse_id
        else:
            arguments = {"idToken": {"idToken": body.id_token, "type": body.id_token_type}}
            if body.evse_id is not None:
                arguments["evseId"] = body.evse_id
    elif isinstance(body, StopCommand):
        if v16:
            if not body.transaction_id.isdigit() or len(body.transaction_id) > 9:
                raise CommandNotApplicable("an OCPP 1.6 station's transaction ids are integers")
            arguments = {"transactionId": int(body.transaction_id)}
        else:
            arguments = {"transactionId": body.transaction_id}
    elif isinstance(body, ResetCommand):
        if v16:
            arguments = {"type": "Hard" if body.type == "hard" else "Soft"}
        else:
            arguments = {"type": "Immediate" if body.type == "hard" else "OnIdle"}
    elif isinstance(body, UnlockCommand):
        if v16:
            if body.connector_id != 1:
                raise CommandNotApplicable("an OCPP 1.6 station has one connector per EVSE (connector_id 1)")
            arguments = {"connectorId": body.evse_id}
        else:
            arguments = {"evseId": body.evse_id, "connectorId": body.connector_id}
    elif isinstance(body, AvailabilityCommand):
        state = "Operative" if body.operative else "Inoperative"
        if v16:
            arguments = {"connectorId": body.evse_id, "type": state}
        else:
            arguments = {"operationalStatus": state}
            if body.evse_id:
                arguments["evse"] = {"id": body.evse_id}
    elif isinstance(body, TriggerCommand):
        message = body.message
        if v16:
            arguments = {
                "requestedMessage": "DiagnosticsStatusNotification" if message == "LogStatusNotification" else message
            }
            if body.evse_id is not None:
                arguments["connectorId"] = body.evse_id
        else:
            arguments = {"requestedMessage": message}
            if body.evse_id is not None:
                arguments["evse"] = {"id": body.evse_id}
    elif isinstance(body, GetConfigurationCommand | ChangeConfigurationCommand):
        kind, arguments = _configuration(body, v16)
        return PlannedCommand(name, kind, arguments)
    elif isinstance(body, FirmwareCommand):
        arguments = _firmware(body, v16)
    elif isinstance(body, LogCommand):
        kind, arguments = _log(body, v16)
        return PlannedCommand(name, kind, arguments)
    elif isinstance(body, DataTransferCommand):
        arguments = {"vendorId": body.vendor_id}
        if body.message_id is not None:
            arguments["messageId"] = body.message_id
        if body.data is not None:
            arguments["data"] = body.data
    elif isinstance(body, EmptyCommand):
        arguments = {}
    else:  # pragma: no cover - the routes only pass the models above
        raise TypeError(f"not a command body: {type(body).__name__}")
    return PlannedCommand(name, KINDS[name], arguments)
