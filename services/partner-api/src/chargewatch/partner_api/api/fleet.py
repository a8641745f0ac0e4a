"""Counts and exports: the fleet by site (the dashboard's overview), and CSV exports of stations and sessions.

Both read through the same tenant-scoped telemetry calls as the lists, so a partner's counts and
exports hold its own stations only.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from chargewatch.auth import Principal
from chargewatch.partner_api.api.common import Responses, cached_response, errors
from chargewatch.partner_api.api.sessions import sessions_page, sessions_request
from chargewatch.partner_api.convert import station_out
from chargewatch.partner_api.deps import PrincipalDep, ServicesDep, check_tenant_filter, tenant_scope, to_proto
from chargewatch.partner_api.models import (
    SITE_PATTERN,
    STATION_ID_PATTERN,
    TENANT_PATTERN,
    FleetSummary,
    SessionOut,
    SiteSummary,
    StationOut,
)
from chargewatch.partner_api.services import Services
from chargewatch.v1 import common_pb2, telemetry_pb2

router = APIRouter(tags=["fleet"])

_PAGE = 500
_CSV: Responses = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV with a header row"}
}


async def station_pages(
    services: Services, principal: Principal, tenant: str | None, site_id: str | None, max_rows: int
) -> AsyncIterator[list[StationOut]]:
    cursor = ""
    rows = 0
    while rows < max_rows:
        reply = await services.clients.telemetry.ListStations(
            telemetry_pb2.ListStationsRequest(
                principal=to_proto(principal),
                filter=telemetry_pb2.StationFilter(tenant_id=tenant or "", site_id=site_id or ""),
                page=common_pb2.PageRequest(page_size=min(_PAGE, max_rows - rows), page_token=cursor),
            )
        )
        page = [station_out(s) for s in reply.stations]
        rows += len(page)
        yield page
        cursor = reply.page.next_page_token
        if not cursor:
            return


@router.get(
    "/v1/fleet/summary",
    response_model=FleetSummary,
    responses=errors(),
    summary="Stations and connectors per status, per site",
)
async def fleet_summary(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
) -> Response:
    """The counts behind the dashboard's fleet view: a partner's cover its own stations only."""
    tenant = check_tenant_filter(principal, tenant_id, "counts stations")
    key = f"fleet|{tenant_scope(principal) or '*'}|{tenant or ''}"

    async def fetch() -> bytes:
        sites: dict[tuple[str, str], dict[str, Any]] = {}
        totals: Counter[str] = Counter()
        stations = online = 0
        async for page in station_pages(services, principal, tenant, None, services.settings.max_export_rows):
            for station in page:
                site = sites.setdefault(
                    (station.tenant_id, station.site_id), {"stations": 0, "online": 0, "connectors": Counter()}
                )
                site["stations"] += 1
                stations += 1
                if station.online:
                    site["online"] += 1
                    online += 1
                for connector in station.connectors:
                    site["connectors"][connector.status] += 1
                    totals[connector.status] += 1
        summary = FleetSummary(
            stations=stations,
            online=online,
            connectors=dict(totals),
            sites=[
                SiteSummary(
                    tenant_id=t,
                    site_id=s,
                    stations=v["stations"],
                    online=v["online"],
                    connectors=dict(v["connectors"]),
                )
                for (t, s), v in sorted(sites.items())
            ],
            generated_at=datetime.now(UTC),
        )
        return summary.model_dump_json().encode()

    return cached_response(request, await services.cache.get_or_fetch(key, fetch))


def _cell(value: Any) -> str:
    text = "" if value is None else (value.isoformat() if isinstance(value, datetime) else str(value))
    # Spreadsheets run a cell that starts with these as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode()


_STATION_COLUMNS = (
    "id",
    "tenant_id",
    "site_id",
    "name",
    "online",
    "ocpp_version",
    "vendor",
    "model",
    "firmware_version",
    "last_seen",
    "connectors",
)


def _station_row(s: StationOut) -> list[Any]:
    connectors = ";".join(f"{c.evse_id}/{c.connector_id}:{c.status}" for c in s.connectors)
    return [
        s.id,
        s.tenant_id,
        s.site_id,
        s.name,
        s.online,
        s.ocpp_version,
        s.vendor,
        s.model,
        s.firmware_version,
        s.last_seen,
        connectors,
    ]


@router.get(
    "/v1/exports/stations",
    response_class=StreamingResponse,
    responses={**_CSV, **errors()},
    summary="Every station (of the caller's tenant) as CSV",
)
async def export_stations(
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
) -> StreamingResponse:
    tenant = check_tenant_filter(principal, tenant_id, "exports stations")
    pages = station_pages(services, principal, tenant, site_id, services.settings.max_export_rows)
    # The first page is read before answering, so a failure is still a problem+json answer.
    first: list[StationOut] = await anext(pages, [])

    async def body() -> AsyncIterator[bytes]:
        yield _csv_lines([_STATION_COLUMNS, *(_station_row(s) for s in first)])
        async for page in pages:
            yield _csv_lines(_station_row(s) for s in page)

    return StreamingResponse(
        body(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="stations.csv"'}
    )


_SESSION_COLUMNS = (
    "transaction_id",
    "station_id",
    "evse_id",
    "connector_id",
    "tenant_id",
    "id_token",
    "started_at",
    "stopped_at",
    "ended",
    "energy_wh",
    "peak_power_w",
    "duration_seconds",
    "idle_seconds",
    "stop_reason",
)


def _session_row(s: SessionOut) -> list[Any]:
    return [getattr(s, column) for column in _SESSION_COLUMNS]


@router.get(
    "/v1/exports/sessions",
    response_class=StreamingResponse,
    responses={**_CSV, **errors()},
    summary="Charging sessions (of the caller's tenant) as CSV, newest first",
)
async def export_sessions(
    principal: PrincipalDep,
    services: ServicesDep,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    ended: bool | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> StreamingResponse:
    max_rows = services.settings.max_export_rows

    def request_for(cursor: str | None, rows: int) -> telemetry_pb2.ListSessionsRequest:
        return sessions_request(
            principal,
            station_id=station_id,
            site_id=site_id,
            tenant_id=tenant_id,
            id_token=None,
            ended=ended,
            start=start,
            end=end,
            cursor=cursor,
            limit=min(_PAGE, max_rows - rows),
        )

    first = await sessions_page(services, request_for(None, 0))

    async def body() -> AsyncIterator[bytes]:
        yield _csv_lines([_SESSION_COLUMNS, *(_session_row(s) for s in first.items)])
        rows, cursor = len(first.items), first.next_cursor
        while cursor and rows < max_rows:
            page = await sessions_page(services, request_for(cursor, rows))
            rows += len(page.items)
            cursor = page.next_cursor
            yield _csv_lines(_session_row(s) for s in page.items)

    return StreamingResponse(
        body(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="sessions.csv"'}
    )
