"""/v1/webhooks: signed HTTP callbacks for a tenant's events, with retries and back-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response, status

from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.deps import ActorDep, ServicesDep, check_tenant_filter, tenant_scope
from chargewatch.partner_api.errors import ApiError, forbidden, not_found
from chargewatch.partner_api.events import PublicEvent, types_for
from chargewatch.partner_api.models import WebhookCreate, WebhookCreated, WebhookOut, WebhookPage, WebhookPing
from chargewatch.partner_api.webhooks import InvalidTarget, check_target, job_for

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{20}$")]


def webhook_out(document: dict[str, Any]) -> WebhookOut:
    return WebhookOut(
        id=document["_id"],
        url=document["url"],
        events=list(document.get("events", [])),
        tenant_id=document.get("tenant_id"),
        description=document.get("description"),
        created_at=document["created_at"],
        last_attempt_at=document.get("last_attempt_at"),
        last_status=document.get("last_status"),
        last_error=document.get("last_error"),
    )


@router.get("", response_model=WebhookPage, responses=errors(), summary="List your webhooks")
async def list_webhooks(
    request: Request,
    principal: ActorDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    documents, total = await services.webhooks.page(tenant_scope(principal), cursor, limit)
    items = [webhook_out(d) for d in documents[:limit]]
    page = WebhookPage(items=items, total=total, next_cursor=items[-1].id if len(documents) > limit else None)
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(),
    summary="Subscribe a URL to events; the answer holds the signing secret, once",
)
async def create_webhook(
    body: WebhookCreate, principal: ActorDep, services: ServicesDep, response: Response
) -> WebhookCreated:
    tenant = check_tenant_filter(principal, body.tenant_id, "subscribes to events")
    refused = set(body.events) - types_for(principal.roles)
    if refused:
        raise forbidden(f"{', '.join(sorted(refused))}: security alert events need the operator role")
    settings = services.settings
    try:
        url = check_target(
            body.url,
            allow_insecure=settings.webhook_allow_insecure_urls or not settings.is_production,
            allowed_hosts=settings.webhook_hosts,
            allowed_ports=settings.webhook_ports,
        )
    except InvalidTarget as exc:
        raise ApiError(422, "invalid-webhook-url", "Invalid Request", str(exc)) from exc
    document = await services.webhooks.create(
        url=url, events=body.events, tenant_id=tenant, description=body.description, owner=principal.subject
    )
    response.headers["Location"] = f"/v1/webhooks/{document['_id']}"
    return WebhookCreated(**webhook_out(document).model_dump(), secret=document["secret"])


@router.get(
    "/{webhook_id}", response_model=WebhookOut, responses=errors(404), summary="One webhook and its last delivery"
)
async def get_webhook(request: Request, principal: ActorDep, services: ServicesDep, webhook_id: WebhookId) -> Response:
    document = await services.webhooks.get(webhook_id, tenant_scope(principal))
    if document is None:
        raise not_found(f"webhook {webhook_id!r} not found")
    return model_response(request, webhook_out(document))


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(404),
    summary="Unsubscribe (pending deliveries are dropped)",
)
async def delete_webhook(principal: ActorDep, services: ServicesDep, webhook_id: WebhookId) -> Response:
    if not await services.webhooks.delete(webhook_id, tenant_scope(principal)):
        raise not_found(f"webhook {webhook_id!r} not found")
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/ping",
    response_model=WebhookPing,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(404),
    summary="Queue a signed `webhook.ping` delivery to check the receiver",
)
async def ping_webhook(principal: ActorDep, services: ServicesDep, webhook_id: WebhookId) -> WebhookPing:
    document = await services.webhooks.get(webhook_id, tenant_scope(principal))
    if document is None:
        raise not_found(f"webhook {webhook_id!r} not found")
    event_id = uuid.uuid4().hex
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = {
        "id": event_id,
        "event_id": event_id,
        "type": "webhook.ping",
        "time": now,
        "station_id": "",
        "tenant_id": document.get("tenant_id") or "",
        "data": {"webhook_id": webhook_id},
    }
    tenant = str(document.get("tenant_id") or "")
    event = PublicEvent(event_id, event_id, "webhook.ping", tenant, "", orjson.dumps(body))
    queued = await services.deliveries.enqueue([job_for(webhook_id, event)])
    return WebhookPing(event_id=event_id, queued=queued == 1)
