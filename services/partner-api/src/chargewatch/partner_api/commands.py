"""Remote commands: the API's version-neutral bodies, as the arguments the station's OCPP version takes.

The gateway sends a command's arguments as the OCPP payload of the station's version, so the API
translates here, once, from what a partner means ("start charging on EVSE 1 with this token") to
RemoteStartTransaction (1.6) or RequestStartTransaction (2.0.1). Plain code, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from chargewatch.partner_api.models import (
    AvailabilityCommand,
    ResetCommand,
    StartCommand,
    StopCommand,
    UnlockCommand,
)
from chargewatch.v1 import gateway_pb2

V16: Final = "1.6"
V201: Final = "2.0.1"
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
}


def plan(name: str, body: BaseModel, ocpp_version: str | None) -> PlannedCommand:
    if ocpp_version not in (V16, V201):
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
    else:  # pragma: no cover - the routes only pass the models above
        raise TypeError(f"not a command body: {type(body).__name__}")
    return PlannedCommand(name, KINDS[name], arguments)
