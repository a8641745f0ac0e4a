"""gRPC `Sla`: registered now so clients and probes see the service; the SLA engine issue (#6) fills it."""

from __future__ import annotations

from chargewatch.rpc import ServicerContext, not_implemented_yet
from chargewatch.v1 import sla_pb2, sla_pb2_grpc

ISSUE = "SLA engine issue #6"


class SlaServicer(sla_pb2_grpc.SlaServicer):
    async def GetUptime(self, request: sla_pb2.GetUptimeRequest, context: ServicerContext) -> sla_pb2.UptimeReport:
        await not_implemented_yet(context, "GetUptime", ISSUE)

    async def ListIncidents(
        self, request: sla_pb2.ListIncidentsRequest, context: ServicerContext
    ) -> sla_pb2.ListIncidentsResponse:
        await not_implemented_yet(context, "ListIncidents", ISSUE)

    async def AcknowledgeIncident(
        self, request: sla_pb2.IncidentActionRequest, context: ServicerContext
    ) -> sla_pb2.Incident:
        await not_implemented_yet(context, "AcknowledgeIncident", ISSUE)

    async def ResolveIncident(
        self, request: sla_pb2.IncidentActionRequest, context: ServicerContext
    ) -> sla_pb2.Incident:
        await not_implemented_yet(context, "ResolveIncident", ISSUE)

    async def DeclareExclusion(
        self, request: sla_pb2.DeclareExclusionRequest, context: ServicerContext
    ) -> sla_pb2.Exclusion:
        await not_implemented_yet(context, "DeclareExclusion", ISSUE)

    async def ReviewExclusion(
        self, request: sla_pb2.ReviewExclusionRequest, context: ServicerContext
    ) -> sla_pb2.Exclusion:
        await not_implemented_yet(context, "ReviewExclusion", ISSUE)
