"""GET /v1/sessions: charging sessions, newest first, with cursor paging."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from chargewatch.auth import Principal
from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import session_out
from chargewatch.partner_api.deps import PrincipalDep, ServicesDep, check_tenant_filter, to_proto
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import (
    ID_TOKEN_PATTERN,
    SITE_PATTERN,
    STATION_ID_PATTERN,
    TENANT_PATTERN,
    SessionPage,
)
from chargewatch.partner_api.services import Services
from chargewatch.v1 import common_pb2, telemetry_pb2

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def sessions_request(
    principal: Principal,
    *,
    station_id: str | None,
    site_id: str | None,
    tenant_id: str | None,
    id_token: str | None,
    ended: bool | None,
    start: AwareDatetime | None,
    end: AwareDatetime | None,
    cursor: str | None,
    limit: int,
) -> telemetry_pb2.ListSessionsRequest:
    tenant = check_tenant_filter(principal, tenant_id, "lists sessions")
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "invalid-request", "Invalid Request", "`from` must be before `to`")
    request = telemetry_pb2.ListSessionsRequest(
        principal=to_proto(principal),
        station_id=station_id or "",
        site_id=site_id or "",
        tenant_id=tenant or "",
        id_token=id_token or "",
        page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
    )
    if ended is not None:
        request.ended = ended
    if start is not None:
        request.range.start.FromDatetime(start.astimezone(UTC))
    if end is not None:
        request.range.end.FromDatetime(end.astimezone(UTC))
    return request


async def sessions_page(services: Services, request: telemetry_pb2.ListSessionsRequest) -> SessionPage:
    reply = await services.clients.telemetry.ListSessions(request)
    return SessionPage(
        items=[session_out(s) for s in reply.sessions],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )


@router.get("", response_model=SessionPage, responses=errors(), summary="List charging sessions, newest first")
async def list_sessions(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    id_token: Annotated[str | None, Query(pattern=ID_TOKEN_PATTERN)] = None,
    ended: Annotated[bool | None, Query(description="Only ended (true) or open (false) sessions")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Sessions started at or after")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Sessions started before")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    page = await sessions_page(
        services,
        sessions_request(
            principal,
            station_id=station_id,
            site_id=site_id,
            tenant_id=tenant_id,
            id_token=id_token,
            ended=ended,
            start=start,
            end=end,
            cursor=cursor,
            limit=limit,
        ),
    )
    return model_response(request, page, next_link(request, page.next_cursor))
