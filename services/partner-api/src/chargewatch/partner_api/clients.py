"""gRPC channels and stubs to the services the API fronts."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.rpc import client_channel
from chargewatch.v1 import (
    authz_pb2_grpc,
    gateway_pb2_grpc,
    security_pb2_grpc,
    sla_pb2_grpc,
    telemetry_pb2_grpc,
)

# Safe to retry: reads, and writes that are idempotent by design (UpsertStation).
_TELEMETRY_IDEMPOTENT = (
    "chargewatch.v1.Telemetry/ListStations",
    "chargewatch.v1.Telemetry/GetStation",
    "chargewatch.v1.Telemetry/UpsertStation",
    "chargewatch.v1.Telemetry/GetMeterSeries",
    "chargewatch.v1.Telemetry/ListSessions",
)
_AUTHZ_IDEMPOTENT = (
    "chargewatch.v1.Authz/ValidateAccessToken",
    "chargewatch.v1.Authz/GetToken",
    "chargewatch.v1.Authz/ListTokens",
    "chargewatch.v1.Authz/GetAccessPolicy",
    "chargewatch.v1.Authz/ListAccessPolicies",
    "chargewatch.v1.Authz/ListBlocks",
    "chargewatch.v1.Authz/ListClientCertificates",
)
# Commands are never retried by the channel: a second RemoteStart is a second session. The caller's
# Idempotency-Key makes an explicit retry safe instead.
_GATEWAY_IDEMPOTENT = ("chargewatch.v1.GatewayCommands/GetConnection",)
# Reads, and writes whose second application changes nothing (acknowledge and resolve keep the first
# answer, a site profile or contract upsert writes the same document again).
_SLA_IDEMPOTENT = tuple(
    f"chargewatch.v1.Sla/{method}"
    for method in (
        "GetUptime",
        "ListIncidents",
        "GetIncident",
        "ListExclusions",
        "ListPortStates",
        "GetForecast",
        "GetReport",
        "GetSiteProfile",
        "ListSiteProfiles",
        "GetContract",
        "ListContracts",
        "EvaluateContract",
        "AcknowledgeIncident",
        "ResolveIncident",
        "UpsertSiteProfile",
    )
)
_SECURITY_IDEMPOTENT = tuple(
    f"chargewatch.v1.Security/{method}"
    for method in (
        "ListAlerts",
        "GetAlert",
        "GetAlertDetail",
        "GetRiskScore",
        "ListRiskScores",
        "ListSecurityIncidents",
        "GetSecurityIncident",
        "ListRules",
        "GetStationProfile",
        "ListCertificates",
        "ListResponsePolicies",
        "ListResponseActions",
    )
)


@dataclass
class ServiceClients:
    telemetry_channel: grpc.aio.Channel
    authz_channel: grpc.aio.Channel
    gateway_channel: grpc.aio.Channel
    sla_channel: grpc.aio.Channel
    security_channel: grpc.aio.Channel
    telemetry: telemetry_pb2_grpc.TelemetryAsyncStub
    authz: authz_pb2_grpc.AuthzAsyncStub
    gateway: gateway_pb2_grpc.GatewayCommandsAsyncStub
    sla: sla_pb2_grpc.SlaAsyncStub
    security: security_pb2_grpc.SecurityAsyncStub

    @classmethod
    def connect(cls, settings: PartnerApiSettings) -> ServiceClients:
        deadline = settings.grpc_deadline_seconds

        def channel(target: str, idempotent: tuple[str, ...]) -> grpc.aio.Channel:
            return client_channel(target, idempotent_methods=idempotent, default_deadline=deadline)

        telemetry = channel(settings.telemetry_target, _TELEMETRY_IDEMPOTENT)
        authz = channel(settings.authz_target, _AUTHZ_IDEMPOTENT)
        gateway = channel(settings.gateway_target, _GATEWAY_IDEMPOTENT)
        sla = channel(settings.sla_target, _SLA_IDEMPOTENT)
        security = channel(settings.security_target, _SECURITY_IDEMPOTENT)
        return cls(
            telemetry,
            authz,
            gateway,
            sla,
            security,
            telemetry_pb2_grpc.TelemetryStub(telemetry),
            authz_pb2_grpc.AuthzStub(authz),
            gateway_pb2_grpc.GatewayCommandsStub(gateway),
            sla_pb2_grpc.SlaStub(sla),
            security_pb2_grpc.SecurityStub(security),
        )

    async def close(self) -> None:
        for channel in (
            self.telemetry_channel,
            self.authz_channel,
            self.gateway_channel,
            self.sla_channel,
            self.security_channel,
        ):
            await channel.close(None)
