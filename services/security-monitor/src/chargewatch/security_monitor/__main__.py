"""`python -m chargewatch.security_monitor`: settings, telemetry, Redis, MongoDB and the gRPC server.

The `Security` API is registered so clients and probes see the service; its methods answer
UNIMPLEMENTED until the security-monitor issue gives them their domain logic.
"""

from __future__ import annotations

import asyncio

from chargewatch.security_monitor.config import SecurityMonitorSettings
from chargewatch.security_monitor.grpc_api import SecurityServicer
from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.v1 import security_pb2_grpc


async def serve(settings: SecurityMonitorSettings) -> None:
    runtime = ServiceRuntime("security-monitor", settings)
    connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    runtime.add_grpc_service(
        security_pb2_grpc.add_SecurityServicer_to_server, SecurityServicer(), "chargewatch.v1.Security"
    )
    await runtime.run()


def main() -> None:
    asyncio.run(serve(SecurityMonitorSettings()))


if __name__ == "__main__":
    main()
