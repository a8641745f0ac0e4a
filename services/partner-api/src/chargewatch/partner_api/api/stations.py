"""/v1/stations: the fleet with live connector status, registration, meter series and status history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import grpc
from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chargewatch.partner_api.api.common import cached_response, errors, model_response, next_link
from chargewatch.partner_api.convert import (
    REGISTRATION_NAMES,
    REGISTRATION_VALUES,
    STATUS_NAMES,
    STATUS_VALUES,
    meter_point,
    station_dict,
    station_out,
    to_json,
)
from chargewatch.partner_api.deps import (
    OperatorDep,
    PrincipalDep,
    ServicesDep,
    caller_metadata,
    check_tenant_filter,
    tenant_scope,
    to_proto,
)
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.events import stream_order
from chargewatch.partner_api.models import (
    CURSOR_PATTERN,
    SITE_PATTERN,
    STATION_ID_PATTERN,
    TENANT_PATTERN,
    TRANSACTION_ID_PATTERN,
    ConnectorStatusName,
    CredentialRotation,
    MeterSeriesOut,
    RegistrationOut,
    RegistrationUpdate,
    StationCreate,
    StationCreated,
    StationOut,
    StationPage,
    StatusChange,
    StatusHistory,
)
from chargewatch.streams import StreamFamily, partition_for, stream_name
from chargewatch.v1 import authz_pb2, common_pb2, events_pb2, telemetry_pb2

router = APIRouter(prefix="/v1/stations", tags=["stations"])

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="The station's OCPP identity")]
# Status history is read from the status stream, newest first, this many entries at most per request.
_HISTORY_SCAN_LIMIT = 20_000
_HISTORY_CHUNK = 2_000
_HISTORY_MAX_AGE = timedelta(days=400)


class StationQuery(BaseModel):
    """The list's filters, validated as one model (one pass in pydantic-core: this is the hot route)."""

    model_config = ConfigDict(extra="forbid")
    site_id: str | None = Field(default=None, pattern=SITE_PATTERN)
    tenant_id: str | None = Field(
        default=None, pattern=TENANT_PATTERN, description="Operators only; partners see their own"
    )
    status: ConnectorStatusName | None = Field(default=None, description="Stations with a connector in this status")
    online: bool | None = Field(default=None, description="Only online (true) or offline (false) stations")
    cursor: str | None = Field(
        default=None,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page; absent for the first page",
    )
    limit: int = Field(default=50, ge=1, le=500, description="Page size, 1 to 500")


def list_key(scope: str | None, tenant: str | None, query: StationQuery) -> str:
    """The cache key of a list answer: the caller's scope (never shared across tenants) and the query."""
    q = query
    filters = f"{q.site_id or ''}|{q.status or ''}|{q.online}|{q.cursor or ''}|{q.limit}"
    return f"stations|{scope or '*'}|{tenant or ''}|{filters}"


def detail_key(scope: str | None, station_id: str) -> str:
    return f"station|{scope or '*'}|{station_id}"


@router.get("", response_model=StationPage, responses=errors(), summary="List stations with live connector status")
async def list_stations(
    request: Request, principal: PrincipalDep, services: ServicesDep, query: Annotated[StationQuery, Query()]
) -> Response:
    """A page of stations, ordered by id, with every connector's live status.

    Answers carry an `ETag`; send it back as `If-None-Match` to get `304 Not Modified` while nothing
    changed. The next page is `next_cursor` (also in the `Link` header).
    """
    tenant = check_tenant_filter(principal, query.tenant_id, "lists stations")
    site_id, status, online, cursor, limit = query.site_id, query.status, query.online, query.cursor, query.limit
    key = list_key(tenant_scope(principal), tenant, query)

    async def fetch() -> bytes:
        station_filter = telemetry_pb2.StationFilter(
            tenant_id=tenant or "",
            site_id=site_id or "",
            status=STATUS_VALUES[status] if status else 0,  # type: ignore[arg-type]
        )
        if online is not None:
            station_filter.online = online
        reply = await services.clients.telemetry.ListStations(
            telemetry_pb2.ListStationsRequest(
                principal=to_proto(principal),
                filter=station_filter,
                page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            )
        )
        return to_json(
            {
                "items": [station_dict(s) for s in reply.stations],
                "total": reply.page.total_size,
                "next_cursor": reply.page.next_page_token or None,
            }
        )

    entry = await services.cache.get_or_fetch(key, fetch)
    next_cursor = next_cursor_of(entry.body)
    return cached_response(request, entry, next_link(request, next_cursor))


def next_cursor_of(body: bytes) -> str | None:
    # The cursor is the page's last field: found without parsing the whole page again.
    marker = body.rfind(b'"next_cursor":')
    if marker < 0:
        return None
    value = body[marker + len(b'"next_cursor":') :].rstrip(b"}").strip()
    return None if value == b"null" else value.strip(b'"').decode()


@router.get(
    "/{station_id}",
    response_model=StationOut,
    responses=errors(404),
    summary="One station with its connectors",
)
async def get_station(
    request: Request, principal: PrincipalDep, services: ServicesDep, station_id: StationId
) -> Response:
    """The station and each connector's live status and last reading. Carries an `ETag`."""
    key = detail_key(tenant_scope(principal), station_id)

    async def fetch() -> bytes:
        station = await services.clients.telemetry.GetStation(
            telemetry_pb2.GetStationRequest(principal=to_proto(principal), station_id=station_id)
        )
        return to_json(station_dict(station))

    return cached_response(request, await services.cache.get_or_fetch(key, fetch))


@router.post(
    "",
    response_model=StationCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
    summary="Register a station (operator); returns its password once",
)
async def register_station(
    request: Request, body: StationCreate, principal: OperatorDep, services: ServicesDep, response: Response
) -> StationCreated:
    clients = services.clients
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
            ),
            metadata=caller_metadata(request),
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


@router.get(
    "/{station_id}/meter-values",
    response_model=MeterSeriesOut,
    responses=errors(404),
    summary="A connector's meter readings (energy, power), raw or downsampled",
)
async def meter_values(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    station_id: StationId,
    evse_id: Annotated[int | None, Query(ge=1, le=100, description="Required unless transaction_id is given")] = None,
    connector_id: Annotated[int, Query(ge=1, le=10)] = 1,
    transaction_id: Annotated[
        str | None, Query(pattern=TRANSACTION_ID_PATTERN, description="One session's readings instead")
    ] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Default: a day before `to`")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Default: now")] = None,
    step_seconds: Annotated[
        int, Query(ge=0, le=86_400, description="Bucket width (0: raw readings; multiples of 900 use roll-ups)")
    ] = 0,
) -> Response:
    if evse_id is None and transaction_id is None:
        raise ApiError(422, "invalid-request", "Invalid Request", "give evse_id (with connector_id) or transaction_id")
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "invalid-request", "Invalid Request", "`from` must be before `to`")
    time_range = common_pb2.TimeRange()
    if start is not None:
        time_range.start.FromDatetime(start.astimezone(UTC))
    if end is not None:
        time_range.end.FromDatetime(end.astimezone(UTC))
    series = await services.clients.telemetry.GetMeterSeries(
        telemetry_pb2.GetMeterSeriesRequest(
            principal=to_proto(principal),
            connector=common_pb2.ConnectorRef(
                station_id=station_id, evse_id=evse_id or 0, connector_id=connector_id if evse_id else 0
            ),
            transaction_id=transaction_id or "",
            range=time_range,
            step_seconds=step_seconds,
        )
    )
    out = MeterSeriesOut(
        station_id=station_id,
        evse_id=series.connector.evse_id,
        connector_id=series.connector.connector_id,
        transaction_id=transaction_id,
        step_seconds=step_seconds,
        points=[meter_point(p, step_seconds > 0) for p in series.points],
    )
    return model_response(request, out)


@router.get(
    "/{station_id}/status-history",
    response_model=StatusHistory,
    responses=errors(404),
    summary="The station's connector status changes over a recent window",
)
async def status_history(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    station_id: StationId,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Default: 24 hours ago")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most recent changes returned at most")] = 200,
) -> Response:
    """Status changes (oldest first) from the platform's status event stream.

    The stream keeps a bounded recent history; `complete` is false when the window reaches further
    back than it still holds, or when `limit` cut it. The connectors' current status and its
    `status_since` are in the station itself.
    """
    # Authorizes the station first: another tenant's is answered 404, as if it did not exist.
    await services.clients.telemetry.GetStation(
        telemetry_pb2.GetStationRequest(principal=to_proto(principal), station_id=station_id)
    )
    now = datetime.now(UTC)
    # The stream holds recent history only; an older start just means "everything it still holds".
    since = max(start.astimezone(UTC), now - _HISTORY_MAX_AGE) if start is not None else now - timedelta(hours=24)
    since_ms = int(since.timestamp() * 1000)
    stream = stream_name(StreamFamily.STATUS, partition_for(station_id, services.settings.stream_partitions))
    redis = services.redis
    wanted = station_id.encode()
    changes: list[StatusChange] = []
    upper = "+"
    scanned = 0
    reached_start = False
    while scanned < _HISTORY_SCAN_LIMIT and len(changes) < limit:
        entries = await redis.xrevrange(stream, max=upper, min=f"{since_ms}-0", count=_HISTORY_CHUNK)
        if not entries:
            reached_start = True
            break
        for _, fields in entries:
            scanned += 1
            if not fields or fields.get(b"station") != wanted:
                continue
            data = fields.get(b"data")
            change = _status_change(data if isinstance(data, bytes) else None)
            if change is not None:
                changes.append(change)
                if len(changes) >= limit:
                    break
        last_id = _text(entries[-1][0])
        upper = f"({last_id}"
        if len(entries) < _HISTORY_CHUNK:
            reached_start = True
            break
    oldest = await redis.xrange(stream, count=1)
    retained_from = stream_order(_text(oldest[0][0])) if oldest else (0, 0)
    complete = reached_start and len(changes) < limit and retained_from[0] <= since_ms
    changes.reverse()
    return model_response(request, StatusHistory(station_id=station_id, since=since, items=changes, complete=complete))


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _status_change(data: bytes | None) -> StatusChange | None:
    if not data:
        return None
    try:
        envelope = events_pb2.EventEnvelope.FromString(data)
    except Exception:  # a corrupt entry: skipped, the history goes on
        return None
    if envelope.WhichOneof("payload") != "status":
        return None
    stamp = envelope.station_time if envelope.HasField("station_time") else envelope.received_time
    return StatusChange(
        event_id=envelope.event_id,
        evse_id=envelope.status.evse_id,
        connector_id=envelope.status.connector_id,
        status=STATUS_NAMES.get(envelope.status.status, "Unknown"),
        error_code=envelope.status.error_code or None,
        at=stamp.ToDatetime(tzinfo=UTC),
        received_at=envelope.received_time.ToDatetime(tzinfo=UTC) if envelope.HasField("received_time") else None,
    )


@router.put(
    "/{station_id}/registration",
    response_model=RegistrationOut,
    responses=errors(404),
    summary="Accept, hold (Pending) or reject a station at its next boot (operator)",
)
async def set_registration(
    request: Request, body: RegistrationUpdate, principal: OperatorDep, services: ServicesDep, station_id: StationId
) -> RegistrationOut:
    reply = await services.clients.authz.SetStationRegistration(
        authz_pb2.SetStationRegistrationRequest(
            station_id=station_id,
            registration_status=REGISTRATION_VALUES[body.status],  # type: ignore[arg-type]
            requested_by=to_proto(principal),
            reason=body.reason,
        ),
        metadata=caller_metadata(request),
    )
    return RegistrationOut(station_id=station_id, status=REGISTRATION_NAMES.get(reply.registration_status, body.status))


@router.post(
    "/{station_id}/credentials/rotate",
    response_model=CredentialRotation,
    responses=errors(404),
    summary="Give a connected station a new Basic-auth password (operator); the password never leaves the platform",
)
async def rotate_credentials(
    request: Request, principal: OperatorDep, services: ServicesDep, station_id: StationId
) -> CredentialRotation:
    reply = await services.clients.authz.RotateStationCredentials(
        authz_pb2.RotateStationCredentialsRequest(station_id=station_id, requested_by=to_proto(principal)),
        metadata=caller_metadata(request),
        timeout=services.settings.command_deadline_seconds,
    )
    return CredentialRotation(station_id=station_id, outcome=reply.outcome, detail=reply.detail or None)
