"""Registry documents to protobuf messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from chargewatch.mongo import Document
from chargewatch.telemetry.registry import ONLINE
from chargewatch.v1 import common_pb2, telemetry_pb2


def _timestamp(ms: int | None) -> Timestamp | None:
    if ms is None:
        return None
    stamp = Timestamp()
    stamp.FromMilliseconds(int(ms))
    return stamp


def station_message(document: Document) -> telemetry_pb2.Station:
    station = telemetry_pb2.Station(
        station_id=document["_id"],
        tenant_id=document.get("tenant_id", ""),
        site_id=document.get("site_id", ""),
        name=document.get("name", ""),
        security_profile=document.get("security_profile", 0),
        vendor=document.get("vendor", ""),
        model=document.get("model", ""),
        serial_number=document.get("serial_number", ""),
        firmware_version=document.get("firmware_version", ""),
        ocpp_version=document.get("ocpp_version", 0),
        online=document.get("connectivity") == ONLINE,
        registration_status=document.get("registration_status", 0),
    )
    if location := document.get("location"):
        station.location.CopyFrom(common_pb2.GeoPoint(latitude=location["lat"], longitude=location["lon"]))
    for field, key in (
        ("last_seen", "last_seen_ms"),
        ("last_heartbeat", "last_heartbeat_ms"),
        ("last_boot", "boot_ms"),
        ("registered_at", "registered_ms"),
    ):
        if (stamp := _timestamp(document.get(key))) is not None:
            getattr(station, field).CopyFrom(stamp)
    connectors = sorted(document.get("connectors", {}).values(), key=lambda c: (c["evse_id"], c["connector_id"]))
    for connector in connectors:
        if connector["evse_id"] == 0:
            continue  # connector 0 is the station as a whole, not a charging port
        message = station.connectors.add(
            evse_id=connector["evse_id"],
            connector_id=connector["connector_id"],
            status=connector.get("status", 0),
            error_code=connector.get("error_code", ""),
        )
        if (since := _timestamp(connector.get("since_ms"))) is not None:
            message.status_since.CopyFrom(since)
    return station
