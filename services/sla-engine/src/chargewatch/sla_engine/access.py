"""Who may see and do what, from the Principal every call carries (forwarded by the partner API).

A principal with a tenant is confined to that tenant: another tenant's port, incident, exclusion,
site or contract is answered exactly like a missing one. The roles operator, sre and
security-analyst see the whole fleet. Writes are operator actions.
"""

from __future__ import annotations

import re
from typing import Final

from chargewatch.v1 import common_pb2

OPERATOR: Final = "operator"
OPERATOR_WIDE_ROLES: Final = frozenset({"operator", "sre", "security-analyst"})
KNOWN_ROLES: Final = frozenset({*OPERATOR_WIDE_ROLES, "partner"})
ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9._:@|-]{1,128}$")


class Denied(Exception):
    """PERMISSION_DENIED."""


class BadRequest(Exception):
    """INVALID_ARGUMENT: input the caller must fix."""


class NotFound(Exception):
    """NOT_FOUND (also for objects outside the caller's tenant)."""


class Conflict(Exception):
    """FAILED_PRECONDITION: the object is not in a state that allows this."""


def tenant_scope(principal: common_pb2.Principal) -> str | None:
    """The tenant a principal is confined to; None for operator-wide roles; Denied otherwise."""
    if not principal.subject:
        raise Denied("the call carries no principal")
    if principal.tenant_id:
        return principal.tenant_id
    if OPERATOR_WIDE_ROLES.intersection(principal.roles):
        return None
    raise Denied("the caller has neither a tenant nor an operator-wide role")


def require_operator(principal: common_pb2.Principal) -> str | None:
    """The operator's scope (None: the whole fleet); Denied for anyone without the operator role."""
    scope = tenant_scope(principal)
    if OPERATOR not in principal.roles:
        raise Denied("this is an operator action")
    return scope


def visible(scope: str | None, tenant_id: str) -> bool:
    return scope is None or scope == tenant_id


def narrowed(scope: str | None, requested: str) -> str | None:
    """The tenant filter of a listing: the caller's own, or the one asked for by an operator-wide caller.

    Raises NotFound when a confined caller asks for another tenant (it has nothing there).
    """
    if scope is None:
        return requested or None
    if requested and requested != scope:
        raise NotFound("no such tenant in scope")
    return scope


def check_id(value: str, name: str, *, required: bool = True) -> str:
    if not value:
        if required:
            raise BadRequest(f"{name} is required")
        return value
    if not ID_PATTERN.match(value):
        raise BadRequest(f"{name} must be 1-128 of [A-Za-z0-9._:@|-]")
    return value
