"""gRPC `Sla`: thin handlers over queries, reports and the stores, with scoping and validation.

Errors: PERMISSION_DENIED for a principal without rights, NOT_FOUND for a missing object or one
of another tenant, INVALID_ARGUMENT with what to fix, FAILED_PRECONDITION for an action the
object's state does not allow (reviewing an exclusion twice).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import grpc

from chargewatch.mongo import Document
from chargewatch.rpc import ServicerContext
from chargewatch.sla_engine import access, contracts, convert, forecast, incidents, reports
from chargewatch.sla_engine.access import BadRequest, Conflict, Denied, NotFound
from chargewatch.sla_engine.intervals import DAY_MS, Span, from_ms
from chargewatch.sla_engine.model import PortKey
from chargewatch.sla_engine.profiles import SiteProfile
from chargewatch.sla_engine.queries import PortRow, Queries, Scope, decode_cursor, encode_cursor
from chargewatch.sla_engine.uptime import PeriodKind, period_window
from chargewatch.v1 import common_pb2, sla_pb2, sla_pb2_grpc

T = TypeVar("T")

DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_WINDOW_MS = 3 * 366 * DAY_MS
MAX_EVIDENCE = 4000
MAX_NOTE = 2000
_PERIODS = {
    sla_pb2.PERIOD_KIND_MONTH: PeriodKind.MONTH,
    sla_pb2.PERIOD_KIND_QUARTER: PeriodKind.QUARTER,
    sla_pb2.PERIOD_KIND_YEAR: PeriodKind.YEAR,
    sla_pb2.PERIOD_KIND_TRAILING_12_MONTHS: PeriodKind.TRAILING_12_MONTHS,
}
_PERIOD_LABELS = {
    PeriodKind.MONTH: "this month",
    PeriodKind.QUARTER: "this quarter",
    PeriodKind.YEAR: "this year",
    PeriodKind.TRAILING_12_MONTHS: "in the trailing twelve months",
}


@dataclass(frozen=True, slots=True)
class ApiSettings:
    default_target_percent: float = 97.0
    forecast_warn_fraction: float = 0.25
    exclusion_four_eyes: bool = False


def now_ms() -> int:
    return int(time.time() * 1000)


def page_size(page: common_pb2.PageRequest) -> int:
    size = page.page_size or DEFAULT_PAGE
    if size > MAX_PAGE:
        raise BadRequest(f"page_size must be at most {MAX_PAGE}")
    return size


def window_of(
    window: common_pb2.TimeRange, period: sla_pb2.Period, default: PeriodKind, now: int
) -> tuple[Span, PeriodKind | None]:
    """The request's explicit window, else its period (containing `period.at`, default now)."""
    if window.HasField("start") or window.HasField("end"):
        if not (window.HasField("start") and window.HasField("end")):
            raise BadRequest("window needs both start and end")
        span = (window.start.ToMilliseconds(), window.end.ToMilliseconds())
        if span[0] >= span[1]:
            raise BadRequest("window.start must be before window.end")
        if span[1] - span[0] > MAX_WINDOW_MS:
            raise BadRequest("a window spans at most three years")
        return span, None
    kind = _PERIODS.get(period.kind, default) if period.kind else default
    at = period.at.ToDatetime(UTC) if period.HasField("at") else from_ms(now)
    return period_window(kind, at), kind


class SlaServicer(sla_pb2_grpc.SlaServicer):
    def __init__(self, queries: Queries, builder: reports.ReportBuilder, settings: ApiSettings) -> None:
        self.queries = queries
        self.store = queries.store
        self.builder = builder
        self.settings = settings

    async def _guard(self, context: ServicerContext, body: Callable[[], Awaitable[T]]) -> T:
        try:
            return await body()
        except Denied as error:
            await _abort(context, grpc.StatusCode.PERMISSION_DENIED, str(error))
        except NotFound as error:
            await _abort(context, grpc.StatusCode.NOT_FOUND, str(error))
        except BadRequest as error:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except Conflict as error:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(error))

    # -- scopes ----------------------------------------------------------------------------------
    async def _scope(
        self,
        principal: common_pb2.Principal,
        scope_kind: int,
        subject_id: str,
        port: common_pb2.ConnectorRef,
    ) -> tuple[Scope, str]:
        """The ports a request covers, confined to the caller's tenant; (scope, subject label)."""
        tenant = access.tenant_scope(principal)
        if scope_kind == sla_pb2.UPTIME_SCOPE_UNSPECIFIED and port.station_id:
            scope_kind = sla_pb2.UPTIME_SCOPE_PORT
        if scope_kind == sla_pb2.UPTIME_SCOPE_PORT:
            access.check_id(port.station_id, "port.station_id")
            if port.evse_id == 0:
                raise BadRequest("port.evse_id is required (ports are numbered from 1)")
            row = await self.queries.port(PortKey(port.station_id, port.evse_id).key, tenant)
            if row is None:
                raise NotFound(f"port {port.station_id}/{port.evse_id} not found")
            return Scope(tenant_id=tenant, station_id=port.station_id, evse_id=port.evse_id), row.label
        if scope_kind == sla_pb2.UPTIME_SCOPE_STATION:
            access.check_id(subject_id, "subject_id (station id)")
            scope = Scope(tenant_id=tenant, station_id=subject_id)
        elif scope_kind == sla_pb2.UPTIME_SCOPE_SITE:
            access.check_id(subject_id, "subject_id (site id)")
            scope = Scope(tenant_id=tenant, site_id=subject_id)
        elif scope_kind == sla_pb2.UPTIME_SCOPE_TENANT:
            requested = access.check_id(subject_id, "subject_id (tenant id)", required=tenant is None)
            return Scope(tenant_id=access.narrowed(tenant, requested) or requested), requested or (tenant or "")
        elif scope_kind == sla_pb2.UPTIME_SCOPE_OPERATOR:
            if tenant is not None:
                raise Denied("the operator-wide scope needs an operator-wide role")
            return Scope(), "operator"
        else:
            raise BadRequest("scope is required (PORT, STATION, SITE, TENANT or OPERATOR)")
        if not await self.store.ports.find_one(scope.port_filter(), {"_id": 1}):
            raise NotFound(f"{subject_id!r} has no ports in scope")
        return scope, subject_id

    # -- uptime ----------------------------------------------------------------------------------
    async def GetUptime(self, request: sla_pb2.GetUptimeRequest, context: ServicerContext) -> sla_pb2.UptimeReport:
        async def body() -> sla_pb2.UptimeReport:
            now = now_ms()
            scope, subject = await self._scope(request.principal, request.scope, request.subject_id, request.port)
            window, _ = window_of(request.window, request.period, PeriodKind.TRAILING_12_MONTHS, now)
            result = await self.queries.uptime(scope, window, now)
            pooled = result.pooled
            targets = {p.target for p in result.ports}
            report = sla_pb2.UptimeReport(
                scope=request.scope or sla_pb2.UPTIME_SCOPE_PORT,
                subject_id=subject,
                window=convert.time_range(window),
                uptime_percent=pooled.uptime_percent,
                target_percent=targets.pop() if len(targets) == 1 else self.settings.default_target_percent,
                window_ms=pooled.window_ms,
                outage_ms=pooled.outage_ms,
                excluded_ms=pooled.excluded_ms,
                port_count=len(result.ports),
                ports_below_target=sum(not p.meets_target for p in result.ports),
                min_port_uptime_percent=min((p.figures.uptime_percent for p in result.ports), default=100.0),
            )
            if not request.omit_ports:
                report.ports.extend(convert.port_uptime(p) for p in result.ports)
            return report

        return await self._guard(context, body)

    async def ListPortStates(
        self, request: sla_pb2.ListPortStatesRequest, context: ServicerContext
    ) -> sla_pb2.ListPortStatesResponse:
        async def body() -> sla_pb2.ListPortStatesResponse:
            tenant = access.tenant_scope(request.principal)
            try:
                tenant = access.narrowed(tenant, access.check_id(request.tenant_id, "tenant_id", required=False))
            except NotFound:
                return sla_pb2.ListPortStatesResponse(page=common_pb2.PageResponse())
            size = page_size(request.page)
            conditions: list[Document] = []
            if tenant is not None:
                conditions.append({"tenant_id": tenant})
            if request.station_id:
                conditions.append({"station_id": access.check_id(request.station_id, "station_id")})
            if request.site_id:
                conditions.append({"site_id": access.check_id(request.site_id, "site_id")})
            if request.availability:
                conditions.append({"state": int(convert.availability(request.availability))})
            query: Document = {"$and": conditions} if conditions else {}
            total = await self.store.ports.count_documents(query)
            if request.page.page_token:
                after = decode_cursor(request.page.page_token)
                conditions.append({"_id": {"$gt": str(after[0])}})
                query = {"$and": conditions}
            documents = [d async for d in self.store.ports.find(query).sort("_id", 1).limit(size + 1)]
            rows = [PortRow.from_document(d) for d in documents[:size]]
            token = encode_cursor([rows[-1].key]) if len(documents) > size else ""
            return sla_pb2.ListPortStatesResponse(
                ports=[convert.port_state(r) for r in rows],
                page=common_pb2.PageResponse(next_page_token=token, total_size=total),
            )

        return await self._guard(context, body)

    async def GetForecast(
        self, request: sla_pb2.GetForecastRequest, context: ServicerContext
    ) -> sla_pb2.ForecastReport:
        async def body() -> sla_pb2.ForecastReport:
            now = now_ms()
            scope, _ = await self._scope(request.principal, request.scope, request.subject_id, request.port)
            if request.target_percent and not 0 < request.target_percent <= 100:
                raise BadRequest("target_percent must be within (0, 100]")
            period, kind = window_of(common_pb2.TimeRange(), request.period, PeriodKind.MONTH, now)
            label = _PERIOD_LABELS.get(kind or PeriodKind.MONTH, "this period")
            report = sla_pb2.ForecastReport(period=convert.time_range(period))
            for result, remaining, down_now in await self.queries.forecast(
                scope, period, now, request.target_percent or None
            ):
                at_risk = remaining.at_risk(self.settings.forecast_warn_fraction)
                if request.at_risk_only and not at_risk:
                    continue
                row = result.row
                entry = report.ports.add(
                    port=convert.ref(row.station_id, row.evse_id, row.connector_id),
                    site_id=row.site_id,
                    target_percent=remaining.target_percent,
                    period_ms=remaining.period_ms,
                    allowed_down_ms=remaining.allowed_ms,
                    used_ms=remaining.used_ms,
                    remaining_ms=remaining.remaining_ms,
                    uptime_so_far_percent=result.figures.uptime_percent,
                    projected_uptime_percent=remaining.projected_uptime_percent(down_now, now, period[1]),
                    down_now=down_now,
                    at_risk=at_risk,
                    message=forecast.message(row.label, remaining, label),
                )
                if down_now and remaining.remaining_ms >= 0:
                    entry.breach_at.FromMilliseconds(now + remaining.remaining_ms)
                report.at_risk += int(at_risk)
            return report

        return await self._guard(context, body)

    # -- incidents -------------------------------------------------------------------------------
    async def _incident_message(self, document: Document) -> sla_pb2.Incident:
        notes = await self.store.notes_of([str(document["_id"])])
        return convert.incident(document, notes.get(str(document["_id"]), []), now_ms())

    async def _visible_incident(self, incident_id: str, tenant: str | None) -> Document:
        access.check_id(incident_id, "incident_id")
        document = await self.store.incident(incident_id)
        if document is None or document.get("superseded") or not access.visible(tenant, str(document.get("tenant_id"))):
            raise NotFound(f"incident {incident_id!r} not found")
        return document

    async def GetIncident(self, request: sla_pb2.GetIncidentRequest, context: ServicerContext) -> sla_pb2.Incident:
        async def body() -> sla_pb2.Incident:
            tenant = access.tenant_scope(request.principal)
            return await self._incident_message(await self._visible_incident(request.incident_id, tenant))

        return await self._guard(context, body)

    async def ListIncidents(
        self, request: sla_pb2.ListIncidentsRequest, context: ServicerContext
    ) -> sla_pb2.ListIncidentsResponse:
        async def body() -> sla_pb2.ListIncidentsResponse:
            tenant = access.tenant_scope(request.principal)
            try:
                tenant = access.narrowed(tenant, access.check_id(request.tenant_id, "tenant_id", required=False))
            except NotFound:
                return sla_pb2.ListIncidentsResponse(page=common_pb2.PageResponse())
            size = page_size(request.page)
            conditions: list[Document] = [{"superseded": 0}]
            if tenant is not None:
                conditions.append({"tenant_id": tenant})
            station = request.port.station_id or request.station_id
            if station:
                conditions.append({"station_id": access.check_id(station, "station_id")})
            if request.port.evse_id:
                conditions.append({"evse_id": request.port.evse_id})
            if request.site_id:
                conditions.append({"site_id": access.check_id(request.site_id, "site_id")})
            if request.range.HasField("start"):
                conditions.append({"opened_ms": {"$gte": request.range.start.ToMilliseconds()}})
            if request.range.HasField("end"):
                conditions.append({"opened_ms": {"$lt": request.range.end.ToMilliseconds()}})
            if request.state == sla_pb2.INCIDENT_STATE_OPEN or request.state == sla_pb2.INCIDENT_STATE_ACKNOWLEDGED:
                conditions.append({"open": 1})  # still down (people's resolutions are checked below)
            if request.page.page_token:
                opened, last_id = decode_cursor(request.page.page_token)
                conditions.append(
                    {
                        "$or": [
                            {"opened_ms": {"$lt": int(opened)}},
                            {"$and": [{"opened_ms": int(opened)}, {"_id": {"$lt": str(last_id)}}]},
                        ]
                    }
                )
            picked: list[Document] = []
            cursor = self.store.incidents.find({"$and": conditions}).sort([("opened_ms", -1), ("_id", -1)])
            more = False
            async for document in cursor:
                if request.state and incidents.state_of(document) != request.state:
                    continue
                if len(picked) == size:
                    more = True
                    break
                picked.append(document)
            notes = await self.store.notes_of([str(d["_id"]) for d in picked])
            now = now_ms()
            token = encode_cursor([picked[-1]["opened_ms"], picked[-1]["_id"]]) if more and picked else ""
            return sla_pb2.ListIncidentsResponse(
                incidents=[convert.incident(d, notes.get(str(d["_id"]), []), now) for d in picked],
                page=common_pb2.PageResponse(next_page_token=token),
            )

        return await self._guard(context, body)

    async def AcknowledgeIncident(
        self, request: sla_pb2.IncidentActionRequest, context: ServicerContext
    ) -> sla_pb2.Incident:
        async def body() -> sla_pb2.Incident:
            tenant = access.require_operator(request.principal)
            document = await self._visible_incident(request.incident_id, tenant)
            if len(request.note) > MAX_NOTE:
                raise BadRequest(f"note is at most {MAX_NOTE} characters")
            now = now_ms()
            if document.get("ack_ms") is None and incidents.is_resolved(document):
                raise Conflict("the incident is resolved; there is nothing to acknowledge")
            if await self.store.acknowledge(request.incident_id, now, request.principal.subject):
                await self.store.add_note(
                    request.incident_id, now, request.principal.subject, "acknowledge", request.note
                )
            elif request.note:
                await self.store.add_note(request.incident_id, now, request.principal.subject, "note", request.note)
            return await self._incident_message(await self._visible_incident(request.incident_id, tenant))

        return await self._guard(context, body)

    async def ResolveIncident(
        self, request: sla_pb2.IncidentActionRequest, context: ServicerContext
    ) -> sla_pb2.Incident:
        async def body() -> sla_pb2.Incident:
            tenant = access.require_operator(request.principal)
            document = await self._visible_incident(request.incident_id, tenant)
            if len(request.note) > MAX_NOTE:
                raise BadRequest(f"note is at most {MAX_NOTE} characters")
            if incidents.is_resolved(document):
                return await self._incident_message(document)  # resolving twice is harmless
            now = now_ms()
            await self.store.resolve(request.incident_id, now, request.principal.subject)
            await self.store.add_note(request.incident_id, now, request.principal.subject, "resolve", request.note)
            return await self._incident_message(await self._visible_incident(request.incident_id, tenant))

        return await self._guard(context, body)

    # -- exclusions ------------------------------------------------------------------------------
    async def DeclareExclusion(
        self, request: sla_pb2.DeclareExclusionRequest, context: ServicerContext
    ) -> sla_pb2.Exclusion:
        async def body() -> sla_pb2.Exclusion:
            tenant = access.require_operator(request.principal)
            station = access.check_id(request.port.station_id, "port.station_id")
            if request.category == sla_pb2.EXCLUSION_CATEGORY_UNSPECIFIED:
                raise BadRequest("category is required")
            if request.category not in sla_pb2.ExclusionCategory.values():
                raise BadRequest("unknown category")
            if not (request.period.HasField("start") and request.period.HasField("end")):
                raise BadRequest("period needs start and end")
            span = (request.period.start.ToMilliseconds(), request.period.end.ToMilliseconds())
            if span[0] >= span[1]:
                raise BadRequest("period.start must be before period.end")
            if span[1] - span[0] > MAX_WINDOW_MS:
                raise BadRequest("an exclusion spans at most three years")
            evidence = request.evidence.strip()
            if not evidence:
                raise BadRequest("evidence is required: what documents the cause (ticket, utility notice, report)")
            if len(evidence) > MAX_EVIDENCE:
                raise BadRequest(f"evidence is at most {MAX_EVIDENCE} characters")
            conditions: Document = {"station_id": station}
            if request.port.evse_id:
                conditions["evse_id"] = request.port.evse_id
            if tenant is not None:
                conditions["tenant_id"] = tenant
            known = await self.store.ports.find_one(conditions)
            if known is None:
                raise NotFound(f"no port {station}/{request.port.evse_id or '*'} in scope")
            now = now_ms()
            document: Document = {
                "_id": f"exc-{uuid.uuid4().hex[:20]}",
                "station_id": station,
                "evse_id": request.port.evse_id,
                "tenant_id": str(known.get("tenant_id", "")),
                "site_id": str(known.get("site_id", "")),
                "category": int(request.category),
                "start_ms": span[0],
                "end_ms": span[1],
                "evidence": evidence,
                "state": sla_pb2.EXCLUSION_STATE_PENDING,
                "declared_by": request.principal.subject,
                "declared_ms": now,
                "covered_outage_ms": await self.queries.covered_outage_ms(station, request.port.evse_id, span, now),
            }
            await self.store.exclusions.insert_one(document)
            return convert.exclusion(document)

        return await self._guard(context, body)

    async def ReviewExclusion(
        self, request: sla_pb2.ReviewExclusionRequest, context: ServicerContext
    ) -> sla_pb2.Exclusion:
        async def body() -> sla_pb2.Exclusion:
            tenant = access.require_operator(request.principal)
            access.check_id(request.exclusion_id, "exclusion_id")
            if len(request.note) > MAX_NOTE:
                raise BadRequest(f"note is at most {MAX_NOTE} characters")
            document = await self.store.exclusions.find_one({"_id": request.exclusion_id})
            if document is None or not access.visible(tenant, str(document.get("tenant_id"))):
                raise NotFound(f"exclusion {request.exclusion_id!r} not found")
            if self.settings.exclusion_four_eyes and document.get("declared_by") == request.principal.subject:
                raise Denied("an exclusion is reviewed by another operator than the one who declared it")
            state = sla_pb2.EXCLUSION_STATE_APPROVED if request.approve else sla_pb2.EXCLUSION_STATE_REJECTED
            result = await self.store.exclusions.update_one(
                {"_id": request.exclusion_id, "state": sla_pb2.EXCLUSION_STATE_PENDING},
                {
                    "$set": {
                        "state": state,
                        "reviewed_by": request.principal.subject,
                        "reviewed_ms": now_ms(),
                        "review_note": request.note,
                    }
                },
            )
            if result.modified_count == 0:
                raise Conflict("the exclusion was already reviewed")
            updated = await self.store.exclusions.find_one({"_id": request.exclusion_id})
            assert updated is not None
            return convert.exclusion(updated)

        return await self._guard(context, body)

    async def ListExclusions(
        self, request: sla_pb2.ListExclusionsRequest, context: ServicerContext
    ) -> sla_pb2.ListExclusionsResponse:
        async def body() -> sla_pb2.ListExclusionsResponse:
            tenant = access.tenant_scope(request.principal)
            try:
                tenant = access.narrowed(tenant, access.check_id(request.tenant_id, "tenant_id", required=False))
            except NotFound:
                return sla_pb2.ListExclusionsResponse(page=common_pb2.PageResponse())
            size = page_size(request.page)
            conditions: list[Document] = []
            if tenant is not None:
                conditions.append({"tenant_id": tenant})
            if request.station_id:
                conditions.append({"station_id": access.check_id(request.station_id, "station_id")})
            if request.state:
                conditions.append({"state": int(request.state)})
            if request.range.HasField("end"):
                conditions.append({"start_ms": {"$lt": request.range.end.ToMilliseconds()}})
            if request.range.HasField("start"):
                conditions.append({"end_ms": {"$gt": request.range.start.ToMilliseconds()}})
            query: Document = {"$and": conditions} if conditions else {}
            total = await self.store.exclusions.count_documents(query)
            if request.page.page_token:
                start, last_id = decode_cursor(request.page.page_token)
                conditions.append(
                    {
                        "$or": [
                            {"start_ms": {"$lt": int(start)}},
                            {"$and": [{"start_ms": int(start)}, {"_id": {"$lt": str(last_id)}}]},
                        ]
                    }
                )
                query = {"$and": conditions}
            cursor = self.store.exclusions.find(query).sort([("start_ms", -1), ("_id", -1)]).limit(size + 1)
            documents = [d async for d in cursor]
            page = documents[:size]
            token = encode_cursor([page[-1]["start_ms"], page[-1]["_id"]]) if len(documents) > size else ""
            return sla_pb2.ListExclusionsResponse(
                exclusions=[convert.exclusion(d) for d in page],
                page=common_pb2.PageResponse(next_page_token=token, total_size=total),
            )

        return await self._guard(context, body)

    # -- reports ---------------------------------------------------------------------------------
    async def GetReport(self, request: sla_pb2.GetReportRequest, context: ServicerContext) -> sla_pb2.ReportFile:
        async def body() -> sla_pb2.ReportFile:
            now = now_ms()
            scope, _ = await self._scope(request.principal, request.scope, request.subject_id, request.port)
            csv = request.format == sla_pb2.REPORT_FORMAT_CSV
            document: dict[str, Any]
            if request.kind == sla_pb2.REPORT_KIND_NEVI_QUARTERLY:
                at = request.period.at.ToDatetime(UTC) if request.period.HasField("at") else datetime.now(UTC)
                if request.window.HasField("start"):
                    at = request.window.start.ToDatetime(UTC)
                document, kind, default = (
                    await self.builder.nevi_quarterly(scope, at, now),
                    "nevi-quarterly",
                    "sessions",
                )
            else:
                window, _ = window_of(request.window, request.period, PeriodKind.MONTH, now)
                if request.kind in (sla_pb2.REPORT_KIND_UPTIME, sla_pb2.REPORT_KIND_UNSPECIFIED):
                    document, kind, default = await self.builder.uptime(scope, window, now), "uptime", "ports"
                elif request.kind == sla_pb2.REPORT_KIND_KPI:
                    document, kind, default = await self.builder.kpis(scope, window, now), "kpi", "kpis"
                elif request.kind == sla_pb2.REPORT_KIND_INCIDENTS:
                    document, kind, default = await self.builder.incidents(scope, window, now), "incidents", "incidents"
                else:
                    raise BadRequest("unknown report kind")
            try:
                content_type, filename, data = reports.render(kind, document, csv, request.section, default)
            except ValueError as error:
                raise BadRequest(str(error)) from error
            report = sla_pb2.ReportFile(content_type=content_type, filename=filename, body=data)
            report.generated_at.FromMilliseconds(now)
            return report

        return await self._guard(context, body)

    # -- site profiles ---------------------------------------------------------------------------
    async def UpsertSiteProfile(
        self, request: sla_pb2.UpsertSiteProfileRequest, context: ServicerContext
    ) -> sla_pb2.SiteProfile:
        async def body() -> sla_pb2.SiteProfile:
            tenant = access.require_operator(request.principal)
            site_id = access.check_id(request.profile.site_id, "profile.site_id")
            owner = request.profile.tenant_id or tenant or ""
            if tenant is not None and owner != tenant:
                raise Denied("a tenant's operator sets its own sites only")
            existing = await self.store.profile(site_id)
            if existing is not None and not access.visible(tenant, existing.tenant_id):
                raise NotFound(f"site {site_id!r} not found")
            profile = convert.profile_from(request.profile, owner, request.principal.subject, now_ms())
            return convert.profile_to(await self.store.put_profile(profile))

        return await self._guard(context, body)

    async def GetSiteProfile(
        self, request: sla_pb2.GetSiteProfileRequest, context: ServicerContext
    ) -> sla_pb2.SiteProfile:
        async def body() -> sla_pb2.SiteProfile:
            tenant = access.tenant_scope(request.principal)
            profile = await self.store.profile(access.check_id(request.site_id, "site_id"))
            if profile is None or not access.visible(tenant, profile.tenant_id):
                raise NotFound(f"site {request.site_id!r} has no profile")
            return convert.profile_to(profile)

        return await self._guard(context, body)

    async def ListSiteProfiles(
        self, request: sla_pb2.ListSiteProfilesRequest, context: ServicerContext
    ) -> sla_pb2.ListSiteProfilesResponse:
        async def body() -> sla_pb2.ListSiteProfilesResponse:
            page, token = await self._tenant_page(self.store.sites, request)
            return sla_pb2.ListSiteProfilesResponse(
                profiles=[convert.profile_to(SiteProfile.from_document(d)) for d in page],
                page=common_pb2.PageResponse(next_page_token=token),
            )

        return await self._guard(context, body)

    async def _tenant_page(self, collection: Any, request: Any) -> tuple[list[Document], str]:
        """One page of a collection keyed by `_id` and owned by a tenant: the caller's tenant (narrowed by
        the request's `tenant_id`), after the request's page token; empty for another tenant."""
        tenant = access.tenant_scope(request.principal)
        try:
            tenant = access.narrowed(tenant, access.check_id(request.tenant_id, "tenant_id", required=False))
        except NotFound:
            return [], ""
        size = page_size(request.page)
        conditions: list[Document] = []
        if tenant is not None:
            conditions.append({"tenant_id": tenant})
        if request.page.page_token:
            conditions.append({"_id": {"$gt": str(decode_cursor(request.page.page_token)[0])}})
        query: Document = {"$and": conditions} if conditions else {}
        documents = [d async for d in collection.find(query).sort("_id", 1).limit(size + 1)]
        page = documents[:size]
        return page, encode_cursor([page[-1]["_id"]]) if len(documents) > size else ""

    # -- contracts -------------------------------------------------------------------------------
    async def _visible_contract(self, contract_id: str, tenant: str | None) -> Document:
        access.check_id(contract_id, "contract_id")
        document = await self.store.contracts.find_one({"_id": contract_id})
        if document is None or not access.visible(tenant, str(document.get("tenant_id"))):
            raise NotFound(f"contract {contract_id!r} not found")
        return document

    async def UpsertContract(
        self, request: sla_pb2.UpsertContractRequest, context: ServicerContext
    ) -> sla_pb2.Contract:
        async def body() -> sla_pb2.Contract:
            tenant = access.require_operator(request.principal)
            message = request.contract
            contract_id = message.contract_id or f"ctr-{uuid.uuid4().hex[:16]}"
            access.check_id(contract_id, "contract.contract_id")
            access.check_id(message.tenant_id, "contract.tenant_id")
            for value in (*message.site_ids, *message.station_ids):
                access.check_id(value, "contract site or station id")
            if tenant is not None and message.tenant_id != tenant:
                raise Denied("a tenant's operator writes its own contracts only")
            if message.contract_id:
                existing = await self.store.contracts.find_one({"_id": contract_id})
                if existing is not None and not access.visible(tenant, str(existing.get("tenant_id"))):
                    raise NotFound(f"contract {contract_id!r} not found")
            contract = convert.contract_from(message, contract_id)
            now = now_ms()
            fields = convert.contract_document(contract, request.principal.subject, now)
            await self.store.contracts.update_one({"_id": contract_id}, {"$set": fields}, upsert=True)
            return convert.contract_to(contract, {"_id": contract_id, **fields})

        return await self._guard(context, body)

    async def GetContract(self, request: sla_pb2.GetContractRequest, context: ServicerContext) -> sla_pb2.Contract:
        async def body() -> sla_pb2.Contract:
            tenant = access.tenant_scope(request.principal)
            document = await self._visible_contract(request.contract_id, tenant)
            return convert.contract_to(convert.contract_from_document(document), document)

        return await self._guard(context, body)

    async def ListContracts(
        self, request: sla_pb2.ListContractsRequest, context: ServicerContext
    ) -> sla_pb2.ListContractsResponse:
        async def body() -> sla_pb2.ListContractsResponse:
            page, token = await self._tenant_page(self.store.contracts, request)
            return sla_pb2.ListContractsResponse(
                contracts=[convert.contract_to(convert.contract_from_document(d), d) for d in page],
                page=common_pb2.PageResponse(next_page_token=token),
            )

        return await self._guard(context, body)

    async def EvaluateContract(
        self, request: sla_pb2.EvaluateContractRequest, context: ServicerContext
    ) -> sla_pb2.ContractEvaluation:
        async def body() -> sla_pb2.ContractEvaluation:
            tenant = access.tenant_scope(request.principal)
            document = await self._visible_contract(request.contract_id, tenant)
            contract = convert.contract_from_document(document)
            now = now_ms()
            window, _ = window_of(request.window, request.period, PeriodKind.MONTH, now)
            conditions: list[Document] = []
            if contract.site_ids:
                conditions.append({"site_id": {"$in": list(contract.site_ids)}})
            if contract.station_ids:
                conditions.append({"station_id": {"$in": list(contract.station_ids)}})
            rows = [
                PortRow.from_document(d)
                async for d in self.store.ports.find({"$or": conditions} if len(conditions) > 1 else conditions[0])
            ]
            effective = contract.effective_window(window)
            measured = await self.queries.uptime(
                Scope(),
                effective,
                now,
                rows=rows,
                maintenance=contract.maintenance_windows,
                maintenance_timezone=contract.timezone,
            )
            ports = [contracts.PortInput(p.row.label, p.row.site_id, p.figures) for p in measured.ports]
            stations = {r.station_id for r in rows}
            documents = await self.builder.incident_documents(stations, Scope(), effective)
            result = contracts.evaluate(contract, window, ports, documents, now)
            return convert.evaluation(result, document)

        return await self._guard(context, body)


async def _abort(context: ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable: abort raises")
