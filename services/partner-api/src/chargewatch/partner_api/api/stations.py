"""/v1/stations: the fleet with live connector status, and station registration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Path, Query, Response, status
from google.protobuf.message import Message

from chargewatch.partner_api.deps import ClientsDep, OperatorDep, PrincipalDep, tenant_scope, to_proto
from chargewatch.partner_api.errors import ApiError, Problem
from chargewatch.partner_api.models import (
    SITE_PATTERN,
    STATION_ID_PATTERN,
    TENANT_PATTERN,
    ConnectorOut,
    ConnectorStatusName,
    Location,
    StationCreate,
    StationCreated,
    StationOut,
    StationPage,
)
from chargewatch.v1 import authz_pb2, common_pb2, telemetry_pb2

router = APIRouter(prefix="/v1/stations", tags=["stations"])

_STATUS_NAMES: dict[int, ConnectorStatusName] = {
    common_pb2.CONNECTOR_STATUS_UNSPECIFIED: "Unknown",
    common_pb2.CONNECTOR_STATUS_AVAILABLE: "Available",
    common_pb2.CONNECTOR_STATUS_PREPARING: "Preparing",
    common_pb2.CONNECTOR_STATUS_CHARGING: "Charging",
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE: "SuspendedEVSE",
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EV: "SuspendedEV",
    common_pb2.CONNECTOR_STATUS_FINISHING: "Finishing",
    common_pb2.CONNECTOR_STATUS_RESERVED: "Reserved",
    common_pb2.CONNECTOR_STATUS_UNAVAILABLE: "Unavailable",
    common_pb2.CONNECTOR_STATUS_FAULTED: "Faulted",
    common_pb2.CONNECTOR_STATUS_OCCUPIED: "Occupied",
}
_STATUS_VALUES = {name: value for value, name in _STATUS_NAMES.items()}
_OCPP_VERSIONS: dict[int, Literal["1.6", "2.0.1", "2.1"]] = {
    common_pb2.OCPP_VERSION_1_6: "1.6",
    common_pb2.OCPP_VERSION_2_0_1: "2.0.1",
    common_pb2.OCPP_VERSION_2_1: "2.1",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem},
    503: {"model": Problem},
}


def when(message: Message, field: str) -> datetime | None:
    stamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def station_out(station: telemetry_pb2.Station) -> StationOut:
    return StationOut(
        id=station.station_id,
        tenant_id=station.tenant_id,
        site_id=station.site_id,
        name=station.name or station.station_id,
        security_profile=station.security_profile,
        online=station.online,
        vendor=station.vendor or None,
        model=station.model or None,
        serial_number=station.serial_number or None,
        firmware_version=station.firmware_version or None,
        ocpp_version=_OCPP_VERSIONS.get(station.ocpp_version),
        location=Location(lat=station.location.latitude, lon=station.location.longitude)
        if station.HasField("location")
        else None,
        last_seen=when(station, "last_seen"),
        last_heartbeat=when(station, "last_heartbeat"),
        registered_at=when(station, "registered_at"),
        connectors=[
            ConnectorOut(
                evse_id=c.evse_id,
                connector_id=c.connector_id,
                status=_STATUS_NAMES.get(c.status, "Unknown"),
                error_code=c.error_code or None,
                status_since=when(c, "status_since"),
            )
            for c in station.connectors
        ],
    )


@router.get("", response_model=StationPage, responses=_ERRORS, summary="List stations with live connector status")
async def list_stations(
    principal: PrincipalDep,
    clients: ClientsDep,
    site_id: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    tenant_id: Annotated[
        str | None, Query(pattern=TENANT_PATTERN, description="Operators only; partners see their own")
    ] = None,
    status: Annotated[ConnectorStatusName | None, Query(description="Stations with a connector in this status")] = None,
    online: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StationPage:
    scope = tenant_scope(principal)
    if scope is not None and tenant_id not in (None, scope):
        raise ApiError(403, "forbidden", "Forbidden", "a partner lists its own tenant's stations only")
    station_filter = telemetry_pb2.StationFilter(
        tenant_id=scope or tenant_id or "",
        site_id=site_id or "",
        status=_STATUS_VALUES[status] if status else 0,  # type: ignore[arg-type]
    )
    if online is not None:
        station_filter.online = online
    reply = await clients.telemetry.ListStations(
        telemetry_pb2.ListStationsRequest(
            principal=to_proto(principal),
            filter=station_filter,
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    return StationPage(
        items=[station_out(s) for s in reply.stations],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )


@router.get(
    "/{station_id}",
    response_model=StationOut,
    responses={**_ERRORS, 404: {"model": Problem}},
    summary="One station with its connectors",
)
async def get_station(
    principal: PrincipalDep, clients: ClientsDep, station_id: Annotated[str, Path(pattern=STATION_ID_PATTERN)]
) -> StationOut:
    station = await clients.telemetry.GetStation(
        telemetry_pb2.GetStationRequest(principal=to_proto(principal), station_id=station_id)
    )
    return station_out(station)


@router.post(
    "",
    response_model=StationCreated,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 409: {"model": Problem}},
    summary="Register a station (operator); returns its password once",
)
async def register_station(
    body: StationCreate, principal: OperatorDep, clients: ClientsDep, response: Response
) -> StationCreated:
    caller = to_proto(principal)
    profile = int(body.security_profile)
    # The registry entry first (idempotent upsert), then the credentials: a retry after a
    # failure between the two completes the registration instead of duplicating it.
    station = await clients.telemetry.UpsertStation(
        telemetry_pb2.UpsertStationRequest(
            principal=caller,
            station_id=body.id,
            tenant_id=body.tenant_id,
            site_id=body.site_id,
            security_profile=profile,  # type: ignore[arg-type]
            name=body.name or "",
            location=common_pb2.GeoPoint(latitude=body.location.lat, longitude=body.location.lon)
            if body.location
            else None,
        )
    )
    try:
        credentials = await clients.authz.RegisterStation(
            authz_pb2.RegisterStationRequest(
                station_id=body.id,
                tenant_id=body.tenant_id,
                site_id=body.site_id,
                security_profile=profile,  # type: ignore[arg-type]
                requested_by=caller,
            )
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.ALREADY_EXISTS:
            raise ApiError(
                409,
                "station-exists",
                "Conflict",
                f"station {body.id} is already registered; rotate its credentials to get a new password",
            ) from exc
        raise
    response.headers["Location"] = f"/v1/stations/{body.id}"
    return StationCreated(**station_out(station).model_dump(), password=credentials.password or None)
