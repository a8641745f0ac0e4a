"""An independent OCPP 2.1 client (the `ocpp` package's v21 ChargePoint) against the gateway.

2.1 stations are served by the 2.0.1 handlers, every message checked against 2.1's own schemas:
boot, status, heartbeat, authorization, a transaction with its meter values, a command from
GatewayCommands, the actions only 2.1 has (NotSupported), and 2.1's own error code names.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import websockets
from ocpp.routing import on
from ocpp.v21 import ChargePoint, call, call_result, datatypes
from ocpp.v21.enums import (
    Action,
    BootReasonEnumType,
    ConnectorStatusEnumType,
    RegistrationStatusEnumType,
)

from chargewatch.streams import StreamFamily
from chargewatch.v1 import authz_pb2, common_pb2, events_pb2, gateway_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
CARD = {"id_token": "RFID-21", "type": "ISO14443"}


class Station21(ChargePoint):  # type: ignore[misc]
    """A 2.1 charging station that accepts a remote start and records it."""

    def __init__(self, station_id: str, socket: Any) -> None:
        super().__init__(station_id, socket, response_timeout=5)
        self.started: list[dict[str, Any]] = []

    @on(Action.request_start_transaction)
    async def on_request_start(self, **payload: Any) -> Any:
        self.started.append(payload)
        return call_result.RequestStartTransaction(status="Accepted")


@asynccontextmanager
async def station_21(gateway: Gateway, station_id: str) -> AsyncIterator[Station21]:
    password = gateway.add_station(station_id, tenant_id="partner-a")
    async with websockets.connect(
        f"{gateway.url}/{station_id}",
        subprotocols=["ocpp2.1"],
        additional_headers=basic(station_id, password),
    ) as socket:
        assert socket.subprotocol == "ocpp2.1"
        station = Station21(station_id, socket)
        runner = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            runner.cancel()


async def test_a_2_1_station_boots_reports_and_charges(gateway: Gateway) -> None:
    gateway.authz.tokens["RFID-21"] = authz_pb2.AuthorizeResponse(status=ACCEPTED)
    async with station_21(gateway, "CS-21-1") as station:
        boot = await station.call(
            call.BootNotification(
                charging_station=datatypes.ChargingStationType(vendor_name="Vendor-21", model="Model-21"),
                reason=BootReasonEnumType.power_up,
            ),
            suppress=False,
        )
        assert boot.status == RegistrationStatusEnumType.accepted and boot.interval > 0
        await station.call(
            call.StatusNotification(
                timestamp="2026-06-01T08:30:00Z",
                connector_status=ConnectorStatusEnumType.occupied,
                evse_id=1,
                connector_id=1,
            ),
            suppress=False,
        )
        assert (await station.call(call.Heartbeat(), suppress=False)).current_time
        authorized = await station.call(call.Authorize(id_token=CARD), suppress=False)
        assert authorized.id_token_info["status"] == "Accepted"
        energy = {"sampled_value": [{"value": 1500.0, "measurand": "Energy.Active.Import.Register"}]}
        for seq_no, (event_type, trigger) in enumerate(
            (("Started", "Authorized"), ("Updated", "MeterValuePeriodic"), ("Ended", "StopAuthorized"))
        ):
            answer = await station.call(
                call.TransactionEvent(
                    event_type=event_type,
                    timestamp=f"2026-06-01T08:3{seq_no + 1}:00Z",
                    trigger_reason=trigger,
                    seq_no=seq_no,
                    transaction_info={"transaction_id": "tx-21-1"},
                    id_token=CARD if seq_no == 0 else None,
                    evse={"id": 1, "connector_id": 1},
                    meter_value=[{"timestamp": f"2026-06-01T08:3{seq_no + 1}:00Z", **energy}],
                ),
                suppress=False,
            )
            if seq_no == 0:
                assert answer.id_token_info["status"] == "Accepted"
        await station.call(
            call.MeterValues(evse_id=1, meter_value=[{"timestamp": "2026-06-01T08:40:00Z", **energy}]),
            suppress=False,
        )

    boot_event = (await gateway.wait_for_events(StreamFamily.BOOT, lambda e: e.station_id == "CS-21-1"))[0]
    assert boot_event.boot.ocpp_version == common_pb2.OCPP_VERSION_2_1
    assert boot_event.boot.vendor == "Vendor-21"
    connected = await gateway.wait_for_events(StreamFamily.CONNECTION, lambda e: e.station_id == "CS-21-1")
    assert connected[0].connection.ocpp_version == common_pb2.OCPP_VERSION_2_1
    status = (await gateway.wait_for_events(StreamFamily.STATUS, lambda e: e.station_id == "CS-21-1"))[0]
    assert status.status.status == common_pb2.CONNECTOR_STATUS_OCCUPIED
    # Each answer came once its facts were on the streams: they are all there now.
    transactions = [e for e in await gateway.events(StreamFamily.TRANSACTION) if e.station_id == "CS-21-1"]
    assert [t.transaction.kind for t in transactions] == [
        events_pb2.TransactionEvent.KIND_STARTED,
        events_pb2.TransactionEvent.KIND_UPDATED,
        events_pb2.TransactionEvent.KIND_ENDED,
    ]
    assert {t.transaction.transaction_id for t in transactions} == {"tx-21-1"}
    meters = [e.meter_values for e in await gateway.events(StreamFamily.METER) if e.station_id == "CS-21-1"]
    assert [(m.transaction_id, m.evse_id) for m in meters] == [("tx-21-1", 1)] * 3 + [("", 1)]
    assert {(m.samples[0].value, m.samples[0].unit) for m in meters} == {(1500.0, common_pb2.UNIT_WH)}


async def test_a_remote_start_reaches_a_2_1_station(gateway: Gateway, commands: Any) -> None:
    async with station_21(gateway, "CS-21-2") as station:
        reply = await commands.SendCommand(
            gateway_pb2.CommandRequest(
                station_id="CS-21-2",
                kind=gateway_pb2.COMMAND_KIND_REMOTE_START,
                arguments_json=orjson.dumps({"id_token": CARD, "evse_id": 1}).decode(),
            ),
            timeout=5,
        )
        assert reply.status == "Accepted"
        assert station.started and station.started[0]["id_token"] == CARD
        assert isinstance(station.started[0]["remote_start_id"], int)


async def test_what_only_2_1_has_is_not_supported_and_errors_use_2_1_names(gateway: Gateway) -> None:
    async with station_21(gateway, "CS-21-3") as station:
        socket = station._connection
        # An action 2.1 defines and the gateway does not handle: NotSupported, the socket stays up.
        await socket.send(orjson.dumps([2, "m-1", "PullDynamicScheduleUpdate", {"chargingProfileId": 1}]).decode())
        # A BootNotification without its required "reason": 2.1's spelling of the occurrence error.
        await socket.send(
            orjson.dumps(
                [2, "m-2", "BootNotification", {"chargingStation": {"model": "m", "vendorName": "v"}}]
            ).decode()
        )
        answers: dict[str, Any] = {}
        async with asyncio.timeout(5):
            while len(answers) < 2:
                # The client's reader hands every answer it gets to this queue, parsed.
                answer = await station._response_queue.get()
                answers[answer.unique_id] = answer
        assert answers["m-1"].error_code == "NotSupported"
        assert answers["m-2"].error_code == "OccurrenceConstraintViolation"
        assert (await station.call(call.Heartbeat(), suppress=False)).current_time
