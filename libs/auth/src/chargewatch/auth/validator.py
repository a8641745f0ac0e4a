"""Validation of access tokens issued by the identity provider (Keycloak, or the dev IdP in development).

Signatures are checked against the issuer's JWKS, fetched through OpenID discovery and cached. A token
signed with a key id the cache does not know triggers one refetch (the issuer rotated its keys), at most
once per `min_refetch_seconds` so a flood of forged key ids cannot turn us into a JWKS amplifier.

A token that passed is remembered, by its SHA-256, until it expires: a caller presents the same
token on every call for minutes, and checking an RS256 signature and the claims again costs more
CPU than many of the calls it guards. A remembered token is still refused once expired, and once
the key that signed it is no longer published (the key set is refetched as for any token).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from chargewatch.auth.principal import Principal

logger = logging.getLogger(__name__)

# Asymmetric algorithms only: "none" and HMAC would let anyone holding a public key mint tokens.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256")
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub")
# Tokens remembered as verified at most; past it the memory starts afresh (a flood of distinct
# valid tokens costs their verification again, never unbounded memory).
MAX_VERIFIED_TOKENS = 10_000


class InvalidTokenError(Exception):
    """The token is not acceptable; `reason` is safe to return to the caller (it never echoes the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityProviderUnavailable(InvalidTokenError):
    """The issuer's keys could not be fetched, so no token can be checked right now."""


class AccessTokenValidator:
    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        http: httpx.AsyncClient | None = None,
        algorithms: tuple[str, ...] = ("RS256",),
        leeway_seconds: float = 30.0,
        jwks_ttl_seconds: float = 300.0,
        min_refetch_seconds: float = 10.0,
        discovery_url: str | None = None,
    ) -> None:
        if not set(algorithms) <= set(ALLOWED_ALGORITHMS):
            raise ValueError(
                f"only asymmetric algorithms are accepted, not {sorted(set(algorithms) - set(ALLOWED_ALGORITHMS))}"
            )
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway_seconds = leeway_seconds
        self.jwks_ttl_seconds = jwks_ttl_seconds
        self.min_refetch_seconds = min_refetch_seconds
        # Inside a cluster the issuer's public name may not resolve; discovery can go elsewhere.
        self.discovery_url = discovery_url or f"{self.issuer}/.well-known/openid-configuration"
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._owns_http = http is None
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        # SHA-256 of a token -> (its principal, the epoch second it stops being valid, its key id).
        self._verified: dict[bytes, tuple[Principal, float, str]] = {}

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def ready(self) -> bool:
        """True once the issuer's signing keys are loaded (a readiness probe)."""
        try:
            await self._refresh(force=False)
        except IdentityProviderUnavailable:
            return bool(self._keys)
        return bool(self._keys)

    async def validate(self, token: str) -> Principal:
        if not token or len(token) > 16_384:
            raise InvalidTokenError("malformed token")
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(digest)
        if remembered is not None:
            principal, valid_until, kid = remembered
            if time.monotonic() - self._fetched_at >= self.jwks_ttl_seconds:
                await self._refresh(force=False)  # as for a token not remembered: keys follow rotation
            if time.time() < valid_until and kid in self._keys:
                return principal
            del self._verified[digest]  # expired, or its key withdrawn: checked in full (and refused)
        principal, valid_until, kid = await self._verify(token)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[digest] = (principal, valid_until, kid)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float, str]:
        """The token's principal, the epoch second it expires (leeway included) and its key id."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc
        if header.get("alg") not in self.algorithms:
            raise InvalidTokenError("token algorithm not accepted")
        key = await self._key_for(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidTokenError("token not issued for this audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidTokenError("token not issued by the trusted issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidTokenError("token signature invalid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidTokenError(f"token lacks the {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("token invalid") from exc
        # Keycloak refresh and ID tokens are signed by the same key; only access tokens are accepted.
        token_type = claims.get("typ")
        if token_type is not None and str(token_type).lower() != "bearer":
            raise InvalidTokenError("not an access token")
        return (
            Principal.from_claims(claims, self.audience),
            float(claims["exp"]) + self.leeway_seconds,
            str(header["kid"]),
        )

    async def _key_for(self, kid: Any) -> Any:
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("token has no key id")
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        if not self._keys:
            raise IdentityProviderUnavailable("identity provider unavailable")
        jwk = self._keys.get(kid)
        if jwk is None:
            raise InvalidTokenError("token signed by an unknown key")
        return jwk.key

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < self.min_refetch_seconds or (not force and age < self.jwks_ttl_seconds):
                return
            try:
                self._keys = await self._fetch_keys()
            except (httpx.HTTPError, ValueError, KeyError, jwt.PyJWTError) as exc:
                logger.warning(
                    "could not fetch the issuer's signing keys", extra={"issuer": self.issuer, "error": str(exc)}
                )
                if not self._keys:
                    raise IdentityProviderUnavailable("identity provider unavailable") from exc
                return  # keep serving with the keys we have; retry after min_refetch_seconds
            finally:
                self._fetched_at = time.monotonic()

    async def _fetch_keys(self) -> dict[str, PyJWK]:
        discovery = await self._http.get(self.discovery_url)
        discovery.raise_for_status()
        document = discovery.json()
        if document.get("issuer", "").rstrip("/") != self.issuer:
            raise ValueError(f"discovery document names issuer {document.get('issuer')!r}")
        jwks = await self._http.get(document["jwks_uri"])
        jwks.raise_for_status()
        signing = [k for k in jwks.json().get("keys", []) if k.get("use", "sig") == "sig" and k.get("kid")]
        key_set = PyJWKSet(signing)
        return {str(k.key_id): k for k in key_set.keys}
