"""`python -m chargewatch.telemetry`: settings, telemetry, MongoDB, the stream consumer, the
roll-up downsampler and the gRPC server."""

from __future__ import annotations

import asyncio

from chargewatch.config import instance_name
from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.streams import ConsumerGroupWorker, EventPublisher
from chargewatch.telemetry import meters, registry, retention, sessions
from chargewatch.telemetry.config import TelemetrySettings
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.ingest import FAMILIES, PRODUCER, TelemetryIngest
from chargewatch.telemetry.readings import QualityLimits
from chargewatch.v1 import telemetry_pb2_grpc


def quality_limits(settings: TelemetrySettings) -> QualityLimits:
    return QualityLimits(
        clock_skew_seconds=settings.clock_skew_seconds,
        gap_seconds=settings.gap_seconds,
        power_tolerance=settings.power_tolerance,
        absolute_max_power_w=settings.absolute_max_power_w,
    )


async def serve(settings: TelemetrySettings) -> None:
    runtime = ServiceRuntime("telemetry", settings)
    backends = connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    sweep_rules = await retention.prepare(
        backends.mongo,
        backends.db,
        [
            *registry.indexes(settings.status_history_days),
            *meters.indexes(settings.raw_retention_days, settings.rollup_retention_days),
            *sessions.indexes(settings.rollup_retention_days),
        ],
        settings.retention_mode,
    )
    stations = registry.StationRegistry(backends.db)
    meter_store = meters.MeterStore(backends.db)
    session_store = sessions.SessionStore(backends.db)
    publisher = EventPublisher(
        backends.redis,
        partitions=settings.stream_partitions,
        max_len=settings.stream_max_len,
        producer=f"{PRODUCER}/{instance_name()}",
    )
    runtime.on_shutdown(publisher.aclose)
    ingest = TelemetryIngest(
        stations,
        meter_store,
        session_store,
        publisher,
        quality_limits(settings),
        last_seen_resolution_ms=int(settings.last_seen_resolution_s * 1000),
        spec_cache_seconds=settings.spec_cache_s,
    )
    consumer = ConsumerGroupWorker(
        backends.redis,
        group=settings.consumer_group,
        consumer=instance_name(),
        families=FAMILIES,
        handler=ingest,
        partitions=settings.stream_partitions,
        batch_size=settings.batch_size,
        claim_idle_ms=settings.claim_idle_ms,
        max_deliveries=settings.max_deliveries,
    )
    rollups = meters.RollupWorker(
        meters.Downsampler(
            backends.db,
            raw_days=settings.raw_retention_days,
            session_refresh_s=settings.session_refresh_s,
            on_sessions=session_store.recompute,
            on_latest=stations.record_latest,
        ),
        settings.rollup_interval_s,
    )
    runtime.authenticate_callers(settings)
    runtime.add_grpc_service(
        telemetry_pb2_grpc.add_TelemetryServicer_to_server,
        TelemetryServicer(stations, meter_store, session_store, session_min_energy_wh=settings.session_min_energy_wh),
        "chargewatch.v1.Telemetry",
    )
    runtime.add_worker("stream-consumer", consumer.run, consumer.stop)
    runtime.add_worker("rollup-downsampler", rollups.run, rollups.stop)
    sweeper = retention.Sweeper(backends.db, sweep_rules, settings.retention_sweep_s)
    runtime.add_worker("retention-sweep", sweeper.run, sweeper.stop)
    await runtime.run()


def main() -> None:
    asyncio.run(serve(TelemetrySettings()))


if __name__ == "__main__":
    main()
