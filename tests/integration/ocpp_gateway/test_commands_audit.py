"""Commands are audited, sent once per idempotency key, scoped to the caller's tenant, and never leak
a password to logs or events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
import pytest
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2, events_pb2, gateway_pb2, gateway_pb2_grpc
from tests.integration.ocpp_gateway.conftest import Gateway
from tests.integration.ocpp_gateway.test_commands_v16 import Station16, station_16
from tests.integration.ocpp_gateway.test_commands_v201 import station_201

Stub = Any
K = gateway_pb2
PASSWORD = "Pr1vate-Rotated-Pass!"
OPERATOR = common_pb2.Principal(subject="alice", client_id="partner-api", roles=["operator"])


@pytest.fixture
async def commands(gateway: Gateway) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        yield gateway_pb2_grpc.GatewayCommandsStub(channel)


async def audits(gateway: Gateway, station_id: str, count: int) -> list[events_pb2.CommandAudit]:
    envelopes = await gateway.wait_for_events(
        StreamFamily.AUDIT, lambda e: e.station_id == station_id and len(e.command.command_kind) > 0
    )
    async with asyncio.timeout(5):
        while len(envelopes) < count:
            await asyncio.sleep(0.02)
            envelopes = [e for e in await gateway.events(StreamFamily.AUDIT) if e.station_id == station_id]
    return [e.command for e in envelopes]


async def test_every_command_is_audited_with_who_what_and_how_it_ended(gateway: Gateway, commands: Stub) -> None:
    async with station_16(gateway, "CP-AUD-1"):
        reply = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-AUD-1",
                kind=K.COMMAND_KIND_RESET,
                arguments_json='{"type": "Soft"}',
                requested_by=OPERATOR,
                idempotency_key="op-1",
            ),
            timeout=5,
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await commands.SendCommand(
                K.CommandRequest(
                    station_id="CP-AUD-1", kind=K.COMMAND_KIND_RESET, arguments_json='{"type": "Sideways"}'
                ),
                timeout=5,
            )
    with pytest.raises(grpc.aio.AioRpcError):
        await commands.SendCommand(K.CommandRequest(station_id="CP-AUD-1", kind=K.COMMAND_KIND_CLEAR_CACHE), timeout=5)
    accepted, invalid, not_connected = await audits(gateway, "CP-AUD-1", 3)
    assert (accepted.command_kind, accepted.ocpp_action, accepted.outcome) == (
        "COMMAND_KIND_RESET",
        "Reset",
        "Accepted",
    )
    assert (accepted.requested_by, accepted.requested_by_client, list(accepted.requested_by_roles)) == (
        "alice",
        "partner-api",
        ["operator"],
    )
    assert (accepted.tenant_id, accepted.idempotency_key, accepted.message_id) == ("tenant-a", "op-1", reply.message_id)
    assert orjson.loads(accepted.arguments_json) == {"type": "Soft"}
    assert accepted.duration_ms > 0
    assert invalid.outcome == "invalid_arguments"
    assert not_connected.outcome == "not_connected"


async def test_a_retried_command_with_the_same_key_is_sent_once(gateway: Gateway, commands: Stub) -> None:
    request = K.CommandRequest(
        station_id="CP-IDEM-1",
        kind=K.COMMAND_KIND_RESET,
        arguments_json='{"type": "Hard"}',
        idempotency_key="reset-after-incident-7",
    )
    async with station_16(gateway, "CP-IDEM-1") as station:
        first = await commands.SendCommand(request, timeout=5)
        second = await commands.SendCommand(request, timeout=5)
        assert station.received == [("Reset", {"type": "Hard"})]
        assert second == first
        # Concurrent retries wait for the one in flight instead of sending again.
        concurrent = K.CommandRequest(
            station_id="CP-IDEM-1", kind=K.COMMAND_KIND_CLEAR_CACHE, idempotency_key="clear-1"
        )
        replies = await asyncio.gather(*(commands.SendCommand(concurrent, timeout=5) for _ in range(3)))
        assert [a for a, _ in station.received].count("ClearCache") == 1
        assert len({r.message_id for r in replies}) == 1
        # The same key for another command is the caller's mistake, and nothing is sent.
        with pytest.raises(grpc.aio.AioRpcError) as reused:
            await commands.SendCommand(
                K.CommandRequest(
                    station_id="CP-IDEM-1",
                    kind=K.COMMAND_KIND_RESET,
                    arguments_json='{"type": "Soft"}',
                    idempotency_key="reset-after-incident-7",
                ),
                timeout=5,
            )
        assert reused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert len(station.received) == 2
    outcomes = [a.outcome for a in await audits(gateway, "CP-IDEM-1", 6)]
    assert outcomes.count("replayed") == 3


class RefusingStation(Station16):
    failures = 1

    @on(Action.clear_cache)
    async def on_clear_cache(self, **payload: Any) -> Any:
        self._got("ClearCache", payload)
        if RefusingStation.failures:
            RefusingStation.failures -= 1
            raise ValueError("busy")
        return call_result.ClearCache(status="Accepted")


async def test_a_failed_command_is_sent_again_when_retried(gateway: Gateway, commands: Stub) -> None:
    import websockets

    from tests.integration.ocpp_gateway.conftest import basic

    password = gateway.add_station("CP-IDEM-2")
    request = K.CommandRequest(station_id="CP-IDEM-2", kind=K.COMMAND_KIND_CLEAR_CACHE, idempotency_key="k-2")
    async with websockets.connect(
        f"{gateway.url}/CP-IDEM-2", subprotocols=["ocpp1.6"], additional_headers=basic("CP-IDEM-2", password)
    ) as socket:
        station = RefusingStation("CP-IDEM-2", socket)
        runner = asyncio.create_task(station.start())
        try:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await commands.SendCommand(request, timeout=5)
            assert failed.value.code() == grpc.StatusCode.ABORTED
            retried = await commands.SendCommand(request, timeout=5)
        finally:
            runner.cancel()
    assert retried.status == "Accepted"
    assert [a for a, _ in station.received] == ["ClearCache", "ClearCache"]


async def test_a_principal_of_another_tenant_is_refused(gateway: Gateway, commands: Stub) -> None:
    async with station_16(gateway, "CP-TEN-1") as station:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await commands.SendCommand(
                K.CommandRequest(
                    station_id="CP-TEN-1",
                    kind=K.COMMAND_KIND_RESET,
                    arguments_json='{"type": "Hard"}',
                    requested_by=common_pb2.Principal(subject="mallory", roles=["partner"], tenant_id="tenant-b"),
                ),
                timeout=5,
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        ok = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-TEN-1",
                kind=K.COMMAND_KIND_CLEAR_CACHE,
                requested_by=common_pb2.Principal(subject="bob", roles=["partner"], tenant_id="tenant-a"),
            ),
            timeout=5,
        )
        assert ok.status == "Accepted"
        assert [a for a, _ in station.received] == ["ClearCache"]
    forbidden = (await audits(gateway, "CP-TEN-1", 2))[0]
    assert (forbidden.outcome, forbidden.requested_by) == ("forbidden", "mallory")


async def all_stream_entries(gateway: Gateway) -> bytes:
    dump = b""
    async for key in gateway.redis.scan_iter(match="cw:*"):
        if await gateway.redis.type(key) == b"stream":
            for _, fields in await gateway.redis.xrange(key):
                dump += b"".join(fields.values())
        else:
            dump += bytes(await gateway.redis.dump(key) or b"")
    return dump


async def test_a_new_password_reaches_the_station_but_no_log_or_event(
    gateway: Gateway, commands: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hex_password = PASSWORD.encode().hex()
    request_16 = K.CommandRequest(
        station_id="CP-PWD-16",
        kind=K.COMMAND_KIND_SET_PASSWORD,
        arguments_json=orjson.dumps({"password": PASSWORD}).decode(),
        idempotency_key="rotate-1",
        requested_by=OPERATOR,
    )
    async with station_16(gateway, "CP-PWD-16") as station:
        reply = await commands.SendCommand(request_16, timeout=5)
        await commands.SendCommand(request_16, timeout=5)  # a replay, from Redis
    assert reply.status == "Accepted"
    assert station.received == [("ChangeConfiguration", {"key": "AuthorizationKey", "value": hex_password})]
    async with station_201(gateway, "CP-PWD-201") as station_2:
        request_201 = K.CommandRequest(
            station_id="CP-PWD-201",
            kind=K.COMMAND_KIND_SET_PASSWORD,
            arguments_json=orjson.dumps({"password": PASSWORD}).decode(),
        )
        reply_201 = await commands.SendCommand(request_201, timeout=5)
        # A bad one is refused without an echo either.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await commands.SendCommand(
                K.CommandRequest(
                    station_id="CP-PWD-201",
                    kind=K.COMMAND_KIND_SET_PASSWORD,
                    arguments_json='{"password": "too short!"}',
                ),
                timeout=5,
            )
    assert reply_201.status == "Accepted"
    assert station_2.received[0][1]["set_variable_data"][0]["attribute_value"] == PASSWORD
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "too short!" not in (refused.value.details() or "")

    audited = await audits(gateway, "CP-PWD-16", 2) + await audits(gateway, "CP-PWD-201", 2)
    assert [(a.ocpp_action, a.outcome) for a in audited] == [
        ("ChangeConfiguration", "Accepted"),
        ("ChangeConfiguration", "replayed"),
        ("SetVariables", "Accepted"),
        ("", "invalid_arguments"),
    ]
    assert all("***" in a.arguments_json for a in audited)
    stored = await all_stream_entries(gateway)
    # The test's stations (the `ocpp` package, websockets' client) log what they receive; the gateway must not.
    gateway_records = [r for r in caplog.records if r.name not in ("ocpp", "websockets.client")]
    for secret in (PASSWORD, hex_password, "too short!"):
        assert secret.encode() not in stored
        for record in gateway_records:
            assert secret not in record.getMessage(), record.name
            assert secret not in str(record.__dict__), (record.name, record.getMessage()[:300])
    assert any(r.name.startswith("chargewatch.ocpp_gateway") for r in gateway_records)  # the capture saw the gateway
