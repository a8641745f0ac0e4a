"""A full hashing queue is answered RESOURCE_EXHAUSTED with gRPC's retry pushback, and the gateway's
channel (which retries RESOURCE_EXHAUSTED for AuthenticateStation) then does not ask again at once."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from chargewatch.authz.grpc_api import RETRY_PUSHBACK
from chargewatch.ocpp_gateway.auth import AUTHENTICATE_STATION
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.v1 import authz_pb2, authz_pb2_grpc

pytestmark = pytest.mark.integration


class Busy(authz_pb2_grpc.AuthzServicer):
    def __init__(self, *, pushback: bool) -> None:
        self.pushback = pushback
        self.calls = 0

    async def AuthenticateStation(self, request: Any, context: Any) -> Any:
        self.calls += 1
        trailing = ((RETRY_PUSHBACK, "-1"),) if self.pushback else ()
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy", trailing_metadata=trailing)


@pytest.mark.parametrize(("pushback", "attempts"), [(True, 1), (False, 4)])
async def test_pushback_stops_the_gateways_retries(pushback: bool, attempts: int) -> None:
    busy = Busy(pushback=pushback)
    server = GrpcServer("127.0.0.1", 0)
    server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, busy, "chargewatch.v1.Authz")
    await server.start()
    # As the gateway's __main__ builds its authz channel.
    channel = client_channel(f"127.0.0.1:{server.port}", idempotent_methods=[AUTHENTICATE_STATION])
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await authz_pb2_grpc.AuthzStub(channel).AuthenticateStation(
                authz_pb2.AuthenticateStationRequest(station_id="CP-1"), timeout=5
            )
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert busy.calls == attempts
    finally:
        await channel.close(None)
        await server.stop(0)
