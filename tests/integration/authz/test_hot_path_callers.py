"""authz's hot paths (AuthenticateStation, Authorize, AuthorizeStream) admit only the platform's
service account: no token is refused, a person's token is refused, the gateway's client-credentials
token is served, and the stream is checked when it opens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from chargewatch.auth import ClientCredentialsToken
from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel, AuthorizeFailed
from chargewatch.rpc import stream_channel
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, events_pb2
from tests.integration.authz.conftest import REALM, SERVICES_SECRET, Harness, build_harness

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED


@pytest.fixture
async def guarded(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    async for harness in build_harness(mongo_url, redis_url, keycloak_url, service_callers_only=True):
        yield harness


async def service_token(h: Harness) -> str:
    token_url = f"{h.keycloak_url}/realms/{REALM}/protocol/openid-connect/token"
    return await ClientCredentialsToken(token_url, "chargewatch-services", SERVICES_SECRET, http=h.http).get()


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
