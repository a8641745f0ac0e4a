"""OCPP 2.0.1: what a charging station sends, answered and turned into events.

Issue 3 adds the remaining station-initiated actions as one function each; until then they are
answered NotSupported.
"""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.handlers.base import CallContext, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.common import (
    REGISTRATION_NAMES,
    STATUS_V201,
    ocpp_datetime,
    parse_ocpp_datetime,
    port_number,
    utc_now,
)
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.v1 import common_pb2, events_pb2

STATION_ACTIONS: Final = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)

V201 = HandlerTable(OcppVersion.V201, STATION_ACTIONS)


@V201.on("BootNotification")
async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    status = common_pb2.REGISTRATION_STATUS_ACCEPTED
    interval = ctx.settings.heartbeat_interval_seconds
    ctx.session.registration = status
    station = payload["chargingStation"]
    modem = station.get("modem", {})
    await ctx.publish(
        events_pb2.StationBoot(
            vendor=station["vendorName"],
            model=station["model"],
            serial_number=station.get("serialNumber", ""),
            firmware_version=station.get("firmwareVersion", ""),
            boot_reason=payload["reason"],
            registration_status=status,
            interval_seconds=interval,
            iccid=modem.get("iccid", ""),
            imsi=modem.get("imsi", ""),
            ocpp_version=OcppVersion.V201.proto,
        )
    )
    return {"status": REGISTRATION_NAMES[status], "currentTime": ocpp_datetime(utc_now()), "interval": interval}


@V201.on("StatusNotification")
async def status_notification(ctx: CallContext, payload: Payload) -> Payload:
    await ctx.publish(
        events_pb2.ConnectorStatusChange(
            evse_id=port_number(payload["evseId"], "evseId"),
            connector_id=port_number(payload["connectorId"], "connectorId"),
            status=STATUS_V201[payload["connectorStatus"]],
        ),
        station_time=parse_ocpp_datetime(payload["timestamp"]),
    )
    return {}


@V201.on("Heartbeat")
async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    await ctx.publish(events_pb2.StationHeartbeat())
    return {"currentTime": ocpp_datetime(utc_now())}
