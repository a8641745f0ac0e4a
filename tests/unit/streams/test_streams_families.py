"""Naming, partitioning and the payload -> event type table: no servers needed."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from chargewatch.streams import (
    EVENT_KINDS,
    ConsumerGroupWorker,
    Event,
    EventPublisher,
    StreamFamily,
    StreamTrimmer,
    dead_letter_stream,
    event_context,
    kind_of_envelope,
    kind_of_payload,
    partition_for,
    stream_name,
    stream_names,
)
from chargewatch.streams._redis import format_id, next_id, parse_id
from chargewatch.v1 import common_pb2, events_pb2


def _client() -> aioredis.Redis:
    # Never connects: the publisher only needs a client object to build envelopes.
    return aioredis.Redis(host="127.0.0.1", port=1)


async def _noop(events: object) -> None:
    return None


def test_stream_names_put_the_partition_in_a_cluster_hash_tag() -> None:
    assert stream_name(StreamFamily.STATUS, 3) == "cw:status:{3}"
    assert stream_name(StreamFamily.METER, 0) == "cw:meter:{0}"
    assert dead_letter_stream("telemetry") == "cw:dead-letter:telemetry"
    assert stream_names([StreamFamily.BOOT, StreamFamily.STATUS, StreamFamily.BOOT], 2) == (
        "cw:boot:{0}",
        "cw:status:{0}",
        "cw:boot:{1}",
        "cw:status:{1}",
    )
    assert stream_names([StreamFamily.ALERT], [5]) == ("cw:alert:{5}",)


def test_family_values_are_the_stream_names() -> None:
    assert [f.value for f in StreamFamily] == [
        "connection",
        "boot",
        "status",
        "meter",
        "transaction",
        "security",
        "authorization",
        "alert",
        "notification",
        "audit",
    ]


def test_partition_is_stable_known_values() -> None:
    # CRC-32 values are fixed forever; a change here would re-shard every running deployment.
    assert [partition_for(f"CP-{i:04d}", 8) for i in range(8)] == [6, 0, 2, 4, 7, 1, 3, 5]
    assert partition_for("CP-0001", 1) == 0
    assert partition_for("CP-0001", 1000) == 2273867808 % 1000


def test_partition_does_not_depend_on_the_process_hash_seed() -> None:
    code = "from chargewatch.streams import partition_for; print([partition_for(f'CP-{i}', 7) for i in range(50)])"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().strip() == str([partition_for(f"CP-{i}", 7) for i in range(50)])


def test_partitions_spread_stations_evenly() -> None:
    counts = Counter(partition_for(f"CP-{i:05d}", 8) for i in range(8000))
    assert set(counts) == set(range(8))
    assert all(850 <= n <= 1150 for n in counts.values()), counts


def test_partition_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="partitions"):
        partition_for("CP-1", 0)
    with pytest.raises(ValueError, match="partitions"):
        stream_names([StreamFamily.STATUS], 0)


def test_event_table_covers_exactly_the_payload_oneof() -> None:
    oneof = events_pb2.EventEnvelope.DESCRIPTOR.oneofs_by_name["payload"]
    assert set(EVENT_KINDS) == {f.name for f in oneof.fields}
    expected = {
        "connection": ("station.connection", StreamFamily.CONNECTION),
        "heartbeat": ("station.heartbeat", StreamFamily.CONNECTION),
        "boot": ("station.boot", StreamFamily.BOOT),
        "status": ("connector.status", StreamFamily.STATUS),
        "meter_values": ("meter.values", StreamFamily.METER),
        "transaction": ("transaction.event", StreamFamily.TRANSACTION),
        "security": ("security.event", StreamFamily.SECURITY),
        "authorization": ("authorization.decision", StreamFamily.AUTHORIZATION),
        "alert": ("alert.raised", StreamFamily.ALERT),
        "notification": ("station.notification", StreamFamily.NOTIFICATION),
        "command": ("command.audit", StreamFamily.AUDIT),
    }
    assert {field: (k.event_type, k.family) for field, k in EVENT_KINDS.items()} == expected
    assert all(k.schema_version >= 1 for k in EVENT_KINDS.values())


def test_payload_messages_map_to_their_kind() -> None:
    assert kind_of_payload(events_pb2.StationHeartbeat()).event_type == "station.heartbeat"
    assert kind_of_payload(events_pb2.MeterValues()).family is StreamFamily.METER
    with pytest.raises(TypeError):
        kind_of_payload(events_pb2.EventEnvelope())
    with pytest.raises(ValueError, match="no known payload"):
        kind_of_envelope(events_pb2.EventEnvelope(event_id="x"))


def test_envelope_is_filled_from_the_table_and_the_current_trace() -> None:
    publisher = EventPublisher(_client(), producer="ocpp-gateway/pod-1")
    span_context = SpanContext(0x1234, 0x5678, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    station_time = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    status = events_pb2.ConnectorStatusChange(evse_id=1, connector_id=2, status=common_pb2.CONNECTOR_STATUS_CHARGING)
    with trace.use_span(NonRecordingSpan(span_context)):
        envelope = publisher.envelope("CP-1", status, tenant_id="t1", station_time=station_time, late=True)
    assert envelope.event_type == "connector.status"
    assert envelope.schema_version == 1
    assert envelope.station_id == "CP-1"
    assert envelope.tenant_id == "t1"
    assert envelope.producer == "ocpp-gateway/pod-1"
    assert envelope.late is True
    assert envelope.WhichOneof("payload") == "status"
    assert envelope.status == status
    assert envelope.station_time.ToDatetime(tzinfo=UTC) == station_time
    assert len(envelope.event_id) == 32
    assert envelope.traceparent == f"00-{0x1234:032x}-{0x5678:016x}-01"
    assert publisher.stream_for(envelope) == "cw:status:{0}"


def test_envelope_defaults_station_time_to_receive_time_and_keeps_a_given_id() -> None:
    publisher = EventPublisher(_client(), partitions=4)
    envelope = publisher.envelope("CP-7", events_pb2.StationHeartbeat(), event_id="hb-CP-7-1")
    assert envelope.event_id == "hb-CP-7-1"
    assert envelope.station_time == envelope.received_time
    assert envelope.traceparent == ""  # no span current
    assert publisher.stream_for(envelope) == stream_name(StreamFamily.CONNECTION, partition_for("CP-7", 4))
    with pytest.raises(TypeError):
        publisher.envelope("CP-7", common_pb2.GeoPoint())


def test_event_exposes_its_payload() -> None:
    envelope = events_pb2.EventEnvelope(event_id="e1", boot=events_pb2.StationBoot(vendor="ACME"))
    event = Event("cw:boot:{0}", "1-0", envelope, 1)
    assert event.payload_kind == "boot"
    assert event.family is StreamFamily.BOOT
    assert isinstance(event.payload, events_pb2.StationBoot)
    assert event.payload.vendor == "ACME"
    empty = Event("cw:boot:{0}", "1-1", events_pb2.EventEnvelope(event_id="e2"), 1)
    assert empty.payload_kind == ""
    with pytest.raises(ValueError, match="no known payload"):
        _ = empty.payload


def test_event_context_without_a_span_leaves_the_context_alone() -> None:
    event = Event("cw:boot:{0}", "1-0", events_pb2.EventEnvelope(), 1)
    outer = NonRecordingSpan(SpanContext(1, 2, is_remote=False))
    with trace.use_span(outer), event_context(event):
        assert trace.get_current_span() is outer


def test_clients_that_decode_replies_are_refused() -> None:
    decoding = aioredis.Redis(host="127.0.0.1", port=1, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        EventPublisher(decoding)
    with pytest.raises(ValueError, match="decode_responses"):
        ConsumerGroupWorker(decoding, group="g", consumer="c", families=[StreamFamily.STATUS], handler=_noop)


def test_worker_serves_every_family_of_its_partitions() -> None:
    worker = ConsumerGroupWorker(
        _client(),
        group="sla",
        consumer="pod-1",
        families=[StreamFamily.STATUS, StreamFamily.CONNECTION],
        handler=_noop,
        partitions=[2, 5],
    )
    assert worker.streams == ("cw:status:{2}", "cw:connection:{2}", "cw:status:{5}", "cw:connection:{5}")
    assert worker.dead_letter_stream == "cw:dead-letter:sla"
    with pytest.raises(ValueError, match="block_ms"):
        ConsumerGroupWorker(
            _client(), group="g", consumer="c", families=[StreamFamily.STATUS], handler=_noop, block_ms=0
        )


def test_trimmer_validates_its_bounds() -> None:
    trimmer = StreamTrimmer(_client(), families=[StreamFamily.METER], partitions=2, max_age=None, max_len=10)
    assert trimmer.streams == ("cw:meter:{0}", "cw:meter:{1}")
    with pytest.raises(ValueError, match="max_len"):
        StreamTrimmer(_client(), families=[StreamFamily.METER], partitions=1, max_age=None, max_len=-1)


def test_stream_id_arithmetic() -> None:
    assert parse_id(b"1700000000000-3") == (1700000000000, 3)
    assert parse_id("5") == (5, 0)
    assert format_id((5, 1)) == "5-1"
    assert next_id((0, 0)) == (0, 1)
    assert next_id((7, 2**64 - 1)) == (8, 0)
