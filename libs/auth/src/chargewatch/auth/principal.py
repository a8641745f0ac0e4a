"""Who is calling: the identity and rights a validated access token carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Roles the platform knows; any other realm role in a token is carried but confers nothing.
OPERATOR = "operator"
PARTNER = "partner"
SRE = "sre"
SECURITY_ANALYST = "security-analyst"
KNOWN_ROLES = frozenset({OPERATOR, PARTNER, SRE, SECURITY_ANALYST})

# Claim names: Keycloak puts realm roles under realm_access.roles and client roles under
# resource_access.<client>.roles; the tenant comes from a user or client attribute mapper.
TENANT_CLAIMS = ("tenant_id", "tenant")


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    username: str
    client_id: str
    roles: frozenset[str]
    tenant_id: str | None
    expires_at: datetime
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_any_role(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], audience: str) -> Principal:
        """Build a principal from claims whose signature, issuer, audience and expiry are already checked."""
        roles: set[str] = set(_string_list(_mapping(claims.get("realm_access")).get("roles")))
        # Client roles of our own audience count too, so a realm can grant them per client.
        roles.update(_string_list(_mapping(_mapping(claims.get("resource_access")).get(audience)).get("roles")))
        tenant: str | None = None
        for name in TENANT_CLAIMS:
            value = claims.get(name)
            if isinstance(value, list):  # Keycloak's multivalued attribute mapper
                value = value[0] if len(value) == 1 else None
            if isinstance(value, str) and value:
                tenant = value
                break
        scope = claims.get("scope")
        return cls(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username") or ""),
            client_id=str(claims.get("azp") or claims.get("client_id") or ""),
            roles=frozenset(roles),
            tenant_id=tenant,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]
