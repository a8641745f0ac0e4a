"""gRPC `Telemetry`: registry writes and queries, scoped to the caller's tenant."""

from __future__ import annotations

import base64
import binascii

import grpc

from chargewatch.rpc import ServicerContext, not_implemented_yet
from chargewatch.telemetry.convert import station_message
from chargewatch.telemetry.registry import Registration, StationQuery, StationRegistry, TenantMismatch
from chargewatch.v1 import common_pb2, telemetry_pb2, telemetry_pb2_grpc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def tenant_scope(principal: common_pb2.Principal) -> str | None:
    """The tenant a principal is confined to; None for operator-wide roles."""
    return principal.tenant_id or None


def encode_cursor(station_id: str) -> str:
    return base64.urlsafe_b64encode(station_id.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> str:
    padded = token + "=" * (-len(token) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


class TelemetryServicer(telemetry_pb2_grpc.TelemetryServicer):
    def __init__(self, registry: StationRegistry) -> None:
        self.registry = registry

    async def UpsertStation(
        self, request: telemetry_pb2.UpsertStationRequest, context: ServicerContext
    ) -> telemetry_pb2.Station:
        scope = tenant_scope(request.principal)
        if scope is not None and scope != request.tenant_id:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "a partner registers stations of its own tenant only"
            )
        location = request.location if request.HasField("location") else None
        try:
            document = await self.registry.register(
                Registration(
                    station_id=request.station_id,
                    tenant_id=request.tenant_id,
                    site_id=request.site_id,
                    security_profile=int(request.security_profile),
                    name=request.name,
                    latitude=location.latitude if location else None,
                    longitude=location.longitude if location else None,
                )
            )
        except TenantMismatch:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "station is registered to another tenant")
        return station_message(document)

    async def ListStations(
        self, request: telemetry_pb2.ListStationsRequest, context: ServicerContext
    ) -> telemetry_pb2.ListStationsResponse:
        scope = tenant_scope(request.principal)
        requested = request.filter.tenant_id or None
        if scope is not None and requested not in (None, scope):
            # Another tenant's stations are simply not there for this caller.
            return telemetry_pb2.ListStationsResponse(page=common_pb2.PageResponse(total_size=0))
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"page_size must be at most {MAX_PAGE_SIZE}")
        after = None
        if request.page.page_token:
            try:
                after = decode_cursor(request.page.page_token)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "page_token is not one this API issued")
        box = None
        if request.filter.HasField("within"):
            sw, ne = request.filter.within.south_west, request.filter.within.north_east
            box = (sw.latitude, sw.longitude, ne.latitude, ne.longitude)
        documents, total = await self.registry.list(
            StationQuery(
                tenant_id=scope if scope is not None else requested,
                site_id=request.filter.site_id or None,
                status=int(request.filter.status) or None,
                online=request.filter.online if request.filter.HasField("online") else None,
                box=box,
                after_id=after,
                limit=size + 1,
            )
        )
        page = list(documents[:size])
        next_token = encode_cursor(page[-1]["_id"]) if len(documents) > size else ""
        return telemetry_pb2.ListStationsResponse(
            stations=[station_message(d) for d in page],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
        )

    async def GetStation(
        self, request: telemetry_pb2.GetStationRequest, context: ServicerContext
    ) -> telemetry_pb2.Station:
        document = await self.registry.get(request.station_id, tenant_scope(request.principal))
        if document is None or "registered_ms" not in document:
            # The same answer whether it does not exist or belongs to another tenant.
            await context.abort(grpc.StatusCode.NOT_FOUND, f"station {request.station_id} not found")
        assert document is not None
        return station_message(document)

    async def GetMeterSeries(
        self, request: telemetry_pb2.GetMeterSeriesRequest, context: ServicerContext
    ) -> telemetry_pb2.MeterSeries:
        await not_implemented_yet(context, "GetMeterSeries", "telemetry issue #5")

    async def ListSessions(
        self, request: telemetry_pb2.ListSessionsRequest, context: ServicerContext
    ) -> telemetry_pb2.ListSessionsResponse:
        await not_implemented_yet(context, "ListSessions", "telemetry issue #5")
