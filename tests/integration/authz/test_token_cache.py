"""The token cache's per-process layer over Redis: answers from memory, bounded in time and size,
and a change made through this process (or seen in Redis after `local_seconds`) wins."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from chargewatch.authz.cache import INVALID, TokenCache, TokenView

pytestmark = pytest.mark.integration

ACTIVE = TokenView("active", "token_active", "partner-a", "fleet-1", None, 1.0)
BLOCKED = TokenView("blocked", "blocked_by_operator", "partner-a", "fleet-1", None, 2.0)


async def test_a_view_read_once_is_answered_from_memory_for_local_seconds(redis_client: aioredis.Redis) -> None:
    here = TokenCache(redis_client, keep_seconds=60, unknown_seconds=5, local_seconds=0.3)
    elsewhere = TokenCache(redis_client, keep_seconds=60, unknown_seconds=5)  # another replica, no local layer
    await elsewhere.put("ISO14443:CARD", ACTIVE)
    assert await here.get("ISO14443:CARD") == ACTIVE
    # Another replica blocks the card: this process still answers its copy, for local_seconds at most.
    await elsewhere.put("ISO14443:CARD", BLOCKED)
    assert await here.get("ISO14443:CARD") == ACTIVE
    await asyncio.sleep(0.35)
    assert await here.get("ISO14443:CARD") == BLOCKED
    # A change made through this process applies here at once.
    await here.put("ISO14443:CARD", ACTIVE)
    assert await here.get("ISO14443:CARD") == ACTIVE
    await here.invalidate("ISO14443:CARD")
    assert await here.get("ISO14443:CARD") is None
    assert await redis_client.get("cw:authz:token:{ISO14443:CARD}") is None


async def test_misses_are_not_kept_and_the_layer_is_bounded(redis_client: aioredis.Redis) -> None:
    cache = TokenCache(redis_client, keep_seconds=60, unknown_seconds=0, local_seconds=30, local_capacity=2)
    assert await cache.get("ISO14443:NEW") is None
    await TokenCache(redis_client, keep_seconds=60, unknown_seconds=0).put("ISO14443:NEW", ACTIVE)
    assert await cache.get("ISO14443:NEW") == ACTIVE  # the earlier miss was not remembered
    for key in ("ISO14443:A", "ISO14443:B", "ISO14443:C"):
        await cache.put(key, ACTIVE)
    assert len(cache._local) == 2
    # An unknown token with unknown_seconds 0 is neither stored nor left behind locally.
    await cache.put("ISO14443:C", TokenView(INVALID, "unknown_token"))
    assert "ISO14443:C" not in cache._local


async def test_without_a_local_layer_every_get_reads_redis(redis_client: aioredis.Redis) -> None:
    cache = TokenCache(redis_client, keep_seconds=60, unknown_seconds=5)
    await cache.put("ISO14443:X", ACTIVE)
    await redis_client.delete("cw:authz:token:{ISO14443:X}")
    assert await cache.get("ISO14443:X") is None
