"""Bad input: every malformed message gets its OCPP-J answer, a security event, and the socket stays up."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from chargewatch.streams import StreamFamily
from tests.integration.ocpp_gateway.conftest import Gateway, basic


async def connect(gateway: Gateway, station_id: str, subprotocol: str = "ocpp1.6") -> ClientConnection:
    password = gateway.add_station(station_id)
    return await websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=[subprotocol], additional_headers=basic(station_id, password)
    )


async def exchange(socket: ClientConnection, frame: str | list[Any]) -> list[Any]:
    await socket.send(frame if isinstance(frame, str) else orjson.dumps(frame).decode())
    answer = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    assert isinstance(answer, list)
    return answer


async def test_not_json_gets_a_callerror_and_the_socket_keeps_serving(gateway: Gateway) -> None:
    bad = await connect(gateway, "CP-BAD-1")
    good = await connect(gateway, "CP-GOOD-1")
    try:
        error = await exchange(bad, "this is not json")
        assert error[:3] == [4, "-1", "FormationViolation"]
        assert isinstance(error[3], str) and isinstance(error[4], dict)
        # The same socket keeps working, and so does every other station.
        result = await exchange(bad, [2, "hb-1", "Heartbeat", {}])
        assert result[:2] == [3, "hb-1"] and "currentTime" in result[2]
        other = await exchange(good, [2, "hb-2", "Heartbeat", {}])
        assert other[:2] == [3, "hb-2"]
    finally:
        await bad.close()
        await good.close()
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-BAD-1")
    assert security[0].security.type == "InvalidMessage"
    assert security[0].security.attributes["error_code"] == "FormationViolation"
    assert security[0].security.remote_address == "127.0.0.1"
    assert security[0].tenant_id == "tenant-a"
    assert not [e for e in await gateway.events(StreamFamily.SECURITY) if e.station_id == "CP-GOOD-1"]


async def test_not_json_on_2_0_1_is_an_rpc_framework_error(gateway: Gateway) -> None:
    socket = await connect(gateway, "CP-BAD-201", "ocpp2.0.1")
    try:
        assert (await exchange(socket, "{nope"))[:3] == [4, "-1", "RpcFrameworkError"]
        assert (await exchange(socket, [9, "m-1", "Heartbeat", {}]))[:3] == [4, "m-1", "MessageTypeNotSupported"]
        assert (await exchange(socket, [2, "m-2", "Heartbeat", {}]))[:2] == [3, "m-2"]
    finally:
        await socket.close()


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"a": 1}, ["-1", "FormationViolation"]),
        ([], ["-1", "FormationViolation"]),
        ([2], ["-1", "FormationViolation"]),
        ([2, 17, "Heartbeat", {}], ["-1", "FormationViolation"]),
        ([2, "m-1", "Heartbeat"], ["m-1", "FormationViolation"]),
        ([2, "m-2", "Heartbeat", []], ["m-2", "FormationViolation"]),
        ([7, "m-3", "Heartbeat", {}], ["m-3", "FormationViolation"]),
        ([2, "x" * 37, "Heartbeat", {}], ["x" * 37, "TypeConstraintViolation"]),
        ([2, "m-4", "MakeCoffee", {}], ["m-4", "NotImplemented"]),
        ([2, "m-5", "Authorize", {"idTag": "A" * 21}], ["m-5", "TypeConstraintViolation"]),
        ([2, "m-6", "Reset", {"type": "Hard"}], ["m-6", "NotSupported"]),
        (
            [2, "m-7", "StatusNotification", {"connectorId": 1, "status": "Available"}],
            ["m-7", "OccurenceConstraintViolation"],
        ),
        (
            [2, "m-8", "StatusNotification", {"connectorId": "1", "errorCode": "NoError", "status": "Available"}],
            ["m-8", "TypeConstraintViolation"],
        ),
        (
            [2, "m-9", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}],
            ["m-9", "PropertyConstraintViolation"],
        ),
        (
            [
                2,
                "m-10",
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available", "x": 1},
            ],
            ["m-10", "FormationViolation"],
        ),
        (
            [2, "m-11", "StatusNotification", {"connectorId": -1, "errorCode": "NoError", "status": "Available"}],
            ["m-11", "PropertyConstraintViolation"],
        ),
        (
            [
                2,
                "m-12",
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "yesterday"},
            ],
            ["m-12", "TypeConstraintViolation"],
        ),
        (
            [2, "m-13", "BootNotification", {"chargePointVendor": "V" * 21, "chargePointModel": "M"}],
            ["m-13", "TypeConstraintViolation"],
        ),
    ],
)
async def test_each_kind_of_bad_message_gets_its_1_6_error_code(
    gateway: Gateway, frame: Any, expected: list[str]
) -> None:
    socket = await connect(gateway, "CP-BAD-2")
    try:
        answer = await exchange(socket, frame)
        assert [answer[0], *answer[1:3]] == [4, *expected]
        assert len(answer[3]) <= 255
        assert (await exchange(socket, [2, "after", "Heartbeat", {}]))[:2] == [3, "after"]
    finally:
        await socket.close()


async def test_answers_to_no_pending_call_are_ignored(gateway: Gateway) -> None:
    socket = await connect(gateway, "CP-BAD-3")
    try:
        await socket.send(orjson.dumps([3, "nobody-asked", {}]).decode())
        await socket.send(orjson.dumps([4, "nobody-asked-2", "GenericError", "", {}]).decode())
        assert (await exchange(socket, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    finally:
        await socket.close()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_frame_bytes": 2048}


async def test_an_oversize_frame_closes_the_socket_with_1009(gateway: Gateway) -> None:
    socket = await connect(gateway, "CP-BIG-1")
    neighbour = await connect(gateway, "CP-BIG-2")
    try:
        await socket.send(orjson.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 4096}]).decode())
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert (await exchange(neighbour, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    finally:
        await neighbour.close()
    security = await gateway.wait_for_events(
        StreamFamily.SECURITY, lambda e: e.station_id == "CP-BIG-1" and e.security.type == "OversizeMessage"
    )
    assert security[0].security.remote_address == "127.0.0.1"
