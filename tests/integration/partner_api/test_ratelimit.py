"""Rate limits per client, counted in Redis: a second API replica with a small budget shares the count,
answers with RateLimit headers, refuses with 429 + Retry-After once the budget is spent, and another
client is not affected."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
import redis
import redis.asyncio as aioredis

from chargewatch.partner_api.ratelimit import RateLimiter
from tests.integration.partner_api.stack import Stack, another_api

pytestmark = pytest.mark.integration
LIMIT = 5


@pytest.fixture(scope="module")
def small_budget(stack: Stack) -> Iterator[str]:
    with another_api(stack, "partner-api-small-budget", {"CW_PARTNER_API_RATE_LIMIT_PER_MINUTE": str(LIMIT)}) as url:
        yield url


def _keys(stack: Stack, token: str) -> list[bytes]:
    """The client's window counters in Redis (the hashed client id and subject, and the window number)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    client = f"{claims['azp']}|{claims['sub']}"
    prefix = "cw:ratelimit:" + hashlib.blake2b(client.encode(), digest_size=12).hexdigest()
    return list(redis.Redis.from_url(stack.platform.redis_url).scan_iter(f"{prefix}:*"))


def _forget(stack: Stack, token: str) -> None:
    """Start the client's window afresh."""
    keys = _keys(stack, token)
    if keys:
        redis.Redis.from_url(stack.platform.redis_url).delete(*keys)


def test_a_client_over_its_budget_gets_429_with_retry_after(stack: Stack, small_budget: str) -> None:
    token = stack.token("sre")
    other = stack.token("partner-b")
    if time.time() % 60 > 50:  # windows are clock minutes: start this one well inside a window
        time.sleep(61 - time.time() % 60)
    _forget(stack, token)
    _forget(stack, other)
    headers = {"Authorization": f"Bearer {token}"}
    remaining = []
    with httpx.Client(base_url=small_budget, timeout=10) as http:
        for _ in range(LIMIT):
            reply = http.get("/v1/fleet/summary", headers=headers)
            assert reply.status_code == 200, reply.text
            assert reply.headers["ratelimit-limit"] == str(LIMIT)
            assert reply.headers["ratelimit-policy"] == f"{LIMIT};w=60"
            remaining.append(int(reply.headers["ratelimit-remaining"]))
        assert remaining == list(range(LIMIT - 1, -1, -1))
        refused = http.get("/v1/fleet/summary", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert f"more than {LIMIT} requests" in refused.json()["detail"]
        # The budget is per client: partner-b is still served.
        assert http.get("/v1/fleet/summary", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    # Counted in Redis, where every replica counts: the refused request is counted too.
    counts = [int(redis.Redis.from_url(stack.platform.redis_url).get(key) or 0) for key in _keys(stack, token)]
    assert sum(counts) == LIMIT + 1


async def test_rate_limits_count_locally_far_from_the_limit_and_exactly_near_it(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    limiter = RateLimiter(client, limit=30, slack=10, flush_interval=0.05)
    states = [await limiter.hit("c") for _ in range(35)]
    assert all(s is not None for s in states)
    remaining = [s.remaining for s in states if s is not None]
    assert remaining[:30] == list(range(29, -1, -1))  # the headers count down one by one either way
    assert [s.exceeded for s in states if s is not None] == [False] * 30 + [True] * 5
    await limiter.close()
    keys = [k async for k in client.scan_iter("cw:ratelimit:*")]
    assert len(keys) == 1
    assert int(await client.get(keys[0]) or 0) == 35  # every request counted in Redis in the end
    # A second replica shares the count: it starts near the limit, so it goes to Redis at once.
    other = RateLimiter(client, limit=30, slack=10)
    state = await other.hit("c")
    assert state is not None and state.exceeded and int(await client.get(keys[0]) or 0) == 36
    assert await RateLimiter(client, limit=0).hit("c") is None  # off
    await client.aclose()
