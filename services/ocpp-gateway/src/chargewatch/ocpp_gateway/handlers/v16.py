"""OCPP 1.6J: what a charge point sends, answered and turned into events.

Every action a 1.6 charge point initiates, the security extension included. Transactions get
their integer ids from Redis (see `transactions`), driver tokens are decided by authz or the
offline policy (see `authorization`), meter values are normalised and flagged (see `meter`).
"""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.authorization import TOKEN_TYPE_V16, TokenRequest
from chargewatch.ocpp_gateway.events import Fact
from chargewatch.ocpp_gateway.handlers.base import CallContext, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.common import (
    REGISTRATION_NAMES,
    STATUS_V16,
    boot_interval,
    connector_ref_v16,
    ocpp_datetime,
    parse_ocpp_datetime,
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
from chargewatch.ocpp_gateway.transactions import TransactionInfo, event_id, payload_fingerprint
from chargewatch.v1 import events_pb2

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
# 1.6: a StopTransaction without a reason was stopped locally.
DEFAULT_STOP_REASON: Final = "Local"

TX = events_pb2.TransactionEvent
V16 = HandlerTable(OcppVersion.V16, STATION_ACTIONS)


@V16.on("BootNotification", publishes_only=True)
async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    status = registry_status(ctx.session.identity.registration_status)
    interval = boot_interval(ctx.settings, status)
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


@V16.on("StatusNotification", publishes_only=True)
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


@V16.on("Heartbeat", publishes_only=True)
async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    await ctx.publish(events_pb2.StationHeartbeat())
    return {"currentTime": ocpp_datetime(utc_now())}


@V16.on("Authorize")
async def authorize(ctx: CallContext, payload: Payload) -> Payload:
    decision = await ctx.services.authorizer.authorize(ctx.session, TokenRequest(payload["idTag"], TOKEN_TYPE_V16))
    return {"idTagInfo": decision.id_tag_info()}


@V16.on("MeterValues", publishes_only=True)
async def meter_values(ctx: CallContext, payload: Payload) -> Payload:
    evse_id, connector_id = connector_ref_v16(payload["connectorId"])
    transaction = payload.get("transactionId")
    reading = read_meter_values(
        payload["meterValue"],
        v16=True,
        evse_id=evse_id,
        connector_id=connector_id,
        transaction_id="" if transaction is None else str(transaction),
        registers=ctx.session.message_state.registers,
        received_ns=ctx.received_ns,
        limits=ctx.services.meter_limits,
    )
    await ctx.publish(reading.payload, station_time=reading.station_time)
    return {}


@V16.on("StartTransaction")
async def start_transaction(ctx: CallContext, payload: Payload) -> Payload:
    station_id = ctx.session.station_id
    evse_id, connector_id = connector_ref_v16(payload["connectorId"])
    store = ctx.services.transactions
    record = await store.begin_start(station_id, ctx.call.message_id, payload_fingerprint(payload))
    if record.answer is not None:
        # The same StartTransaction, answered before (the station lost our answer): same answer, no new facts.
        return record.answer
    transaction_id = record.transaction_id
    id_tag: str = payload["idTag"]
    decision = await ctx.services.authorizer.authorize(
        ctx.session, TokenRequest(id_tag, TOKEN_TYPE_V16, evse_id, str(transaction_id))
    )
    started = Fact(
        TX(
            kind=TX.KIND_STARTED,
            transaction_id=str(transaction_id),
            evse_id=evse_id,
            connector_id=connector_id,
            id_token=id_tag,
            id_token_type=TOKEN_TYPE_V16,
            meter_wh=float(payload["meterStart"]),
            reservation_id=payload.get("reservationId", 0),
            group_id=decision.group_id,
        ),
        parse_ocpp_datetime(payload["timestamp"]),
        event_id=event_id(station_id, "tx", transaction_id, "started"),
    )
    # Recorded published with the answer, in one round trip; a new transaction id has nothing published yet.
    published = await ctx.publish_many([started], published=set() if record.new else None, mark=False)
    answer: Payload = {"transactionId": transaction_id, "idTagInfo": decision.id_tag_info()}
    await store.finish_start(
        station_id,
        ctx.call.message_id,
        answer,
        TransactionInfo(evse_id, connector_id, id_tag),
        transaction_id,
        published=published,
    )
    return answer


@V16.on("StopTransaction")
async def stop_transaction(ctx: CallContext, payload: Payload) -> Payload:
    station_id = ctx.session.station_id
    number: int = payload["transactionId"]
    transaction_id = str(number)
    meter_data = payload.get("transactionData")
    meter_event, ended_event = (
        event_id(station_id, "tx", number, "ended-meter"),
        event_id(station_id, "tx", number, "ended"),
    )
    # A stop without meter data has no meter fact whose marker is worth a lookup.
    events = (meter_event, ended_event) if meter_data else (ended_event,)
    info, published = await ctx.services.transactions.stop_state(station_id, number, events)
    evse_id, connector_id = (info.evse_id, info.connector_id) if info is not None else (0, 0)
    id_tag = payload.get("idTag") or (info.id_tag if info is not None else "")
    station_time = parse_ocpp_datetime(payload["timestamp"])
    facts: list[Fact] = []
    if meter_data:
        reading = read_meter_values(
            meter_data,
            v16=True,
            evse_id=evse_id,
            connector_id=connector_id,
            transaction_id=transaction_id,
            registers=ctx.session.message_state.registers,
            received_ns=ctx.received_ns,
            limits=ctx.services.meter_limits,
        )
        if reading.sample_count or reading.quality_flags:
            facts.append(Fact(reading.payload, reading.station_time, event_id=meter_event))
    facts.append(
        Fact(
            TX(
                kind=TX.KIND_ENDED,
                transaction_id=transaction_id,
                evse_id=evse_id,
                connector_id=connector_id,
                id_token=id_tag,
                id_token_type=TOKEN_TYPE_V16 if id_tag else "",
                meter_wh=float(payload["meterStop"]),
                stop_reason=payload.get("reason", DEFAULT_STOP_REASON),
            ),
            station_time,
            event_id=ended_event,
        )
    )
    await ctx.publish_many(facts, published=published)
    return {}


V16.on("SecurityEventNotification", publishes_only=True)(security_event_notification)
V16.on("SignCertificate")(sign_certificate)
register_notifications(
    V16,
    {
        # ChargeWatch implements no vendor extensions; the payload still reaches the stream.
        "DataTransfer": {"status": "UnknownVendorId"},
        "DiagnosticsStatusNotification": {},
        "FirmwareStatusNotification": {},
        "LogStatusNotification": {},
        "SignedFirmwareStatusNotification": {},
    },
)
