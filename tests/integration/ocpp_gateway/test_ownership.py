"""Ownership across replicas: two in-process gateways sharing one Redis; a call made to the replica
that does not hold the station's socket is forwarded to the one that does."""

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
from ocpp.v16.enums import Action

from chargewatch.ocpp_gateway.forwarding import FORWARDED_BY
from chargewatch.ocpp_gateway.ownership import lease_key
from chargewatch.v1 import gateway_pb2, gateway_pb2_grpc
from tests.integration.ocpp_gateway.conftest import Gateway, basic, gateway_settings, running_gateway
from tests.integration.ocpp_gateway.test_commands_v16 import Station16

Stub = Any
LEASE_TTL_SECONDS = 1.0  # renewed every third of a second, so a takeover is seen quickly


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ownership_lease_ttl_seconds": LEASE_TTL_SECONDS}


@asynccontextmanager
async def second_replica(gateway: Gateway, instance: str = "gw-test-2") -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        authz_target=gateway.settings.authz_target,
        gateway_instance=instance,
        ownership_lease_ttl_seconds=LEASE_TTL_SECONDS,
    )
    async with running_gateway(gateway.authz, gateway.redis, settings) as replica:
        yield replica


@asynccontextmanager
async def commands_of(replica: Gateway) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.grpc_port}") as channel:
        yield gateway_pb2_grpc.GatewayCommandsStub(channel)


@asynccontextmanager
async def station_on(
    replica: Gateway, station_id: str, password: str, station_class: type[Station16] = Station16
) -> AsyncIterator[Station16]:
    async with websockets.connect(
        f"{replica.url}/{station_id}", subprotocols=["ocpp1.6"], additional_headers=basic(station_id, password)
    ) as socket:
        client = station_class(station_id, socket)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


async def lease(gateway: Gateway, station_id: str) -> dict[str, Any] | None:
    raw = await gateway.redis.get(lease_key(station_id))
    return orjson.loads(raw) if raw is not None else None


async def held_by(gateway: Gateway, station_id: str, instance: str) -> dict[str, Any]:
    """The station's lease once it names `instance` (on a replica the station left, after its renewal)."""
    async with asyncio.timeout(5):
        while True:
            held = await lease(gateway, station_id)
            if held is not None and held["instance"] == instance:
                return held
            await asyncio.sleep(0.01)


async def wait_until_released(gateway: Gateway, station_id: str) -> None:
    async with asyncio.timeout(5):
        while True:
            if await lease(gateway, station_id) is None:
                return
            await asyncio.sleep(0.02)


async def test_a_command_sent_to_another_replica_reaches_the_station(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-1")
    async with second_replica(gateway) as replica_b, station_on(gateway, "CP-OWN-1", password) as station:
        held = await held_by(gateway, "CP-OWN-1", "gw-test-1")
        assert held["address"] == f"127.0.0.1:{gateway.grpc_port}"
        ttl_ms = await gateway.redis.pttl(lease_key("CP-OWN-1"))
        assert 0 < ttl_ms <= gateway.settings.ownership_lease_ttl_seconds * 1000
        async with commands_of(replica_b) as via_b:
            reply = await via_b.SendCommand(
                gateway_pb2.CommandRequest(
                    station_id="CP-OWN-1", kind=gateway_pb2.COMMAND_KIND_RESET, arguments_json='{"type": "Soft"}'
                ),
                timeout=5,
            )
            info = await via_b.GetConnection(gateway_pb2.GetConnectionRequest(station_id="CP-OWN-1"), timeout=5)
        assert station.received == [("Reset", {"type": "Soft"})]
        assert (reply.status, reply.ocpp_action) == ("Accepted", "Reset")
        assert info.gateway_instance == "gw-test-1"
        assert len(replica_b.registry) == 0
    await wait_until_released(gateway, "CP-OWN-1")


async def test_disconnect_through_another_replica_closes_the_socket_and_frees_the_lease(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-2")
    async with second_replica(gateway) as replica_b, commands_of(replica_b) as via_b:
        async with websockets.connect(
            f"{gateway.url}/CP-OWN-2", subprotocols=["ocpp1.6"], additional_headers=basic("CP-OWN-2", password)
        ) as socket:
            await held_by(gateway, "CP-OWN-2", "gw-test-1")
            reply = await via_b.Disconnect(
                gateway_pb2.DisconnectRequest(station_id="CP-OWN-2", reason="quarantined"), timeout=5
            )
            assert reply.was_connected
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
        await wait_until_released(gateway, "CP-OWN-2")
        again = await via_b.Disconnect(gateway_pb2.DisconnectRequest(station_id="CP-OWN-2"), timeout=5)
        assert not again.was_connected


async def test_a_station_connected_nowhere_is_not_connected_on_every_replica(gateway: Gateway) -> None:
    async with second_replica(gateway) as replica_b, commands_of(replica_b) as via_b:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await via_b.SendCommand(
                gateway_pb2.CommandRequest(station_id="CP-OWN-NONE", kind=gateway_pb2.COMMAND_KIND_CLEAR_CACHE),
                timeout=5,
            )
        assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "not connected" in (failed.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await via_b.GetConnection(gateway_pb2.GetConnectionRequest(station_id="CP-OWN-NONE"), timeout=5)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_forwarded_call_is_never_forwarded_again(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-3")
    async with second_replica(gateway) as replica_b, station_on(replica_b, "CP-OWN-3", password) as station:
        await held_by(gateway, "CP-OWN-3", "gw-test-2")
        async with commands_of(gateway) as via_a:
            # As if another replica had forwarded it here on a stale lease: answered locally.
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await via_a.SendCommand(
                    gateway_pb2.CommandRequest(station_id="CP-OWN-3", kind=gateway_pb2.COMMAND_KIND_CLEAR_CACHE),
                    timeout=5,
                    metadata=((FORWARDED_BY, "gw-elsewhere"),),
                )
            assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert station.received == []
            forwarded = await via_a.SendCommand(
                gateway_pb2.CommandRequest(station_id="CP-OWN-3", kind=gateway_pb2.COMMAND_KIND_CLEAR_CACHE),
                timeout=5,
            )
        assert forwarded.status == "Accepted"
        assert station.received == [("ClearCache", {})]


class FailingResets(Station16):
    @on(Action.reset)
    async def on_reset(self, **payload: Any) -> Any:
        raise ValueError("not today")


async def test_a_callerror_keeps_its_code_through_forwarding(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-4")
    async with (
        second_replica(gateway) as replica_b,
        station_on(gateway, "CP-OWN-4", password, FailingResets),
        commands_of(replica_b) as via_b,
    ):
        await held_by(gateway, "CP-OWN-4", "gw-test-1")
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await via_b.SendCommand(
                gateway_pb2.CommandRequest(
                    station_id="CP-OWN-4", kind=gateway_pb2.COMMAND_KIND_RESET, arguments_json='{"type": "Hard"}'
                ),
                timeout=5,
            )
    assert failed.value.code() == grpc.StatusCode.ABORTED
    assert ("ocpp-error-code", "InternalError") in tuple(failed.value.trailing_metadata() or ())


async def test_reconnecting_to_another_replica_moves_the_lease_and_closes_the_old_socket(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-5")
    async with second_replica(gateway) as replica_b:
        async with websockets.connect(
            f"{gateway.url}/CP-OWN-5", subprotocols=["ocpp1.6"], additional_headers=basic("CP-OWN-5", password)
        ) as old_socket:
            await held_by(gateway, "CP-OWN-5", "gw-test-1")
            async with station_on(replica_b, "CP-OWN-5", password):
                await held_by(gateway, "CP-OWN-5", "gw-test-2")
                # Replica A sees at its next renewal that a newer connection holds the station.
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(old_socket.recv(), 5)
                assert closed.value.rcvd is not None and "replaced" in closed.value.rcvd.reason
                await asyncio.sleep(0.1)
                await held_by(gateway, "CP-OWN-5", "gw-test-2")
                assert gateway.registry.get("CP-OWN-5") is None
        await wait_until_released(gateway, "CP-OWN-5")


async def test_drain_releases_the_leases(gateway: Gateway) -> None:
    password = gateway.add_station("CP-OWN-6")
    async with second_replica(gateway) as replica_b, station_on(replica_b, "CP-OWN-6", password):
        await held_by(gateway, "CP-OWN-6", "gw-test-2")
        replica_b.server.stop()
        await wait_until_released(gateway, "CP-OWN-6")
