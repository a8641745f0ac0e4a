"""`python -m chargewatch.telemetry`: settings, telemetry, MongoDB, the stream consumer and the gRPC server."""

from __future__ import annotations

import asyncio

from chargewatch.config import instance_name
from chargewatch.mongo import ensure_indexes
from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.streams import ConsumerGroupWorker
from chargewatch.telemetry import registry
from chargewatch.telemetry.config import TelemetrySettings
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.ingest import FAMILIES, RegistryIngest
from chargewatch.v1 import telemetry_pb2_grpc


async def serve(settings: TelemetrySettings) -> None:
    runtime = ServiceRuntime("telemetry", settings)
    backends = connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    await ensure_indexes(backends.db, registry.indexes(settings.status_history_days))
    stations = registry.StationRegistry(backends.db)
    consumer = ConsumerGroupWorker(
        backends.redis,
        group=settings.consumer_group,
        consumer=instance_name(),
        families=FAMILIES,
        handler=RegistryIngest(stations),
        partitions=settings.stream_partitions,
        batch_size=settings.batch_size,
        claim_idle_ms=settings.claim_idle_ms,
        max_deliveries=settings.max_deliveries,
    )
    runtime.add_grpc_service(
        telemetry_pb2_grpc.add_TelemetryServicer_to_server, TelemetryServicer(stations), "chargewatch.v1.Telemetry"
    )
    runtime.add_worker("stream-consumer", consumer.run, consumer.stop)
    await runtime.run()


def main() -> None:
    asyncio.run(serve(TelemetrySettings()))


if __name__ == "__main__":
    main()
