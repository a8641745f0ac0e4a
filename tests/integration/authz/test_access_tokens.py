"""ValidateAccessToken over real gRPC against the dev IdP over HTTP: forged tokens refused, key rotation followed."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chargewatch.auth import AccessTokenValidator
from chargewatch.authz.credentials import StationCredentialStore
from chargewatch.authz.grpc_api import AuthzServicer
from chargewatch.devstack.processes import ManagedProcess, start_identity_provider
from chargewatch.mongo import create_mongo_client
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.v1 import authz_pb2, authz_pb2_grpc

pytestmark = pytest.mark.integration
AUDIENCE = "chargewatch-partner-api"


@pytest.fixture(scope="module")
def rotating_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_identity_provider(
        log_dir=tmp_path_factory.mktemp("rotating-idp"), env={"CW_DEVIDP_KEY_ROTATION_SECONDS": "1.5"}
    )
    yield server
    server.stop()


@pytest.fixture
async def validate(rotating_idp: ManagedProcess, mongo_url: str) -> AsyncIterator[tuple[Any, str]]:
    base = f"http://127.0.0.1:{rotating_idp.port}"
    http = httpx.AsyncClient(timeout=5.0)
    mongo = create_mongo_client(mongo_url, app_name="authz-jwt-test")
    validator = AccessTokenValidator(f"{base}/realms/chargewatch", AUDIENCE, http=http, min_refetch_seconds=0.5)
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(
        authz_pb2_grpc.add_AuthzServicer_to_server,
        AuthzServicer(StationCredentialStore(mongo["authz_jwt"]["station_credentials"]), validator),
        "chargewatch.v1.Authz",
    )
    await server.start()
    channel = client_channel(f"127.0.0.1:{server.port}")
    stub = authz_pb2_grpc.AuthzStub(channel)

    async def call(token: str) -> Any:
        return await stub.ValidateAccessToken(authz_pb2.ValidateAccessTokenRequest(access_token=token))

    yield call, base
    await channel.close(None)
    await server.stop(0)
    await http.aclose()
    await mongo.close()


def fetch_token(base: str, user: str) -> str:
    reply = httpx.post(
        f"{base}/realms/chargewatch/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "chargewatch-cli", "username": user, "password": user},
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


async def refused(call: Any, token: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(token)
    assert error.value.code() is grpc.StatusCode.UNAUTHENTICATED
    return error.value.details() or ""


async def test_forged_and_misdirected_tokens_are_refused(validate: tuple[Any, str]) -> None:
    call, base = validate
    good = fetch_token(base, "partner-a")
    principal = (await call(good)).principal
    assert (principal.tenant_id, "partner" in principal.roles) == ("partner-a", True)

    header, claims, signature = parts(good)
    assert await refused(call, f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.") == "token algorithm not accepted"
    jwks = (await asyncio.to_thread(httpx.get, f"{base}/realms/chargewatch/protocol/openid-connect/certs")).json()
    # HS256 "signed" with the published RSA key's modulus: the classic key-confusion forgery.
    hs = jwt.encode(claims, jwks["keys"][0]["n"], algorithm="HS256", headers={"kid": header["kid"]})
    assert await refused(call, hs) == "token algorithm not accepted"
    tampered = f"{b64(header)}.{b64(claims | {'tenant_id': 'partner-b'})}.{signature}"
    assert await refused(call, tampered) == "token signature invalid"

    # Correctly signed by a key the IdP never published (an attacker's own RS256 key).
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    own = jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": header["kid"]})
    assert await refused(call, own) == "token signature invalid"
    for change, _reason in (
        ({"exp": int(time.time()) - 300}, "token expired"),
        ({"aud": "another-api"}, "token not issued for this audience"),
        ({"iss": "http://127.0.0.1:1/realms/chargewatch"}, "token not issued by the trusted issuer"),
    ):
        forged = jwt.encode(claims | change, attacker, algorithm="RS256", headers={"kid": header["kid"]})
        assert await refused(call, forged) == "token signature invalid"  # the signature fails first
    assert await refused(call, "") == "malformed token"


async def test_a_service_client_credentials_token_is_a_valid_principal(validate: tuple[Any, str]) -> None:
    """Service-to-service calls authenticate with client credentials.

    Expired, wrong-audience and wrong-issuer tokens with a genuine signature are refused in
    tests/unit/auth/test_validator.py, which signs with the IdP's keys."""
    call, base = validate
    reply = await asyncio.to_thread(
        httpx.post,
        f"{base}/realms/chargewatch/protocol/openid-connect/token",
        data={"grant_type": "client_credentials"},
        auth=("chargewatch-services", "dev-chargewatch-services-secret"),
    )
    principal = (await call(reply.json()["access_token"])).principal
    assert principal.client_id == "chargewatch-services" and "operator" in principal.roles


async def test_signing_key_rotation_is_followed_without_a_restart(validate: tuple[Any, str]) -> None:
    call, base = validate
    first = fetch_token(base, "sre")
    assert (await call(first)).principal.roles
    first_kid = parts(first)[0]["kid"]
    deadline = time.monotonic() + 10
    token = first
    while parts(token)[0]["kid"] == first_kid and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        token = fetch_token(base, "sre")
    assert parts(token)[0]["kid"] != first_kid, "the IdP did not rotate its key"
    assert "sre" in (await call(token)).principal.roles  # the new key was fetched on first sight
