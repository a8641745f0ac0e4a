"""Every message a 2.0.1 charging station initiates, sent by the `ocpp` package's ChargePoint: answer and event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import orjson
import websockets
from ocpp.v201 import ChargePoint, call

from chargewatch.streams import StreamFamily
from chargewatch.v1 import authz_pb2, common_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic
from tests.integration.ocpp_gateway.test_messages_16 import mine, now_stamp
from tests.unit.ocpp_gateway.test_messages_pure import csr

TX = events_pb2.TransactionEvent


@asynccontextmanager
async def station201(gateway: Gateway, station_id: str, **station: object) -> AsyncIterator[ChargePoint]:
    password = gateway.add_station(station_id, **station)  # type: ignore[arg-type]
    async with websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=["ocpp2.0.1"], additional_headers=basic(station_id, password)
    ) as socket:
        client = ChargePoint(station_id, socket, response_timeout=5)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


def transaction_event(
    event_type: str, seq_no: int, *, token: str | None = None, offline: bool | None = None, **extra: object
) -> call.TransactionEvent:
    return call.TransactionEvent(
        event_type=event_type,  # type: ignore[arg-type]
        timestamp=now_stamp(),
        trigger_reason=extra.pop("trigger_reason", "Authorized"),  # type: ignore[arg-type]
        seq_no=seq_no,
        transaction_info={"transaction_id": "TX-201-A", **extra.pop("info", {})},  # type: ignore[arg-type, dict-item]
        id_token={"id_token": token, "type": "ISO14443"} if token else None,  # type: ignore[arg-type]
        offline=offline,
        **extra,  # type: ignore[arg-type]
    )


async def test_authorize_and_a_transaction_on_2_0_1(gateway: Gateway) -> None:
    gateway.authz.tokens["RFID-1"] = authz_pb2.AuthorizeResponse(
        status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED, group_id="grp"
    )
    gateway.authz.tokens["RFID-2"] = authz_pb2.AuthorizeResponse(
        status=events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION
    )
    async with station201(gateway, "CS-M201", tenant_id="partner-t") as client:
        ok = await client.call(call.Authorize(id_token={"id_token": "RFID-1", "type": "ISO14443"}), suppress=False)  # type: ignore[arg-type]
        assert ok.id_token_info == {"status": "Accepted", "group_id_token": {"id_token": "grp", "type": "Central"}}
        where = await client.call(call.Authorize(id_token={"id_token": "RFID-2", "type": "eMAID"}), suppress=False)  # type: ignore[arg-type]
        assert where.id_token_info == {"status": "NotAtThisLocation"}
        unknown = await client.call(call.Authorize(id_token={"id_token": "RFID-3", "type": "ISO14443"}), suppress=False)  # type: ignore[arg-type]
        assert unknown.id_token_info == {"status": "Unknown"}

        # Plugged in first (no token), then authorized, then periodic meter values, then ended.
        started = await client.call(
            transaction_event(
                "Started",
                0,
                trigger_reason="CablePluggedIn",
                evse={"id": 1, "connector_id": 2},
                info={"charging_state": "EVConnected"},
                meter_value=[
                    {"timestamp": now_stamp(), "sampled_value": [{"value": 1.25, "unit_of_measure": {"unit": "kWh"}}]}
                ],
            ),
            suppress=False,
        )
        assert started.id_token_info is None
        authorized = await client.call(transaction_event("Updated", 1, token="RFID-1"), suppress=False)
        assert authorized.id_token_info["status"] == "Accepted"
        # The same token again is not sent to authz again.
        again = await client.call(
            transaction_event(
                "Updated",
                2,
                token="RFID-1",
                trigger_reason="MeterValuePeriodic",
                info={"charging_state": "Charging"},
                meter_value=[
                    {
                        "timestamp": now_stamp(),
                        "sampled_value": [
                            {"value": 3.5, "unit_of_measure": {"unit": "Wh", "multiplier": 3}},
                            {"value": 7.4, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "kW"}},
                        ],
                    }
                ],
            ),
            suppress=False,
        )
        assert again.id_token_info is None
        await client.call(
            transaction_event(
                "Ended", 3, trigger_reason="EVCommunicationLost", info={"stopped_reason": "EVDisconnected"}
            ),
            suppress=False,
        )
        await client.call(
            call.MeterValues(
                evse_id=0,
                meter_value=[{"timestamp": now_stamp(), "sampled_value": [{"value": 230.1, "measurand": "Voltage"}]}],  # type: ignore[list-item]
            ),
            suppress=False,
        )

    requests = [r for r in gateway.authz.authorize_requests if r.station_id == "CS-M201"]
    assert [(r.id_token, r.id_token_type, r.transaction_id) for r in requests] == [
        ("RFID-1", "ISO14443", ""),
        ("RFID-2", "eMAID", ""),
        ("RFID-3", "ISO14443", ""),
        ("RFID-1", "ISO14443", "TX-201-A"),
    ]
    assert requests[-1].evse_id == 1

    transactions = [e.transaction for e in mine(await gateway.events(StreamFamily.TRANSACTION), "CS-M201")]
    assert [(t.kind, t.seq_no, t.evse_id, t.connector_id) for t in transactions] == [
        (TX.KIND_STARTED, 0, 1, 2),
        (TX.KIND_UPDATED, 1, 1, 2),
        (TX.KIND_UPDATED, 2, 1, 2),
        (TX.KIND_ENDED, 3, 1, 2),
    ]
    assert [t.meter_wh for t in transactions] == [1250.0, 0.0, 3500.0, 0.0]
    assert [t.trigger_reason for t in transactions] == [
        "CablePluggedIn",
        "Authorized",
        "MeterValuePeriodic",
        "EVCommunicationLost",
    ]
    assert (transactions[1].id_token, transactions[1].group_id) == ("RFID-1", "grp")
    assert (transactions[2].charging_state, transactions[3].stop_reason) == ("Charging", "EVDisconnected")

    meters = [e.meter_values for e in mine(await gateway.events(StreamFamily.METER), "CS-M201")]
    assert [(m.transaction_id, m.evse_id, m.connector_id) for m in meters] == [
        ("TX-201-A", 1, 2),
        ("TX-201-A", 1, 2),
        ("", 0, 0),
    ]
    assert [(s.value, s.unit, s.unit_as_reported) for s in meters[1].samples] == [
        (3500.0, common_pb2.UNIT_WH, "Wh*10^3"),
        (7400.0, common_pb2.UNIT_W, "kW"),
    ]
    assert (meters[2].samples[0].value, meters[2].samples[0].unit) == (230.1, common_pb2.UNIT_V)


async def test_reports_and_notifications_on_2_0_1(gateway: Gateway) -> None:
    generated = now_stamp(-timedelta(seconds=5))
    async with station201(gateway, "CS-N201") as client:
        answers = {}
        calls = {
            "NotifyEvent": call.NotifyEvent(
                generated_at=generated,
                seq_no=0,
                event_data=[
                    {
                        "event_id": 1,
                        "timestamp": generated,
                        "trigger": "Alerting",
                        "actual_value": "99",
                        "event_notification_type": "HardWiredMonitor",
                        "component": {"name": "TempSensor"},
                        "variable": {"name": "Temperature"},
                    }
                ],  # type: ignore[list-item]
            ),
            "NotifyReport": call.NotifyReport(request_id=5, generated_at=generated, seq_no=0, tbc=False),
            "NotifyMonitoringReport": call.NotifyMonitoringReport(request_id=6, seq_no=0, generated_at=generated),
            "FirmwareStatusNotification": call.FirmwareStatusNotification(status="Downloaded", request_id=7),  # type: ignore[arg-type]
            "LogStatusNotification": call.LogStatusNotification(status="Uploaded", request_id=8),  # type: ignore[arg-type]
            "DataTransfer": call.DataTransfer(vendor_id="com.example", data={"a": 1}),
            "ReservationStatusUpdate": call.ReservationStatusUpdate(
                reservation_id=9, reservation_update_status="Expired"
            ),  # type: ignore[arg-type]
            "NotifyChargingLimit": call.NotifyChargingLimit(charging_limit={"charging_limit_source": "EMS"}, evse_id=1),  # type: ignore[arg-type]
            "ClearedChargingLimit": call.ClearedChargingLimit(charging_limit_source="EMS", evse_id=1),  # type: ignore[arg-type]
            "ReportChargingProfiles": call.ReportChargingProfiles(
                request_id=10,
                charging_limit_source="CSO",  # type: ignore[arg-type]
                evse_id=1,
                charging_profile=[
                    {
                        "id": 1,
                        "stack_level": 0,
                        "charging_profile_purpose": "TxDefaultProfile",
                        "charging_profile_kind": "Absolute",
                        "charging_schedule": [
                            {
                                "id": 1,
                                "charging_rate_unit": "W",
                                "charging_schedule_period": [{"start_period": 0, "limit": 11000.0}],
                            }
                        ],
                    }
                ],  # type: ignore[list-item]
            ),
            "NotifyEVChargingNeeds": call.NotifyEVChargingNeeds(
                charging_needs={"requested_energy_transfer": "AC_three_phase"},  # type: ignore[arg-type]
                evse_id=1,
            ),
            "NotifyCustomerInformation": call.NotifyCustomerInformation(
                data="no data", seq_no=0, generated_at=generated, request_id=11
            ),
            "SecurityEventNotification": call.SecurityEventNotification(
                type="SettingSystemTime", timestamp=generated, tech_info="NTP"
            ),
            "SignCertificate": call.SignCertificate(csr=csr("CS-N201"), certificate_type="ChargingStationCertificate"),  # type: ignore[arg-type]
        }
        for action, message in calls.items():
            answers[action] = await client.call(message, suppress=False)
        bad_csr = await client.call(call.SignCertificate(csr="garbage"), suppress=False)

    assert answers["DataTransfer"].status == "UnknownVendorId"
    assert answers["NotifyEVChargingNeeds"].status == "Rejected"
    assert answers["SignCertificate"].status == "Accepted"
    assert bad_csr.status == "Rejected"

    notifications = [e for e in mine(await gateway.events(StreamFamily.NOTIFICATION), "CS-N201")]
    by_action = {e.notification.action: e for e in notifications}
    expected_notifications = set(calls) - {"SecurityEventNotification"}
    assert set(by_action) == expected_notifications
    assert all(e.notification.ocpp_version == common_pb2.OCPP_VERSION_2_0_1 for e in notifications)
    assert [(by_action[a].notification.status, by_action[a].notification.request_id) for a in (
        "FirmwareStatusNotification", "LogStatusNotification", "ReservationStatusUpdate", "NotifyReport"
    )] == [("Downloaded", 7), ("Uploaded", 8), ("Expired", 0), ("", 5)]  # fmt: skip
    assert orjson.loads(by_action["NotifyEvent"].notification.payload_json)["eventData"][0]["actualValue"] == "99"
    # generatedAt is the station time of a report.
    assert by_action["NotifyEvent"].station_time.ToDatetime() < by_action["NotifyEvent"].received_time.ToDatetime()
    assert [e.notification.status for e in notifications if e.notification.action == "SignCertificate"] == [
        "Accepted",
        "Rejected",
    ]

    security = [e.security for e in mine(await gateway.events(StreamFamily.SECURITY), "CS-N201")]
    assert [(s.type, s.reported_by, s.severity) for s in security] == [
        ("SettingSystemTime", "station", common_pb2.SEVERITY_HIGH),
        ("InvalidCertificateSigningRequest", "ocpp-gateway", common_pb2.SEVERITY_MEDIUM),
    ]
