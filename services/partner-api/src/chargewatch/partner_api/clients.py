"""gRPC channels and stubs to the services the API fronts."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.rpc import client_channel
from chargewatch.v1 import authz_pb2_grpc, telemetry_pb2_grpc

# Safe to retry: reads, and writes that are idempotent by design (UpsertStation).
_TELEMETRY_IDEMPOTENT = (
    "chargewatch.v1.Telemetry/ListStations",
    "chargewatch.v1.Telemetry/GetStation",
    "chargewatch.v1.Telemetry/UpsertStation",
    "chargewatch.v1.Telemetry/GetMeterSeries",
    "chargewatch.v1.Telemetry/ListSessions",
)
_AUTHZ_IDEMPOTENT = ("chargewatch.v1.Authz/ValidateAccessToken",)


@dataclass
class ServiceClients:
    telemetry_channel: grpc.aio.Channel
    authz_channel: grpc.aio.Channel
    telemetry: telemetry_pb2_grpc.TelemetryAsyncStub
    authz: authz_pb2_grpc.AuthzAsyncStub

    @classmethod
    def connect(cls, settings: PartnerApiSettings) -> ServiceClients:
        deadline = settings.grpc_deadline_seconds
        telemetry = client_channel(
            settings.telemetry_target, idempotent_methods=_TELEMETRY_IDEMPOTENT, default_deadline=deadline
        )
        authz = client_channel(settings.authz_target, idempotent_methods=_AUTHZ_IDEMPOTENT, default_deadline=deadline)
        return cls(telemetry, authz, telemetry_pb2_grpc.TelemetryStub(telemetry), authz_pb2_grpc.AuthzStub(authz))

    async def close(self) -> None:
        await self.telemetry_channel.close(None)
        await self.authz_channel.close(None)
