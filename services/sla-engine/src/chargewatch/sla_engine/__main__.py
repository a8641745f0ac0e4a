"""`python -m chargewatch.sla_engine`: settings, telemetry, Redis, MongoDB, the stream engine
(partition leases, consumers, flushes, sweeps), the site directory and the gRPC server."""

from __future__ import annotations

import asyncio
import gc

from chargewatch.auth import ClientCredentialsToken
from chargewatch.config import instance_name
from chargewatch.mongo import ensure_indexes
from chargewatch.rpc import client_channel
from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.sla_engine import instruments, reports, store
from chargewatch.sla_engine.config import SlaEngineSettings
from chargewatch.sla_engine.directory import SiteDirectory
from chargewatch.sla_engine.engine import Engine, EngineSettings
from chargewatch.sla_engine.grpc_api import ApiSettings, SlaServicer
from chargewatch.sla_engine.processor import PRODUCER, ProcessorSettings
from chargewatch.sla_engine.profiles import ProfileCache
from chargewatch.sla_engine.queries import Queries
from chargewatch.sla_engine.sweeper import Sweeper, SweepSettings
from chargewatch.streams import EventPublisher
from chargewatch.v1 import sla_pb2_grpc, telemetry_pb2_grpc


def processor_settings(settings: SlaEngineSettings) -> ProcessorSettings:
    return ProcessorSettings(
        heartbeat_interval_ms=settings.heartbeat_interval_seconds * 1000,
        heartbeat_grace_ms=settings.heartbeat_grace_seconds * 1000,
        flap_window_ms=settings.flap_window_seconds * 1000,
        reorder_horizon_ms=settings.reorder_horizon_seconds * 1000,
        tail_max=settings.tail_max,
        retention_ms=settings.retention_days * 86_400_000,
        clock_skew_ms=settings.clock_skew_seconds * 1000,
        soc_limit_percent=settings.soc_limit_percent,
        alert_horizon_ms=int(settings.alert_horizon_hours * 3_600_000),
    )


def engine_settings(settings: SlaEngineSettings, instance: str) -> EngineSettings:
    return EngineSettings(
        consumer_group=settings.consumer_group,
        partitions=settings.stream_partitions,
        instance=instance,
        lease_ttl_ms=int(settings.lease_ttl_seconds * 1000),
        batch_size=settings.batch_size,
        block_ms=settings.block_ms,
        claim_idle_ms=settings.claim_idle_ms,
        max_deliveries=settings.max_deliveries,
        flush_interval_s=settings.flush_interval_seconds,
        silence_check_s=settings.silence_check_seconds,
        profile_reload_s=settings.profile_reload_seconds,
    )


async def serve(settings: SlaEngineSettings) -> None:
    runtime = ServiceRuntime("sla-engine", settings)
    backends = connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    await ensure_indexes(backends.db, store.indexes())
    sla_store = store.SlaStore(backends.db)
    instance = instance_name()
    publisher = EventPublisher(
        backends.redis,
        partitions=settings.stream_partitions,
        max_len=settings.stream_max_len,
        producer=f"{PRODUCER}/{instance}",
    )
    runtime.on_shutdown(publisher.aclose)
    stub: telemetry_pb2_grpc.TelemetryAsyncStub | None = None
    # Telemetry authenticates its callers: the engine calls as the platform's service account.
    secret = settings.client_secret.get_secret_value()
    service_token = ClientCredentialsToken(settings.effective_token_url, settings.client_id, secret) if secret else None
    if settings.telemetry_target:
        telemetry = client_channel(
            settings.telemetry_target,
            idempotent_methods=["chargewatch.v1.Telemetry/GetStation"],
            default_deadline=settings.telemetry_deadline_seconds,
            bearer=service_token.get if service_token is not None else None,
        )
        runtime.on_shutdown(lambda: telemetry.close(None))
        stub = telemetry_pb2_grpc.TelemetryStub(telemetry)
    directory = SiteDirectory(stub, ttl_s=settings.site_cache_seconds, deadline_s=settings.telemetry_deadline_seconds)
    queries = Queries(sla_store, default_target=settings.default_target_percent)
    sweeper = Sweeper(
        queries,
        publisher,
        SweepSettings(
            default_acknowledge_minutes=settings.default_acknowledge_minutes,
            default_restore_minutes=settings.default_restore_minutes,
            warn_fraction=settings.forecast_warn_fraction,
            interval_s=settings.sweep_interval_seconds,
            retention_ms=settings.retention_days * 86_400_000,
        ),
    )
    engine = Engine(
        backends.redis,
        sla_store,
        publisher,
        ProfileCache(),
        directory,
        processor_settings(settings),
        engine_settings(settings, instance),
        on_partition_sweep=sweeper.maybe_sweep,
    )
    instruments.observe_ports(lambda: engine.processors)
    builder = reports.ReportBuilder(
        queries, min_energy_wh=settings.session_min_energy_wh, retry_window_ms=settings.retry_window_minutes * 60_000
    )
    runtime.authenticate_callers(settings)
    servicer = SlaServicer(
        queries,
        builder,
        ApiSettings(
            default_target_percent=settings.default_target_percent,
            forecast_warn_fraction=settings.forecast_warn_fraction,
            exclusion_four_eyes=settings.exclusion_four_eyes,
        ),
    )
    runtime.add_grpc_service(sla_pb2_grpc.add_SlaServicer_to_server, servicer, "chargewatch.v1.Sla")
    runtime.add_worker("stream-engine", engine.run, engine.stop)
    runtime.add_worker("site-directory", directory.run, directory.stop)
    await runtime.run()


def main() -> None:
    # Fewer, larger young-generation collections: the consumer allocates many short-lived objects
    # per batch, and each collection is a pause on the path from an event to its alert.
    gc.set_threshold(50_000, 20, 20)
    asyncio.run(serve(SlaEngineSettings()))


if __name__ == "__main__":
    main()
