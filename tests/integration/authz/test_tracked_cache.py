"""Server-assisted client-side caching: what the Authorize lookup read stays in the process's memory
until Redis says it changed, and nothing is kept long that Redis could not vouch for."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from chargewatch.authz.cache import LocalMemory, TokenCache, TokenView, TrackedReads
from chargewatch.authz.pipelined_redis import PipelinedRedis
from chargewatch.authz.sessions import SessionTracker
from chargewatch.v1 import events_pb2
from tests.integration.authz.conftest import Harness, build_harness
from tests.integration.authz.test_authorize import create_token

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
BLOCKED = events_pb2.AUTHORIZATION_STATUS_BLOCKED
CONCURRENT = events_pb2.AUTHORIZATION_STATUS_CONCURRENT_TX
# Far longer than any test: an entry that goes away was dropped by an invalidation, not by time.
TRACKED_SECONDS = 600.0


@pytest.fixture
async def tracked(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    # No one-second layer: whatever is remembered was kept on Redis's word.
    async for harness in build_harness(
        mongo_url, redis_url, keycloak_url, refresh_seconds=600, tracked_seconds=TRACKED_SECONDS
    ):
        yield harness


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


def card() -> str:
    return uuid.uuid4().hex[:14].upper()


async def authorize_until_kept(h: Harness, station: str, token: str) -> None:
    """Accepted, and kept: the first call resolves the token and writes it to Redis, whose
    invalidation (of the key that call read) may overtake the next read, which is then not kept."""

    async def kept() -> bool:
        assert (await h.authorize(station, token)).status == ACCEPTED
        key = f"ISO14443:{token}"
        return h.authorizer.cache.remembered(key) is not None and h.sessions.remembered(key) is not None

    await eventually(kept)


def tracking_of(h: Harness) -> TrackedReads:
    tracked = h.sessions.tracked
    assert tracked is not None
    return tracked


async def test_a_lookup_is_kept_until_another_replica_changes_the_token(
    tracked: Harness, redis_client: aioredis.Redis
) -> None:
    h = tracked
    await h.register("CP-T1")
    token = card()
    key = f"ISO14443:{token}"
    await create_token(h, token)
    await authorize_until_kept(h, "CP-T1", token)
    remembered = h.authorizer.cache.remembered(key)
    assert remembered is not None and remembered.status == "active", "the lookup's view is kept"
    assert h.sessions.remembered(key) == ()

    # Another replica (its own connection, no tracking) blocks the card in Redis.
    elsewhere = TokenCache(redis_client, keep_seconds=3600, unknown_seconds=0)
    await elsewhere.put(key, TokenView("blocked", "blocked_by_operator", "partner-a", "", None, time.time()))

    async def dropped() -> bool:
        return h.authorizer.cache.remembered(key) is None

    await eventually(dropped)
    assert (await h.authorize("CP-T1", token)).status == BLOCKED


async def test_a_session_started_elsewhere_drops_the_remembered_sessions(
    tracked: Harness, redis_url: str, redis_client: aioredis.Redis
) -> None:
    h = tracked
    await h.register("CP-T2")
    await h.register("CP-T3")
    token = card()
    key = f"ISO14443:{token}"
    await create_token(h, token)
    await authorize_until_kept(h, "CP-T2", token)
    assert h.sessions.remembered(key) == ()

    other = PipelinedRedis(redis_url, timeout_seconds=2.0)
    try:
        assert await SessionTracker(redis_client, other).reserve(key, "CP-T3", "t-3", limit=1, max_seconds=3600)
    finally:
        await other.aclose()

    async def dropped() -> bool:
        return h.sessions.remembered(key) is None

    await eventually(dropped)
    assert (await h.authorize("CP-T2", token)).status == CONCURRENT


async def test_losing_the_invalidation_connection_forgets_everything_and_tracking_resumes(
    tracked: Harness, redis_client: aioredis.Redis
) -> None:
    h = tracked
    await h.register("CP-T4")
    token = card()
    key = f"ISO14443:{token}"
    await create_token(h, token)
    await authorize_until_kept(h, "CP-T4", token)
    tracking = tracking_of(h)
    assert tracking.live

    # The subscribed connection is cut (a proxy restart, a network blip): invalidations may be lost.
    assert await redis_client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1

    async def forgotten() -> bool:
        return not tracking.live and h.authorizer.cache.remembered(key) is None

    await eventually(forgotten)
    # The next call opens both connections again, tracked; its lookup is kept and invalidated anew.
    assert (await h.authorize("CP-T4", token)).status == ACCEPTED
    assert tracking.live
    await authorize_until_kept(h, "CP-T4", token)
    clients = await redis_client.client_list()
    assert any("t" in c["flags"] for c in clients), "the lookup connection is tracked again"
    await TokenCache(redis_client, keep_seconds=3600, unknown_seconds=0).put(
        key, TokenView("blocked", "blocked_by_operator", "partner-a", "", None, time.time())
    )

    async def dropped() -> bool:
        return h.authorizer.cache.remembered(key) is None

    await eventually(dropped)
    assert (await h.authorize("CP-T4", token)).status == BLOCKED


async def test_a_flush_forgets_everything(tracked: Harness, redis_client: aioredis.Redis) -> None:
    h = tracked
    await h.register("CP-T5")
    token = card()
    await create_token(h, token)
    await authorize_until_kept(h, "CP-T5", token)
    await redis_client.flushdb()

    async def forgotten() -> bool:
        return h.authorizer.cache.remembered(f"ISO14443:{token}") is None

    await eventually(forgotten)


def test_a_read_overtaken_by_its_invalidation_is_not_kept_long() -> None:
    views: LocalMemory[str] = LocalMemory(1.0, 100)
    tracked = TrackedReads(60.0)
    tracked.watch(views)
    assert tracked.keep_seconds("ISO14443:A", tracked.mark()) is None, "not live yet"
    tracked.started()
    since = tracked.mark()
    assert tracked.keep_seconds("ISO14443:A", since) == 60.0
    # The invalidation for A arrives (on its own connection) before the reply of a read sent earlier.
    tracked.invalidated([b"cw:authz:token:{ISO14443:A}"])
    assert tracked.keep_seconds("ISO14443:A", since) is None
    assert tracked.keep_seconds("ISO14443:B", since) == 60.0, "other tokens' reads are unaffected"
    assert tracked.keep_seconds("ISO14443:A", tracked.mark()) == 60.0, "a read sent after it is trusted"
    views.put("ISO14443:B", "b", 60.0)
    tracked.invalidated([b"cw:authz:sessions:{ISO14443:B}", b"cw:other-key"])
    assert views.get("ISO14443:B") is None
    views.put("ISO14443:C", "c", 60.0)
    since = tracked.mark()
    tracked.lost()
    assert views.get("ISO14443:C") is None and tracked.keep_seconds("ISO14443:C", since) is None
    tracked.started()
    assert tracked.keep_seconds("ISO14443:C", since) is None, "sent before tracking resumed"
