"""Everything a request handler may need, built once by `__main__` (or a test) and kept on the app."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from chargewatch.partner_api.auth import CachedTokenValidator
from chargewatch.partner_api.cache import ResponseCache
from chargewatch.partner_api.clients import ServiceClients
from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.partner_api.events import EventHub
from chargewatch.partner_api.ratelimit import RateLimiter
from chargewatch.partner_api.webhooks import DeliveryQueue, WebhookStore


@dataclass
class Services:
    settings: PartnerApiSettings
    clients: ServiceClients
    tokens: CachedTokenValidator
    redis: aioredis.Redis
    limiter: RateLimiter
    cache: ResponseCache
    hub: EventHub
    webhooks: WebhookStore
    deliveries: DeliveryQueue
