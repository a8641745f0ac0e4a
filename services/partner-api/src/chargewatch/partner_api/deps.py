"""Typed dependencies: who is calling, what they may see, and the service clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chargewatch.auth import (
    KNOWN_ROLES,
    OPERATOR,
    SECURITY_ANALYST,
    SRE,
    AccessTokenValidator,
    InvalidTokenError,
    Principal,
)
from chargewatch.partner_api.clients import ServiceClients
from chargewatch.partner_api.errors import ApiError
from chargewatch.v1 import common_pb2

OPERATOR_WIDE_ROLES = frozenset({OPERATOR, SRE, SECURITY_ANALYST})

_bearer = HTTPBearer(auto_error=False, description="An access token from the ChargeWatch Keycloak realm")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chargewatch"'}


def get_clients(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Unauthorized", "a bearer access token is required", _CHALLENGE)
    validator: AccessTokenValidator = request.app.state.token_validator
    try:
        principal = await validator.validate(credentials.credentials)
    except InvalidTokenError as exc:
        headers = {
            "WWW-Authenticate": f'Bearer realm="chargewatch", error="invalid_token", error_description="{exc.reason}"'
        }
        raise ApiError(
            401, "invalid-token", "Unauthorized", f"the access token is not valid: {exc.reason}", headers
        ) from exc
    if not principal.roles & KNOWN_ROLES:
        raise ApiError(403, "forbidden", "Forbidden", "the token carries no ChargeWatch role")
    if not principal.roles & OPERATOR_WIDE_ROLES and not principal.tenant_id:
        raise ApiError(403, "forbidden", "Forbidden", "a partner token must carry a tenant claim")
    return principal


def tenant_scope(principal: Principal) -> str | None:
    """The tenant a caller is confined to; None for operator-wide roles."""
    return None if principal.roles & OPERATOR_WIDE_ROLES else principal.tenant_id


def to_proto(principal: Principal) -> common_pb2.Principal:
    return common_pb2.Principal(
        subject=principal.subject,
        client_id=principal.client_id or "",
        roles=sorted(principal.roles),
        tenant_id=tenant_scope(principal) or "",
    )


def require_role(*roles: str) -> object:
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.roles & set(roles):
            raise ApiError(403, "forbidden", "Forbidden", f"this needs one of the roles: {', '.join(roles)}")
        return principal

    return Depends(check)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ClientsDep = Annotated[ServiceClients, Depends(get_clients)]
OperatorDep = Annotated[Principal, require_role("operator")]
