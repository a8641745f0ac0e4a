"""GET /v1/events: live events as Server-Sent Events, confined to the caller's tenant.

The stream starts with the events that happen after it opened; a client that reconnects sends the
last `id` it saw as `Last-Event-ID` and first gets what it missed (up to a bound). The stream ends
when the access token expires (an `event: token-expired` message): reconnect with a fresh token.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints

from chargewatch.partner_api.api.common import Responses, errors
from chargewatch.partner_api.deps import PrincipalDep, ServicesDep, tenant_scope
from chargewatch.partner_api.errors import ApiError, forbidden
from chargewatch.partner_api.events import sse_message, types_for, valid_event_id
from chargewatch.partner_api.models import STATION_ID_PATTERN, EventOut, SubscribableEvent

router = APIRouter(tags=["events"])

_open_streams: Counter[str] = Counter()

_SSE: Responses = {
    200: {
        "description": (
            "A text/event-stream: each message has `id`, `event` (the type) and `data` (an Event as JSON). "
            "Comment lines keep idle connections open."
        ),
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "example": 'id: 1764547200000-0\nevent: station.status\ndata: {"id":"1764547200000-0",...}\n\n',
            }
        },
    }
}
StationFilter = Annotated[str, StringConstraints(pattern=STATION_ID_PATTERN)]


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={**_SSE, **errors()},
    summary="Live events of your stations (Server-Sent Events)",
    openapi_extra={"x-event-schema": EventOut.model_json_schema()},
)
async def events(
    principal: PrincipalDep,
    services: ServicesDep,
    types: Annotated[
        list[SubscribableEvent] | None,
        Query(
            max_length=10,
            description="Event types to receive (repeat the parameter); default all your roles may receive "
            "(alert.* need the operator or security-analyst role)",
        ),
    ] = None,
    station_id: Annotated[
        list[StationFilter] | None, Query(max_length=100, description="Only these stations (repeatable)")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=64, description="Resume after this event id")
    ] = None,
) -> StreamingResponse:
    settings = services.settings
    if last_event_id is not None and not valid_event_id(last_event_id):
        raise ApiError(400, "bad-request", "Bad Request", "Last-Event-ID is not an event id this API sent")
    client = f"{principal.client_id}|{principal.subject}"
    if _open_streams[client] >= settings.sse_max_streams_per_client:
        raise ApiError(
            429,
            "too-many-streams",
            "Too Many Requests",
            f"at most {settings.sse_max_streams_per_client} open event streams per client; close one first",
        )
    allowed = types_for(principal.roles)
    if types and not set(types) <= allowed:
        refused = ", ".join(sorted(set(types) - allowed))
        raise forbidden(f"{refused}: security alert events need the operator or security-analyst role")
    hub = services.hub
    subscription = hub.subscribe(
        tenant_scope(principal),
        frozenset(types) if types else allowed,
        frozenset(station_id) if station_id else None,
    )
    _open_streams[client] += 1
    expires_at = principal.expires_at.timestamp()

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n: connected\n\n"
            last = (0, 0)
            if last_event_id is not None:
                for event in await hub.backlog(last_event_id, subscription, settings.sse_backlog_limit):
                    last = event.order
                    yield sse_message(event)
            while True:
                remaining = expires_at - time.time()
                if remaining <= 0:
                    yield b'event: token-expired\ndata: {"detail": "the access token expired; reconnect"}\n\n'
                    return
                if subscription.overflowed and subscription.queue.empty():
                    yield b'event: overflow\ndata: {"detail": "too slow a reader; reconnect with Last-Event-ID"}\n\n'
                    return
                try:
                    event = await asyncio.wait_for(
                        subscription.queue.get(), min(settings.sse_heartbeat_seconds, remaining)
                    )
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event.order <= last:
                    continue  # already sent from the backlog
                last = event.order
                yield sse_message(event)
        finally:
            hub.unsubscribe(subscription)
            _open_streams[client] -= 1
            if _open_streams[client] <= 0:
                del _open_streams[client]

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
