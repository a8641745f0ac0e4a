"""Commands authz sends to stations through the gateway's `GatewayCommands`.

Arguments are written in the field names of the station's OCPP version (GetConnection says which),
as the gateway contract asks; SET_PASSWORD takes {"password": ...} and the gateway maps it to the
version's configuration key. Command arguments may carry a password: they are never logged here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import orjson

from chargewatch.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc

log = logging.getLogger(__name__)

V16 = common_pb2.OCPP_VERSION_1_6


class StationNotConnected(Exception):
    pass


class CommandFailed(Exception):
    """The gateway or the station could not carry out the command; the message is safe to show."""


@dataclass(frozen=True)
class CommandOutcome:
    status: str
    response: dict[str, Any]


def change_availability_arguments(version: int, operative: bool) -> dict[str, Any]:
    """The whole station (connector 0 in 1.6; no EVSE in 2.0.1) Operative or Inoperative."""
    if version == V16:
        return {"connectorId": 0, "type": "Operative" if operative else "Inoperative"}
    return {"operationalStatus": "Operative" if operative else "Inoperative"}


class GatewayCommandsClient:
    def __init__(self, stub: gateway_pb2_grpc.GatewayCommandsAsyncStub, deadline_seconds: float) -> None:
        self._stub = stub
        self.deadline_seconds = deadline_seconds

    async def ocpp_version(self, station_id: str) -> int:
        try:
            info = await self._stub.GetConnection(
                gateway_pb2.GetConnectionRequest(station_id=station_id), timeout=min(self.deadline_seconds, 5.0)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                raise StationNotConnected(station_id) from exc
            raise CommandFailed(f"the gateway did not answer ({exc.code().name})") from exc
        return int(info.ocpp_version)

    async def send(
        self,
        station_id: str,
        kind: int,
        arguments: dict[str, Any],
        *,
        requested_by: common_pb2.Principal | None = None,
        idempotency_key: str = "",
    ) -> CommandOutcome:
        request = gateway_pb2.CommandRequest(
            station_id=station_id,
            kind=kind,  # type: ignore[arg-type]
            arguments_json=orjson.dumps(arguments).decode(),
            requested_by=requested_by,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        try:
            reply = await self._stub.SendCommand(request, timeout=self.deadline_seconds)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                raise StationNotConnected(station_id) from exc
            log.warning(
                "command to a station failed",
                extra={"station_id": station_id, "kind": gateway_pb2.CommandKind.Name(kind), "code": exc.code().name},
            )
            raise CommandFailed(f"the command did not complete ({exc.code().name})") from exc
        response: dict[str, Any] = orjson.loads(reply.response_json) if reply.response_json else {}
        return CommandOutcome(reply.status, response)

    async def disconnect(self, station_id: str, reason: str, requested_by: common_pb2.Principal | None) -> bool:
        try:
            reply = await self._stub.Disconnect(
                gateway_pb2.DisconnectRequest(station_id=station_id, reason=reason, requested_by=requested_by),
                timeout=min(self.deadline_seconds, 5.0),
            )
        except grpc.aio.AioRpcError as exc:
            raise CommandFailed(f"the gateway did not disconnect the station ({exc.code().name})") from exc
        return bool(reply.was_connected)
