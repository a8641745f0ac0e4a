"""`python -m chargewatch.sla_engine`: settings, telemetry, Redis, MongoDB and the gRPC server.

The `Sla` API is registered so clients and probes see the service; its methods answer
UNIMPLEMENTED until the sla-engine issue gives them their domain logic.
"""

from __future__ import annotations

import asyncio

from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.sla_engine.config import SlaEngineSettings
from chargewatch.sla_engine.grpc_api import SlaServicer
from chargewatch.v1 import sla_pb2_grpc


async def serve(settings: SlaEngineSettings) -> None:
    runtime = ServiceRuntime("sla-engine", settings)
    connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    runtime.add_grpc_service(sla_pb2_grpc.add_SlaServicer_to_server, SlaServicer(), "chargewatch.v1.Sla")
    await runtime.run()


def main() -> None:
    asyncio.run(serve(SlaEngineSettings()))


if __name__ == "__main__":
    main()
