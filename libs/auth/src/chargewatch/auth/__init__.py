"""Access tokens issued by the identity provider: validation, the principal they carry, callers, client credentials."""

from chargewatch.auth.callers import (
    SERVICES_CLIENT_ID,
    CallerAuthenticator,
    Forbidden,
    Unauthenticated,
    bearer_token,
    is_service_account,
)
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
    "SERVICES_CLIENT_ID",
    "SRE",
    "AccessTokenValidator",
    "CallerAuthenticator",
    "ClientCredentialsToken",
    "Forbidden",
    "IdentityProviderUnavailable",
    "InvalidTokenError",
    "Principal",
    "Unauthenticated",
    "bearer_token",
    "is_service_account",
]
