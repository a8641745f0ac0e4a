"""GatewayCommands over real gRPC: connection info, disconnects and commands answered by a 1.6 station."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import orjson
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AvailabilityStatus, ResetStatus, TriggerMessageStatus

from chargewatch.v1 import common_pb2, gateway_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic

Stub = Any  # gateway_pb2_grpc.GatewayCommandsAsyncStub exists in the type stubs only


class CommandedStation(ChargePoint):  # type: ignore[misc]
    """A 1.6 charge point that accepts resets, refuses availability changes and never answers triggers."""

    resets: list[str]

    @on(Action.reset)
    async def on_reset(self, type: str, **_: Any) -> Any:
        self.resets.append(type)
        return call_result.Reset(status=ResetStatus.accepted)

    @on(Action.change_availability)
    async def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        return call_result.ChangeAvailability(status=AvailabilityStatus.rejected)

    @on(Action.trigger_message)
    async def on_trigger(self, requested_message: str, **_: Any) -> Any:
        await asyncio.sleep(30)
        return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)


@asynccontextmanager
async def commanded_station(gateway: Gateway, station_id: str) -> AsyncIterator[CommandedStation]:
    password = gateway.add_station(station_id)
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp1.6"], additional_headers=basic(station_id, password)
    ) as socket:
        client = CommandedStation(station_id, socket)
        client.resets = []
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


async def test_get_connection_describes_a_connected_station(gateway: Gateway, commands: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await commands.GetConnection(gateway_pb2.GetConnectionRequest(station_id="CP-CMD-1"), timeout=5)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    async with commanded_station(gateway, "CP-CMD-1"):
        info = await commands.GetConnection(gateway_pb2.GetConnectionRequest(station_id="CP-CMD-1"), timeout=5)
    assert info.station_id == "CP-CMD-1"
    assert info.gateway_instance == "gw-test-1"
    assert info.ocpp_version == common_pb2.OCPP_VERSION_1_6
    assert info.security_profile == common_pb2.SECURITY_PROFILE_1_BASIC
    assert info.remote_address == "127.0.0.1"
    assert info.connected_at.seconds > 0


async def test_reset_reaches_the_station_and_returns_its_answer(gateway: Gateway, commands: Stub) -> None:
    async with commanded_station(gateway, "CP-CMD-2") as station:
        reply = await commands.SendCommand(
            gateway_pb2.CommandRequest(
                station_id="CP-CMD-2", kind=gateway_pb2.COMMAND_KIND_RESET, arguments_json='{"type": "Soft"}'
            ),
            timeout=5,
        )
        assert station.resets == ["Soft"]
        assert (reply.status, reply.ocpp_action, reply.station_id) == ("Accepted", "Reset", "CP-CMD-2")
        assert orjson.loads(reply.response_json) == {"status": "Accepted"}
        assert reply.message_id

        rejected = await commands.SendCommand(
            gateway_pb2.CommandRequest(
                station_id="CP-CMD-2",
                kind=gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY,
                arguments_json='{"connector_id": 1, "type": "Inoperative"}',
            ),
            timeout=5,
        )
        assert rejected.status == "Rejected"


async def test_command_errors_map_to_status_codes(gateway: Gateway, commands: Stub) -> None:
    def request(kind: int, arguments: str, station_id: str = "CP-CMD-3") -> gateway_pb2.CommandRequest:
        return gateway_pb2.CommandRequest(station_id=station_id, kind=kind, arguments_json=arguments)  # type: ignore[arg-type]

    async def code_of(req: gateway_pb2.CommandRequest, deadline: float = 5) -> grpc.StatusCode:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await commands.SendCommand(req, timeout=deadline)
        return failed.value.code()

    assert (
        await code_of(request(gateway_pb2.COMMAND_KIND_RESET, '{"type": "Soft"}'))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    async with commanded_station(gateway, "CP-CMD-3"):
        assert await code_of(request(gateway_pb2.COMMAND_KIND_RESET, '{"type": "Sideways"}')) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
        assert await code_of(request(gateway_pb2.COMMAND_KIND_RESET, "[1]")) == grpc.StatusCode.INVALID_ARGUMENT
        # GetVariables is a 2.0.1 command; this station speaks 1.6.
        assert await code_of(request(gateway_pb2.COMMAND_KIND_GET_VARIABLES, "{}")) == grpc.StatusCode.UNIMPLEMENTED
        trigger = request(gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE, '{"requestedMessage": "Heartbeat"}')
        assert await code_of(trigger, deadline=0.5) == grpc.StatusCode.DEADLINE_EXCEEDED


class FailingStation(ChargePoint):  # type: ignore[misc]
    @on(Action.reset)
    async def on_reset(self, type: str, **_: Any) -> Any:
        raise ValueError("not today")


async def test_a_callerror_from_the_station_is_aborted_with_its_code(gateway: Gateway, commands: Stub) -> None:
    password = gateway.add_station("CP-CMD-4")
    async with websockets.connect(
        f"{gateway.url}/CP-CMD-4", subprotocols=["ocpp1.6"], additional_headers=basic("CP-CMD-4", password)
    ) as socket:
        runner = asyncio.create_task(FailingStation("CP-CMD-4", socket).start())
        try:
            call = commands.SendCommand(
                gateway_pb2.CommandRequest(
                    station_id="CP-CMD-4", kind=gateway_pb2.COMMAND_KIND_RESET, arguments_json='{"type": "Hard"}'
                ),
                timeout=5,
            )
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await call
            assert failed.value.code() == grpc.StatusCode.ABORTED
            assert ("ocpp-error-code", "InternalError") in tuple(failed.value.trailing_metadata() or ())
        finally:
            runner.cancel()


async def test_disconnect_closes_the_station_socket(gateway: Gateway, commands: Stub) -> None:
    missing = await commands.Disconnect(gateway_pb2.DisconnectRequest(station_id="CP-CMD-5"), timeout=5)
    assert not missing.was_connected
    password = gateway.add_station("CP-CMD-5")
    async with websockets.connect(
        f"{gateway.url}/CP-CMD-5", subprotocols=["ocpp1.6"], additional_headers=basic("CP-CMD-5", password)
    ) as socket:
        reply = await commands.Disconnect(
            gateway_pb2.DisconnectRequest(station_id="CP-CMD-5", reason="quarantined"), timeout=5
        )
        assert reply.was_connected
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "quarantined"
