"""An independent OCPP 2.0.1 client (the `ocpp` package's ChargePoint) against the gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import websockets
from ocpp.v201 import ChargePoint, call, datatypes
from ocpp.v201.enums import BootReasonEnumType, ConnectorStatusEnumType, RegistrationStatusEnumType

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic


async def test_boot_status_heartbeat_on_2_0_1(gateway: Gateway) -> None:
    password = gateway.add_station("CS-201-1", tenant_id="partner-b")
    async with websockets.connect(
        f"{gateway.url}/CS-201-1", subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-201-1", password)
    ) as socket:
        assert socket.subprotocol == "ocpp2.0.1"
        client = ChargePoint("CS-201-1", socket, response_timeout=5)
        runner = asyncio.create_task(client.start())
        try:
            boot = await client.call(
                call.BootNotification(
                    charging_station=datatypes.ChargingStationType(
                        vendor_name="Vendor-Z",
                        model="Model-201",
                        serial_number="SN-1",
                        modem=datatypes.ModemType(iccid="8901", imsi="2620"),
                    ),
                    reason=BootReasonEnumType.power_up,
                ),
                suppress=False,
            )
            assert boot.status == RegistrationStatusEnumType.accepted
            assert boot.interval == 120
            await client.call(
                call.StatusNotification(
                    timestamp="2024-06-01T08:30:00.250+02:00",
                    connector_status=ConnectorStatusEnumType.occupied,
                    evse_id=2,
                    connector_id=1,
                ),
                suppress=False,
            )
            assert (await client.call(call.Heartbeat(), suppress=False)).current_time
        finally:
            runner.cancel()

    boot_event = (await gateway.wait_for_events(StreamFamily.BOOT, lambda e: e.station_id == "CS-201-1"))[0]
    assert boot_event.tenant_id == "partner-b"
    assert (boot_event.boot.vendor, boot_event.boot.serial_number, boot_event.boot.boot_reason) == (
        "Vendor-Z",
        "SN-1",
        "PowerUp",
    )
    assert (boot_event.boot.iccid, boot_event.boot.imsi) == ("8901", "2620")
    assert boot_event.boot.ocpp_version == common_pb2.OCPP_VERSION_2_0_1
    status = (await gateway.wait_for_events(StreamFamily.STATUS, lambda e: e.station_id == "CS-201-1"))[0]
    assert (status.status.evse_id, status.status.connector_id, status.status.status) == (
        2,
        1,
        common_pb2.CONNECTOR_STATUS_OCCUPIED,
    )
    assert status.station_time.ToDatetime(UTC) == datetime(2024, 6, 1, 6, 30, 0, 250000, tzinfo=UTC)
    connected = await gateway.wait_for_events(StreamFamily.CONNECTION, lambda e: e.station_id == "CS-201-1")
    assert connected[0].connection.ocpp_version == common_pb2.OCPP_VERSION_2_0_1
