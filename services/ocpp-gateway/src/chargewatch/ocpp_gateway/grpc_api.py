"""gRPC `GatewayCommands`: connection info, disconnects, and commands sent to connected stations.

The session's outcomes (`CommandError`s) are translated to status codes here, once. A station's
CALLERROR comes back as ABORTED with its OCPP error code in the `ocpp-error-code` trailer.
"""

from __future__ import annotations

import logging
from typing import Final, NoReturn

import grpc
import orjson

from chargewatch.ocpp_gateway.commands import command_action, command_arguments
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.protocol import error_code
from chargewatch.ocpp_gateway.sessions import (
    CLOSE_NORMAL,
    CommandError,
    InvalidCommand,
    InvalidStationAnswer,
    SessionClosed,
    SessionRegistry,
    StationCallError,
    StationSession,
    StationTimeout,
)
from chargewatch.rpc import ServicerContext, not_implemented_yet
from chargewatch.v1 import gateway_pb2, gateway_pb2_grpc

log = logging.getLogger(__name__)

# Kept back from the caller's deadline so the reply (or the error) still reaches it in time.
_DEADLINE_MARGIN_SECONDS: Final = 0.05
OCPP_ERROR_CODE_TRAILER: Final = "ocpp-error-code"


class GatewayCommandsServicer(gateway_pb2_grpc.GatewayCommandsServicer):
    def __init__(self, registry: SessionRegistry, settings: GatewaySettings) -> None:
        self.registry = registry
        self.settings = settings

    async def _connected(self, station_id: str, context: ServicerContext, code: grpc.StatusCode) -> StationSession:
        session = self.registry.get(station_id)
        if session is None:
            await context.abort(code, f"station {station_id} is not connected to this gateway")
        assert session is not None
        return session

    async def GetConnection(
        self, request: gateway_pb2.GetConnectionRequest, context: ServicerContext
    ) -> gateway_pb2.StationConnectionInfo:
        session = await self._connected(request.station_id, context, grpc.StatusCode.NOT_FOUND)
        info = gateway_pb2.StationConnectionInfo(
            station_id=session.station_id,
            gateway_instance=session.gateway_instance,
            ocpp_version=session.version.proto,
            security_profile=session.identity.security_profile,
            remote_address=session.remote_address,
        )
        info.connected_at.FromDatetime(session.connected_at)
        return info

    async def Disconnect(
        self, request: gateway_pb2.DisconnectRequest, context: ServicerContext
    ) -> gateway_pb2.DisconnectReply:
        session = self.registry.get(request.station_id)
        if session is None:
            return gateway_pb2.DisconnectReply(was_connected=False)
        reason = request.reason or "disconnected by request"
        log.info(
            "disconnecting station",
            extra={"station_id": session.station_id, "reason": reason, "by": request.requested_by.subject},
        )
        await session.close(CLOSE_NORMAL, reason)
        return gateway_pb2.DisconnectReply(was_connected=True)

    async def SendCommand(
        self, request: gateway_pb2.CommandRequest, context: ServicerContext
    ) -> gateway_pb2.CommandReply:
        session = await self._connected(request.station_id, context, grpc.StatusCode.FAILED_PRECONDITION)
        action = command_action(session.version, request.kind)
        if action is None:
            kinds = gateway_pb2.CommandKind
            kind = kinds.Name(request.kind) if request.kind in kinds.values() else str(request.kind)
            await not_implemented_yet(context, f"SendCommand {kind} on OCPP {session.version.label}", "issue #3")
        assert action is not None
        try:
            payload = command_arguments(request.arguments_json)
        except ValueError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        timeout = self.settings.command_timeout_seconds
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, max(remaining - _DEADLINE_MARGIN_SECONDS, 0.0))
        log.info(
            "command to station",
            extra={"station_id": session.station_id, "action": action, "by": request.requested_by.subject},
        )
        try:
            answer = await session.call(action, payload, timeout)
        except CommandError as error:
            await self._abort(context, session, action, error)
        status = answer.payload.get("status")
        return gateway_pb2.CommandReply(
            station_id=session.station_id,
            status=status if isinstance(status, str) else "",
            response_json=orjson.dumps(answer.payload).decode(),
            ocpp_action=action,
            message_id=answer.message_id,
        )

    @staticmethod
    async def _abort(context: ServicerContext, session: StationSession, action: str, error: CommandError) -> NoReturn:
        station = session.station_id
        if isinstance(error, InvalidCommand):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{action} arguments: {error.error.description}")
        if isinstance(error, StationTimeout):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(error))
        if isinstance(error, StationCallError):
            context.set_trailing_metadata(((OCPP_ERROR_CODE_TRAILER, error.error.code),))
            await context.abort(
                grpc.StatusCode.ABORTED,
                f"{station} answered {action} with {error.error.code}: {error.error.description}",
            )
        if isinstance(error, InvalidStationAnswer):
            code = error_code(error.error.kind, session.version)
            context.set_trailing_metadata(((OCPP_ERROR_CODE_TRAILER, code),))
            await context.abort(
                grpc.StatusCode.ABORTED, f"{station} answered {action} outside the schema: {error.error.description}"
            )
        if isinstance(error, SessionClosed):
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{station} disconnected before answering {action}")
        await context.abort(grpc.StatusCode.INTERNAL, f"{action} to {station} failed: {error}")
        raise AssertionError("unreachable: abort raises")
