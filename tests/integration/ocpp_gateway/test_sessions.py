"""One session per station, and a drain that answers what it holds before closing with 1001."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets

from chargewatch.ocpp_gateway.handlers import CallContext, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.v16 import STATION_ACTIONS
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.streams import StreamFamily
from chargewatch.v1 import events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic

KIND = events_pb2.StationConnection


async def test_a_second_connection_replaces_the_first(gateway: Gateway) -> None:
    password = gateway.add_station("CP-TWICE")
    url, headers = f"{gateway.url}/CP-TWICE", basic("CP-TWICE", password)
    first = await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)  # type: ignore[list-item]
    first_session = gateway.registry.get("CP-TWICE")
    second = await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)  # type: ignore[list-item]
    try:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(first.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        assert "replaced" in closed.value.rcvd.reason
        session = gateway.registry.get("CP-TWICE")
        assert session is not None and session is not first_session
        assert len(gateway.registry) == 1
        await second.send(orjson.dumps([2, "hb", "Heartbeat", {}]).decode())
        assert orjson.loads(await asyncio.wait_for(second.recv(), 5))[:2] == [3, "hb"]
    finally:
        await second.close()
    events = await gateway.wait_for_events(
        StreamFamily.CONNECTION,
        lambda e: e.station_id == "CP-TWICE" and e.WhichOneof("payload") == "connection",
    )
    # The old session's disconnection is published before the new one's connection.
    kinds = [e.connection.kind for e in events]
    assert kinds[:3] == [KIND.KIND_CONNECTED, KIND.KIND_DISCONNECTED, KIND.KIND_CONNECTED]
    assert "replaced" in events[1].connection.reason


def slow_heartbeat_table(release: asyncio.Event) -> HandlerTable:
    table = HandlerTable(OcppVersion.V16, STATION_ACTIONS)

    @table.on("Heartbeat")
    async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
        await release.wait()
        return {"currentTime": "2024-01-01T00:00:00.000Z"}

    return table


async def test_stopping_answers_the_message_in_hand_then_closes_with_1001(gateway: Gateway) -> None:
    release = asyncio.Event()
    gateway.server.dispatcher.tables = {OcppVersion.V16: slow_heartbeat_table(release)}
    password = gateway.add_station("CP-DRAIN")
    socket = await websockets.connect(
        f"{gateway.url}/CP-DRAIN",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=basic("CP-DRAIN", password),
    )
    await socket.send(orjson.dumps([2, "in-flight", "Heartbeat", {}]).decode())
    await asyncio.sleep(0.1)
    gateway.server.stop()
    await asyncio.sleep(0.1)
    release.set()
    answer = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    assert answer[:2] == [3, "in-flight"]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    disconnected = await gateway.wait_for_events(
        StreamFamily.CONNECTION,
        lambda e: e.station_id == "CP-DRAIN" and e.connection.kind == KIND.KIND_DISCONNECTED,
    )
    assert disconnected[0].connection.close_code == 1001
    # No new connections once stopping.
    with pytest.raises(ConnectionRefusedError):
        await websockets.connect(
            f"{gateway.url}/CP-DRAIN",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic("CP-DRAIN", password),
            open_timeout=2,
        )
