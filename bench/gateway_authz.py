"""A stand-in for authz in the gateway benchmark: AuthenticateStation answered from memory.

The gateway asks authz at every handshake. The real authz verifies an Argon2 hash (tens of
milliseconds of CPU by design) and reads Keycloak and Redis; that cost belongs to authz and would
swamp what the benchmark measures, so this process knows the benchmark's stations (`BENCH-00000`
...) and one password, compared as SHA-256 digests in constant time. It runs on a real gRPC
server (chargewatch.rpc.GrpcServer: health, reflection, the OpenTelemetry interceptor), so the
gateway's client, deadline and readiness probe are the production ones.

Run: `CW_BENCH_STATION_PASSWORD=... python -m bench.gateway_authz --port PORT --stations N`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import signal
from collections.abc import Sequence
from typing import Any

from bench.gateway_load import PASSWORD_VARIABLE, station_id
from chargewatch.rpc import GrpcServer
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2

_OUTCOME = authz_pb2.AuthenticateStationResponse
TENANT_ID = "tenant-bench"
SITE_ID = "site-bench"


class MemoryAuthz(authz_pb2_grpc.AuthzServicer):
    def __init__(self, station_count: int, password: str) -> None:
        self.stations = frozenset(station_id(index) for index in range(station_count))
        self._digest = hashlib.sha256(password.encode()).digest()

    async def AuthenticateStation(  # noqa: N802 (the gRPC method's name)
        self, request: authz_pb2.AuthenticateStationRequest, context: Any
    ) -> authz_pb2.AuthenticateStationResponse:
        if request.station_id not in self.stations:
            return _OUTCOME(outcome=_OUTCOME.OUTCOME_UNKNOWN_STATION)
        if not hmac.compare_digest(hashlib.sha256(request.password.encode()).digest(), self._digest):
            return _OUTCOME(outcome=_OUTCOME.OUTCOME_BAD_CREDENTIALS)
        return _OUTCOME(
            outcome=_OUTCOME.OUTCOME_ACCEPTED,
            tenant_id=TENANT_ID,
            site_id=SITE_ID,
            security_profile=common_pb2.SECURITY_PROFILE_1_BASIC,
            registration_status=common_pb2.REGISTRATION_STATUS_ACCEPTED,
        )


async def serve(port: int, station_count: int, password: str) -> None:
    server = GrpcServer("127.0.0.1", port)
    server.add_service(
        authz_pb2_grpc.add_AuthzServicer_to_server, MemoryAuthz(station_count, password), "chargewatch.v1.Authz"
    )
    await server.start()
    await server.set_serving(True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_authz", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stations", type=int, required=True, help="stations BENCH-00000 ... known")
    options = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise SystemExit(f"set {PASSWORD_VARIABLE} to the stations' password")
    asyncio.run(serve(options.port, options.stations, password))


if __name__ == "__main__":
    main()
