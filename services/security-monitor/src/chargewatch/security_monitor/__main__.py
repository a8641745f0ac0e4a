"""`python -m chargewatch.security_monitor`: settings, telemetry, Redis, MongoDB, clients, the leader role
and the gRPC server.

Every replica serves the `Security` API; the one holding the leader lease consumes the streams, raises
alerts and carries out responses (see `leadership`).
"""

from __future__ import annotations

import asyncio

import httpx

from chargewatch.auth import ClientCredentialsToken
from chargewatch.config import instance_name
from chargewatch.mongo import ensure_indexes
from chargewatch.rpc import client_channel
from chargewatch.security_monitor import store
from chargewatch.security_monitor.alerts import AlertBook
from chargewatch.security_monitor.catalogue import Parameters
from chargewatch.security_monitor.certificates import CertificateInventory
from chargewatch.security_monitor.config import SecurityMonitorSettings
from chargewatch.security_monitor.directory import StationDirectory
from chargewatch.security_monitor.engine import DetectionEngine, MaintenanceWindows
from chargewatch.security_monitor.grpc_api import SecurityServicer
from chargewatch.security_monitor.leader import LeaderLease
from chargewatch.security_monitor.leadership import LeaderRole
from chargewatch.security_monitor.monitor import periodic, tune_gc
from chargewatch.security_monitor.responses import PolicyStore, ResponseClients, ResponseEngine
from chargewatch.service import ServiceRuntime
from chargewatch.service.wiring import connect_backends
from chargewatch.streams import EventPublisher
from chargewatch.v1 import authz_pb2_grpc, gateway_pb2_grpc, security_pb2_grpc, telemetry_pb2_grpc

SERVICE = "security-monitor"
LEASE_KEY = "cw:security-monitor:leader"


def tls_stations(engine: DetectionEngine) -> dict[str, tuple[int, str]]:
    return {sid: (p.security_profile, p.tenant_id) for sid, p in engine.stations.items() if p.security_profile >= 2}


async def serve(settings: SecurityMonitorSettings) -> None:
    runtime = ServiceRuntime(SERVICE, settings)
    backends = connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    await ensure_indexes(backends.db, store.indexes(settings.alert_retention_days))
    collections = store.Collections(backends.db)
    parameters = Parameters(settings.rule_parameters)
    disabled = frozenset(settings.disabled_rules)
    instance = instance_name()
    publisher = EventPublisher(
        backends.redis,
        partitions=settings.stream_partitions,
        max_len=settings.stream_max_len,
        producer=f"{SERVICE}/{instance}",
    )
    runtime.on_shutdown(publisher.aclose)
    alerts = AlertBook(collections, publisher)
    policies = PolicyStore(collections)
    await policies.reload()

    deadline = settings.rpc_deadline_seconds
    authz_channel = client_channel(settings.authz_target, default_deadline=deadline)
    gateway_channel = client_channel(settings.gateway_target, default_deadline=deadline)
    http = httpx.AsyncClient(timeout=deadline)
    secret = settings.client_secret.get_secret_value()
    token = (
        ClientCredentialsToken(settings.effective_token_url, settings.client_id, secret, http=http) if secret else None
    )
    # Telemetry authenticates its callers too: station listings go with the service account's token.
    telemetry_channel = client_channel(
        settings.telemetry_target,
        idempotent_methods=["chargewatch.v1.Telemetry/ListStations", "chargewatch.v1.Telemetry/GetStation"],
        default_deadline=deadline,
        bearer=token.get if token is not None else None,
    )
    clients = ResponseClients(
        authz_pb2_grpc.AuthzStub(authz_channel),
        gateway_pb2_grpc.GatewayCommandsStub(gateway_channel),
        token,
        deadline_seconds=deadline,
    )
    responses = ResponseEngine(collections, policies, clients, mode=settings.response_mode)
    directory = StationDirectory(
        telemetry_pb2_grpc.TelemetryStub(telemetry_channel),
        refresh_seconds=settings.station_refresh_seconds,
        deadline_seconds=min(deadline, 2.0),
    )

    def inventory(engine: DetectionEngine) -> CertificateInventory:
        return CertificateInventory(
            collections,
            parameters,
            certificate_files=settings.certificate_files,
            crl_files=settings.crl_files,
            clients=clients if token is not None else None,
            tls_stations=lambda: tls_stations(engine),
            scan_seconds=settings.certificate_scan_seconds,
        )

    role = LeaderRole(
        redis=backends.redis,
        lease=LeaderLease(backends.redis, LEASE_KEY, instance, settings.leader_lease_seconds),
        alerts=alerts,
        responses=responses,
        directory=directory,
        inventory=inventory,
        parameters=parameters,
        disabled_rules=disabled,
        maintenance=MaintenanceWindows(settings.maintenance_windows, settings.maintenance_timezone),
        consumer_group=settings.consumer_group,
        partitions=settings.stream_partitions,
        batch_size=settings.batch_size,
        claim_idle_ms=settings.claim_idle_ms,
        max_deliveries=settings.max_deliveries,
        checkpoint_seconds=settings.checkpoint_seconds,
    )
    runtime.authenticate_callers(settings)
    runtime.add_grpc_service(
        security_pb2_grpc.add_SecurityServicer_to_server,
        SecurityServicer(
            collections,
            alerts,
            policies,
            responses,
            parameters,
            disabled_rules=disabled,
            live_engine=role.engine,
        ),
        "chargewatch.v1.Security",
    )
    runtime.add_worker("leader", role.run, role.stop)
    # Policies changed through another replica's API reach the leader within seconds.
    reload_stop = asyncio.Event()
    runtime.add_worker(
        "policy-reload", lambda: periodic(5.0, reload_stop, policies.reload, "policy reload"), reload_stop.set
    )
    runtime.on_shutdown(http.aclose)
    runtime.on_shutdown(lambda: authz_channel.close(None))
    runtime.on_shutdown(lambda: gateway_channel.close(None))
    runtime.on_shutdown(lambda: telemetry_channel.close(None))
    await runtime.run()


def main() -> None:
    tune_gc()
    asyncio.run(serve(SecurityMonitorSettings()))


if __name__ == "__main__":
    main()
