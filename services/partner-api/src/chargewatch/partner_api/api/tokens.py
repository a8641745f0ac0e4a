"""/v1/tokens: driver tokens (RFID cards, app tokens, eMAIDs), kept by authz.

authz authorizes each call itself from the caller's own access token (forwarded as metadata): a
partner reads and manages its own tenant's tokens, operators every tenant's, SREs and security
analysts read. Another tenant's token is answered 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import token_out
from chargewatch.partner_api.deps import (
    ActorDep,
    PrincipalDep,
    ServicesDep,
    caller_metadata,
    check_tenant_filter,
    to_proto,
)
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import (
    FLEET_PATTERN,
    ID_TOKEN_PATTERN,
    TENANT_PATTERN,
    DriverTokenCreate,
    DriverTokenOut,
    DriverTokenPage,
    DriverTokenType,
    DriverTokenUpdate,
    TokenLink,
    TokenStatusName,
)
from chargewatch.v1 import authz_pb2, common_pb2

router = APIRouter(prefix="/v1/tokens", tags=["driver tokens"])

IdToken = Annotated[str, Path(pattern=ID_TOKEN_PATTERN, description="The token's uid (RFID uid, eMAID, ...)")]
TokenType = Annotated[DriverTokenType, Query(description="The token's type (default ISO14443)")]


@router.get("", response_model=DriverTokenPage, responses=errors(), summary="List driver tokens")
async def list_tokens(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    status: Annotated[TokenStatusName | None, Query()] = None,
    fleet: Annotated[str | None, Query(pattern=FLEET_PATTERN)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists tokens")
    reply = await services.clients.authz.ListTokens(
        authz_pb2.ListTokensRequest(
            tenant_id=tenant or "",
            status=status or "",
            fleet=fleet or "",
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            requested_by=to_proto(principal),
        ),
        metadata=caller_metadata(request),
    )
    page = DriverTokenPage(
        items=[token_out(t) for t in reply.tokens],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "",
    response_model=DriverTokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
    summary="Create a driver token",
)
async def create_token(
    request: Request, body: DriverTokenCreate, principal: ActorDep, services: ServicesDep, response: Response
) -> DriverTokenOut:
    tenant = check_tenant_filter(principal, body.tenant_id, "creates tokens")
    wire = authz_pb2.DriverToken(
        id_token=body.id_token,
        id_token_type=body.id_token_type,
        tenant_id=tenant or "",
        status=body.status,
        group_id=body.group_id or "",
        fleet=body.fleet or "",
        reason=body.reason or "",
    )
    if body.expires_at is not None:
        wire.expires_at.FromDatetime(body.expires_at.astimezone(UTC))
    created = await services.clients.authz.CreateToken(
        authz_pb2.CreateTokenRequest(token=wire, requested_by=to_proto(principal)), metadata=caller_metadata(request)
    )
    response.headers["Location"] = f"/v1/tokens/{created.id_token}?type={created.id_token_type}"
    return token_out(created)


@router.get("/{id_token}", response_model=DriverTokenOut, responses=errors(404), summary="One driver token")
async def get_token(
    request: Request, principal: PrincipalDep, services: ServicesDep, id_token: IdToken, type: TokenType = "ISO14443"
) -> Response:
    token = await services.clients.authz.GetToken(
        authz_pb2.GetTokenRequest(id_token=id_token, id_token_type=type, requested_by=to_proto(principal)),
        metadata=caller_metadata(request),
    )
    return model_response(request, token_out(token))


@router.patch(
    "/{id_token}",
    response_model=DriverTokenOut,
    responses=errors(404),
    summary="Block, unblock or expire a driver token (effective at once)",
)
async def update_token(
    request: Request,
    body: DriverTokenUpdate,
    principal: ActorDep,
    services: ServicesDep,
    id_token: IdToken,
    type: TokenType = "ISO14443",
) -> DriverTokenOut:
    update = authz_pb2.SetTokenStatusRequest(
        id_token=id_token,
        id_token_type=type,
        status=body.status,
        reason=body.reason or "",
        requested_by=to_proto(principal),
    )
    if body.expires_at is not None:
        update.expires_at.FromDatetime(body.expires_at.astimezone(UTC))
    token = await services.clients.authz.SetTokenStatus(update, metadata=caller_metadata(request))
    return token_out(token)


@router.post(
    "/{id_token}/link",
    response_model=DriverTokenOut,
    responses=errors(404),
    summary="Link a driver token to a person (Keycloak user) or a fleet (Keycloak group)",
)
async def link_token(
    request: Request,
    body: TokenLink,
    principal: ActorDep,
    services: ServicesDep,
    id_token: IdToken,
    type: TokenType = "ISO14443",
) -> DriverTokenOut:
    """Exactly one of `user_id` and `fleet`. The user's or group's access policies then apply to the token."""
    if (body.user_id is None) == (body.fleet is None):
        raise ApiError(422, "invalid-request", "Invalid Request", "give exactly one of user_id and fleet")
    token = await services.clients.authz.LinkToken(
        authz_pb2.LinkTokenRequest(
            id_token=id_token,
            id_token_type=type,
            user_id=body.user_id or "",
            fleet=body.fleet or "",
            requested_by=to_proto(principal),
        ),
        metadata=caller_metadata(request),
    )
    return token_out(token)
