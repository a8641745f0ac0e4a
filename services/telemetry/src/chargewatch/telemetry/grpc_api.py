"""gRPC `Telemetry`: registry writes and queries, meter series, sessions and analytics.

Every call is scoped to the caller's tenant (the Principal the partner API forwards): a partner
never sees another tenant's station; its station is answered exactly like a missing one
(NOT_FOUND, or an empty list). A principal with neither a tenant nor an operator-wide role is
refused.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta

import grpc

from chargewatch.mongo import Document
from chargewatch.rpc import ServicerContext
from chargewatch.telemetry import analytics as usage
from chargewatch.telemetry.convert import (
    add_bucket_points,
    connector_ref,
    raw_point,
    session_message,
    station_message,
)
from chargewatch.telemetry.meters import BUCKET_MS, MeterStore, aggregate_readings, merge_buckets, to_ms
from chargewatch.telemetry.occupancy import HourTally
from chargewatch.telemetry.readings import connector_key as fleet_connector_key
from chargewatch.telemetry.registry import (
    ConnectorSpec,
    Registration,
    StationQuery,
    StationRegistry,
    TenantMismatch,
)
from chargewatch.telemetry.sessions import SessionQuery, SessionStore, decode_cursor, encode_cursor
from chargewatch.v1 import common_pb2, telemetry_pb2, telemetry_pb2_grpc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
OPERATOR_WIDE_ROLES = frozenset({"operator", "sre", "security-analyst"})
MAX_SERIES_POINTS = 20_000
MAX_RAW_SPAN = timedelta(days=7)
MAX_ANALYTICS_SPAN = timedelta(days=400)
DEFAULT_SERIES_SPAN = timedelta(days=1)
MAX_ID_LENGTH = 128


class Denied(Exception):
    """The principal may not call this at all."""


def tenant_scope(principal: common_pb2.Principal) -> str | None:
    """The tenant a principal is confined to; None for operator-wide roles; Denied otherwise."""
    if principal.tenant_id:
        return principal.tenant_id
    if OPERATOR_WIDE_ROLES.intersection(principal.roles):
        return None
    raise Denied("the caller has neither a tenant nor an operator-wide role")


def encode_station_cursor(station_id: str) -> str:
    return base64.urlsafe_b64encode(station_id.encode()).decode().rstrip("=")


def decode_station_cursor(token: str) -> str:
    padded = token + "=" * (-len(token) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


class BadRequest(Exception):
    """Input the caller must fix; answered INVALID_ARGUMENT with this message."""


def window(time_range: common_pb2.TimeRange, default: timedelta, limit: timedelta) -> tuple[int, int]:
    """[start, end) in epoch ms: end defaults to now, start to end - default; at most `limit` long."""
    end = time_range.end.ToDatetime(UTC) if time_range.HasField("end") else datetime.now(UTC)
    start = time_range.start.ToDatetime(UTC) if time_range.HasField("start") else end - default
    if start >= end:
        raise BadRequest("range.start must be before range.end")
    if end - start > limit:
        raise BadRequest(f"the range may span at most {limit.days} days")
    return to_ms(start), to_ms(end)


def page_size(page: common_pb2.PageRequest) -> int:
    size = page.page_size or DEFAULT_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be at most {MAX_PAGE_SIZE}")
    return size


def check_id(value: str, name: str) -> None:
    if len(value) > MAX_ID_LENGTH or any(ord(ch) < 32 for ch in value):
        raise BadRequest(f"{name} must be at most {MAX_ID_LENGTH} printable characters")


def registration_of(request: telemetry_pb2.UpsertStationRequest) -> Registration:
    if not request.station_id or not request.tenant_id:
        raise BadRequest("station_id and tenant_id are required")
    for value, name in (
        (request.station_id, "station_id"),
        (request.tenant_id, "tenant_id"),
        (request.site_id, "site_id"),
    ):
        check_id(value, name)
    specs: list[ConnectorSpec] = []
    for spec in request.connectors:
        if spec.evse_id == 0 or spec.connector_id == 0:
            raise BadRequest("connectors are numbered from 1 (evse_id and connector_id)")
        if not math.isfinite(spec.max_power_w) or spec.max_power_w < 0:
            raise BadRequest("max_power_w must be a finite number >= 0")
        check_id(spec.connector_type, "connector_type")
        specs.append(ConnectorSpec(spec.evse_id, spec.connector_id, spec.connector_type, spec.max_power_w))
    location = request.location if request.HasField("location") else None
    if location is not None and not (-90 <= location.latitude <= 90 and -180 <= location.longitude <= 180):
        raise BadRequest("location must be WGS 84 latitude/longitude")
    return Registration(
        station_id=request.station_id,
        tenant_id=request.tenant_id,
        site_id=request.site_id,
        security_profile=int(request.security_profile),
        name=request.name,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        connectors=specs,
    )


class TelemetryServicer(telemetry_pb2_grpc.TelemetryServicer):
    def __init__(
        self,
        registry: StationRegistry,
        meters: MeterStore,
        sessions: SessionStore,
        *,
        session_min_energy_wh: float = 100.0,
    ) -> None:
        self.registry = registry
        self.meters = meters
        self.sessions = sessions
        self.analytics = usage.Analytics(registry, meters, sessions)
        self.session_min_energy_wh = session_min_energy_wh

    async def _scope(self, principal: common_pb2.Principal, context: ServicerContext) -> str | None:
        try:
            return tenant_scope(principal)
        except Denied as denied:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(denied))
            raise AssertionError("unreachable: abort raises") from denied

    async def _visible_station(self, station_id: str, scope: str | None, context: ServicerContext) -> Document:
        document = await self.registry.get(station_id, scope) if station_id else None
        if document is None or "registered_ms" not in document:
            # The same answer whether it does not exist or belongs to another tenant.
            await context.abort(grpc.StatusCode.NOT_FOUND, f"station {station_id!r} not found")
        assert document is not None
        return document

    # -- registry -------------------------------------------------------------------------------
    async def UpsertStation(
        self, request: telemetry_pb2.UpsertStationRequest, context: ServicerContext
    ) -> telemetry_pb2.Station:
        scope = await self._scope(request.principal, context)
        if scope is not None and scope != request.tenant_id:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "a partner registers stations of its own tenant only"
            )
        try:
            document = await self.registry.register(registration_of(request))
        except BadRequest as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except TenantMismatch:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "station is registered to another tenant")
        return station_message(document)

    async def ListStations(
        self, request: telemetry_pb2.ListStationsRequest, context: ServicerContext
    ) -> telemetry_pb2.ListStationsResponse:
        scope = await self._scope(request.principal, context)
        requested = request.filter.tenant_id or None
        if scope is not None and requested not in (None, scope):
            # Another tenant's stations are simply not there for this caller.
            return telemetry_pb2.ListStationsResponse(page=common_pb2.PageResponse(total_size=0))
        try:
            size = page_size(request.page)
        except BadRequest as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        after = None
        if request.page.page_token:
            try:
                after = decode_station_cursor(request.page.page_token)
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
        next_token = encode_station_cursor(page[-1]["_id"]) if len(documents) > size else ""
        return telemetry_pb2.ListStationsResponse(
            stations=[station_message(d) for d in page],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
        )

    async def GetStation(
        self, request: telemetry_pb2.GetStationRequest, context: ServicerContext
    ) -> telemetry_pb2.Station:
        scope = await self._scope(request.principal, context)
        document = await self._visible_station(request.station_id, scope, context)
        return station_message(document)

    # -- meter series and sessions -------------------------------------------------------------
    async def GetMeterSeries(
        self, request: telemetry_pb2.GetMeterSeriesRequest, context: ServicerContext
    ) -> telemetry_pb2.MeterSeries:
        scope = await self._scope(request.principal, context)
        ref = request.connector
        await self._visible_station(ref.station_id, scope, context)
        evse_id, connector_id = ref.evse_id, ref.connector_id
        try:
            if request.transaction_id:
                session = await self.sessions.get(ref.station_id, request.transaction_id)
                if session is None or "started_ms" not in session:
                    await context.abort(grpc.StatusCode.NOT_FOUND, f"session {request.transaction_id!r} not found")
                assert session is not None
                evse_id, connector_id = session.get("evse_id", evse_id), session.get("connector_id", connector_id)
                # Inclusive of the stop (to the second): the closing reading is taken at the stop instant.
                end_ms = (session.get("stopped_ms") or to_ms(datetime.now(UTC))) + 1000
                start_ms = session["started_ms"]
                if request.range.HasField("start") or request.range.HasField("end"):
                    # A range narrows the session's own span; it never widens it.
                    low, high = window(request.range, DEFAULT_SERIES_SPAN, MAX_ANALYTICS_SPAN)
                    start_ms, end_ms = max(start_ms, low), max(min(end_ms, high), max(start_ms, low))
                # A session's series is read from its raw readings, whatever the step.
                if end_ms - start_ms > MAX_RAW_SPAN.total_seconds() * 1000:
                    raise BadRequest(f"a session's series spans at most {MAX_RAW_SPAN.days} days; narrow the range")
                span_limit = MAX_RAW_SPAN
            else:
                if evse_id == 0:
                    raise BadRequest("connector.evse_id is required (or a transaction_id)")
                start_ms, end_ms = window(request.range, DEFAULT_SERIES_SPAN, MAX_ANALYTICS_SPAN)
                span_limit = MAX_RAW_SPAN
            step_ms = request.step_seconds * 1000
            if step_ms == 0 and end_ms - start_ms > span_limit.total_seconds() * 1000:
                raise BadRequest(f"raw series span at most {span_limit.days} days; set step_seconds")
            if step_ms and (end_ms - start_ms) // step_ms > MAX_SERIES_POINTS:
                raise BadRequest(f"at most {MAX_SERIES_POINTS} points; use a larger step_seconds")
        except BadRequest as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        key = fleet_connector_key(ref.station_id, evse_id, connector_id)
        series = telemetry_pb2.MeterSeries(connector=connector_ref(ref.station_id, evse_id, connector_id))
        transaction = request.transaction_id or None
        if step_ms and step_ms % BUCKET_MS == 0 and transaction is None:
            aggregates = (await self.meters.rolled([key], start_ms, end_ms)).get(key, [])
            if step_ms != BUCKET_MS:
                aggregates = merge_buckets(aggregates, step_ms)
            add_bucket_points(series, aggregates)
            return series
        if evse_id == 0:
            return series  # a session whose EVSE no message named yet: no readings to attribute
        readings = await self.meters.readings(key, start_ms, end_ms, transaction)
        if step_ms:
            add_bucket_points(series, aggregate_readings(readings, step_ms))
        else:
            series.points.extend(raw_point(r) for r in readings[:MAX_SERIES_POINTS])
        return series

    async def ListSessions(
        self, request: telemetry_pb2.ListSessionsRequest, context: ServicerContext
    ) -> telemetry_pb2.ListSessionsResponse:
        scope = await self._scope(request.principal, context)
        empty = telemetry_pb2.ListSessionsResponse(page=common_pb2.PageResponse(total_size=0))
        requested = request.tenant_id or None
        if scope is not None and requested not in (None, scope):
            return empty
        try:
            size = page_size(request.page)
            after = decode_cursor(request.page.page_token) if request.page.page_token else None
            start_ms = end_ms = None
            if request.range.HasField("start") or request.range.HasField("end"):
                start_ms, end_ms = window(request.range, timedelta(days=30), MAX_ANALYTICS_SPAN)
            check_id(request.id_token, "id_token")
        except (BadRequest, ValueError) as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        tenant = scope if scope is not None else requested
        station_ids: list[str] | None = None
        if request.station_id or request.site_id:
            stations = await self.registry.scoped(tenant, request.site_id or None, request.station_id or None)
            station_ids = [s["_id"] for s in stations]
            if not station_ids:
                return empty
        documents, total = await self.sessions.find_page(
            SessionQuery(
                station_ids=station_ids,
                tenant_id=tenant,
                start_ms=start_ms,
                end_ms=end_ms,
                id_token=request.id_token or None,
                ended=request.ended if request.HasField("ended") else None,
                after=after,
                limit=size + 1,
            )
        )
        page = documents[:size]
        next_token = encode_cursor(page[-1]["started_ms"], page[-1]["_id"]) if len(documents) > size else ""
        return telemetry_pb2.ListSessionsResponse(
            sessions=[session_message(d) for d in page],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
        )

    # -- analytics -------------------------------------------------------------------------------
    async def _analytics_input(
        self,
        principal: common_pb2.Principal,
        scope_filter: telemetry_pb2.AnalyticsScope,
        time_range: common_pb2.TimeRange,
        context: ServicerContext,
    ) -> tuple[list[Document], int, int]:
        scope = await self._scope(principal, context)
        requested = scope_filter.tenant_id or None
        try:
            start_ms, end_ms = window(time_range, timedelta(days=30), MAX_ANALYTICS_SPAN)
        except BadRequest as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        if scope is not None and requested not in (None, scope):
            return [], start_ms, end_ms
        stations = await self.registry.scoped(
            scope if scope is not None else requested, scope_filter.site_id or None, scope_filter.station_id or None
        )
        return stations, start_ms, end_ms

    async def GetUtilization(
        self, request: telemetry_pb2.UtilizationRequest, context: ServicerContext
    ) -> telemetry_pb2.UtilizationReport:
        stations, start_ms, end_ms = await self._analytics_input(
            request.principal, request.scope, request.range, context
        )
        connectors = usage.station_connectors(stations)
        tallies = await self.analytics.tallies(connectors, start_ms, end_ms)
        report = telemetry_pb2.UtilizationReport()
        sites: dict[str, HourTally] = {}
        for connector in connectors:
            tally = tallies[connector.key]
            sites.setdefault(connector.site_id, HourTally()).merge(tally)
            report.connectors.add(
                connector=connector_ref(connector.station_id, connector.evse_id, connector.connector_id),
                site_id=connector.site_id,
                occupied_ratio=tally.occupied_ratio,
                charging_ratio=tally.charging_ratio,
                hours=[_hour(cell) for cell in tally.cells()],
            )
        for site_id in sorted(sites):
            tally = sites[site_id]
            report.sites.add(
                site_id=site_id,
                occupied_ratio=tally.occupied_ratio,
                charging_ratio=tally.charging_ratio,
                hours=[_hour(cell) for cell in tally.cells()],
            )
        return report

    async def GetSiteEnergy(
        self, request: telemetry_pb2.SiteEnergyRequest, context: ServicerContext
    ) -> telemetry_pb2.SiteEnergyReport:
        stations, start_ms, end_ms = await self._analytics_input(
            request.principal, request.scope, request.range, context
        )
        energy = await self.analytics.energy(usage.station_connectors(stations), start_ms, end_ms)
        report = telemetry_pb2.SiteEnergyReport(
            total_energy_wh=sum(energy.days.values()), peak_connector_power_w=energy.peak_power_w
        )
        for site_id, day in sorted(energy.days):
            report.days.add(
                site_id=site_id,
                day=usage.day_label(day),
                energy_wh=energy.days[(site_id, day)],
                peak_power_w=energy.day_peaks.get((site_id, day), 0.0),
            )
        if energy.peak_connector:
            station_id, evse_id, connector_id = energy.peak_connector.split("|")
            report.peak_connector.CopyFrom(connector_ref(station_id, int(evse_id), int(connector_id)))
            report.peak_at.FromMilliseconds(energy.peak_at_ms)
        return report

    async def GetSessionStats(
        self, request: telemetry_pb2.SessionStatsRequest, context: ServicerContext
    ) -> telemetry_pb2.SessionStats:
        stations, start_ms, end_ms = await self._analytics_input(
            request.principal, request.scope, request.range, context
        )
        if not stations:
            return telemetry_pb2.SessionStats()
        total, good, refused, energy, ended = await self.analytics.session_stats(
            [s["_id"] for s in stations], start_ms, end_ms, self.session_min_energy_wh
        )
        attempts = ended + refused
        return telemetry_pb2.SessionStats(
            sessions=total,
            successful_sessions=good,
            refused_authorizations=refused,
            success_rate=good / attempts if attempts else 0.0,
            energy_wh=energy,
        )

    async def RankHighDemandSites(
        self, request: telemetry_pb2.HighDemandRequest, context: ServicerContext
    ) -> telemetry_pb2.HighDemandResponse:
        if not 0.0 <= request.min_occupied_ratio <= 1.0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "min_occupied_ratio must be within 0..1")
        stations, start_ms, end_ms = await self._analytics_input(
            request.principal, telemetry_pb2.AnalyticsScope(tenant_id=request.tenant_id), request.range, context
        )
        gap_ms = (request.back_to_back_gap_seconds or 900) * 1000
        ranked = [
            d
            for d in await self.analytics.demand(usage.station_connectors(stations), start_ms, end_ms, gap_ms)
            if d.occupied_ratio >= request.min_occupied_ratio
        ]
        ranked.sort(key=lambda d: (-d.score, d.site_id))
        limit = min(request.limit or 20, MAX_PAGE_SIZE)
        return telemetry_pb2.HighDemandResponse(
            sites=[
                telemetry_pb2.SiteDemand(
                    site_id=d.site_id,
                    occupied_ratio=d.occupied_ratio,
                    charging_ratio=d.charging_ratio,
                    sessions=d.sessions,
                    back_to_back_sessions=d.back_to_back,
                    median_gap_seconds=d.median_gap_seconds,
                    connectors=d.connectors,
                    demand_score=d.score,
                )
                for d in ranked[:limit]
            ]
        )


def _hour(cell: tuple[int, float, float, float]) -> telemetry_pb2.HourOfWeekUtilization:
    slot, observed, occupied, charging = cell
    return telemetry_pb2.HourOfWeekUtilization(
        hour_of_week=slot, observed_seconds=observed, occupied_ratio=occupied, charging_ratio=charging
    )
