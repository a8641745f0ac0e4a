"""Authz's station credentials over real gRPC and a real MongoDB-wire store."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest

from chargewatch.auth import AccessTokenValidator
from chargewatch.authz.credentials import (
    COLLECTION,
    Outcome,
    Profile,
    StationCredentialStore,
    VerifiedPasswords,
    check_connection_detail,
)
from chargewatch.authz.grpc_api import AuthzServicer
from chargewatch.mongo import create_mongo_client
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2
from tests.support.argon2 import count_argon2

OUTCOME = authz_pb2.AuthenticateStationResponse
P1, P2, P3 = (
    common_pb2.SECURITY_PROFILE_1_BASIC,
    common_pb2.SECURITY_PROFILE_2_TLS_BASIC,
    common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS,
)


@dataclass
class Registry:
    """The Authz stub, its credential collection, and an operator's call metadata."""

    stub: Any
    collection: Any
    operator: tuple[tuple[str, str]]

    async def register(self, request: authz_pb2.RegisterStationRequest) -> Any:
        return await self.stub.RegisterStation(request, metadata=self.operator)


async def bearer(keycloak_url: str, user: str) -> tuple[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(
            f"{keycloak_url}/realms/chargewatch/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "chargewatch-cli", "username": user, "password": user},
        )
        reply.raise_for_status()
    return (("authorization", f"Bearer {reply.json()['access_token']}"),)


@pytest.fixture
async def authz(mongo_url: str, keycloak_url: str) -> AsyncIterator[Registry]:
    mongo = create_mongo_client(mongo_url, app_name="authz-test")
    name = f"authz_{random.randrange(1 << 30)}"
    collection = mongo[name][COLLECTION]
    validator = AccessTokenValidator(f"{keycloak_url}/realms/chargewatch", "chargewatch-partner-api")
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(
        authz_pb2_grpc.add_AuthzServicer_to_server,
        AuthzServicer(StationCredentialStore(collection), validator),
        "chargewatch.v1.Authz",
    )
    await server.start()
    channel = client_channel(f"127.0.0.1:{server.port}")
    yield Registry(authz_pb2_grpc.AuthzStub(channel), collection, await bearer(keycloak_url, "operator"))
    await channel.close(None)
    await server.stop(0)
    await mongo.drop_database(name)
    await mongo.close()


async def authenticate(stub: Any, station: str, password: str, profile: int = P1) -> Any:
    return await stub.AuthenticateStation(
        authz_pb2.AuthenticateStationRequest(station_id=station, password=password, connection_profile=profile)
    )


async def test_register_then_authenticate(authz: Registry) -> None:
    stub, collection = authz.stub, authz.collection
    reply = await authz.register(
        authz_pb2.RegisterStationRequest(station_id="CP-1", tenant_id="partner-a", site_id="s1", security_profile=P1)
    )
    assert 16 <= len(reply.password) <= 40
    accepted = await authenticate(stub, "CP-1", reply.password)
    assert accepted.outcome == OUTCOME.OUTCOME_ACCEPTED
    assert (accepted.tenant_id, accepted.site_id, accepted.security_profile) == ("partner-a", "s1", P1)
    assert (await authenticate(stub, "CP-1", "not-the-password-1234")).outcome == OUTCOME.OUTCOME_BAD_CREDENTIALS
    assert (await authenticate(stub, "CP-404", reply.password)).outcome == OUTCOME.OUTCOME_UNKNOWN_STATION
    # The password is stored only as an argon2id hash.
    stored = await collection.find_one({"_id": "CP-1"})
    assert reply.password not in str(stored)
    assert stored["password_hash"].startswith("$argon2id$")


def outcome(record: Any, password: str, verified: VerifiedPasswords) -> Outcome:
    return check_connection_detail(
        record, password=password, connection_profile=Profile.BASIC, certificate_sha256="", verified=verified
    ).outcome


async def test_a_password_made_here_needs_no_second_argon2_run_at_first_login(
    authz: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = count_argon2(monkeypatch)
    reply = await authz.register(
        authz_pb2.RegisterStationRequest(station_id="CP-F1", tenant_id="partner-a", site_id="s1", security_profile=P1)
    )
    assert (await authenticate(authz.stub, "CP-F1", reply.password)).outcome == OUTCOME.OUTCOME_ACCEPTED
    assert hasher.calls == 0, "the registering process knew the password's hash"
    wrong = await authenticate(authz.stub, "CP-F1", "not-the-password-1234")
    assert wrong.outcome == OUTCOME.OUTCOME_BAD_CREDENTIALS
    assert hasher.calls == 1, "a wrong password is checked the slow way"
    # Another replica (its own memory) checks the same password the slow way, once.
    record = await authz.collection.find_one({"_id": "CP-F1"})
    elsewhere = VerifiedPasswords()
    assert outcome(record, reply.password, elsewhere) is Outcome.ACCEPTED
    assert outcome(record, reply.password, elsewhere) is Outcome.ACCEPTED
    assert hasher.calls == 2

    # A rotation's new password is remembered with its new hash; an aborted rotation puts the old
    # hash back, and the new password then matches nothing.
    store = StationCredentialStore(authz.collection)
    new_password, before = await store.begin_rotation("CP-F1")
    rotated = await authz.collection.find_one({"_id": "CP-F1"})
    assert outcome(rotated, new_password, store.verified) is Outcome.ACCEPTED
    assert hasher.calls == 2
    await store.abort_rotation("CP-F1", before)
    restored = await authz.collection.find_one({"_id": "CP-F1"})
    assert outcome(restored, new_password, store.verified) is Outcome.BAD_CREDENTIALS
    assert outcome(restored, reply.password, store.verified) is Outcome.ACCEPTED


async def test_refused_outcomes_carry_no_tenant(authz: Registry) -> None:
    stub = authz.stub
    await authz.register(
        authz_pb2.RegisterStationRequest(station_id="CP-2", tenant_id="partner-b", security_profile=P1)
    )
    refused = await authenticate(stub, "CP-2", "wrong-password-123456")
    assert refused.tenant_id == ""


async def test_a_station_cannot_connect_below_its_profile(authz: Registry) -> None:
    stub = authz.stub
    reply = await authz.register(
        authz_pb2.RegisterStationRequest(station_id="CP-TLS", tenant_id="partner-a", security_profile=P2)
    )
    assert (await authenticate(stub, "CP-TLS", reply.password, P1)).outcome == OUTCOME.OUTCOME_PROFILE_TOO_LOW
    assert (await authenticate(stub, "CP-TLS", reply.password, P2)).outcome == OUTCOME.OUTCOME_ACCEPTED
    mtls = await authz.register(
        authz_pb2.RegisterStationRequest(station_id="CP-MTLS", tenant_id="partner-a", security_profile=P3)
    )
    assert mtls.password == ""


async def test_registering_twice_and_invalid_input(authz: Registry) -> None:
    request = authz_pb2.RegisterStationRequest(station_id="CP-3", tenant_id="partner-a", security_profile=P1)
    await authz.register(request)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await authz.register(request)
    assert again.value.code() is grpc.StatusCode.ALREADY_EXISTS
    for bad in (
        authz_pb2.RegisterStationRequest(station_id="bad id", tenant_id="partner-a", security_profile=P1),
        authz_pb2.RegisterStationRequest(station_id="CP-4", tenant_id="Partner A", security_profile=P1),
        authz_pb2.RegisterStationRequest(station_id="CP-4", tenant_id="partner-a"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await authz.register(bad)
        assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_registering_needs_an_operator(authz: Registry, keycloak_url: str) -> None:
    request = authz_pb2.RegisterStationRequest(station_id="CP-5", tenant_id="partner-a", security_profile=P1)
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await authz.stub.RegisterStation(request)
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as partner:
        await authz.stub.RegisterStation(request, metadata=await bearer(keycloak_url, "partner-a"))
    assert partner.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert await authz.collection.find_one({"_id": "CP-5"}) is None  # nothing was minted
    assert (await authz.register(request)).password
