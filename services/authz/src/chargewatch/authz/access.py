"""Who may call authz's management RPCs, and on which objects.

Callers send their own bearer access token in the `authorization` metadata: the partner API
forwards the end user's token, other services send their client-credentials token (the
`chargewatch-services` service account holds the operator role). authz validates it itself, so
the `requested_by` field of a request is recorded for the audit but never trusted for a decision.
"""

from __future__ import annotations

from chargewatch.auth import (
    OPERATOR,
    PARTNER,
    SECURITY_ANALYST,
    SRE,
    CallerAuthenticator,
    Forbidden,
    Principal,
    Unauthenticated,
)

# Shared with every gRPC server (chargewatch.auth.callers); kept importable from here.
__all__ = [
    "OPERATOR_WIDE",
    "CallerAuthenticator",
    "Forbidden",
    "Unauthenticated",
    "actor",
    "read_scope",
    "require_blocker",
    "require_operator",
    "token_scope",
]


OPERATOR_WIDE = frozenset({OPERATOR, SRE, SECURITY_ANALYST})


def actor(principal: Principal) -> str:
    """How the audit names a caller: its subject and client, never its token."""
    return f"{principal.username or principal.subject} via {principal.client_id or '-'}"


def require_operator(principal: Principal) -> None:
    if OPERATOR not in principal.roles:
        raise Forbidden("this needs the operator role")


def require_blocker(principal: Principal) -> None:
    """Blocks and quarantines: operators and security analysts (the security monitor is a service operator)."""
    if not principal.roles & {OPERATOR, SECURITY_ANALYST}:
        raise Forbidden("this needs the operator or security-analyst role")


def token_scope(principal: Principal) -> str | None:
    """The tenant whose tokens the caller may manage: None for operators (all tenants)."""
    if OPERATOR in principal.roles:
        return None
    if PARTNER in principal.roles and principal.tenant_id:
        return principal.tenant_id
    raise Forbidden("managing tokens needs the operator role, or the partner role with a tenant")


def read_scope(principal: Principal) -> str | None:
    """The tenant whose policies and tokens the caller may read: None for operator-wide roles."""
    if principal.roles & OPERATOR_WIDE:
        return None
    if PARTNER in principal.roles and principal.tenant_id:
        return principal.tenant_id
    raise Forbidden("this needs a ChargeWatch role")
