"""Access tokens issued by the identity provider: validation, the principal they carry, and client credentials."""

from chargewatch.auth.client_credentials import ClientCredentialsToken
from chargewatch.auth.principal import (
    KNOWN_ROLES,
    OPERATOR,
    PARTNER,
    SECURITY_ANALYST,
    SRE,
    Principal,
)
from chargewatch.auth.validator import (
    AccessTokenValidator,
    IdentityProviderUnavailable,
    InvalidTokenError,
)

__all__ = [
    "KNOWN_ROLES",
    "OPERATOR",
    "PARTNER",
    "SECURITY_ANALYST",
    "SRE",
    "AccessTokenValidator",
    "ClientCredentialsToken",
    "IdentityProviderUnavailable",
    "InvalidTokenError",
    "Principal",
]
