"""OCPP 1.6J: what a charge point sends, answered and turned into events.

Issue 3 adds the remaining station-initiated actions (Authorize, Start/StopTransaction,
MeterValues, DataTransfer, the status notifications and the security extension) as one
function each; until then they are answered NotSupported.
"""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.handlers.base import CallContext, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.common import (
    REGISTRATION_NAMES,
    STATUS_V16,
    connector_ref_v16,
    ocpp_datetime,
    parse_ocpp_datetime,
    utc_now,
)
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.v1 import common_pb2, events_pb2

STATION_ACTIONS: Final = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        # Security extension (OCPP 1.6 security whitepaper).
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)

V16 = HandlerTable(OcppVersion.V16, STATION_ACTIONS)


@V16.on("BootNotification")
async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    # Registration policy (Pending / Rejected from the registry) arrives with issue 3.
    status = common_pb2.REGISTRATION_STATUS_ACCEPTED
    interval = ctx.settings.heartbeat_interval_seconds
    ctx.session.registration = status
    await ctx.publish(
        events_pb2.StationBoot(
            vendor=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber", ""),
            firmware_version=payload.get("firmwareVersion", ""),
            registration_status=status,
            interval_seconds=interval,
            iccid=payload.get("iccid", ""),
            imsi=payload.get("imsi", ""),
            meter_type=payload.get("meterType", ""),
            meter_serial_number=payload.get("meterSerialNumber", ""),
            ocpp_version=OcppVersion.V16.proto,
        )
    )
    return {"status": REGISTRATION_NAMES[status], "currentTime": ocpp_datetime(utc_now()), "interval": interval}


@V16.on("StatusNotification")
async def status_notification(ctx: CallContext, payload: Payload) -> Payload:
    evse_id, connector_id = connector_ref_v16(payload["connectorId"])
    await ctx.publish(
        events_pb2.ConnectorStatusChange(
            evse_id=evse_id,
            connector_id=connector_id,
            status=STATUS_V16[payload["status"]],
            error_code=payload["errorCode"],
            info=payload.get("info", ""),
            vendor_id=payload.get("vendorId", ""),
            vendor_error_code=payload.get("vendorErrorCode", ""),
        ),
        station_time=parse_ocpp_datetime(payload.get("timestamp")),
    )
    return {}


@V16.on("Heartbeat")
async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    await ctx.publish(events_pb2.StationHeartbeat())
    return {"currentTime": ocpp_datetime(utc_now())}
