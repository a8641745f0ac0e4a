"""Every command kind of OCPP 1.6 through GatewayCommands.SendCommand, answered by an independent
1.6 charge point built on the `ocpp` package (its `@on` handlers record what they received)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import orjson
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from chargewatch.v1 import authz_pb2, events_pb2, gateway_pb2, gateway_pb2_grpc
from tests.integration.ocpp_gateway.conftest import Gateway, basic

Stub = Any
K = gateway_pb2
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----"
PASSWORD = "N3w-Station-Passw0rd!"


class Station16(ChargePoint):  # type: ignore[misc]
    """A 1.6 charge point (with the security extension) that accepts every command and records it."""

    def __init__(self, station_id: str, socket: Any) -> None:
        super().__init__(station_id, socket)
        self.received: list[tuple[str, dict[str, Any]]] = []

    def _got(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, **payload: Any) -> Any:
        self._got("RemoteStartTransaction", payload)
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, **payload: Any) -> Any:
        self._got("RemoteStopTransaction", payload)
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.reset)
    async def on_reset(self, **payload: Any) -> Any:
        self._got("Reset", payload)
        return call_result.Reset(status="Accepted")

    @on(Action.change_availability)
    async def on_change_availability(self, **payload: Any) -> Any:
        self._got("ChangeAvailability", payload)
        return call_result.ChangeAvailability(status="Scheduled")

    @on(Action.unlock_connector)
    async def on_unlock(self, **payload: Any) -> Any:
        self._got("UnlockConnector", payload)
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    async def on_trigger(self, **payload: Any) -> Any:
        self._got("TriggerMessage", payload)
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.get_configuration)
    async def on_get_configuration(self, **payload: Any) -> Any:
        self._got("GetConfiguration", payload)
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on(Action.change_configuration)
    async def on_change_configuration(self, **payload: Any) -> Any:
        self._got("ChangeConfiguration", payload)
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.send_local_list)
    async def on_send_local_list(self, **payload: Any) -> Any:
        self._got("SendLocalList", payload)
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self, **payload: Any) -> Any:
        self._got("GetLocalListVersion", payload)
        return call_result.GetLocalListVersion(list_version=7)

    @on(Action.clear_cache)
    async def on_clear_cache(self, **payload: Any) -> Any:
        self._got("ClearCache", payload)
        return call_result.ClearCache(status="Accepted")

    @on(Action.update_firmware)
    async def on_update_firmware(self, **payload: Any) -> Any:
        self._got("UpdateFirmware", payload)
        return call_result.UpdateFirmware()

    @on(Action.signed_update_firmware)
    async def on_signed_update_firmware(self, **payload: Any) -> Any:
        self._got("SignedUpdateFirmware", payload)
        return call_result.SignedUpdateFirmware(status="Accepted")

    @on(Action.get_diagnostics)
    async def on_get_diagnostics(self, **payload: Any) -> Any:
        self._got("GetDiagnostics", payload)
        return call_result.GetDiagnostics(file_name="diagnostics-1.zip")

    @on(Action.get_log)
    async def on_get_log(self, **payload: Any) -> Any:
        self._got("GetLog", payload)
        return call_result.GetLog(status="Accepted", filename="security.log")

    @on(Action.data_transfer)
    async def on_data_transfer(self, **payload: Any) -> Any:
        self._got("DataTransfer", payload)
        return call_result.DataTransfer(status="Accepted", data="pong")

    @on(Action.certificate_signed)
    async def on_certificate_signed(self, **payload: Any) -> Any:
        self._got("CertificateSigned", payload)
        return call_result.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)
    async def on_install_certificate(self, **payload: Any) -> Any:
        self._got("InstallCertificate", payload)
        return call_result.InstallCertificate(status="Accepted")


@asynccontextmanager
async def station_16(gateway: Gateway, station_id: str, **station: Any) -> AsyncIterator[Station16]:
    password = gateway.add_station(station_id, **station)
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp1.6"], additional_headers=basic(station_id, password)
    ) as socket:
        client = Station16(station_id, socket)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


@pytest.fixture
async def commands(gateway: Gateway) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        yield gateway_pb2_grpc.GatewayCommandsStub(channel)


@dataclass(frozen=True)
class Case:
    kind: int
    arguments: dict[str, Any]
    action: str  # what the station receives
    status: str  # the reply's status ("" when the answer has none)
    received: dict[str, Any]  # a subset of what the station's handler got (snake_case, as `ocpp` gives it)


CASES = [
    Case(
        K.COMMAND_KIND_REMOTE_START,
        {"id_tag": "RFID-1", "connector_id": 1},
        "RemoteStartTransaction",
        "Accepted",
        {"id_tag": "RFID-1"},
    ),
    Case(
        K.COMMAND_KIND_REMOTE_STOP, {"transaction_id": 42}, "RemoteStopTransaction", "Accepted", {"transaction_id": 42}
    ),
    Case(K.COMMAND_KIND_RESET, {"type": "Hard"}, "Reset", "Accepted", {"type": "Hard"}),
    Case(
        K.COMMAND_KIND_CHANGE_AVAILABILITY,
        {"connector_id": 1, "type": "Inoperative"},
        "ChangeAvailability",
        "Scheduled",
        {"connector_id": 1},
    ),
    Case(K.COMMAND_KIND_UNLOCK_CONNECTOR, {"connector_id": 2}, "UnlockConnector", "Unlocked", {"connector_id": 2}),
    Case(
        K.COMMAND_KIND_TRIGGER_MESSAGE,
        {"requested_message": "StatusNotification"},
        "TriggerMessage",
        "Accepted",
        {"requested_message": "StatusNotification"},
    ),
    Case(
        K.COMMAND_KIND_GET_CONFIGURATION,
        {"key": ["HeartbeatInterval"]},
        "GetConfiguration",
        "",
        {"key": ["HeartbeatInterval"]},
    ),
    Case(
        K.COMMAND_KIND_CHANGE_CONFIGURATION,
        {"key": "HeartbeatInterval", "value": "60"},
        "ChangeConfiguration",
        "Accepted",
        {"key": "HeartbeatInterval", "value": "60"},
    ),
    Case(
        K.COMMAND_KIND_SEND_LOCAL_LIST,
        {
            "list_version": 7,
            "update_type": "Full",
            "local_authorization_list": [{"id_tag": "RFID-1", "id_tag_info": {"status": "Accepted"}}],
        },
        "SendLocalList",
        "Accepted",
        {"list_version": 7, "update_type": "Full"},
    ),
    Case(K.COMMAND_KIND_GET_LOCAL_LIST_VERSION, {}, "GetLocalListVersion", "", {}),
    Case(K.COMMAND_KIND_CLEAR_CACHE, {}, "ClearCache", "Accepted", {}),
    Case(
        K.COMMAND_KIND_UPDATE_FIRMWARE,
        {"location": "https://firmware.example/fw-2.bin", "retrieve_date": "2026-01-01T00:00:00Z"},
        "UpdateFirmware",
        "",
        {"location": "https://firmware.example/fw-2.bin"},
    ),
    Case(
        K.COMMAND_KIND_UPDATE_FIRMWARE,
        {
            "firmware": {
                "location": "https://firmware.example/fw-3.bin",
                "retrieve_date_time": "2026-01-01T00:00:00Z",
                "signing_certificate": CERTIFICATE,
                "signature": "c2ln",
            }
        },
        "SignedUpdateFirmware",
        "Accepted",
        {},
    ),
    Case(
        K.COMMAND_KIND_GET_DIAGNOSTICS,
        {"location": "ftp://diagnostics.example/upload"},
        "GetDiagnostics",
        "",
        {"location": "ftp://diagnostics.example/upload"},
    ),
    Case(
        K.COMMAND_KIND_GET_LOG,
        {"log_type": "SecurityLog", "log": {"remote_location": "https://logs.example/up"}},
        "GetLog",
        "Accepted",
        {"log_type": "SecurityLog"},
    ),
    Case(
        K.COMMAND_KIND_DATA_TRANSFER,
        {"vendor_id": "com.example", "message_id": "ping", "data": "x"},
        "DataTransfer",
        "Accepted",
        {"vendor_id": "com.example"},
    ),
    Case(
        K.COMMAND_KIND_CERTIFICATE_SIGNED,
        {"certificate_chain": CERTIFICATE},
        "CertificateSigned",
        "Accepted",
        {"certificate_chain": CERTIFICATE},
    ),
    Case(
        K.COMMAND_KIND_INSTALL_CERTIFICATE,
        {"certificate_type": "CentralSystemRootCertificate", "certificate": CERTIFICATE},
        "InstallCertificate",
        "Accepted",
        {"certificate_type": "CentralSystemRootCertificate"},
    ),
    Case(
        K.COMMAND_KIND_SET_PASSWORD,
        {"password": PASSWORD},
        "ChangeConfiguration",
        "Accepted",
        {"key": "AuthorizationKey", "value": PASSWORD.encode().hex()},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{K.CommandKind.Name(c.kind)}-{c.action}")
async def test_every_1_6_command_reaches_the_station(gateway: Gateway, commands: Stub, case: Case) -> None:
    async with station_16(gateway, "CP-C16-1") as station:
        reply = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-C16-1", kind=case.kind, arguments_json=orjson.dumps(case.arguments).decode()
            ),  # type: ignore[arg-type]
            timeout=5,
        )
        assert len(station.received) == 1
        action, payload = station.received[0]
    assert action == case.action == reply.ocpp_action
    assert case.received.items() <= payload.items()
    assert reply.status == case.status
    assert reply.station_id == "CP-C16-1" and reply.message_id
    answer = orjson.loads(reply.response_json)
    if case.status:
        assert answer["status"] == case.status
    if case.action == "GetLog":
        assert isinstance(payload["request_id"], int)  # generated for the caller
    if case.kind == K.COMMAND_KIND_GET_CONFIGURATION:
        assert answer["configurationKey"][0]["key"] == "HeartbeatInterval"


async def test_2_0_1_kinds_are_unimplemented_for_a_1_6_station(gateway: Gateway, commands: Stub) -> None:
    async with station_16(gateway, "CP-C16-2") as station:
        for kind in (K.COMMAND_KIND_GET_VARIABLES, K.COMMAND_KIND_SET_VARIABLES):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await commands.SendCommand(K.CommandRequest(station_id="CP-C16-2", kind=kind), timeout=5)
            assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "OCPP 1.6 has no" in (failed.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await commands.SendCommand(K.CommandRequest(station_id="CP-C16-2"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert station.received == []


async def test_a_remote_start_is_followed_by_the_station_s_start_transaction(gateway: Gateway, commands: Stub) -> None:
    gateway.authz.tokens["RFID-9"] = authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED)
    async with station_16(gateway, "CP-C16-3") as station:
        reply = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-C16-3",
                kind=K.COMMAND_KIND_REMOTE_START,
                arguments_json='{"id_tag": "RFID-9", "connector_id": 1}',
            ),
            timeout=5,
        )
        assert reply.status == "Accepted"
        assert station.received == [("RemoteStartTransaction", {"id_tag": "RFID-9", "connector_id": 1})]
        started = await station.call(
            call.StartTransaction(connector_id=1, id_tag="RFID-9", meter_start=1000, timestamp="2026-01-01T00:00:00Z")
        )
    assert started.id_tag_info["status"] == "Accepted"
    assert started.transaction_id > 0
