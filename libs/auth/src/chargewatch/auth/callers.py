"""Who is calling a service: the caller's own bearer access token, read from request metadata.

Every gRPC server authenticates its caller this way. The partner API forwards the end user's
token; the other services send a client-credentials token of the `chargewatch-services` service
account, which holds the operator role. `is_service_account` tells the two apart: only the service
account may act on behalf of the end user named in a request (see docs/architecture.md, "Who calls
whom"); anyone else is exactly the principal its token carries.
"""

from __future__ import annotations

from collections.abc import Iterable

from chargewatch.auth.principal import OPERATOR, Principal
from chargewatch.auth.validator import AccessTokenValidator, InvalidTokenError

# The confidential client the platform's services authenticate to each other as. Its secret is held
# by the services only, so a token issued to it is a service's (never a person's).
SERVICES_CLIENT_ID = "chargewatch-services"

Metadata = Iterable[tuple[str, str | bytes]]


class Unauthenticated(Exception):
    """No valid access token; the message is safe to return."""


class Forbidden(Exception):
    """Authenticated but not allowed; the message is safe to return."""


def bearer_token(metadata: Metadata | None) -> str | None:
    """The token of the first `authorization: Bearer <token>` entry, or None."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            header = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def is_service_account(principal: Principal) -> bool:
    """The platform's own service account (client credentials of `chargewatch-services`, operator role)."""
    return principal.client_id == SERVICES_CLIENT_ID and OPERATOR in principal.roles


class CallerAuthenticator:
    def __init__(self, validator: AccessTokenValidator) -> None:
        self.validator = validator

    async def principal(self, metadata: Metadata | None) -> Principal:
        return (await self.authenticate(metadata))[0]

    async def authenticate(self, metadata: Metadata | None) -> tuple[Principal, str]:
        """The validated principal and the token it came from (to forward on the caller's behalf)."""
        token = bearer_token(metadata)
        if token is None:
            raise Unauthenticated("a bearer access token is required in the authorization metadata")
        try:
            return await self.validator.validate(token), token
        except InvalidTokenError as exc:
            raise Unauthenticated(f"the access token is not valid: {exc.reason}") from exc
