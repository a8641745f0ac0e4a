"""Station leases in bulk against a real Redis: concurrent claims share pipelines, renewals run in
pipelines, a lease another replica took is reported lost, and a Redis that lost its scripts is handled."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from chargewatch.ocpp_gateway import ownership as ownership_module
from chargewatch.ocpp_gateway.ownership import StationOwnership, lease_key

pytestmark = pytest.mark.integration


async def test_claims_renewals_and_lost_leases(redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ownership_module, "RENEWAL_CHUNK", 7)  # several pipelines for 20 leases
    leases = StationOwnership(redis_client, instance="gw-1", address="10.0.0.1:50052", ttl_seconds=30)
    stations = [f"CP-L{n:02d}" for n in range(20)]
    assert all(await asyncio.gather(*(leases.claim(s) for s in stations)))
    for station in stations:
        owner = await leases.owner(station)
        assert owner is not None and (owner.instance, owner.address) == ("gw-1", "10.0.0.1:50052")

    # Another replica took one station over; another lease expired (as after a long pause).
    await redis_client.set(lease_key("CP-L03"), b'{"instance":"gw-2","address":"x","session":"s"}')
    await redis_client.delete(lease_key("CP-L11"))
    # Redis lost its scripts (a restart): the renewal loads it again.
    await redis_client.script_flush()
    assert await leases.renew() == ["CP-L03"]
    assert await redis_client.pttl(lease_key("CP-L11")) > 20_000  # written again
    other = await leases.owner("CP-L03")
    assert other is not None and other.instance == "gw-2"  # never taken back

    assert await leases.release("CP-L05")
    assert await leases.owner("CP-L05") is None
    # Releasing the lost one leaves the other replica's lease alone (compare-and-delete).
    assert not await leases.release("CP-L03")
    still = await leases.owner("CP-L03")
    assert still is not None and still.instance == "gw-2"


async def test_a_redis_that_is_away_refuses_claims_without_raising() -> None:
    from chargewatch.devstack.processes import free_port

    away = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    leases = StationOwnership(away, instance="gw-1", address="a", ttl_seconds=30)
    try:
        assert await asyncio.gather(leases.claim("CP-X1"), leases.claim("CP-X2")) == [False, False]
        assert await leases.renew() == []  # logged, nothing lost
    finally:
        await away.aclose()


async def test_a_scheduled_renewal_leaves_out_leases_claimed_within_its_interval(redis_client: aioredis.Redis) -> None:
    leases = StationOwnership(redis_client, instance="gw-1", address="a", ttl_seconds=30)
    assert await leases.claim("CP-OLD")
    claimed_between = time.monotonic()
    assert await leases.claim("CP-NEW")
    # Shorten both TTLs so a rewrite shows; then a renewal for claims made before `claimed_between`.
    for station in ("CP-OLD", "CP-NEW"):
        await redis_client.pexpire(lease_key(station), 5_000)
    assert await leases.renew(claimed_before=claimed_between) == []
    assert await redis_client.pttl(lease_key("CP-OLD")) > 20_000  # renewed
    assert await redis_client.pttl(lease_key("CP-NEW")) <= 5_000  # left as claimed
    # The next renewal, an interval later, covers it like every other lease.
    assert await leases.renew(claimed_before=time.monotonic()) == []
    assert await redis_client.pttl(lease_key("CP-NEW")) > 20_000
    # A lost fresh claim is still reported by the renewal after it.
    await redis_client.set(lease_key("CP-NEW"), b'{"instance":"gw-2","address":"x","session":"s"}')
    assert await leases.renew(claimed_before=time.monotonic()) == ["CP-NEW"]
