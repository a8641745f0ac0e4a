"""Every command kind of OCPP 2.0.1 through GatewayCommands.SendCommand, answered by an independent
2.0.1 charging station built on the `ocpp` package."""

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
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from chargewatch.v1 import authz_pb2, events_pb2, gateway_pb2, gateway_pb2_grpc
from tests.integration.ocpp_gateway.conftest import Gateway, basic

Stub = Any
K = gateway_pb2
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----"
PASSWORD = "N3w-Station-Passw0rd!"
HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def _variable_result(data: dict[str, Any], status: str) -> dict[str, Any]:
    return {"attribute_status": status, "component": data["component"], "variable": data["variable"]}


class Station201(ChargePoint):  # type: ignore[misc]
    """A 2.0.1 charging station that accepts every command and records it."""

    def __init__(self, station_id: str, socket: Any) -> None:
        super().__init__(station_id, socket)
        self.received: list[tuple[str, dict[str, Any]]] = []

    def _got(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))

    @on(Action.request_start_transaction)
    async def on_request_start(self, **payload: Any) -> Any:
        self._got("RequestStartTransaction", payload)
        return call_result.RequestStartTransaction(status="Accepted")

    @on(Action.request_stop_transaction)
    async def on_request_stop(self, **payload: Any) -> Any:
        self._got("RequestStopTransaction", payload)
        return call_result.RequestStopTransaction(status="Accepted")

    @on(Action.reset)
    async def on_reset(self, **payload: Any) -> Any:
        self._got("Reset", payload)
        return call_result.Reset(status="Scheduled")

    @on(Action.change_availability)
    async def on_change_availability(self, **payload: Any) -> Any:
        self._got("ChangeAvailability", payload)
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.unlock_connector)
    async def on_unlock(self, **payload: Any) -> Any:
        self._got("UnlockConnector", payload)
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    async def on_trigger(self, **payload: Any) -> Any:
        self._got("TriggerMessage", payload)
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.get_variables)
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]], **rest: Any) -> Any:
        self._got("GetVariables", {"get_variable_data": get_variable_data, **rest})
        results = [{**_variable_result(d, "Accepted"), "attribute_value": "300"} for d in get_variable_data]
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **rest: Any) -> Any:
        self._got("SetVariables", {"set_variable_data": set_variable_data, **rest})
        return call_result.SetVariables(
            set_variable_result=[_variable_result(d, "Accepted") for d in set_variable_data]
        )

    @on(Action.send_local_list)
    async def on_send_local_list(self, **payload: Any) -> Any:
        self._got("SendLocalList", payload)
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self, **payload: Any) -> Any:
        self._got("GetLocalListVersion", payload)
        return call_result.GetLocalListVersion(version_number=7)

    @on(Action.clear_cache)
    async def on_clear_cache(self, **payload: Any) -> Any:
        self._got("ClearCache", payload)
        return call_result.ClearCache(status="Accepted")

    @on(Action.update_firmware)
    async def on_update_firmware(self, **payload: Any) -> Any:
        self._got("UpdateFirmware", payload)
        return call_result.UpdateFirmware(status="Accepted")

    @on(Action.get_log)
    async def on_get_log(self, **payload: Any) -> Any:
        self._got("GetLog", payload)
        return call_result.GetLog(status="Accepted", filename="security.log")

    @on(Action.data_transfer)
    async def on_data_transfer(self, **payload: Any) -> Any:
        self._got("DataTransfer", payload)
        return call_result.DataTransfer(status="Accepted")

    @on(Action.certificate_signed)
    async def on_certificate_signed(self, **payload: Any) -> Any:
        self._got("CertificateSigned", payload)
        return call_result.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)
    async def on_install_certificate(self, **payload: Any) -> Any:
        self._got("InstallCertificate", payload)
        return call_result.InstallCertificate(status="Accepted")


@asynccontextmanager
async def station_201(gateway: Gateway, station_id: str) -> AsyncIterator[Station201]:
    password = gateway.add_station(station_id)
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp2.0.1"], additional_headers=basic(station_id, password)
    ) as socket:
        client = Station201(station_id, socket)
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
    action: str
    status: str
    received: dict[str, Any]


ID_TOKEN = {"id_token": "RFID-1", "type": "ISO14443"}
CASES = [
    Case(
        K.COMMAND_KIND_REMOTE_START,
        {"id_token": ID_TOKEN, "evse_id": 1},
        "RequestStartTransaction",
        "Accepted",
        {"evse_id": 1},
    ),
    Case(
        K.COMMAND_KIND_REMOTE_STOP,
        {"transaction_id": "tx-1"},
        "RequestStopTransaction",
        "Accepted",
        {"transaction_id": "tx-1"},
    ),
    Case(K.COMMAND_KIND_RESET, {"type": "OnIdle"}, "Reset", "Scheduled", {"type": "OnIdle"}),
    Case(
        K.COMMAND_KIND_CHANGE_AVAILABILITY,
        {"operational_status": "Inoperative", "evse": {"id": 1}},
        "ChangeAvailability",
        "Accepted",
        {"operational_status": "Inoperative"},
    ),
    Case(
        K.COMMAND_KIND_UNLOCK_CONNECTOR,
        {"evse_id": 1, "connector_id": 1},
        "UnlockConnector",
        "Unlocked",
        {"evse_id": 1},
    ),
    Case(
        K.COMMAND_KIND_TRIGGER_MESSAGE,
        {"requested_message": "Heartbeat"},
        "TriggerMessage",
        "Accepted",
        {"requested_message": "Heartbeat"},
    ),
    Case(K.COMMAND_KIND_GET_VARIABLES, {"get_variable_data": [HEARTBEAT]}, "GetVariables", "", {}),
    Case(
        K.COMMAND_KIND_SET_VARIABLES,
        {"set_variable_data": [{"attribute_value": "60", **HEARTBEAT}]},
        "SetVariables",
        "",
        {},
    ),
    Case(
        K.COMMAND_KIND_SEND_LOCAL_LIST,
        {"version_number": 7, "update_type": "Full"},
        "SendLocalList",
        "Accepted",
        {"version_number": 7},
    ),
    Case(K.COMMAND_KIND_GET_LOCAL_LIST_VERSION, {}, "GetLocalListVersion", "", {}),
    Case(K.COMMAND_KIND_CLEAR_CACHE, {}, "ClearCache", "Accepted", {}),
    Case(
        K.COMMAND_KIND_UPDATE_FIRMWARE,
        {
            "firmware": {
                "location": "https://firmware.example/fw.bin",
                "retrieve_date_time": "2026-01-01T00:00:00Z",
                "signing_certificate": CERTIFICATE,
                "signature": "c2ln",
            }
        },
        "UpdateFirmware",
        "Accepted",
        {},
    ),
    Case(
        K.COMMAND_KIND_GET_LOG,
        {"log_type": "DiagnosticsLog", "log": {"remote_location": "https://logs.example/up"}},
        "GetLog",
        "Accepted",
        {"log_type": "DiagnosticsLog"},
    ),
    Case(
        K.COMMAND_KIND_DATA_TRANSFER,
        {"vendor_id": "com.example", "data": "ping"},
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
        {"certificate_type": "CSMSRootCertificate", "certificate": CERTIFICATE},
        "InstallCertificate",
        "Accepted",
        {"certificate_type": "CSMSRootCertificate"},
    ),
    Case(K.COMMAND_KIND_SET_PASSWORD, {"password": PASSWORD}, "SetVariables", "Accepted", {}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{K.CommandKind.Name(c.kind)}-{c.action}")
async def test_every_2_0_1_command_reaches_the_station(gateway: Gateway, commands: Stub, case: Case) -> None:
    async with station_201(gateway, "CP-C201-1") as station:
        reply = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-C201-1", kind=case.kind, arguments_json=orjson.dumps(case.arguments).decode()
            ),  # type: ignore[arg-type]
            timeout=5,
        )
        assert len(station.received) == 1
        action, payload = station.received[0]
    assert action == case.action == reply.ocpp_action
    assert case.received.items() <= payload.items()
    assert reply.status == case.status
    answer = orjson.loads(reply.response_json)
    if case.action in ("RequestStartTransaction", "UpdateFirmware", "GetLog"):
        generated = payload["remote_start_id"] if case.action == "RequestStartTransaction" else payload["request_id"]
        assert isinstance(generated, int) and generated > 0
    if case.kind == K.COMMAND_KIND_GET_VARIABLES:
        assert answer["getVariableResult"][0]["attributeValue"] == "300"
    if case.kind == K.COMMAND_KIND_SET_PASSWORD:
        (variable,) = payload["set_variable_data"]
        assert variable["component"] == {"name": "SecurityCtrlr"}
        assert variable["variable"] == {"name": "BasicAuthPassword"}
        assert variable["attribute_value"] == PASSWORD


async def test_1_6_kinds_are_unimplemented_for_a_2_0_1_station(gateway: Gateway, commands: Stub) -> None:
    async with station_201(gateway, "CP-C201-2") as station:
        for kind in (
            K.COMMAND_KIND_GET_CONFIGURATION,
            K.COMMAND_KIND_CHANGE_CONFIGURATION,
            K.COMMAND_KIND_GET_DIAGNOSTICS,
        ):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await commands.SendCommand(K.CommandRequest(station_id="CP-C201-2", kind=kind), timeout=5)
            assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "OCPP 2.0.1 has no" in (failed.value.details() or "")
        assert station.received == []


async def test_a_request_start_is_followed_by_the_station_s_transaction_event(gateway: Gateway, commands: Stub) -> None:
    gateway.authz.tokens["RFID-1"] = authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED)
    async with station_201(gateway, "CP-C201-3") as station:
        reply = await commands.SendCommand(
            K.CommandRequest(
                station_id="CP-C201-3",
                kind=K.COMMAND_KIND_REMOTE_START,
                arguments_json=orjson.dumps({"id_token": ID_TOKEN, "evse_id": 1}).decode(),
            ),
            timeout=5,
        )
        assert reply.status == "Accepted"
        remote_start_id = station.received[0][1]["remote_start_id"]
        answer = await station.call(
            call.TransactionEvent(
                event_type="Started",
                timestamp="2026-01-01T00:00:00Z",
                trigger_reason="RemoteStart",
                seq_no=0,
                transaction_info={"transaction_id": "tx-remote-1", "remote_start_id": remote_start_id},
                id_token=ID_TOKEN,
                evse={"id": 1, "connector_id": 1},
            )
        )
    assert answer.id_token_info["status"] == "Accepted"
