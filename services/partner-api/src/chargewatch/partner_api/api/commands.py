"""POST /v1/stations/{id}/commands/{command}: remote commands, answered with the station's own answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import grpc
import orjson
from fastapi import APIRouter, Header, Path
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from chargewatch.auth import Principal
from chargewatch.partner_api.api.common import errors
from chargewatch.partner_api.commands import CommandNotApplicable, plan
from chargewatch.partner_api.convert import OCPP_VERSIONS
from chargewatch.partner_api.deps import ActorDep, OperatorDep, ServicesDep, to_proto
from chargewatch.partner_api.errors import ApiError, grpc_problem
from chargewatch.partner_api.models import (
    STATION_ID_PATTERN,
    AvailabilityCommand,
    ChangeConfigurationCommand,
    CommandResult,
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
from chargewatch.partner_api.services import Services
from chargewatch.v1 import gateway_pb2, telemetry_pb2

router = APIRouter(prefix="/v1/stations/{station_id}/commands", tags=["commands"])

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[A-Za-z0-9._:\-]{1,64}$",
        description="Retrying with the same key sends the command once and answers with the first answer",
    ),
]
_RESPONSES = errors(404, 409, 501, 502, 504)

# The gateway's status codes for a command that did not get an answer, as the caller should see them.
_COMMAND_ERRORS = {
    grpc.StatusCode.FAILED_PRECONDITION: (409, "station-not-connected", "Conflict"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "station-timeout", "Gateway Timeout"),
    grpc.StatusCode.ABORTED: (502, "station-error", "Bad Gateway"),
    grpc.StatusCode.INVALID_ARGUMENT: (422, "invalid-command", "Invalid Request"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "command-not-supported", "Not Implemented"),
    # The station dropped its connection before answering, or its gateway replica is unreachable.
    grpc.StatusCode.UNAVAILABLE: (503, "station-unavailable", "Service Unavailable"),
}


def _command(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A command route: POST `path`, answered with a `CommandResult` or one of the command problems."""
    return router.post(path, response_model=CommandResult, responses=_RESPONSES, summary=summary)


async def send(
    name: str, body: BaseModel, station_id: str, principal: Principal, services: Services, key: str | None
) -> CommandResult:
    clients = services.clients
    # Visibility first: another tenant's station is answered 404, exactly as a missing one.
    station = await clients.telemetry.GetStation(
        telemetry_pb2.GetStationRequest(principal=to_proto(principal), station_id=station_id)
    )
    try:
        planned = plan(name, body, OCPP_VERSIONS.get(station.ocpp_version))
    except CommandNotApplicable as exc:
        raise ApiError(409, "command-not-applicable", "Conflict", str(exc)) from exc
    try:
        reply = await clients.gateway.SendCommand(
            gateway_pb2.CommandRequest(
                station_id=station_id,
                kind=planned.kind,  # type: ignore[arg-type]
                arguments_json=orjson.dumps(planned.arguments).decode(),
                requested_by=to_proto(principal),
                idempotency_key=key or "",
            ),
            timeout=services.settings.command_deadline_seconds,
        )
    except grpc.aio.AioRpcError as exc:
        mapped = _COMMAND_ERRORS.get(exc.code())
        if mapped is None:
            raise grpc_problem(exc) from exc
        status, slug, title = mapped
        raise ApiError(status, slug, title, exc.details() or exc.code().name) from exc
    try:
        answer: Any = orjson.loads(reply.response_json) if reply.response_json else {}
    except orjson.JSONDecodeError:
        answer = {}
    return CommandResult(
        station_id=station_id,
        command=name,
        ocpp_action=reply.ocpp_action,
        status=reply.status or None,
        response=answer if isinstance(answer, dict) else {"value": answer},
        message_id=reply.message_id,
    )


@_command("/start", "Start charging remotely")
async def start(
    body: StartCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """RemoteStartTransaction (1.6) / RequestStartTransaction (2.0.1). `status` is the station's answer."""
    return await send("start", body, station_id, principal, services, idempotency_key)


@_command("/stop", "Stop a charging session")
async def stop(
    body: StopCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """RemoteStopTransaction (1.6) / RequestStopTransaction (2.0.1)."""
    return await send("stop", body, station_id, principal, services, idempotency_key)


@_command("/reset", "Reset the station")
async def reset(
    body: ResetCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Reset Soft/Hard (1.6) / OnIdle/Immediate (2.0.1)."""
    return await send("reset", body, station_id, principal, services, idempotency_key)


@_command("/unlock", "Unlock a connector")
async def unlock(
    body: UnlockCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await send("unlock", body, station_id, principal, services, idempotency_key)


@_command("/availability", "Make the station or one EVSE operative or inoperative")
async def availability(
    body: AvailabilityCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await send("availability", body, station_id, principal, services, idempotency_key)


@_command("/trigger", "Ask the station to send a message now (status, meter values, heartbeat, boot, ...)")
async def trigger(
    body: TriggerCommand,
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """TriggerMessage: the station answers Accepted, then sends the message it was asked for."""
    return await send("trigger", body, station_id, principal, services, idempotency_key)


@_command("/clear-cache", "Clear the station's authorization cache")
async def clear_cache(
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    body: EmptyCommand | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await send("clear-cache", body or EmptyCommand(), station_id, principal, services, idempotency_key)


@_command("/local-list-version", "The version of the station's local authorization list")
async def local_list_version(
    station_id: StationId,
    principal: ActorDep,
    services: ServicesDep,
    body: EmptyCommand | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """GetLocalListVersion; publish a site's list with POST /v1/sites/{site_id}/local-list."""
    return await send("local-list-version", body or EmptyCommand(), station_id, principal, services, idempotency_key)


@_command("/get-configuration", "Read the station's configuration (1.6 keys, 2.0.1 component variables) (operator)")
async def get_configuration(
    body: GetConfigurationCommand,
    station_id: StationId,
    principal: OperatorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """GetConfiguration (1.6, `keys`) or GetVariables (2.0.1, `variables`); `response` holds the values."""
    return await send("get-configuration", body, station_id, principal, services, idempotency_key)


@_command("/change-configuration", "Change one setting of the station (operator)")
async def change_configuration(
    body: ChangeConfigurationCommand,
    station_id: StationId,
    principal: OperatorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """ChangeConfiguration (1.6: `key`) or SetVariables (2.0.1: `component`, `variable`). Credentials are
    refused here (409): they change through credentials/rotate, which keeps authz in step."""
    return await send("change-configuration", body, station_id, principal, services, idempotency_key)


@_command("/firmware", "Update the station's firmware (operator); signed at security profiles 2 and 3")
async def update_firmware(
    body: FirmwareCommand,
    station_id: StationId,
    principal: OperatorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """UpdateFirmware (1.6 plain, or SignedUpdateFirmware with a signature) / UpdateFirmware (2.0.1).
    The station reports its progress as FirmwareStatusNotifications."""
    return await send("firmware", body, station_id, principal, services, idempotency_key)


@_command("/logs", "Have the station upload its diagnostics or security log (operator)")
async def upload_logs(
    body: LogCommand,
    station_id: StationId,
    principal: OperatorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """GetDiagnostics (1.6) or GetLog (the 1.6 security extension and 2.0.1)."""
    return await send("logs", body, station_id, principal, services, idempotency_key)


@_command("/data-transfer", "A vendor-specific DataTransfer (operator)")
async def data_transfer(
    body: DataTransferCommand,
    station_id: StationId,
    principal: OperatorDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await send("data-transfer", body, station_id, principal, services, idempotency_key)
