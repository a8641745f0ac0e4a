"""Stored documents and domain records to protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from chargewatch.mongo import Document
from chargewatch.telemetry.meters import Aggregate
from chargewatch.telemetry.registry import ONLINE
from chargewatch.telemetry.sessions import ENDED
from chargewatch.v1 import common_pb2, telemetry_pb2


def _timestamp(ms: int | None) -> Timestamp | None:
    if ms is None:
        return None
    stamp = Timestamp()
    stamp.FromMilliseconds(int(ms))
    return stamp


def station_message(document: Document) -> telemetry_pb2.Station:
    """A station with its connectors, each with its live status and last reading."""
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
    statuses: dict[str, Document] = document.get("connectors", {})
    specs: dict[str, Document] = document.get("connector_specs", {})
    live: dict[str, Document] = document.get("live_sessions", {})
    latest: dict[str, Document] = document.get("last_readings", {})
    keys = {k for k, c in statuses.items() if c["evse_id"] != 0} | set(specs)  # connector 0 is the whole station
    for key in sorted(keys, key=lambda k: tuple(int(p) for p in k.split("-"))):
        evse_id, connector_id = (int(p) for p in key.split("-"))
        status = statuses.get(key, {})
        spec = specs.get(key, {})
        message = station.connectors.add(
            evse_id=evse_id,
            connector_id=connector_id,
            status=status.get("status", 0),
            error_code=status.get("error_code", ""),
            connector_type=spec.get("connector_type", ""),
            max_power_w=spec.get("max_power_w", 0.0),
            current_transaction_id=live.get(key, {}).get("transaction_id", ""),
        )
        if (since := _timestamp(status.get("since_ms"))) is not None:
            message.status_since.CopyFrom(since)
        reading = latest.get(key)
        if reading is not None:
            message.last_energy_wh = reading.get("e", 0.0)
            message.last_power_w = reading.get("p", 0.0)
            message.last_reading_at.FromMilliseconds(int(reading["t"]))
    return station


def connector_ref(station_id: str, evse_id: int, connector_id: int) -> common_pb2.ConnectorRef:
    return common_pb2.ConnectorRef(station_id=station_id, evse_id=evse_id, connector_id=connector_id)


def raw_point(values: Mapping[str, Any]) -> telemetry_pb2.MeterPoint:
    """A raw reading (stored form, see `meters.reading_values`)."""
    point = telemetry_pb2.MeterPoint(
        energy_wh=values.get("e", 0.0),
        power_w=values.get("p", 0.0),
        current_a=values.get("i", 0.0),
        voltage_v=values.get("v", 0.0),
        soc_percent=values.get("s", 0.0),
        temperature_c=values.get("c", 0.0),
        quality_flags=values.get("f", []),
        max_power_w=values.get("p", 0.0),
        samples=1,
    )
    point.timestamp.FromMilliseconds(values["t"])
    for phase, measured in values.get("ph", {}).items():
        if "current_a" in measured:
            point.phase_current_a[phase] = measured["current_a"]
        if "voltage_v" in measured:
            point.phase_voltage_v[phase] = measured["voltage_v"]
    return point


def add_bucket_points(series: telemetry_pb2.MeterSeries, aggregates: Iterable[Aggregate]) -> None:
    """Downsampled points: last register, mean power/current/voltage, highest power, last SoC.

    Built in place (`points.add`): a 30-day series has 2,880 of them, and building each apart
    then copying it in costs about half again as much."""
    add = series.points.add
    for aggregate in aggregates:
        point = add(
            energy_wh=aggregate.energy_last_wh or 0.0,
            power_w=aggregate.power_sum_w / aggregate.power_count if aggregate.power_count else 0.0,
            current_a=aggregate.current_sum_a / aggregate.current_count if aggregate.current_count else 0.0,
            voltage_v=aggregate.voltage_sum_v / aggregate.voltage_count if aggregate.voltage_count else 0.0,
            soc_percent=aggregate.soc_last_percent or 0.0,
            temperature_c=aggregate.temperature_max_c or 0.0,
            max_power_w=aggregate.power_max_w or 0.0,
            samples=aggregate.samples,
        )
        if aggregate.flags:
            point.quality_flags.extend(sorted(aggregate.flags))
        seconds, millis = divmod(aggregate.start_ms, 1000)
        point.timestamp.seconds = seconds
        point.timestamp.nanos = millis * 1_000_000


def session_message(document: Mapping[str, Any]) -> telemetry_pb2.ChargingSession:
    session = telemetry_pb2.ChargingSession(
        transaction_id=document["transaction_id"],
        connector=connector_ref(document["station_id"], document.get("evse_id", 0), document.get("connector_id", 0)),
        tenant_id=document.get("tenant_id", ""),
        id_token=document.get("id_token", ""),
        energy_wh=document.get("energy_wh", 0.0),
        stop_reason=document.get("stop_reason", ""),
        idle_seconds=document.get("idle_seconds", 0),
        peak_power_w=document.get("peak_power_w", 0.0),
        duration_seconds=document.get("duration_seconds", 0),
        ended=document.get("state") == ENDED,
    )
    session.started_at.FromMilliseconds(document["started_ms"])
    if (stopped := _timestamp(document.get("stopped_ms"))) is not None:
        session.stopped_at.CopyFrom(stopped)
    if (charging_ended := _timestamp(document.get("charging_ended_ms"))) is not None:
        session.charging_ended_at.CopyFrom(charging_ended)
    return session
