"""OCPP 2.0.1: what a charging station sends, answered and turned into events.

Transactions arrive as TransactionEvent (Started / Updated / Ended, numbered by seqNo); the
event ids derive from station, transaction id and seqNo, so a retried message is one fact.
A message the station flags `offline` (or stamps before the session began) is marked late.
Get15118EVCertificate and GetCertificateStatus need a PKI behind them and stay NotSupported.
"""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.authorization import NO_AUTHORIZATION, TokenRequest
from chargewatch.ocpp_gateway.events import Fact
from chargewatch.ocpp_gateway.handlers.base import CallContext, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.common import (
    REGISTRATION_NAMES,
    STATUS_V201,
    boot_interval,
    ocpp_datetime,
    parse_ocpp_datetime,
    port_number,
    registry_status,
    utc_now,
)
from chargewatch.ocpp_gateway.handlers.station_reports import (
    register_notifications,
    security_event_notification,
    sign_certificate,
)
from chargewatch.ocpp_gateway.meter import read_meter_values
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.transactions import event_id
from chargewatch.v1 import events_pb2

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

TX = events_pb2.TransactionEvent
TRANSACTION_KINDS: Final = {"Started": TX.KIND_STARTED, "Updated": TX.KIND_UPDATED, "Ended": TX.KIND_ENDED}

V201 = HandlerTable(OcppVersion.V201, STATION_ACTIONS)


@V201.on("BootNotification", publishes_only=True)
async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    status = registry_status(ctx.session.identity.registration_status)
    interval = boot_interval(ctx.settings, status)
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
            ocpp_version=ctx.session.version.proto,  # 2.0.1, or 2.1 (`V21`)
        )
    )
    return {"status": REGISTRATION_NAMES[status], "currentTime": ocpp_datetime(utc_now()), "interval": interval}


@V201.on("StatusNotification", publishes_only=True)
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


@V201.on("Heartbeat", publishes_only=True)
async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    await ctx.publish(events_pb2.StationHeartbeat())
    return {"currentTime": ocpp_datetime(utc_now())}


@V201.on("Authorize")
async def authorize(ctx: CallContext, payload: Payload) -> Payload:
    token = payload["idToken"]
    decision = await ctx.services.authorizer.authorize(ctx.session, TokenRequest(token["idToken"], token["type"]))
    return {"idTokenInfo": decision.id_token_info()}


@V201.on("MeterValues", publishes_only=True)
async def meter_values(ctx: CallContext, payload: Payload) -> Payload:
    reading = read_meter_values(
        payload["meterValue"],
        v16=False,
        evse_id=port_number(payload["evseId"], "evseId"),
        connector_id=0,
        transaction_id="",
        registers=ctx.session.message_state.registers,
        received_ns=ctx.received_ns,
        limits=ctx.services.meter_limits,
    )
    await ctx.publish(reading.payload, station_time=reading.station_time)
    return {}


@V201.on("TransactionEvent")
async def transaction_event(ctx: CallContext, payload: Payload) -> Payload:
    station_id = ctx.session.station_id
    info = payload["transactionInfo"]
    transaction_id: str = info["transactionId"]
    seq_no = port_number(payload["seqNo"], "seqNo")
    open_transactions = ctx.session.message_state.transactions
    known = open_transactions.get(transaction_id)
    evse = payload.get("evse")
    if evse is not None:
        evse_id = port_number(evse["id"], "evse.id")
        connector_id = port_number(evse.get("connectorId", 0), "evse.connectorId")
    elif known is not None:
        evse_id, connector_id = known[0], known[1]
    else:
        evse_id = connector_id = 0
    known_token = known[2] if known is not None else ""
    token = payload.get("idToken")
    answer: Payload = {}
    group_id = ""
    if token is not None and token["type"] != NO_AUTHORIZATION and token["idToken"] != known_token:
        # Started, or a token not seen for this transaction yet (authorized after plug-in, a stop card).
        decision = await ctx.services.authorizer.authorize(
            ctx.session, TokenRequest(token["idToken"], token["type"], evse_id, transaction_id)
        )
        answer["idTokenInfo"] = decision.id_token_info()
        group_id = decision.group_id
    station_time = parse_ocpp_datetime(payload["timestamp"])
    late = bool(payload.get("offline", False))
    facts: list[Fact] = []
    meter_wh = 0.0
    if payload.get("meterValue"):
        reading = read_meter_values(
            payload["meterValue"],
            v16=False,
            evse_id=evse_id,
            connector_id=connector_id,
            transaction_id=transaction_id,
            registers=ctx.session.message_state.registers,
            received_ns=ctx.received_ns,
            limits=ctx.services.meter_limits,
        )
        facts.append(
            Fact(
                reading.payload, reading.station_time, late, event_id(station_id, "tx", transaction_id, seq_no, "meter")
            )
        )
        if reading.energy_wh is not None:
            meter_wh = reading.energy_wh
    facts.append(
        Fact(
            TX(
                kind=TRANSACTION_KINDS[payload["eventType"]],
                transaction_id=transaction_id,
                evse_id=evse_id,
                connector_id=connector_id,
                id_token=token["idToken"] if token is not None else "",
                id_token_type=token["type"] if token is not None else "",
                meter_wh=meter_wh,
                stop_reason=info.get("stoppedReason", ""),
                trigger_reason=payload["triggerReason"],
                seq_no=seq_no,
                charging_state=info.get("chargingState", ""),
                reservation_id=payload.get("reservationId", 0),
                group_id=group_id,
            ),
            station_time,
            late,
            event_id(station_id, "tx", transaction_id, seq_no),
        )
    )
    await ctx.publish_many(facts)
    # Remembered only once published: a retry after a failure is authorized and answered again.
    if payload["eventType"] == "Ended":
        open_transactions.end(transaction_id)
    else:
        open_transactions.put(
            transaction_id, evse_id, connector_id, token["idToken"] if token is not None else known_token
        )
    return answer


V201.on("SecurityEventNotification", publishes_only=True)(security_event_notification)
V201.on("SignCertificate")(sign_certificate)
register_notifications(
    V201,
    {
        "ClearedChargingLimit": {},
        # ChargeWatch implements no vendor extensions; the payload still reaches the stream.
        "DataTransfer": {"status": "UnknownVendorId"},
        "FirmwareStatusNotification": {},
        "LogStatusNotification": {},
        "NotifyChargingLimit": {},
        "NotifyCustomerInformation": {},
        "NotifyDisplayMessages": {},
        # ChargeWatch computes no charging schedules: "Rejected" is 2.0.1's "service not available"
        # (the EV charges on the station's own limits).
        "NotifyEVChargingNeeds": {"status": "Rejected"},
        "NotifyEVChargingSchedule": {"status": "Accepted"},
        "NotifyEvent": {},
        "NotifyMonitoringReport": {},
        "NotifyReport": {},
        "PublishFirmwareStatusNotification": {},
        "ReportChargingProfiles": {},
        "ReservationStatusUpdate": {},
    },
)

# OCPP 2.1 stations: the same handlers, each message checked against 2.1's own schemas. 2.1 keeps
# the fields these handlers read; what it adds is not read, and the actions only 2.1 has are
# answered NotSupported.
V21 = V201.for_version(OcppVersion.V21)
