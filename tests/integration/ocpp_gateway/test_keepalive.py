"""Keep-alive pings from the gateway (one task for every connection, `keepalive`): a station that
answers them stays connected; one that stops answering is closed with 1011 within the interval
and the timeout, and its disconnection is on the connection stream. A raw RFC 6455 client, so
the test decides whether pongs are sent."""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

import pytest

from chargewatch.ocpp_gateway.connection import OcppConnection
from chargewatch.streams import StreamFamily
from chargewatch.v1 import events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway
from tests.integration.ocpp_gateway.test_frames import CLOSE, PING, PONG, TEXT, RawStation, call, frame

INTERVAL_SECONDS = 0.4
TIMEOUT_SECONDS = 0.4
DISCONNECTED = events_pb2.StationConnection.KIND_DISCONNECTED


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ws_ping_interval_seconds": INTERVAL_SECONDS, "ws_ping_timeout_seconds": TIMEOUT_SECONDS}


async def test_a_station_that_answers_the_pings_stays_connected(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-KEEP-1")
    try:
        pings: list[bytes] = []
        started = time.monotonic()
        async with asyncio.timeout(5 * INTERVAL_SECONDS + 5):
            while len(pings) < 3:
                opcode, payload = await station.receive()
                assert opcode == PING, (opcode, payload)
                pings.append(payload)
                await station.send(frame(PONG, payload))
        elapsed = time.monotonic() - started
        # One ping per interval (up to a tick late), each with its own payload.
        assert elapsed >= 3 * INTERVAL_SECONDS * 0.9
        assert len(set(pings)) == 3
        # Still a working session, which measured its latency from the pongs.
        await station.send(frame(TEXT, call("k-1", "Heartbeat", {})))
        answer = await station.answers(1)
        assert answer[0][:2] == [3, "k-1"]
        session = gateway.registry.get("CP-KEEP-1")
        assert session is not None
        connection = session.socket
        assert isinstance(connection, OcppConnection)
        assert connection.latency > 0
        assert not connection.pending_pings or len(connection.pending_pings) == 1
    finally:
        await station.close()


async def test_a_station_that_stops_answering_is_closed_with_1011(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-KEEP-2")
    try:
        started = time.monotonic()
        async with asyncio.timeout(INTERVAL_SECONDS + TIMEOUT_SECONDS + 5):
            while True:
                opcode, payload = await station.receive()
                if opcode == CLOSE:
                    break
                assert opcode == PING  # never answered
        elapsed = time.monotonic() - started
        (code,) = struct.unpack("!H", payload[:2])
        assert code == 1011 and payload[2:] == b"keepalive ping timeout"
        # Not before the interval and the timeout have both passed.
        assert elapsed >= (INTERVAL_SECONDS + TIMEOUT_SECONDS) * 0.9
    finally:
        await station.close()
    events = await gateway.wait_for_events(
        StreamFamily.CONNECTION,
        lambda e: e.station_id == "CP-KEEP-2" and e.connection.kind == DISCONNECTED,
    )
    assert events[0].connection.close_code == 1011
    assert gateway.registry.get("CP-KEEP-2") is None
    keepalive = gateway.server._keepalive
    assert keepalive is not None and len(keepalive) == 0


async def test_a_closed_station_is_no_longer_pinged(gateway: Gateway) -> None:
    station = await RawStation.connect(gateway, "CP-KEEP-3")
    keepalive = gateway.server._keepalive
    assert keepalive is not None
    assert len(keepalive) == 1
    await station.close()
    async with asyncio.timeout(5):
        while True:
            if not len(keepalive) and gateway.registry.get("CP-KEEP-3") is None:
                break
            await asyncio.sleep(0.02)
