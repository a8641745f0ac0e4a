"""Incidents and excluded outages (the SLA engine).

An outage of a charging port opens an incident by itself; operators acknowledge and resolve it. An
outage whose cause is outside the operator's control is declared as an exclusion with its evidence,
and counts against nobody's uptime once another operator approved it. Partners read their own
tenant's incidents and exclusions; another tenant's answer 404, as missing ones.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import (
    EXCLUSION_CATEGORY_VALUES,
    EXCLUSION_STATE_VALUES,
    INCIDENT_STATE_VALUES,
    exclusion_out,
    incident_out,
    time_range,
)
from chargewatch.partner_api.deps import OperatorDep, PrincipalDep, ServicesDep, check_tenant_filter, to_proto
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import SITE_PATTERN, STATION_ID_PATTERN, TENANT_PATTERN
from chargewatch.partner_api.sla_models import (
    OBJECT_ID_PATTERN,
    ExclusionCreate,
    ExclusionOut,
    ExclusionPage,
    ExclusionReview,
    ExclusionStateName,
    IncidentAction,
    IncidentOut,
    IncidentPage,
    IncidentStateName,
)
from chargewatch.v1 import common_pb2, sla_pb2

router = APIRouter(tags=["incidents"])

IncidentId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The incident's id")]
ExclusionId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The exclusion's id")]


def _before(start: AwareDatetime | None, end: AwareDatetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "invalid-request", "Invalid Request", "`from` must be before `to`")


@router.get("/v1/incidents", response_model=IncidentPage, responses=errors(), summary="List incidents, newest first")
async def list_incidents(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[IncidentStateName | None, Query(description="open, acknowledged (still down) or resolved")] = None,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    evse_id: Annotated[int | None, Query(ge=1, le=100, description="One port of `station_id`")] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Opened at or after")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Opened before")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists incidents")
    _before(start, end)
    if evse_id is not None and station_id is None:
        raise ApiError(422, "invalid-request", "Invalid Request", "evse_id names a port of a station: give station_id")
    reply = await services.clients.sla.ListIncidents(
        sla_pb2.ListIncidentsRequest(
            principal=to_proto(principal),
            station_id=station_id or "",
            state=INCIDENT_STATE_VALUES[state] if state else 0,  # type: ignore[arg-type]
            range=time_range(start, end),
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            site_id=site_id or "",
            tenant_id=tenant or "",
            port=common_pb2.ConnectorRef(station_id=station_id or "", evse_id=evse_id or 0),
        )
    )
    page = IncidentPage(
        items=[incident_out(i) for i in reply.incidents], next_cursor=reply.page.next_page_token or None
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.get(
    "/v1/incidents/{incident_id}",
    response_model=IncidentOut,
    responses=errors(404),
    summary="One incident with its causes, times and notes",
)
async def get_incident(
    request: Request, principal: PrincipalDep, services: ServicesDep, incident_id: IncidentId
) -> Response:
    incident = await services.clients.sla.GetIncident(
        sla_pb2.GetIncidentRequest(principal=to_proto(principal), incident_id=incident_id)
    )
    return model_response(request, incident_out(incident))


@router.post(
    "/v1/incidents/{incident_id}/acknowledge",
    response_model=IncidentOut,
    responses=errors(404, 409),
    summary="Acknowledge an incident (operator); the first acknowledgement stands",
)
async def acknowledge_incident(
    principal: OperatorDep, services: ServicesDep, incident_id: IncidentId, body: IncidentAction | None = None
) -> IncidentOut:
    """Stops the time-to-acknowledge clock. A resolved incident cannot be acknowledged (409); a note on an
    incident acknowledged before is kept as a note."""
    incident = await services.clients.sla.AcknowledgeIncident(
        sla_pb2.IncidentActionRequest(
            principal=to_proto(principal), incident_id=incident_id, note=body.note if body else ""
        )
    )
    return incident_out(incident)


@router.post(
    "/v1/incidents/{incident_id}/resolve",
    response_model=IncidentOut,
    responses=errors(404),
    summary="Resolve an incident (operator); resolving twice is harmless",
)
async def resolve_incident(
    principal: OperatorDep, services: ServicesDep, incident_id: IncidentId, body: IncidentAction | None = None
) -> IncidentOut:
    """A port that recovers resolves its incident by itself; this is for an incident a person closes
    (the port's outage minutes still count until it is up)."""
    incident = await services.clients.sla.ResolveIncident(
        sla_pb2.IncidentActionRequest(
            principal=to_proto(principal), incident_id=incident_id, note=body.note if body else ""
        )
    )
    return incident_out(incident)


# -- exclusions ---------------------------------------------------------------------------------
@router.post(
    "/v1/exclusions",
    response_model=ExclusionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404),
    summary="Declare an excluded outage with its evidence (operator); it applies once approved",
)
async def declare_exclusion(body: ExclusionCreate, principal: OperatorDep, services: ServicesDep) -> ExclusionOut:
    """23 CFR 680.116(b) lets outages outside the operator's control (a utility interruption, vandalism,
    a vehicle fault, scheduled maintenance, a natural disaster, outside the hours of operation) be
    excluded, when documented. The answer says how many outage minutes the period covers."""
    _before(body.start, body.end)
    exclusion = await services.clients.sla.DeclareExclusion(
        sla_pb2.DeclareExclusionRequest(
            principal=to_proto(principal),
            port=common_pb2.ConnectorRef(station_id=body.station_id, evse_id=body.evse_id),
            category=EXCLUSION_CATEGORY_VALUES[body.category],  # type: ignore[arg-type]
            period=time_range(body.start, body.end),
            evidence=body.evidence,
        )
    )
    return exclusion_out(exclusion)


@router.get(
    "/v1/exclusions",
    response_model=ExclusionPage,
    responses=errors(),
    summary="List excluded outages (declared, approved, rejected), newest period first",
)
async def list_exclusions(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[ExclusionStateName | None, Query()] = None,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Overlapping this window")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists exclusions")
    _before(start, end)
    reply = await services.clients.sla.ListExclusions(
        sla_pb2.ListExclusionsRequest(
            principal=to_proto(principal),
            station_id=station_id or "",
            state=EXCLUSION_STATE_VALUES[state] if state else 0,  # type: ignore[arg-type]
            range=time_range(start, end),
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            tenant_id=tenant or "",
        )
    )
    page = ExclusionPage(
        items=[exclusion_out(e) for e in reply.exclusions],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "/v1/exclusions/{exclusion_id}/review",
    response_model=ExclusionOut,
    responses=errors(404, 409),
    summary="Approve or reject a declared exclusion (operator)",
)
async def review_exclusion(
    body: ExclusionReview, principal: OperatorDep, services: ServicesDep, exclusion_id: ExclusionId
) -> ExclusionOut:
    """An exclusion is reviewed once (a second review is 409); where four-eyes review is on, by another
    operator than the one who declared it (403)."""
    exclusion = await services.clients.sla.ReviewExclusion(
        sla_pb2.ReviewExclusionRequest(
            principal=to_proto(principal),
            exclusion_id=exclusion_id,
            approve=body.decision == "approve",
            note=body.note,
        )
    )
    return exclusion_out(exclusion)
