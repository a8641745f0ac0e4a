"""Typed dependencies: who is calling, what they may see, their rate limit, and the service clients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from chargewatch.auth import (
    KNOWN_ROLES,
    OPERATOR,
    PARTNER,
    SECURITY_ANALYST,
    SRE,
    InvalidTokenError,
    Principal,
)
from chargewatch.partner_api.clients import ServiceClients
from chargewatch.partner_api.errors import ApiError, forbidden
from chargewatch.partner_api.services import Services
from chargewatch.v1 import common_pb2

OPERATOR_WIDE_ROLES = frozenset({OPERATOR, SRE, SECURITY_ANALYST})

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="keycloak",
    description="An access token from the ChargeWatch Keycloak realm (client credentials, or code + PKCE)",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chargewatch"'}


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread.
async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_clients(request: Request) -> ServiceClients:
    return services_of(request).clients


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Unauthorized", "a bearer access token is required", _CHALLENGE)
    services = services_of(request)
    try:
        principal = await services.tokens.validate(credentials.credentials)
    except InvalidTokenError as exc:
        headers = {
            "WWW-Authenticate": f'Bearer realm="chargewatch", error="invalid_token", error_description="{exc.reason}"'
        }
        raise ApiError(
            401, "invalid-token", "Unauthorized", f"the access token is not valid: {exc.reason}", headers
        ) from exc
    if not principal.roles & KNOWN_ROLES:
        raise forbidden("the token carries no ChargeWatch role")
    if not principal.roles & OPERATOR_WIDE_ROLES and not principal.tenant_id:
        raise forbidden("a partner token must carry a tenant claim")
    request.state.access_token = credentials.credentials
    request.state.principal = principal
    # Per client: the OAuth client and the token's subject (a person or a service account).
    state = await services.limiter.hit(f"{principal.client_id}|{principal.subject}")
    if state is not None:
        request.state.rate_limit = state
        if state.exceeded:
            raise ApiError(
                429,
                "rate-limited",
                "Too Many Requests",
                f"more than {state.limit} requests in {state.window_seconds} s; retry in {state.reset_seconds} s",
                state.headers(),
            )
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


def caller_metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """The caller's own bearer token, for services (authz) that authorize it themselves."""
    return (("authorization", f"Bearer {request.state.access_token}"),)


def require_role(*roles: str) -> Any:
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.roles & allowed:
            raise forbidden(f"this needs one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return Depends(check)


def check_tenant_filter(principal: Principal, tenant_id: str | None, what: str) -> str | None:
    """The tenant a query covers: a partner's own (asking for another is refused), or the operator's pick."""
    scope = tenant_scope(principal)
    if scope is not None and tenant_id not in (None, scope):
        raise forbidden(f"a partner {what} of its own tenant only")
    return scope or tenant_id


_ALLOWED_QUERY: dict[int, frozenset[str]] = {}


def query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route declares, through its sub-dependencies and query models."""
    names: set[str] = set()
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {field.alias or name for name, field in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    for sub_dependant in dependant.dependencies:
        names |= query_names(sub_dependant)
    return names


def _declared_query(route: APIRoute) -> frozenset[str]:
    names = _ALLOWED_QUERY.get(id(route))
    if names is None:
        names = frozenset(query_names(route.dependant))
        _ALLOWED_QUERY[id(route)] = names
    return names


async def reject_unknown_query(request: Request) -> None:
    """A misspelt filter must not silently widen a query: unknown query parameters are refused."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith("/v1/"):
        return
    allowed = _declared_query(route)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ApiError(
            400,
            "unknown-parameter",
            "Bad Request",
            f"unknown query parameter(s): {', '.join(unknown)}; this route takes: {takes}",
        )


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ServicesDep = Annotated[Services, Depends(get_services)]
ClientsDep = Annotated[ServiceClients, Depends(get_clients)]
OperatorDep = Annotated[Principal, require_role(OPERATOR)]
# Remote commands and webhooks: operators for any station, partners for their own tenant's.
ActorDep = Annotated[Principal, require_role(OPERATOR, PARTNER)]
