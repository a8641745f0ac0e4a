"""Every message a 1.6 charge point initiates, sent by the `ocpp` package's ChargePoint: answer and event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import orjson
import websockets
from google.protobuf.timestamp_pb2 import Timestamp
from ocpp.v16 import ChargePoint, call

from chargewatch.streams import StreamFamily
from chargewatch.v1 import authz_pb2, common_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic
from tests.unit.ocpp_gateway.test_messages_pure import csr

TX = events_pb2.TransactionEvent


def now_stamp(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@asynccontextmanager
async def station16(gateway: Gateway, station_id: str, **station: object) -> AsyncIterator[ChargePoint]:
    password = gateway.add_station(station_id, **station)  # type: ignore[arg-type]
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp1.6"], additional_headers=basic(station_id, password)
    ) as socket:
        client = ChargePoint(station_id, socket, response_timeout=5)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


def mine(events: list[events_pb2.EventEnvelope], station_id: str) -> list[events_pb2.EventEnvelope]:
    return [e for e in events if e.station_id == station_id]


async def test_authorize_start_meter_values_stop_on_1_6(gateway: Gateway) -> None:
    expiry = Timestamp()
    expiry.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
    gateway.authz.tokens["CARD-OK"] = authz_pb2.AuthorizeResponse(
        status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED, expiry=expiry, group_id="fleet-7"
    )
    gateway.authz.tokens["CARD-BLOCKED"] = authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_BLOCKED)
    async with station16(gateway, "CP-M16", tenant_id="partner-m") as client:
        ok = await client.call(call.Authorize(id_tag="CARD-OK"), suppress=False)
        assert ok.id_tag_info == {
            "status": "Accepted",
            "expiry_date": "2030-01-01T00:00:00.000Z",
            "parent_id_tag": "fleet-7",
        }
        blocked = await client.call(call.Authorize(id_tag="CARD-BLOCKED"), suppress=False)
        assert blocked.id_tag_info == {"status": "Blocked"}
        # authz's unknown maps to 1.6's Invalid (1.6 has no Unknown).
        unknown = await client.call(call.Authorize(id_tag="CARD-WHO"), suppress=False)
        assert unknown.id_tag_info == {"status": "Invalid"}

        started = await client.call(
            call.StartTransaction(connector_id=2, id_tag="CARD-OK", meter_start=1500, timestamp=now_stamp()),
            suppress=False,
        )
        transaction_id = started.transaction_id
        assert isinstance(transaction_id, int) and transaction_id > 0
        assert started.id_tag_info["status"] == "Accepted"

        await client.call(
            call.MeterValues(
                connector_id=2,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        "timestamp": now_stamp(),
                        "sampled_value": [
                            {"value": "2.5", "unit": "kWh", "context": "Sample.Periodic", "location": "Outlet"},
                            {"value": "11", "unit": "kW", "measurand": "Power.Active.Import"},
                            {"value": "16.1", "measurand": "Current.Import", "phase": "L1"},
                        ],
                    }
                ],
            ),
            suppress=False,
        )
        # A lower register reading and an implausible power in the next message.
        await client.call(
            call.MeterValues(
                connector_id=2,
                transaction_id=transaction_id,
                meter_value=[
                    {
                        "timestamp": now_stamp(timedelta(hours=2)),
                        "sampled_value": [
                            {"value": "2400", "location": "Outlet", "context": "Sample.Periodic"},
                            {"value": "5000", "unit": "kW", "measurand": "Power.Active.Import"},
                        ],
                    }
                ],
            ),
            suppress=False,
        )
        stopped = await client.call(
            call.StopTransaction(
                meter_stop=9000,
                timestamp=now_stamp(),
                transaction_id=transaction_id,
                reason="EVDisconnected",
                transaction_data=[
                    {
                        "timestamp": now_stamp(),
                        "sampled_value": [{"value": "9.0", "unit": "kWh", "context": "Transaction.End"}],
                    }
                ],
            ),
            suppress=False,
        )
        assert stopped.id_tag_info is None

    requests = [r for r in gateway.authz.authorize_requests if r.station_id == "CP-M16"]
    assert [(r.id_token, r.id_token_type) for r in requests] == [
        ("CARD-OK", "ISO14443"),
        ("CARD-BLOCKED", "ISO14443"),
        ("CARD-WHO", "ISO14443"),
        ("CARD-OK", "ISO14443"),
    ]
    assert (requests[-1].evse_id, requests[-1].transaction_id) == (2, str(transaction_id))
    # authz answered every time: the gateway publishes no decision of its own.
    assert not mine(await gateway.events(StreamFamily.AUTHORIZATION), "CP-M16")

    transactions = mine(await gateway.events(StreamFamily.TRANSACTION), "CP-M16")
    assert [e.transaction.kind for e in transactions] == [TX.KIND_STARTED, TX.KIND_ENDED]
    start, end = (e.transaction for e in transactions)
    assert (start.transaction_id, start.evse_id, start.connector_id) == (str(transaction_id), 2, 1)
    assert (start.id_token, start.id_token_type, start.meter_wh, start.group_id) == (
        "CARD-OK",
        "ISO14443",
        1500.0,
        "fleet-7",
    )
    assert (end.transaction_id, end.evse_id, end.connector_id) == (str(transaction_id), 2, 1)
    assert (end.meter_wh, end.stop_reason, end.id_token) == (9000.0, "EVDisconnected", "CARD-OK")
    assert all(e.tenant_id == "partner-m" and not e.late for e in transactions)

    meters = mine(await gateway.events(StreamFamily.METER), "CP-M16")
    assert len(meters) == 3
    first, second, closing = (e.meter_values for e in meters)
    assert (first.evse_id, first.connector_id, first.transaction_id) == (2, 1, str(transaction_id))
    assert [(s.measurand, s.value, s.unit, s.unit_as_reported) for s in first.samples] == [
        ("Energy.Active.Import.Register", 2500.0, common_pb2.UNIT_WH, "kWh"),
        ("Power.Active.Import", 11000.0, common_pb2.UNIT_W, "kW"),
        ("Current.Import", 16.1, common_pb2.UNIT_A, ""),
    ]
    assert (first.samples[0].context, first.samples[0].location, first.samples[2].phase) == (
        "Sample.Periodic",
        "Outlet",
        "L1",
    )
    assert list(first.quality_flags) == []
    assert list(second.quality_flags) == ["register_backwards", "clock_skew", "power_implausible"]
    assert closing.transaction_id == str(transaction_id) and closing.samples[0].value == 9000.0


async def test_status_and_security_extension_messages_on_1_6(gateway: Gateway) -> None:
    async with station16(gateway, "CP-N16") as client:
        data = await client.call(
            call.DataTransfer(vendor_id="com.example", message_id="hello", data="x=1"), suppress=False
        )
        assert data.status == "UnknownVendorId"
        await client.call(call.DiagnosticsStatusNotification(status="Uploaded"), suppress=False)
        await client.call(call.FirmwareStatusNotification(status="Installing"), suppress=False)
        await client.call(
            call.SignedFirmwareStatusNotification(status="InvalidSignature", request_id=17), suppress=False
        )
        await client.call(call.LogStatusNotification(status="Uploading", request_id=18), suppress=False)
        await client.call(
            call.SecurityEventNotification(
                type="TamperDetectionActivated", timestamp=now_stamp(), tech_info="lid open"
            ),
            suppress=False,
        )
        await client.call(
            call.SecurityEventNotification(type="InvalidTLSVersion", timestamp=now_stamp(), tech_info=None),
            suppress=False,
        )
        good = await client.call(call.SignCertificate(csr=csr("CP-N16")), suppress=False)
        assert good.status == "Accepted"
        other = await client.call(call.SignCertificate(csr=csr("CP-SOMEONE-ELSE")), suppress=False)
        assert other.status == "Rejected"

    notifications = mine(await gateway.events(StreamFamily.NOTIFICATION), "CP-N16")
    summary = [(e.notification.action, e.notification.status, e.notification.request_id) for e in notifications]
    assert summary == [
        ("DataTransfer", "", 0),
        ("DiagnosticsStatusNotification", "Uploaded", 0),
        ("FirmwareStatusNotification", "Installing", 0),
        ("SignedFirmwareStatusNotification", "InvalidSignature", 17),
        ("LogStatusNotification", "Uploading", 18),
        ("SignCertificate", "Accepted", 0),
        ("SignCertificate", "Rejected", 0),
    ]
    assert all(e.notification.ocpp_version == common_pb2.OCPP_VERSION_1_6 for e in notifications)
    assert orjson.loads(notifications[0].notification.payload_json) == {
        "vendorId": "com.example",
        "messageId": "hello",
        "data": "x=1",
    }
    assert "BEGIN CERTIFICATE REQUEST" in orjson.loads(notifications[5].notification.payload_json)["csr"]

    security = mine(await gateway.events(StreamFamily.SECURITY), "CP-N16")
    reported = [e.security for e in security if e.security.reported_by == "station"]
    assert [(s.type, s.severity, s.tech_info, s.attributes["ocpp_list"]) for s in reported] == [
        ("TamperDetectionActivated", common_pb2.SEVERITY_HIGH, "lid open", "critical"),
        ("InvalidTLSVersion", common_pb2.SEVERITY_LOW, "", "non_critical"),
    ]
    assert reported[0].remote_address == "127.0.0.1"
    raised = [e.security for e in security if e.security.reported_by == "ocpp-gateway"]
    assert [s.type for s in raised] == ["InvalidCertificateSigningRequest"]
    assert raised[0].tech_info == "the request's common name is not the station id"
