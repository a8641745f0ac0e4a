"""authz's hot paths (AuthenticateStation, Authorize, AuthorizeStream) admit only the platform's
service account: no token is refused, a person's token is refused, the gateway's client-credentials
token is served, and the stream is checked when it opens and outlives no token: past its expiry
its calls are refused undecided and the gateway asks again over a stream with its fresh token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import jwt
import orjson
import pytest

from chargewatch.auth import ClientCredentialsToken
from chargewatch.devidp.config import REPOSITORY_REALM
from chargewatch.devstack.processes import ManagedProcess, start_identity_provider
from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel, AuthorizeFailed
from chargewatch.rpc import stream_channel
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, events_pb2
from tests.integration.authz.conftest import REALM, SERVICES_SECRET, Harness, build_harness

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
# The service account's token lifetime in the short-lived realm (seconds).
SHORT_LIFESPAN = 3


@pytest.fixture
async def guarded(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    async for harness in build_harness(mongo_url, redis_url, keycloak_url, service_callers_only=True):
        yield harness


@pytest.fixture(scope="module")
def short_lived_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """An identity provider whose service-account tokens live SHORT_LIFESPAN seconds."""
    realm = orjson.loads(REPOSITORY_REALM.read_bytes())
    for client in realm["clients"]:
        if client["clientId"] == "chargewatch-services":
            client.setdefault("attributes", {})["access.token.lifespan"] = str(SHORT_LIFESPAN)
    folder = tmp_path_factory.mktemp("short-lived-idp")
    (folder / "realm.json").write_bytes(orjson.dumps(realm))
    server = start_identity_provider(log_dir=folder, env={"CW_DEVIDP_REALM_FILE": str(folder / "realm.json")})
    yield server
    server.stop()


@pytest.fixture
async def short_lived(mongo_url: str, redis_url: str, short_lived_idp: ManagedProcess) -> AsyncIterator[Harness]:
    # No leeway: a token is done with at its expiry, so the test need not wait half a minute more.
    url = f"http://127.0.0.1:{short_lived_idp.port}"
    async for harness in build_harness(mongo_url, redis_url, url, service_callers_only=True, leeway_seconds=0):
        yield harness


def token_source(h: Harness, *, renew_before_seconds: float = 30.0) -> ClientCredentialsToken:
    token_url = f"{h.keycloak_url}/realms/{REALM}/protocol/openid-connect/token"
    return ClientCredentialsToken(
        token_url, "chargewatch-services", SERVICES_SECRET, http=h.http, renew_before_seconds=renew_before_seconds
    )


async def service_token(h: Harness) -> str:
    return await token_source(h).get()


async def test_the_hot_paths_refuse_anyone_but_the_service_account(guarded: Harness) -> None:
    h = guarded
    password = await h.register("CP-HP1")
    request = authz_pb2.AuthorizeRequest(station_id="CP-HP1", id_token="04AABBCCDD", id_token_type="ISO14443")
    login = authz_pb2.AuthenticateStationRequest(
        station_id="CP-HP1", password=password, connection_profile=common_pb2.SECURITY_PROFILE_1_BASIC
    )
    person = await h.as_user("operator")  # an operator, but a person: not a service
    for metadata, code in ((None, grpc.StatusCode.UNAUTHENTICATED), (person, grpc.StatusCode.PERMISSION_DENIED)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await h.stub.Authorize(request, metadata=metadata)
        assert refused.value.code() is code
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await h.stub.AuthenticateStation(login, metadata=metadata)
        assert refused.value.code() is code
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await h.stub.Authorize(request, metadata=(("authorization", "Bearer not-a-token"),))
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

    service = (("authorization", f"Bearer {await service_token(h)}"),)
    outcome = (await h.stub.AuthenticateStation(login, metadata=service)).outcome
    assert outcome == authz_pb2.AuthenticateStationResponse.OUTCOME_ACCEPTED
    assert (await h.stub.Authorize(request, metadata=service)).status != 0, "decided"


async def test_the_gateways_stream_carries_its_token_and_one_without_is_refused(guarded: Harness) -> None:
    h = guarded
    await h.register("CP-HP2")
    request = authz_pb2.AuthorizeRequest(station_id="CP-HP2", id_token="04AABBCCEE", id_token_type="ISO14443")
    channel = stream_channel(f"127.0.0.1:{h.server.port}")
    try:
        anonymous = AuthorizeChannel(authz_pb2_grpc.AuthzStub(channel))
        with pytest.raises(AuthorizeFailed) as refused:
            await anonymous.authorize(request, 5.0)
        assert refused.value.code is grpc.StatusCode.UNAUTHENTICATED
        await anonymous.close()

        async def bearer() -> str:
            return await service_token(h)

        gateway = AuthorizeChannel(authz_pb2_grpc.AuthzStub(channel), bearer=bearer)
        answers = [await gateway.authorize(request, 5.0) for _ in range(3)]
        assert all(a.status != 0 for a in answers), "decided, over one authenticated stream"
        await gateway.close()
    finally:
        await channel.close(None)


async def test_a_stream_outlives_no_token_and_the_gateway_moves_to_its_fresh_one(short_lived: Harness) -> None:
    h = short_lived
    await h.register("CP-HP3")
    request = authz_pb2.AuthorizeRequest(station_id="CP-HP3", id_token="04AABBCCFF", id_token_type="ISO14443")
    # Renewed 1.5 s before it expires, as the gateway's is 30 s before.
    source = token_source(h, renew_before_seconds=1.5)
    first = await source.get()
    channel = stream_channel(f"127.0.0.1:{h.server.port}")
    try:
        # A stream opened with a token that then expires: its calls are refused, undecided.
        stale = authz_pb2_grpc.AuthzStub(channel).AuthorizeStream(  # type: ignore[call-arg]
            metadata=(("authorization", f"Bearer {first}"),)
        )
        call = authz_pb2.AuthorizeCall(call_id=1, request=request)
        await stale.write(authz_pb2.AuthorizeCalls(calls=[call]))
        assert (await stale.read()).answers[0].response.status != 0, "decided while the token is valid"
        opened_with: list[str] = []

        async def bearer() -> str:
            token = await source.get()
            opened_with.append(token)
            return token

        gateway = AuthorizeChannel(authz_pb2_grpc.AuthzStub(channel), bearer=bearer)
        assert (await gateway.authorize(request, 5.0)).status != 0
        assert opened_with == [first]
        decided = len(await h.redis.xrange(stream_name(StreamFamily.AUTHORIZATION, 0)))

        expires_at = jwt.decode(first, options={"verify_signature": False})["exp"]
        await asyncio.sleep(expires_at + 0.2 - time.time())
        await stale.write(authz_pb2.AuthorizeCalls(calls=[authz_pb2.AuthorizeCall(call_id=2, request=request)]))
        refused = (await stale.read()).answers[0]
        assert refused.status_code == grpc.StatusCode.UNAUTHENTICATED.value[0]
        assert "expired" in refused.status_message and not refused.HasField("response")
        await stale.done_writing()
        assert await stale.code() is grpc.StatusCode.OK

        # The gateway's stream was opened with `first` too: its call is refused there, then asked
        # again over a new stream opened with the renewed token, and decided once.
        assert (await gateway.authorize(request, 5.0)).status != 0
        assert len(opened_with) == 2 and opened_with[1] != first
        assert len(await h.redis.xrange(stream_name(StreamFamily.AUTHORIZATION, 0))) == decided + 1
        assert (await gateway.authorize(request, 5.0)).status != 0
        assert len(opened_with) == 2, "the new stream serves the next calls"
        await gateway.close()
    finally:
        await channel.close(None)
