"""A station's lease and its handshake: written before the 101 answer, so a command sent through
any replica the moment the station is connected finds it; gone again when the handshake is left
before its answer, without touching the lease of the station's session still open."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chargewatch.ocpp_gateway.ownership import lease_key
from tests.integration.ocpp_gateway.conftest import Gateway, gateway_settings, running_gateway
from tests.integration.ocpp_gateway.test_frames import send_handshake
from tests.integration.ocpp_gateway.test_ownership import (
    LEASE_TTL_SECONDS,
    lease,
    second_replica,
    station_on,
    wait_until_released,
)

AUTHZ_DELAY_SECONDS = 0.3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ownership_lease_ttl_seconds": LEASE_TTL_SECONDS}


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(5):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)


def recorded_claims(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stations the gateway claims from now on (the real claims, observed)."""
    ownership = gateway.server.ownership
    assert ownership is not None
    claims: list[str] = []
    claim = ownership.claim

    async def observed(station_id: str, lease: bytes | None = None) -> bool:
        claims.append(station_id)
        return await claim(station_id, lease)

    monkeypatch.setattr(ownership, "claim", observed)
    return claims


async def leave_during_handshake(gateway: Gateway, station_id: str, password: str) -> None:
    """Send a handshake authz takes a while to accept, and reset the socket before its answer."""
    gateway.authz.delay = AUTHZ_DELAY_SECONDS
    asked = len(gateway.authz.requests)
    reader, writer = await send_handshake(gateway.server.port, station_id, password)
    try:

        async def asked_authz() -> bool:
            return len(gateway.authz.requests) > asked

        await eventually(asked_authz)
        # SO_LINGER 0: closing sends a reset, so the gateway loses the connection at once.
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        assert not await reader.read(), "the gateway answered a handshake the station had left"
    except ConnectionResetError:
        pass
    finally:
        gateway.authz.delay = 0.0


async def test_the_lease_is_written_before_the_station_is_answered(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-H1")
    async with second_replica(gateway) as replica_b, station_on(gateway, "CP-OWN-H1", password):
        # No waiting: the handshake's answer came after the lease was written.
        held = await lease(gateway, "CP-OWN-H1")
        assert held is not None and held["instance"] == "gw-test-1"
        owner = await replica_b.server.ownership.owner("CP-OWN-H1") if replica_b.server.ownership else None
        assert owner is not None and owner.instance == "gw-test-1"
        session = gateway.registry.get("CP-OWN-H1")
        assert session is not None and session.lease == await gateway.redis.get(lease_key("CP-OWN-H1"))
    await wait_until_released(gateway, "CP-OWN-H1")


async def test_a_handshake_left_before_its_answer_leaves_no_lease(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = gateway.add_station("CP-OWN-H2")
    claims = recorded_claims(gateway, monkeypatch)
    await leave_during_handshake(gateway, "CP-OWN-H2", password)

    async def claimed() -> bool:
        return "CP-OWN-H2" in claims

    async def released() -> bool:
        ownership = gateway.server.ownership
        assert ownership is not None
        return "CP-OWN-H2" not in ownership.held() and await lease(gateway, "CP-OWN-H2") is None

    await eventually(claimed)
    # Held, it would be renewed for as long as the replica runs.
    await eventually(released)
    await asyncio.sleep(LEASE_TTL_SECONDS / 2)  # a renewal later, still gone
    assert await released()
    assert gateway.registry.get("CP-OWN-H2") is None


async def test_a_second_handshake_left_before_its_answer_keeps_the_open_session_s_lease(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = gateway.add_station("CP-OWN-H3")
    ownership = gateway.server.ownership
    assert ownership is not None
    async with station_on(gateway, "CP-OWN-H3", password):
        session = gateway.registry.get("CP-OWN-H3")
        assert session is not None and session.lease is not None
        first = session.lease
        claims = recorded_claims(gateway, monkeypatch)
        # The station's credentials were accepted moments ago: forget it so authz is asked (slowly) again.
        cache = gateway.server.authenticator.cache
        assert cache is not None
        cache.forget("CP-OWN-H3")
        await leave_during_handshake(gateway, "CP-OWN-H3", password)

        async def claimed_twice() -> bool:
            # The abandoned handshake's claim, then the open session's lease written back.
            return claims.count("CP-OWN-H3") >= 2

        async def restored() -> bool:
            return ownership.lease_of("CP-OWN-H3") == first and await gateway.redis.get(lease_key("CP-OWN-H3")) == first

        await eventually(claimed_twice)
        await eventually(restored)
        assert gateway.registry.get("CP-OWN-H3") is session
    await wait_until_released(gateway, "CP-OWN-H3")


async def test_a_handshake_that_times_out_while_its_lease_is_written_leaves_no_lease(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = gateway_settings(
        authz_target=gateway.settings.authz_target,
        gateway_instance="gw-test-slow",
        ownership_lease_ttl_seconds=LEASE_TTL_SECONDS,
        open_timeout_seconds=0.5,
    )
    password = gateway.add_station("CP-OWN-H4")
    async with running_gateway(gateway.authz, gateway.redis, settings) as slow:
        ownership = slow.server.ownership
        assert ownership is not None
        claim = ownership.claim

        async def slow_claim(station_id: str, lease: bytes | None = None) -> bool:
            # Written, but answered after the handshake's open timeout (a Redis slow to answer).
            written = await claim(station_id, lease)
            await asyncio.sleep(2)
            return written

        monkeypatch.setattr(ownership, "claim", slow_claim)
        reader, writer = await send_handshake(slow.server.port, "CP-OWN-H4", password)
        try:
            # The gateway gives up on the handshake: no answer, the socket closed.
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()

        async def released() -> bool:
            return "CP-OWN-H4" not in ownership.held() and await lease(gateway, "CP-OWN-H4") is None

        await eventually(released)
        await asyncio.sleep(LEASE_TTL_SECONDS / 2)  # a renewal later, still gone
        assert await released()
