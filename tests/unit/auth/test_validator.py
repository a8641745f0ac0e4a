"""Access token validation against the development IdP's app, served in-process over ASGI."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from chargewatch.auth import (
    AccessTokenValidator,
    ClientCredentialsToken,
    IdentityProviderUnavailable,
    InvalidTokenError,
)
from chargewatch.devidp.app import create_app
from chargewatch.devidp.config import PACKAGED_DEV_OVERLAY, REPOSITORY_REALM
from chargewatch.devidp.keys import KeyRing
from chargewatch.devidp.provider import IdentityProvider
from chargewatch.devidp.realm import load_realm

BASE = "http://idp.test"
ISSUER = f"{BASE}/realms/chargewatch"
AUDIENCE = "chargewatch-partner-api"
TOKEN_URL = f"{ISSUER}/protocol/openid-connect/token"


class CountingTransport(httpx.AsyncBaseTransport):
    """The IdP's real ASGI app, with a count of the requests per path."""

    def __init__(self, provider: IdentityProvider) -> None:
        self.inner = httpx.ASGITransport(app=create_app(provider))
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


@pytest.fixture(scope="module")
def realm_provider() -> IdentityProvider:
    return IdentityProvider(load_realm(REPOSITORY_REALM, PACKAGED_DEV_OVERLAY), KeyRing(keep=2), BASE)


@pytest.fixture
async def http(realm_provider: IdentityProvider) -> AsyncIterator[tuple[httpx.AsyncClient, CountingTransport]]:
    transport = CountingTransport(realm_provider)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client, transport


async def password_token(client: httpx.AsyncClient, user: str) -> str:
    reply = await client.post(
        TOKEN_URL, data={"grant_type": "password", "client_id": "chargewatch-cli", "username": user, "password": user}
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_partner_token_carries_roles_tenant_and_client(http: tuple[httpx.AsyncClient, CountingTransport]) -> None:
    client, _ = http
    validator = AccessTokenValidator(ISSUER, AUDIENCE, http=client)
    principal = await validator.validate(await password_token(client, "partner-a"))
    assert principal.username == "partner-a"
    assert "partner" in principal.roles and "operator" not in principal.roles
    assert principal.tenant_id == "partner-a"
    assert principal.client_id == "chargewatch-cli"
    assert principal.expires_at.timestamp() > time.time()
    assert await validator.ready()


async def test_operator_has_no_tenant(http: tuple[httpx.AsyncClient, CountingTransport]) -> None:
    client, _ = http
    principal = await AccessTokenValidator(ISSUER, AUDIENCE, http=client).validate(
        await password_token(client, "operator")
    )
    assert "operator" in principal.roles
    assert principal.tenant_id is None


async def test_client_credentials_token_for_a_partner_backend(
    http: tuple[httpx.AsyncClient, CountingTransport],
) -> None:
    client, _ = http
    source = ClientCredentialsToken(TOKEN_URL, "partner-b-backend", "dev-partner-b-secret", http=client)
    token = await source.get()
    assert await source.get() == token  # cached until close to expiry
    assert "dev-partner-b-secret" not in repr(source)
    principal = await AccessTokenValidator(ISSUER, AUDIENCE, http=client).validate(token)
    assert principal.tenant_id == "partner-b"
    assert principal.client_id == "partner-b-backend"
    assert "partner" in principal.roles


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "token expired"),
        ({"aud": "some-other-api"}, "token not issued for this audience"),
        ({"iss": "http://evil.test/realms/chargewatch"}, "token not issued by the trusted issuer"),
        ({"typ": "Refresh"}, "not an access token"),
        ({"sub": None}, "token lacks the sub claim"),
    ],
)
async def test_claims_that_are_refused(
    http: tuple[httpx.AsyncClient, CountingTransport],
    realm_provider: IdentityProvider,
    change: dict[str, Any],
    reason: str,
) -> None:
    client, _ = http
    claims = claims_of(await password_token(client, "sre")) | change
    claims = {k: v for k, v in claims.items() if v is not None}
    forged = realm_provider.keys.sign(claims)  # signed with the real key: only the claim is wrong
    with pytest.raises(InvalidTokenError) as refused:
        await AccessTokenValidator(ISSUER, AUDIENCE, http=client).validate(forged)
    assert refused.value.reason == reason


async def test_tampered_payload_fails_the_signature(http: tuple[httpx.AsyncClient, CountingTransport]) -> None:
    client, _ = http
    header, payload, signature = (await password_token(client, "partner-a")).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant_id"] = "partner-b"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError) as refused:
        await AccessTokenValidator(ISSUER, AUDIENCE, http=client).validate(f"{header}.{forged_payload}.{signature}")
    assert refused.value.reason == "token signature invalid"


async def test_symmetric_and_unsigned_tokens_are_refused(
    http: tuple[httpx.AsyncClient, CountingTransport], realm_provider: IdentityProvider
) -> None:
    client, _ = http
    claims = claims_of(await password_token(client, "operator"))
    kid = realm_provider.keys.active.kid
    # The classic confusion attack: HMAC keyed with the (public) JWKS modulus.
    hmac_token = jwt.encode(claims, "public-key-material-used-as-secret", algorithm="HS256", headers={"kid": kid})
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers={"kid": kid})
    validator = AccessTokenValidator(ISSUER, AUDIENCE, http=client)
    for token in (hmac_token, unsigned, "not-a-jwt", ""):
        with pytest.raises(InvalidTokenError):
            await validator.validate(token)
    with pytest.raises(ValueError, match="asymmetric"):
        AccessTokenValidator(ISSUER, AUDIENCE, http=client, algorithms=("HS256",))


async def test_key_rotation_is_followed_and_unknown_kids_are_rate_limited(
    http: tuple[httpx.AsyncClient, CountingTransport], realm_provider: IdentityProvider
) -> None:
    client, transport = http
    validator = AccessTokenValidator(ISSUER, AUDIENCE, http=client, min_refetch_seconds=0.2)
    before = await password_token(client, "operator")
    await validator.validate(before)
    jwks_fetches = transport.paths.count("/realms/chargewatch/protocol/openid-connect/certs")
    assert jwks_fetches == 1

    realm_provider.keys.rotate()
    after = await password_token(client, "operator")
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    time_to_allow_refetch = 0.25
    await asyncio.sleep(time_to_allow_refetch)
    await validator.validate(after)  # unknown kid → one refetch → accepted
    await validator.validate(before)  # the previous key stays published until its tokens expire
    assert transport.paths.count("/realms/chargewatch/protocol/openid-connect/certs") == jwks_fetches + 1

    claims = claims_of(after)
    stranger = KeyRing()
    forged = jwt.encode(claims, stranger.active.private_key, algorithm="RS256", headers={"kid": "made-up"})
    for _ in range(20):  # a flood of made-up key ids causes at most one more fetch inside the window
        with pytest.raises(InvalidTokenError, match="unknown key"):
            await validator.validate(forged)
    assert transport.paths.count("/realms/chargewatch/protocol/openid-connect/certs") <= jwks_fetches + 2


async def test_unreachable_issuer_is_not_ready_and_refuses_tokens(realm_provider: IdentityProvider) -> None:
    async with httpx.AsyncClient(timeout=0.5) as client:
        validator = AccessTokenValidator("http://127.0.0.1:9/realms/chargewatch", AUDIENCE, http=client)
        assert not await validator.ready()
        token = realm_provider.keys.sign({"sub": "x", "exp": int(time.time()) + 60, "iat": int(time.time())})
        with pytest.raises(IdentityProviderUnavailable):
            await validator.validate(token)


async def test_discovery_naming_another_issuer_is_refused(http: tuple[httpx.AsyncClient, CountingTransport]) -> None:
    client, _ = http
    validator = AccessTokenValidator(
        "http://idp.test/realms/other",
        AUDIENCE,
        http=client,
        discovery_url=f"{ISSUER}/.well-known/openid-configuration",
    )
    assert not await validator.ready()


def test_realm_file_is_the_shipped_one() -> None:
    assert Path(__file__).resolve().parents[3] / "k8s" / "keycloak" / "chargewatch-realm.json" == REPOSITORY_REALM


async def test_a_remembered_token_is_refused_once_it_expires(
    http: tuple[httpx.AsyncClient, CountingTransport], realm_provider: IdentityProvider
) -> None:
    client, _ = http
    now = int(time.time())
    short_lived = realm_provider.keys.sign(
        claims_of(await password_token(client, "sre")) | {"iat": now, "exp": now + 2}
    )
    validator = AccessTokenValidator(ISSUER, AUDIENCE, http=client, leeway_seconds=0)
    first = await validator.validate(short_lived)
    assert await validator.validate(short_lived) == first  # remembered: the same principal
    await asyncio.sleep(now + 2 - time.time() + 0.1)
    with pytest.raises(InvalidTokenError) as refused:
        await validator.validate(short_lived)
    assert refused.value.reason == "token expired"


async def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(
    http: tuple[httpx.AsyncClient, CountingTransport], realm_provider: IdentityProvider
) -> None:
    client, _ = http
    validator = AccessTokenValidator(ISSUER, AUDIENCE, http=client, jwks_ttl_seconds=0.2, min_refetch_seconds=0.1)
    token = await password_token(client, "operator")
    await validator.validate(token)
    realm_provider.keys.rotate()
    realm_provider.keys.rotate()  # the ring keeps two keys: the one that signed `token` is gone
    await asyncio.sleep(0.3)  # past the key set's time to live: the next check refetches it
    with pytest.raises(InvalidTokenError) as refused:
        await validator.validate(token)
    assert refused.value.reason == "token signed by an unknown key"
    await validator.validate(await password_token(client, "operator"))  # tokens of the new key pass
