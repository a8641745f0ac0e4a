"""gRPC `Security`: registered now so clients and probes see the service; the security monitor issue (#7) fills it."""

from __future__ import annotations

from chargewatch.rpc import ServicerContext, not_implemented_yet
from chargewatch.v1 import events_pb2, security_pb2, security_pb2_grpc

ISSUE = "security monitor issue #7"


class SecurityServicer(security_pb2_grpc.SecurityServicer):
    async def ListAlerts(
        self, request: security_pb2.ListAlertsRequest, context: ServicerContext
    ) -> security_pb2.ListAlertsResponse:
        await not_implemented_yet(context, "ListAlerts", ISSUE)

    async def GetAlert(self, request: security_pb2.GetAlertRequest, context: ServicerContext) -> events_pb2.Alert:
        await not_implemented_yet(context, "GetAlert", ISSUE)

    async def AcknowledgeAlert(
        self, request: security_pb2.AlertActionRequest, context: ServicerContext
    ) -> events_pb2.Alert:
        await not_implemented_yet(context, "AcknowledgeAlert", ISSUE)

    async def ResolveAlert(
        self, request: security_pb2.AlertActionRequest, context: ServicerContext
    ) -> events_pb2.Alert:
        await not_implemented_yet(context, "ResolveAlert", ISSUE)

    async def GetRiskScore(
        self, request: security_pb2.GetRiskScoreRequest, context: ServicerContext
    ) -> security_pb2.RiskScore:
        await not_implemented_yet(context, "GetRiskScore", ISSUE)
