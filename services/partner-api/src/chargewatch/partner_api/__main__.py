"""`python -m chargewatch.partner_api`: settings, telemetry, service clients, live events, webhooks, HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import redis.asyncio as aioredis
import uvicorn
import uvloop

from chargewatch.auth import AccessTokenValidator
from chargewatch.config import instance_name
from chargewatch.mongo import create_mongo_client, ensure_indexes, ping
from chargewatch.partner_api import webhooks
from chargewatch.partner_api.app import create_app
from chargewatch.partner_api.auth import CachedTokenValidator
from chargewatch.partner_api.cache import ResponseCache
from chargewatch.partner_api.clients import ForwardCallerToken, ServiceClients
from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.partner_api.events import FAMILIES, EventHub
from chargewatch.partner_api.ratelimit import RateLimiter
from chargewatch.partner_api.services import Services
from chargewatch.rpc import health_check
from chargewatch.service import ServiceRuntime
from chargewatch.streams import ConsumerGroupWorker


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service runtime owns SIGTERM and drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: PartnerApiSettings) -> None:
    # The API serves /healthz, /readyz and /metrics itself, on its public port.
    runtime = ServiceRuntime("partner-api", settings, ops_server=False)
    clients = ServiceClients.connect(settings)
    http = httpx.AsyncClient(timeout=5.0)
    validator = AccessTokenValidator(
        settings.issuer, settings.api_audience, http=http, leeway_seconds=settings.token_leeway_seconds
    )
    redis = aioredis.Redis.from_url(settings.redis_url)
    # Blocking XREADs get their own connection pool, so they never hold up a rate-limit call.
    stream_redis = aioredis.Redis.from_url(settings.redis_url)
    mongo = create_mongo_client(settings.mongo_url, app_name="chargewatch-partner-api")
    db = mongo[settings.mongo_database]
    await ensure_indexes(db, webhooks.indexes())

    async def redis_up() -> bool:
        return bool(await redis.ping())

    runtime.depends_on("redis", redis_up)
    runtime.depends_on("mongo", lambda: ping(mongo))
    runtime.depends_on("telemetry", lambda: health_check(clients.telemetry_channel))
    runtime.depends_on("authz", lambda: health_check(clients.authz_channel))
    runtime.depends_on("identity-provider", validator.ready)

    hub = EventHub(stream_redis, partitions=settings.stream_partitions)
    store = webhooks.WebhookStore(db)
    queue = webhooks.DeliveryQueue(redis)
    services = Services(
        settings=settings,
        clients=clients,
        tokens=CachedTokenValidator(validator, max_entries=settings.principal_cache_size),
        redis=redis,
        limiter=RateLimiter(redis, limit=settings.rate_limit_per_minute),
        cache=ResponseCache(settings.response_cache_seconds, stale_seconds=settings.response_cache_stale_seconds),
        hub=hub,
        webhooks=store,
        deliveries=queue,
    )
    fanout = ConsumerGroupWorker(
        stream_redis,
        group=settings.webhook_consumer_group,
        consumer=instance_name(),
        families=FAMILIES,
        handler=webhooks.WebhookFanout(store, queue),
        partitions=settings.stream_partitions,
    )
    webhook_http = httpx.AsyncClient(follow_redirects=False)
    delivery = webhooks.DeliveryWorker(
        queue,
        store,
        webhook_http,
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        backoff_max_seconds=settings.webhook_backoff_max_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
    )

    app = create_app(services=services, readiness=runtime.readiness)
    server = _Server(
        uvicorn.Config(
            ForwardCallerToken(app),  # every gRPC call goes with the user's own token
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            limit_concurrency=2000,
            http="httptools",
        )
    )

    def stop() -> None:
        server.should_exit = True

    runtime.add_worker("events", hub.run, hub.stop)
    runtime.add_worker("webhook-fanout", fanout.run, fanout.stop)
    runtime.add_worker("webhook-delivery", delivery.run, delivery.stop)
    runtime.add_worker("http", server.serve, stop)
    runtime.on_shutdown(services.limiter.close)
    runtime.on_shutdown(clients.close)
    runtime.on_shutdown(http.aclose)
    runtime.on_shutdown(webhook_http.aclose)
    runtime.on_shutdown(mongo.close)
    runtime.on_shutdown(redis.aclose)
    runtime.on_shutdown(stream_redis.aclose)
    await runtime.run()


def main() -> None:
    uvloop.run(serve(PartnerApiSettings()))


if __name__ == "__main__":
    main()
