"""`python -m chargewatch.authz`: settings, telemetry, MongoDB, Redis, Keycloak, the gateway client, gRPC."""

from __future__ import annotations

import asyncio

import httpx
import uvloop

from chargewatch.auth import AccessTokenValidator, ClientCredentialsToken
from chargewatch.authz import blocks, credentials, policies, tokens
from chargewatch.authz.authorizer import Authorizer, DecisionPublisher, StationDirectory, reload_periodically
from chargewatch.authz.blocks import BlockStore
from chargewatch.authz.cache import TokenCache, TrackedReads
from chargewatch.authz.config import AuthzSettings
from chargewatch.authz.directory import KeycloakDirectory
from chargewatch.authz.gateway import GatewayCommandsClient
from chargewatch.authz.grpc_api import AuthzServicer
from chargewatch.authz.health import IdentityProviderMonitor
from chargewatch.authz.local_lists import LocalLists
from chargewatch.authz.management import StationActions, TokenManager
from chargewatch.authz.pipelined_redis import PipelinedRedis
from chargewatch.authz.sessions import SessionTracker
from chargewatch.config import instance_name
from chargewatch.mongo import ensure_indexes
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.service import ServiceRuntime, tune_garbage_collector
from chargewatch.service.redis_client import redis_client
from chargewatch.service.wiring import connect_backends
from chargewatch.streams import ConsumerGroupWorker, EventPublisher, StreamFamily
from chargewatch.v1 import authz_pb2_grpc, gateway_pb2_grpc

# The consumer group ending concurrent sessions when the gateway reports a transaction ENDED.
SESSIONS_GROUP = "authz-sessions"


async def serve(settings: AuthzSettings) -> None:
    runtime = ServiceRuntime("authz", settings)
    credentials.HASHING.configure(settings.password_hash_threads)
    backends = connect_backends(
        runtime, redis_url=settings.redis_url, mongo_url=settings.mongo_url, database=settings.mongo_database
    )
    db = backends.db
    # Authorize's own pool: a burst of calls waits for a connection instead of failing.
    hot_redis = redis_client(settings.redis_url, max_connections=64, timeout_seconds=1.0)
    runtime.on_shutdown(hot_redis.aclose)
    # Authorize's lookups, reservations and decisions: one pipelined connection (pipelined_redis.py),
    # tracked by Redis so that what a lookup read can be kept in memory until Redis says it changed.
    tracked = TrackedReads(settings.tracked_token_cache_seconds) if settings.tracked_token_cache_seconds else None
    pipelined = PipelinedRedis(settings.redis_url, timeout_seconds=1.0, tracking=tracked)
    runtime.on_shutdown(pipelined.aclose)
    # Spans only for the calls the sampler keeps: authz follows the gateway's (head) sampling.
    runtime.grpc = GrpcServer(
        settings.grpc_host,
        settings.grpc_port,
        sampled_tracing=True,
        reuse_port=settings.grpc_reuse_port,
        generic_handlers_only=True,
    )
    await ensure_indexes(db, [*credentials.INDEXES, *tokens.INDEXES, *policies.INDEXES, *blocks.INDEXES])
    http = httpx.AsyncClient(timeout=5.0)
    validator = AccessTokenValidator(settings.issuer, settings.api_audience, http=http)
    directory = KeycloakDirectory(
        settings.keycloak_url,
        settings.keycloak_realm,
        settings.keycloak_client_id,
        settings.keycloak_client_secret.get_secret_value(),
        timeout_seconds=settings.keycloak_timeout_seconds,
    )
    # The gateway authenticates its callers: authz calls it as the platform's service account.
    secret = settings.keycloak_client_secret.get_secret_value()
    service_token = (
        ClientCredentialsToken(
            f"{settings.issuer}/protocol/openid-connect/token", settings.keycloak_client_id, secret, http=http
        )
        if secret
        else None
    )
    gateway_channel = client_channel(
        settings.gateway_target,
        idempotent_methods=["chargewatch.v1.GatewayCommands/GetConnection"],
        default_deadline=settings.gateway_deadline_seconds,
        bearer=service_token.get if service_token is not None else None,
    )
    gateway = GatewayCommandsClient(
        gateway_pb2_grpc.GatewayCommandsStub(gateway_channel), settings.gateway_deadline_seconds
    )

    credential_store = credentials.StationCredentialStore(
        db[credentials.COLLECTION], initial_registration=settings.new_station_registration
    )
    token_store = tokens.TokenStore(db[tokens.COLLECTION])
    policy_store = policies.PolicyStore(db[policies.COLLECTION])
    block_store = BlockStore(db)
    stations = StationDirectory(credential_store)
    sessions = SessionTracker(hot_redis, pipelined, local_seconds=settings.local_token_cache_seconds, tracked=tracked)
    token_cache = TokenCache(
        hot_redis,
        keep_seconds=settings.token_cache_seconds,
        unknown_seconds=settings.unknown_token_cache_seconds,
        local_seconds=settings.local_token_cache_seconds,
    )
    if tracked is not None:
        tracked.watch(token_cache.local)
    publisher = EventPublisher(
        hot_redis, partitions=settings.stream_partitions, max_len=settings.stream_max_len, producer="authz"
    )
    runtime.on_shutdown(publisher.aclose)
    authorizer = Authorizer(
        tokens=token_store,
        cache=token_cache,
        directory=directory,
        stations=stations,
        policies=policy_store,
        blocks=block_store,
        sessions=sessions,
        decisions=DecisionPublisher(publisher, pipelined),
        refresh_seconds=settings.token_refresh_seconds,
        default_max_concurrent=settings.default_max_concurrent_sessions,
        default_max_session_seconds=settings.default_max_session_seconds,
    )
    await policy_store.reload()
    await block_store.reload()

    runtime.depends_on("identity-provider-keys", validator.ready)
    runtime.add_grpc_service(
        authz_pb2_grpc.add_AuthzServicer_to_server,
        AuthzServicer(
            credential_store,
            validator,
            authorizer=authorizer,
            token_store=token_store,
            token_manager=TokenManager(token_store, authorizer, directory, block_store),
            policies=policy_store,
            blocks=block_store,
            station_actions=StationActions(credential_store, block_store, gateway),
            stations=stations,
            local_lists=LocalLists(
                db,
                tokens=token_store,
                policies=policy_store,
                blocks=block_store,
                credentials=credential_store,
                gateway=gateway,
            ),
            service_callers_only=settings.require_caller_token,
        ),
        "chargewatch.v1.Authz",
    )
    # Keycloak being down degrades authz (cached tokens only) without taking it out of service.
    assert runtime.grpc is not None
    monitor = IdentityProviderMonitor(directory.reachable, runtime.grpc.health)
    stop = asyncio.Event()
    runtime.add_worker(
        "identity-provider-monitor",
        lambda: monitor.run(settings.identity_provider_check_seconds, stop),
        stop.set,
    )
    runtime.add_worker(
        "policy-reload",
        lambda: reload_periodically([policy_store.reload, block_store.reload], settings.policy_refresh_seconds, stop),
        stop.set,
    )
    sessions_worker = ConsumerGroupWorker(
        backends.redis,
        group=SESSIONS_GROUP,
        consumer=instance_name(),
        families=[StreamFamily.TRANSACTION],
        partitions=settings.stream_partitions,
        handler=sessions.handle_transactions,
    )
    runtime.add_worker("transaction-sessions", sessions_worker.run, sessions_worker.stop)
    runtime.on_shutdown(http.aclose)
    runtime.on_shutdown(directory.close)
    runtime.on_shutdown(lambda: gateway_channel.close(None))
    runtime.on_shutdown(authorizer.close)
    # What start-up built lives as long as the process: out of the collector's passes, which
    # otherwise stop every decision in flight for as long as they take to walk it (bench_authz).
    tune_garbage_collector(settings.gc_young_threshold)
    await runtime.run()


def main() -> None:
    # uvloop: a third less CPU per gRPC call than asyncio's own loop (bench/bench_authz.py).
    uvloop.run(serve(AuthzSettings()))


if __name__ == "__main__":
    main()
