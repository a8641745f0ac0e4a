"""Uptime and SLA routes (the SLA engine): uptime of a port, station, site or tenant over a window,
reports (JSON and CSV), down-time budgets, port availability, site profiles and contracts.

The engine scopes every call by the principal forwarded here (another tenant's site, station or
contract answers 404, as a missing one); the tenant filter is checked here first, so a partner asking
for another tenant by name gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import Response as RawResponse
from pydantic import AwareDatetime

from chargewatch.auth import Principal
from chargewatch.partner_api.api.common import Cursor, Responses, errors, model_response, next_link
from chargewatch.partner_api.convert import (
    AVAILABILITY_VALUES,
    PERIOD_VALUES,
    REPORT_KIND_VALUES,
    contract_out,
    contract_wire,
    evaluation_out,
    forecast_out,
    port_state_out,
    site_profile_out,
    site_profile_wire,
    time_range,
    uptime_out,
)
from chargewatch.partner_api.deps import (
    OperatorDep,
    PrincipalDep,
    ServicesDep,
    check_tenant_filter,
    to_proto,
)
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import SITE_PATTERN, STATION_ID_PATTERN, TENANT_PATTERN
from chargewatch.partner_api.services import Services
from chargewatch.partner_api.sla_models import (
    OBJECT_ID_PATTERN,
    ContractEvaluationOut,
    ContractIn,
    ContractOut,
    ContractPage,
    ForecastOut,
    PeriodName,
    PortAvailabilityName,
    PortStatePage,
    ReportKindName,
    ReportSectionName,
    SiteProfileIn,
    SiteProfileOut,
    SiteProfilePage,
    UptimeOut,
)
from chargewatch.v1 import common_pb2, sla_pb2

router = APIRouter(tags=["uptime and SLA"])

SiteId = Annotated[str, Path(pattern=SITE_PATTERN, description="The site's id")]
ContractId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The contract's id")]


def invalid(detail: str) -> ApiError:
    return ApiError(422, "invalid-request", "Invalid Request", detail)


@dataclass(frozen=True, slots=True)
class Subject:
    """What a report covers, as the engine's (scope, subject id, port)."""

    scope: int
    subject_id: str
    port: common_pb2.ConnectorRef


async def subject_query(
    principal: PrincipalDep,
    station_id: Annotated[
        str | None, Query(pattern=STATION_ID_PATTERN, description="One station (with evse_id: one port)")
    ] = None,
    evse_id: Annotated[int | None, Query(ge=1, le=100, description="One port of `station_id`")] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN, description="One site")] = None,
    tenant_id: Annotated[
        str | None, Query(pattern=TENANT_PATTERN, description="One tenant (operators; partners: their own)")
    ] = None,
) -> Subject:
    """A port, station, site or tenant, at most one of them; none: the caller's tenant (partners) or the
    whole operator (operator-wide roles)."""
    given = [
        name for name, value in (("station_id", station_id), ("site_id", site_id), ("tenant_id", tenant_id)) if value
    ]
    if len(given) > 1:
        raise invalid(
            f"give one of station_id (with evse_id for a port), site_id or tenant_id, not {' and '.join(given)}"
        )
    if evse_id is not None and station_id is None:
        raise invalid("evse_id names a port of a station: give station_id too")
    none = common_pb2.ConnectorRef()
    if station_id is not None and evse_id is not None:
        return Subject(sla_pb2.UPTIME_SCOPE_PORT, "", common_pb2.ConnectorRef(station_id=station_id, evse_id=evse_id))
    if station_id is not None:
        return Subject(sla_pb2.UPTIME_SCOPE_STATION, station_id, none)
    if site_id is not None:
        return Subject(sla_pb2.UPTIME_SCOPE_SITE, site_id, none)
    tenant = check_tenant_filter(principal, tenant_id, "reports on its own tenant")
    if tenant is not None:
        return Subject(sla_pb2.UPTIME_SCOPE_TENANT, tenant, none)
    return Subject(sla_pb2.UPTIME_SCOPE_OPERATOR, "", none)


SubjectDep = Annotated[Subject, Depends(subject_query)]


@dataclass(frozen=True, slots=True)
class WindowQuery:
    window: common_pb2.TimeRange
    period: sla_pb2.Period


async def window_query(
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Window start (with `to`)")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Window end, exclusive (with `from`)")] = None,
    period: Annotated[
        PeriodName | None, Query(description="A calendar period (UTC) instead of from/to; it contains `at`")
    ] = None,
    at: Annotated[AwareDatetime | None, Query(description="A moment inside the period (default: now)")] = None,
) -> WindowQuery:
    if (start is None) != (end is None):
        raise invalid("give both `from` and `to`, or neither (then `period` decides)")
    if start is not None and end is not None:
        if period is not None or at is not None:
            raise invalid("give a window (`from`, `to`) or a period (`period`, `at`), not both")
        if start >= end:
            raise invalid("`from` must be before `to`")
    wire_period = sla_pb2.Period(kind=PERIOD_VALUES[period] if period else 0)  # type: ignore[arg-type]
    if at is not None:
        wire_period.at.FromDatetime(at.astimezone(UTC))
    return WindowQuery(time_range(start, end), wire_period)


WindowDep = Annotated[WindowQuery, Depends(window_query)]


# -- uptime ---------------------------------------------------------------------------------------
@router.get(
    "/v1/uptime",
    response_model=UptimeOut,
    responses=errors(404),
    summary="Uptime (23 CFR 680.116) of a port, station, site or tenant over a window",
)
async def get_uptime(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    subject: SubjectDep,
    window: WindowDep,
    ports: Annotated[bool, Query(description="Include the per-port rows")] = True,
) -> Response:
    """Pooled uptime `((window - (T_outage - T_excluded)) / window) x 100` of the ports in scope, against
    the SLA target, with each port's figures. Default window: the trailing twelve months (NEVI's annual
    uptime); `period=month` gives this month so far. Carries an `ETag`."""
    report = await services.clients.sla.GetUptime(
        sla_pb2.GetUptimeRequest(
            principal=to_proto(principal),
            scope=subject.scope,  # type: ignore[arg-type]
            subject_id=subject.subject_id,
            port=subject.port,
            window=window.window,
            period=window.period,
            omit_ports=not ports,
        )
    )
    return model_response(request, uptime_out(report))


_REPORT: Responses = {
    200: {
        "description": "The report: JSON with every section, or CSV of one section (with a header row)",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "/v1/sla/reports",
    response_class=RawResponse,
    responses={**_REPORT, **errors(404)},
    summary="An SLA report (uptime, NEVI quarterly, KPIs, incidents) as JSON or CSV",
)
async def get_report(
    principal: PrincipalDep,
    services: ServicesDep,
    subject: SubjectDep,
    window: WindowDep,
    kind: Annotated[ReportKindName, Query(description="Which report")] = "uptime",
    format: Annotated[str, Query(pattern=r"^(json|csv)$", description="json (every section) or csv (one)")] = "json",
    section: Annotated[
        ReportSectionName | None, Query(description="CSV only: the table (default: the report's main one)")
    ] = None,
) -> RawResponse:
    """Reports as files. `uptime`: per port uptime, T_outage, T_excluded and each outage; `nevi-quarterly`:
    23 CFR 680.112(a) data for the quarter containing `at` (or `from`); `kpi`: reliability KPIs;
    `incidents`: every incident with its times to acknowledge and restore. Default window: this month."""
    csv = format == "csv"
    if section is not None and not csv:
        raise invalid("`section` chooses a CSV table; the JSON report has every section")
    report = await services.clients.sla.GetReport(
        sla_pb2.GetReportRequest(
            principal=to_proto(principal),
            kind=REPORT_KIND_VALUES[kind],  # type: ignore[arg-type]
            format=sla_pb2.REPORT_FORMAT_CSV if csv else sla_pb2.REPORT_FORMAT_JSON,
            scope=subject.scope,  # type: ignore[arg-type]
            subject_id=subject.subject_id,
            port=subject.port,
            window=window.window,
            period=window.period,
            section=section or "",
        )
    )
    media_type = "text/csv" if csv else "application/json"
    filename = report.filename.replace('"', "") or f"{kind}.{format}"
    return RawResponse(
        report.body,
        media_type=media_type,
        headers={"Content-Disposition": f'{"attachment" if csv else "inline"}; filename="{filename}"'},
    )


@router.get(
    "/v1/sla/forecast",
    response_model=ForecastOut,
    responses=errors(404),
    summary="Each port's down-time budget for the period: used, left, projected uptime, when it runs out",
)
async def get_forecast(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    subject: SubjectDep,
    period: Annotated[PeriodName | None, Query(description="Default: this month")] = None,
    at: Annotated[AwareDatetime | None, Query(description="A moment inside the period (default: now)")] = None,
    target_percent: Annotated[
        float | None, Query(gt=0, le=100, description="Default: the site's target, else 97")
    ] = None,
    at_risk_only: Annotated[bool, Query(description="Only ports with little budget left")] = False,
) -> Response:
    wire_period = sla_pb2.Period(kind=PERIOD_VALUES[period] if period else 0)  # type: ignore[arg-type]
    if at is not None:
        wire_period.at.FromDatetime(at.astimezone(UTC))
    report = await services.clients.sla.GetForecast(
        sla_pb2.GetForecastRequest(
            principal=to_proto(principal),
            scope=subject.scope,  # type: ignore[arg-type]
            subject_id=subject.subject_id,
            port=subject.port,
            period=wire_period,
            target_percent=target_percent or 0.0,
            at_risk_only=at_risk_only,
        )
    )
    return model_response(request, forecast_out(report))


@router.get(
    "/v1/sla/ports",
    response_model=PortStatePage,
    responses=errors(),
    summary="Current availability of charging ports (available, occupied, faulted, offline, ...)",
)
async def list_port_states(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    availability: Annotated[PortAvailabilityName | None, Query()] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists ports")
    reply = await services.clients.sla.ListPortStates(
        sla_pb2.ListPortStatesRequest(
            principal=to_proto(principal),
            station_id=station_id or "",
            site_id=site_id or "",
            tenant_id=tenant or "",
            availability=AVAILABILITY_VALUES[availability] if availability else 0,  # type: ignore[arg-type]
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    page = PortStatePage(
        items=[port_state_out(p) for p in reply.ports],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


# -- site profiles ------------------------------------------------------------------------------
@router.get(
    "/v1/sla/sites",
    response_model=SiteProfilePage,
    responses=errors(),
    summary="Site profiles: hours of operation, time zone, minimum power, uptime target",
)
async def list_site_profiles(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists site profiles")
    reply = await services.clients.sla.ListSiteProfiles(
        sla_pb2.ListSiteProfilesRequest(
            principal=to_proto(principal),
            tenant_id=tenant or "",
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    page = SiteProfilePage(
        items=[site_profile_out(p) for p in reply.profiles], next_cursor=reply.page.next_page_token or None
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.get(
    "/v1/sla/sites/{site_id}",
    response_model=SiteProfileOut,
    responses=errors(404),
    summary="One site's profile",
)
async def get_site_profile(
    request: Request, principal: PrincipalDep, services: ServicesDep, site_id: SiteId
) -> Response:
    profile = await services.clients.sla.GetSiteProfile(
        sla_pb2.GetSiteProfileRequest(principal=to_proto(principal), site_id=site_id)
    )
    return model_response(request, site_profile_out(profile))


@router.put(
    "/v1/sla/sites/{site_id}",
    response_model=SiteProfileOut,
    responses=errors(404),
    summary="Set a site's profile (operator): declared hours, time zone, minimum power, uptime target",
)
async def put_site_profile(
    principal: OperatorDep, services: ServicesDep, site_id: SiteId, body: SiteProfileIn
) -> SiteProfileOut:
    """Outages outside the declared hours are excluded from uptime; the target is what the dashboard
    and the reports judge the site's ports against."""
    profile = await services.clients.sla.UpsertSiteProfile(
        sla_pb2.UpsertSiteProfileRequest(principal=to_proto(principal), profile=site_profile_wire(site_id, body))
    )
    return site_profile_out(profile)


# -- contracts ----------------------------------------------------------------------------------
@router.get("/v1/sla/contracts", response_model=ContractPage, responses=errors(), summary="List SLA contracts")
async def list_contracts(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    """Contracts with service providers and site hosts; a partner sees those it is the counterparty of."""
    tenant = check_tenant_filter(principal, tenant_id, "lists contracts")
    reply = await services.clients.sla.ListContracts(
        sla_pb2.ListContractsRequest(
            principal=to_proto(principal),
            tenant_id=tenant or "",
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    page = ContractPage(
        items=[contract_out(c) for c in reply.contracts], next_cursor=reply.page.next_page_token or None
    )
    return model_response(request, page, next_link(request, page.next_cursor))


async def _upsert_contract(principal: Principal, services: Services, contract_id: str, body: ContractIn) -> ContractOut:
    if body.effective_from and body.effective_to and body.effective_from >= body.effective_to:
        raise invalid("effective_from must be before effective_to")
    contract = await services.clients.sla.UpsertContract(
        sla_pb2.UpsertContractRequest(principal=to_proto(principal), contract=contract_wire(contract_id, body))
    )
    return contract_out(contract)


@router.post(
    "/v1/sla/contracts",
    response_model=ContractOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(),
    summary="Create an SLA contract (operator)",
)
async def create_contract(
    body: ContractIn, principal: OperatorDep, services: ServicesDep, response: Response
) -> ContractOut:
    created = await _upsert_contract(principal, services, "", body)
    response.headers["Location"] = f"/v1/sla/contracts/{created.id}"
    return created


@router.get(
    "/v1/sla/contracts/{contract_id}", response_model=ContractOut, responses=errors(404), summary="One contract"
)
async def get_contract(
    request: Request, principal: PrincipalDep, services: ServicesDep, contract_id: ContractId
) -> Response:
    contract = await services.clients.sla.GetContract(
        sla_pb2.GetContractRequest(principal=to_proto(principal), contract_id=contract_id)
    )
    return model_response(request, contract_out(contract))


@router.put(
    "/v1/sla/contracts/{contract_id}",
    response_model=ContractOut,
    responses=errors(404),
    summary="Replace a contract (operator)",
)
async def put_contract(
    body: ContractIn, principal: OperatorDep, services: ServicesDep, contract_id: ContractId
) -> ContractOut:
    # Read first: replacing a contract that does not exist (or is not the caller's to see) is a 404.
    await services.clients.sla.GetContract(
        sla_pb2.GetContractRequest(principal=to_proto(principal), contract_id=contract_id)
    )
    return await _upsert_contract(principal, services, contract_id, body)


@router.get(
    "/v1/sla/contracts/{contract_id}/evaluation",
    response_model=ContractEvaluationOut,
    responses=errors(404),
    summary="Judge a contract over a period: breaches (uptime, acknowledge, restore) and credits",
)
async def evaluate_contract(
    request: Request, principal: PrincipalDep, services: ServicesDep, contract_id: ContractId, window: WindowDep
) -> Response:
    """Default period: this month. Each breach is itemized with what was measured, the limit and the credit."""
    evaluation = await services.clients.sla.EvaluateContract(
        sla_pb2.EvaluateContractRequest(
            principal=to_proto(principal), contract_id=contract_id, window=window.window, period=window.period
        )
    )
    return model_response(request, evaluation_out(evaluation))
