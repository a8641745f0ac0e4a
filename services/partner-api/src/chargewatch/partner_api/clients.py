"""gRPC channels and stubs to the services the API fronts.

Every service authenticates its caller: each call carries the end user's own bearer token (the one
of the HTTP request being served, see `ForwardCallerToken`), so a service grants exactly what the
user's token grants, whatever principal the request names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

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


_CALLER_TOKEN: ContextVar[str | None] = ContextVar("partner_api_caller_token", default=None)

AsgiApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


async def caller_token() -> str | None:
    """The bearer token of the HTTP request being served (None outside one, or without a token)."""
    return _CALLER_TOKEN.get()


class ForwardCallerToken:
    """ASGI wrapper: the request's bearer token goes with every gRPC call made while serving it.

    The token is taken as sent; the API has validated it before any call (deps.get_principal, the
    fast path), and the called service validates it again.
    """

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token: str | None = None
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" and rest.strip() else None
                break
        reset = _CALLER_TOKEN.set(token)
        try:
            await self.app(scope, receive, send)
        finally:
            _CALLER_TOKEN.reset(reset)


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
            return client_channel(target, idempotent_methods=idempotent, default_deadline=deadline, bearer=caller_token)

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
