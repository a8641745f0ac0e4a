"""Bytes the gateway writes by hand are the bytes protobuf and redis-py would write (no network).

The hot path builds the event envelope's protobuf and the XADD command itself (see
chargewatch.streams.publisher `prepare`); here they are compared with `EventEnvelope(...)
.SerializeToString()` and with redis-py's own packing, over many random values.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import hiredis
import pytest
import redis.asyncio as aioredis
from google.protobuf.message import Message

from chargewatch.ocpp_gateway.meter import (
    ENERGY_IMPORT_REGISTER,
    MeterLimits,
    RegisterMemory,
    default_unit,
    normalise,
    read_meter_values,
)
from chargewatch.ocpp_gateway.ocpp_time import parse_ocpp_datetime
from chargewatch.streams import EventPublisher, kind_of_payload
from chargewatch.streams.publisher import EncodedPayload, datetime_parts, encode_envelope, varint
from chargewatch.v1 import common_pb2, events_pb2
from chargewatch.v1.events_pb2 import EventEnvelope


def _random_text(rng: random.Random, longest: int) -> str:
    alphabet = "abcXYZ019-_:. éü€漢"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))


def _payloads(rng: random.Random) -> list[Message]:
    return [
        events_pb2.StationHeartbeat(),
        events_pb2.ConnectorStatusChange(
            evse_id=rng.randint(0, 9), connector_id=rng.randint(0, 3), status=common_pb2.CONNECTOR_STATUS_CHARGING
        ),
        events_pb2.MeterValues(
            evse_id=1,
            transaction_id=_random_text(rng, 10),
            samples=[
                events_pb2.SampledValue(measurand="Voltage", value=rng.uniform(-1e6, 1e6), unit=common_pb2.UNIT_V)
            ],
        ),
        events_pb2.SecurityEvent(type="InvalidMessage", tech_info=_random_text(rng, 300), attributes={"a": "b"}),
    ]


@pytest.mark.parametrize("seed", range(60))
def test_the_envelope_bytes_are_what_protobuf_serialises(seed: int) -> None:
    rng = random.Random(seed)
    for payload in _payloads(rng):
        kind = kind_of_payload(payload)
        moment = datetime(1950, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 4e9))
        station_time = datetime_parts(moment.astimezone(timezone(timedelta(hours=rng.randint(-12, 12)))))
        received_time = (rng.choice([0, 1, 1_700_000_000, 2**40]), rng.choice([0, 1, 999_999_999]))
        values = {
            "event_id": rng.choice(["", "e-1", _random_text(rng, 40)]),
            "station_id": _random_text(rng, 48),
            "tenant_id": rng.choice(["", _random_text(rng, 20)]),
            "traceparent": rng.choice(["", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"]),
            "tracestate": rng.choice(["", "vendor=x"]),
            "producer": rng.choice(["", "ocpp-gateway/gw-1"]),
            "late": rng.random() < 0.5,
        }
        expected = EventEnvelope(event_type=kind.event_type, schema_version=kind.schema_version, **values)
        getattr(expected, kind.payload_field).CopyFrom(payload)
        expected.station_time.seconds, expected.station_time.nanos = station_time
        expected.received_time.seconds, expected.received_time.nanos = received_time
        written = encode_envelope(
            kind,
            payload.SerializeToString(),
            station_time=station_time,
            received_time=received_time,
            **values,  # type: ignore[arg-type]
        )
        assert written == expected.SerializeToString()
        assert EventEnvelope.FromString(written) == expected


@pytest.mark.parametrize("seed", range(40))
def test_a_prepared_events_envelope_is_what_protobuf_serialises(seed: int) -> None:
    """`prepare` writes the envelope itself (lengths inlined): the same bytes as protobuf, field for field."""
    rng = random.Random(seed)
    publisher = EventPublisher(
        aioredis.Redis(), partitions=rng.choice([1, 4]), producer=rng.choice(["", "ocpp-gateway/gw-1"])
    )
    for payload in [*_payloads(rng), events_pb2.SecurityEvent(tech_info=_random_text(rng, 200) * 3)]:
        station_time = rng.choice(
            [None, datetime(1950, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 4e9)), datetime(1970, 1, 1)]
        )
        values: dict[str, Any] = {
            "event_id": rng.choice(["", "e-1", _random_text(rng, 40), "x" * 200]),
            "tenant_id": rng.choice(["", _random_text(rng, 20)]),
            "traceparent": rng.choice(["", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"]),
            "tracestate": rng.choice(["", "vendor=x"]),
            "late": rng.random() < 0.5,
        }
        station_id = rng.choice(["", _random_text(rng, 48), "S" * 150])
        given: Message | EncodedPayload = (
            EncodedPayload(type(payload), payload.SerializeToString()) if rng.random() < 0.5 else payload
        )
        prepared = publisher.prepare(station_id, given, station_time=station_time, **values)
        words = _words(prepared.command)
        fields = dict(zip(words[6::2], words[7::2], strict=True))
        written = EventEnvelope.FromString(fields[b"data"])
        kind = kind_of_payload(payload)
        expected = EventEnvelope(
            event_type=kind.event_type,
            schema_version=kind.schema_version,
            station_id=station_id,
            producer=publisher.producer,
            **values,
        )
        getattr(expected, kind.payload_field).CopyFrom(payload)
        expected.received_time.CopyFrom(written.received_time)
        if station_time is None:
            expected.station_time.CopyFrom(written.received_time)
        else:
            expected.station_time.seconds, expected.station_time.nanos = datetime_parts(station_time)
        assert fields[b"data"] == expected.SerializeToString()
        assert (fields[b"id"], fields[b"station"]) == (values["event_id"].encode(), station_id.encode())
        assert fields[b"traceparent"] == values["traceparent"].encode()


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**63 - 1, -1, -(2**63)])
def test_varints_are_protobufs(value: int) -> None:
    message = events_pb2.EventEnvelope()
    message.station_time.seconds = value
    # Field 1 of the Timestamp (seconds): tag 0x08, then the varint.
    assert message.station_time.SerializeToString() == (b"\x08" + varint(value) if value else b"")


def test_a_prepared_event_is_the_xadd_redis_py_would_send() -> None:
    client = aioredis.Redis()  # never connects: only its packing is used
    publisher = EventPublisher(client, partitions=4, max_len=1000, producer="ocpp-gateway/gw-1")
    payload = events_pb2.ConnectorStatusChange(evse_id=1, connector_id=2, status=common_pb2.CONNECTOR_STATUS_FAULTED)
    moment = datetime(2024, 5, 1, 10, tzinfo=UTC)
    traceparent = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    prepared = publisher.prepare(
        "CP-1", payload, tenant_id="t", station_time=moment, late=True, event_id="ev-1", traceparent=traceparent
    )
    reader = hiredis.Reader()
    reader.feed(prepared.command)
    words = reader.gets()
    assert words[:6] == [b"XADD", prepared.stream.encode(), b"MAXLEN", b"~", b"1000", b"*"]
    fields = dict(zip(words[6::2], words[7::2], strict=True))
    assert fields.keys() == {b"id", b"type", b"station", b"traceparent", b"data"}
    assert (fields[b"id"], fields[b"type"], fields[b"station"]) == (b"ev-1", b"connector.status", b"CP-1")
    assert fields[b"traceparent"] == traceparent.encode()
    envelope = EventEnvelope.FromString(fields[b"data"])
    assert envelope.status == payload and envelope.late and envelope.tenant_id == "t"
    assert envelope.station_time.ToDatetime(UTC) == moment
    assert envelope.producer == "ocpp-gateway/gw-1" and envelope.traceparent == traceparent
    assert prepared.stream == publisher.stream_for(envelope)
    assert prepared.sampled and prepared.family == "status"
    # The same payload given as bytes writes the same envelope.
    again = publisher.prepare(
        "CP-1",
        EncodedPayload(events_pb2.ConnectorStatusChange, payload.SerializeToString()),
        tenant_id="t",
        station_time=moment,
        late=True,
        event_id="ev-1",
        traceparent=traceparent,
    )
    fields = _words(again.command)[6:]
    assert EventEnvelope.FromString(dict(zip(fields[::2], fields[1::2], strict=True))[b"data"]).status == payload


def _words(command: bytes) -> list[bytes]:
    reader = hiredis.Reader()
    reader.feed(command)
    words: list[bytes] = reader.gets()
    return words


def test_prepared_events_get_distinct_uuid4_shaped_ids_and_an_unsampled_trace_is_told_apart() -> None:
    publisher = EventPublisher(aioredis.Redis())
    ids = {publisher.prepare("CP-1", events_pb2.StationHeartbeat(), traceparent="").event_id for _ in range(5000)}
    assert len(ids) == 5000
    assert all(uuid.UUID(hex=i).version == 4 and len(i) == 32 for i in list(ids)[:100])
    unsampled = publisher.prepare(
        "CP-1", events_pb2.StationHeartbeat(), traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-02"
    )
    assert not unsampled.sampled


# -- the MeterValues payload ---------------------------------------------------------------------------
def _reference_meter_values(
    meter_values: list[dict[str, Any]], *, v16: bool, evse_id: int, connector_id: int, transaction_id: str
) -> events_pb2.MeterValues:
    """The payload built with protobuf's API, as the gateway did before writing it by hand (flags aside)."""
    event = events_pb2.MeterValues(evse_id=evse_id, connector_id=connector_id, transaction_id=transaction_id)
    for meter_value in meter_values:
        moment = parse_ocpp_datetime(meter_value.get("timestamp")) or RECEIVED
        for sampled in meter_value["sampledValue"]:
            measurand = sampled.get("measurand", ENERGY_IMPORT_REGISTER)
            multiplier = 0
            if v16:
                unit = sampled.get("unit")
                raw = float(sampled["value"])
            else:
                unit_of_measure = sampled.get("unitOfMeasure") or {}
                unit = unit_of_measure.get("unit")
                multiplier = unit_of_measure.get("multiplier", 0)
                raw = float(sampled["value"])
            reported = unit or ""
            unit = unit or default_unit(measurand)
            if multiplier:
                raw *= 10.0**multiplier
                reported = f"{reported or unit}*10^{multiplier}"
            value, target = normalise(raw, unit)
            sample = event.samples.add(
                measurand=measurand,
                phase=sampled.get("phase", ""),
                location=sampled.get("location", ""),
                context=sampled.get("context", ""),
                value=value,
                unit=target,
                unit_as_reported=reported,
            )
            sample.timestamp.FromDatetime(moment)
    return event


RECEIVED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_UNITS_16 = [None, "Wh", "kWh", "W", "kW", "A", "V", "Celsius", "K", "Fahrenheit", "Percent", "var", "kvarh"]
_MEASURANDS = [None, "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC"]


def _random_meter_values(rng: random.Random, *, v16: bool) -> list[dict[str, Any]]:
    meter_values = []
    for _ in range(rng.randint(1, 3)):
        moment = RECEIVED + timedelta(seconds=rng.uniform(-1e5, 1e5))
        samples = []
        for _ in range(rng.randint(1, 6)):
            sample: dict[str, Any] = {}
            value = rng.choice([0.0, -0.0, 1.5, 152344.5, -3.25, rng.uniform(-1e7, 1e7), 1e-300])
            if v16:
                sample["value"] = repr(value)
                if (unit := rng.choice(_UNITS_16)) is not None:
                    sample["unit"] = unit
            else:
                sample["value"] = value
                if rng.random() < 0.6:
                    sample["unitOfMeasure"] = {"unit": rng.choice(["Wh", "kW", "V", "Percent", "odd-unit"])}
                    if rng.random() < 0.5:
                        sample["unitOfMeasure"]["multiplier"] = rng.randint(-3, 3)
            if (measurand := rng.choice(_MEASURANDS)) is not None:
                sample["measurand"] = measurand
            for key, choices in (
                ("phase", ["L1", "L2-N"]),
                ("location", ["Outlet", "EV"]),
                ("context", ["Sample.Periodic"]),
            ):
                if rng.random() < 0.4:
                    sample[key] = rng.choice(choices)
            samples.append(sample)
        stamp = moment.isoformat().replace("+00:00", "Z") if rng.random() < 0.9 else ""
        meter_values.append({"timestamp": stamp, "sampledValue": samples} if stamp else {"sampledValue": samples})
    return meter_values


@pytest.mark.parametrize("seed", range(80))
def test_the_meter_values_bytes_are_what_protobuf_serialises(seed: int) -> None:
    rng = random.Random(seed)
    v16 = seed % 2 == 0
    meter_values = _random_meter_values(rng, v16=v16)
    place = {
        "evse_id": rng.randint(0, 3),
        "connector_id": rng.randint(0, 2),
        "transaction_id": rng.choice(["", "tx-9"]),
    }
    reading = read_meter_values(
        meter_values,
        v16=v16,
        registers=RegisterMemory(),
        received_ns=int(RECEIVED.timestamp()) * 1_000_000_000,
        limits=MeterLimits(clock_skew_seconds=1e9, max_power_watts=1e12),
        **place,  # type: ignore[arg-type]
    )
    expected = _reference_meter_values(meter_values, v16=v16, **place)  # type: ignore[arg-type]
    expected.quality_flags.extend(reading.quality_flags)  # (the flags have tests of their own)
    assert reading.data == expected.SerializeToString()
    assert reading.sample_count == len(expected.samples)
