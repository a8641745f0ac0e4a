"""`python -m chargewatch.ocpp_gateway`: settings, telemetry, Redis, authz, the OCPP endpoint and GatewayCommands."""

from __future__ import annotations

import uvloop

from chargewatch.auth import ClientCredentialsToken
from chargewatch.ocpp_gateway.auth import AUTHENTICATE_STATION, StationAuthenticator, authentication_cache
from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.dispatch import Dispatcher
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.forwarding import CommandForwarder
from chargewatch.ocpp_gateway.grpc_api import GatewayCommandsServicer
from chargewatch.ocpp_gateway.idempotency import CommandReplies
from chargewatch.ocpp_gateway.ownership import StationOwnership
from chargewatch.ocpp_gateway.server import OcppServer
from chargewatch.ocpp_gateway.sessions import SessionRegistry
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.rpc import client_channel, health_check, stream_channel
from chargewatch.service import ServiceRuntime
from chargewatch.service.redis_client import redis_client
from chargewatch.streams import EventPublisher
from chargewatch.v1 import authz_pb2_grpc, gateway_pb2_grpc

SERVICE = "ocpp-gateway"


async def serve(settings: GatewaySettings) -> None:
    runtime = ServiceRuntime(SERVICE, settings)
    # A bounded pool that waits for a free connection: with thousands of stations, concurrent
    # handshakes and messages would otherwise exceed a plain pool's limit and fail at once.
    redis = redis_client(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout_seconds=settings.redis_pool_timeout_seconds,
    )
    # Events go through their own few connections: every pipeline is bounded as a whole by the
    # publish timeout, so these leave out redis-py's per-reply read timeout (see events).
    stream_redis = redis_client(
        settings.redis_url,
        max_connections=4,
        timeout_seconds=settings.redis_pool_timeout_seconds,
        socket_timeout=None,
        socket_connect_timeout=settings.publish_timeout_seconds,
    )
    # authz authenticates its callers: the gateway calls it as the platform's service account.
    secret = settings.client_secret.get_secret_value()
    service_token = ClientCredentialsToken(settings.effective_token_url, settings.client_id, secret) if secret else None
    bearer = service_token.get if service_token is not None else None
    authz_channel = client_channel(
        settings.authz_target,
        idempotent_methods=[AUTHENTICATE_STATION],
        max_reconnect_backoff_seconds=settings.authz_reconnect_backoff_seconds,
        bearer=bearer,
    )
    # Driver authorizations: one stream multiplexing every Authorize of this process (authz_stream.py).
    authorize_stream = stream_channel(
        settings.authz_target, max_reconnect_backoff_seconds=settings.authz_reconnect_backoff_seconds
    )
    authorize_channel = AuthorizeChannel(authz_pb2_grpc.AuthzStub(authorize_stream), bearer=bearer)
    publisher = EventPublisher(
        stream_redis,
        partitions=settings.stream_partitions,
        max_len=settings.stream_max_len,
        producer=f"{SERVICE}/{settings.gateway_instance}",
    )
    events = GatewayEvents(
        publisher, settings.gateway_instance, publish_timeout_seconds=settings.publish_timeout_seconds
    )
    registry = SessionRegistry()
    ownership = StationOwnership(
        redis,
        instance=settings.gateway_instance,
        address=settings.advertised_grpc_address,
        ttl_seconds=settings.ownership_lease_ttl_seconds,
    )
    forwarder = CommandForwarder(ownership)
    auth_cache = authentication_cache(settings.auth_cache_seconds)
    server = OcppServer(
        settings,
        authenticator=StationAuthenticator(
            authz_pb2_grpc.AuthzStub(authz_channel), settings.authz_deadline_seconds, auth_cache
        ),
        events=events,
        dispatcher=Dispatcher(
            settings,
            events,
            authorizer=Authorizer.from_settings(authorize_channel, redis, events, settings),
            transactions=TransactionStore(redis, retention_hours=settings.transaction_retention_hours),
        ),
        registry=registry,
        ownership=ownership,
    )

    async def redis_up() -> bool:
        return bool(await redis.ping())

    async def authz_up() -> bool:
        return await health_check(authz_channel, "chargewatch.v1.Authz")

    runtime.depends_on("redis", redis_up)
    runtime.depends_on("authz", authz_up)
    runtime.depends_on("ocpp-endpoint", server.listening)
    runtime.authenticate_callers(settings)
    runtime.add_grpc_service(
        gateway_pb2_grpc.add_GatewayCommandsServicer_to_server,
        GatewayCommandsServicer(
            registry,
            settings,
            events=events,
            replies=CommandReplies(redis, ttl_seconds=settings.command_reply_ttl_seconds),
            forwarder=forwarder,
            authentication_cache=auth_cache,
        ),
        "chargewatch.v1.GatewayCommands",
    )
    runtime.add_worker("ocpp-server", server.run, server.stop)
    runtime.on_shutdown(redis.aclose)
    runtime.on_shutdown(stream_redis.aclose)
    runtime.on_shutdown(ownership.aclose)
    runtime.on_shutdown(publisher.aclose)
    runtime.on_shutdown(forwarder.close)
    runtime.on_shutdown(authorize_channel.close)
    runtime.on_shutdown(lambda: authorize_stream.close(None))
    runtime.on_shutdown(lambda: authz_channel.close(None))
    await runtime.run()


def main() -> None:
    # uvloop: the event loop's own work (sockets, callbacks, timers) for ten thousand stations
    # costs less than with asyncio's default loop.
    uvloop.run(serve(GatewaySettings()))


if __name__ == "__main__":
    main()
