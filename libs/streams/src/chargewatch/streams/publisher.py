"""Publishing events: envelopes built in one place, one XADD per event, one span per publish call.

Two ways in. `envelope()` + `publish()` / `publish_many()` build `EventEnvelope` messages and
send them through redis-py. `prepare()` + `append()` are the hot path of a producer publishing
thousands of events a second (the OCPP gateway): `prepare` writes the envelope's protobuf bytes
and the whole XADD command (RESP) directly, from a payload message or from payload bytes the
caller encoded itself, with the trace context the caller gives; `append` sends a batch of them
on one connection in one write and reads the replies, with a PRODUCER span only when one of the
events belongs to a sampled trace. Both write the same entries (fields id, type, station,
traceparent, data) and the same envelope bytes; the unit tests compare them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, NamedTuple

import redis.asyncio as aioredis
from google.protobuf.message import Message
from opentelemetry.trace import SpanKind
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from chargewatch.observability import attributes as attrs
from chargewatch.streams import _telemetry as tel
from chargewatch.streams._redis import require_bytes_client, text
from chargewatch.streams.families import (
    EventKind,
    StreamFamily,
    kind_of_envelope,
    kind_of_payload,
    partition_for,
    stream_name,
)
from chargewatch.streams.packed import PackedConnection, bulk
from chargewatch.v1.events_pb2 import EventEnvelope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- protobuf wire format of the envelope (prepare) ---------------------------------------------------
_ONE_BYTE: Final = tuple(bytes((value,)) for value in range(128))
_UINT64: Final = 1 << 64


def varint(value: int) -> bytes:
    """A protobuf varint; a negative value as the 10-byte two's complement int64 protobuf writes."""
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    if 0 < value < 0x800000000:  # up to 5 bytes: lengths, nanos, seconds until the year 3058
        if value < 0x4000:
            return bytes((value & 0x7F | 0x80, value >> 7))
        if value < 0x200000:
            return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
        if value < 0x10000000:
            return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80, value >> 21))
        return bytes(
            (
                value & 0x7F | 0x80,
                value >> 7 & 0x7F | 0x80,
                value >> 14 & 0x7F | 0x80,
                value >> 21 & 0x7F | 0x80,
                value >> 28,
            )
        )
    if value < 0:
        value += _UINT64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field (string, bytes, message) with its tag."""
    size = len(data)
    return tag + (_ONE_BYTE[size] if size < 0x80 else varint(size)) + data


def _string(tag: bytes, value: str) -> bytes:
    # proto3: an empty string is not written.
    return length_delimited(tag, value.encode()) if value else b""


# Seconds recur (every event of a second has the same received time): their varints are kept.
_SECONDS: dict[int, bytes] = {}
_MAX_SECONDS: Final = 1024


def timestamp_body(seconds: int, nanos: int) -> bytes:
    """A google.protobuf.Timestamp's bytes (seconds, field 1; nanos, field 2; zeros left out)."""
    if seconds:
        encoded = _SECONDS.get(seconds)
        if encoded is None:
            if len(_SECONDS) >= _MAX_SECONDS:
                _SECONDS.clear()
            encoded = _SECONDS[seconds] = b"\x08" + varint(seconds)
        return encoded + b"\x10" + varint(nanos) if nanos else encoded
    return b"\x10" + varint(nanos) if nanos else b""


def _timestamp(tag: bytes, seconds: int, nanos: int) -> bytes:
    return length_delimited(tag, timestamp_body(seconds, nanos))


def datetime_parts(moment: datetime) -> tuple[int, int]:
    """(seconds, nanos) of a datetime as Timestamp.FromDatetime gives them; a naive one is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds, delta.microseconds * 1000


def _tag(field_number: int, wire_type: int) -> bytes:
    return varint(field_number << 3 | wire_type)


_ENVELOPE_FIELDS: Final = EventEnvelope.DESCRIPTOR.fields_by_name
_EVENT_ID: Final = _tag(_ENVELOPE_FIELDS["event_id"].number, 2)
_EVENT_TYPE: Final = _tag(_ENVELOPE_FIELDS["event_type"].number, 2)
_SCHEMA_VERSION: Final = _tag(_ENVELOPE_FIELDS["schema_version"].number, 0)
_STATION_ID: Final = _tag(_ENVELOPE_FIELDS["station_id"].number, 2)
_TENANT_ID: Final = _tag(_ENVELOPE_FIELDS["tenant_id"].number, 2)
_STATION_TIME: Final = _tag(_ENVELOPE_FIELDS["station_time"].number, 2)
_RECEIVED_TIME: Final = _tag(_ENVELOPE_FIELDS["received_time"].number, 2)
_TRACEPARENT: Final = _tag(_ENVELOPE_FIELDS["traceparent"].number, 2)
_TRACESTATE: Final = _tag(_ENVELOPE_FIELDS["tracestate"].number, 2)
_PRODUCER: Final = _tag(_ENVELOPE_FIELDS["producer"].number, 2)
_LATE_TRUE: Final = _tag(_ENVELOPE_FIELDS["late"].number, 0) + b"\x01"
# The fields above in field-number order, which is the order protobuf serialises them in (the
# unit tests compare these bytes with SerializeToString's).
assert [f.number for f in EventEnvelope.DESCRIPTOR.fields if f.containing_oneof is None] == list(range(1, 12))


class EncodedPayload(NamedTuple):
    """A payload already serialised (a hot path may write its bytes directly) and its message class."""

    message_type: type[Message]
    data: bytes


@dataclass(frozen=True, slots=True)
class _KindCodec:
    """What `prepare` writes for every event of one kind: its type and version fields, its payload tag."""

    kind: EventKind
    type_and_version: bytes
    payload_tag: bytes
    # The entry's "type" field and value, in RESP.
    type_field: bytes

    @classmethod
    def of(cls, kind: EventKind) -> _KindCodec:
        number = _ENVELOPE_FIELDS[kind.payload_field].number
        version = _SCHEMA_VERSION + varint(kind.schema_version) if kind.schema_version else b""
        return cls(
            kind,
            _string(_EVENT_TYPE, kind.event_type) + version,
            _tag(number, 2),
            bulk(b"type") + bulk(kind.event_type.encode()),
        )


def encode_envelope(
    kind: EventKind,
    payload: bytes,
    *,
    event_id: str,
    station_id: str,
    tenant_id: str,
    station_time: tuple[int, int],
    received_time: tuple[int, int],
    traceparent: str,
    tracestate: str,
    producer: str,
    late: bool,
) -> bytes:
    """The bytes of the EventEnvelope these values make (the same as building it and SerializeToString)."""
    return _envelope(
        _CODECS.get(kind.payload_field) or _codec(kind),
        payload,
        event_id.encode(),
        station_id.encode(),
        tenant_id,
        station_time,
        received_time,
        traceparent.encode(),
        tracestate,
        _string(_PRODUCER, producer),
        late,
    )


def _envelope(
    codec: _KindCodec,
    payload: bytes,
    event_id: bytes,
    station_id: bytes,
    tenant_id: str,
    station_time: tuple[int, int],
    received_time: tuple[int, int],
    traceparent: bytes,
    tracestate: str,
    producer_field: bytes,
    late: bool,
) -> bytes:
    # Fields in field-number order, as protobuf writes them; empty strings and false left out.
    return b"".join(
        (
            length_delimited(_EVENT_ID, event_id) if event_id else b"",
            codec.type_and_version,
            length_delimited(_STATION_ID, station_id) if station_id else b"",
            _string(_TENANT_ID, tenant_id),
            length_delimited(_STATION_TIME, timestamp_body(*station_time)),
            length_delimited(_RECEIVED_TIME, timestamp_body(*received_time)),
            length_delimited(_TRACEPARENT, traceparent) if traceparent else b"",
            _string(_TRACESTATE, tracestate),
            producer_field,
            _LATE_TRUE if late else b"",
            length_delimited(codec.payload_tag, payload),
        )
    )


_CODECS: dict[str, _KindCodec] = {}


def _codec(kind: EventKind) -> _KindCodec:
    codec = _CODECS.get(kind.payload_field)
    if codec is None:
        codec = _CODECS[kind.payload_field] = _KindCodec.of(kind)
    return codec


# -- RESP (the Redis protocol) of the XADD (prepare) --------------------------------------------------
_FIELD_ID: Final = bulk(b"id")
# After the event id's value: the station field and value, the traceparent field and value, the
# data field and the length of its value.
_MIDDLE: Final = b"$7\r\nstation\r\n$%d\r\n%s\r\n$11\r\ntraceparent\r\n$%d\r\n%s\r\n$4\r\ndata\r\n$%d\r\n"


class _EventIds:
    """Random event ids shaped like uuid4().hex, from the OS's random source, read in blocks."""

    __slots__ = ("_buffer", "_offset")
    _BLOCK: Final = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = self._BLOCK

    def next(self) -> str:
        offset = self._offset
        if offset >= self._BLOCK:
            self._buffer = os.urandom(self._BLOCK)
            offset = 0
        self._offset = offset + 16
        digits = self._buffer[offset : offset + 16].hex()
        # uuid4's version digit (4) and variant digit (8, 9, a or b).
        return f"{digits[:12]}4{digits[13:16]}{_VARIANTS[digits[16]]}{digits[17:]}"


_VARIANTS: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_event_ids = _EventIds()
# A new process (fork) must not repeat its parent's buffered ids.
os.register_at_fork(after_in_child=lambda: setattr(_event_ids, "_offset", _EventIds._BLOCK))


@dataclass(slots=True)  # not frozen: one per event, and a frozen __init__ costs more; do not change it
class PreparedEvent:
    """One event ready to append: where it goes and the XADD that appends it (RESP-encoded)."""

    stream: str
    family: str
    event_id: str
    traceparent: str
    tracestate: str
    # True when the event belongs to a sampled trace (the W3C sampled flag of its traceparent).
    sampled: bool
    command: bytes


class EventPublisher:
    """Appends events to their family's stream, on the partition of their station.

    `max_len` is a memory guard applied on every XADD with approximate trimming (`MAXLEN ~`); it
    does not know about consumer groups, so set it well above what the group-aware
    `StreamTrimmer` keeps, or to None to leave trimming to the trimmer alone.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        partitions: int = 1,
        max_len: int | None = 1_000_000,
        producer: str = "",
    ) -> None:
        require_bytes_client(redis)
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        if max_len is not None and max_len < 1:
            raise ValueError(f"max_len must be >= 1 or None, got {max_len}")
        self._redis = redis
        # The batches of `append` (one in flight at a time, from a batcher, as a rule).
        self._packed = PackedConnection(redis)
        self.partitions = partitions
        self.max_len = max_len
        self.producer = producer
        # What prepare() computes once: per payload class its codec, per stream its XADD's start.
        self._producer_field = _string(_PRODUCER, producer)
        self._codecs: dict[type[Message], _KindCodec] = {}
        self._routes: dict[tuple[StreamFamily, int], tuple[str, bytes]] = {}

    def envelope(
        self,
        station_id: str,
        payload: Message,
        *,
        tenant_id: str = "",
        station_time: datetime | None = None,
        late: bool = False,
        event_id: str | None = None,
    ) -> EventEnvelope:
        """Wrap a payload message (e.g. `StationBoot`) with everything a consumer needs.

        Pass a deterministic `event_id` to make re-publishing the same fact idempotent for
        consumers; otherwise a random one is drawn. The current trace context is recorded so the
        event stays in the trace of the work that produced it. A naive `station_time` is UTC.
        """
        kind = kind_of_payload(payload)
        envelope = EventEnvelope(
            event_id=event_id or uuid.uuid4().hex,
            event_type=kind.event_type,
            schema_version=kind.schema_version,
            station_id=station_id,
            tenant_id=tenant_id,
            producer=self.producer,
            late=late,
        )
        getattr(envelope, kind.payload_field).CopyFrom(payload)
        # Field by field rather than Timestamp.FromDatetime: the same values at a third of the cost.
        received_seconds, received_nanos = divmod(time.time_ns(), 1_000_000_000)
        envelope.received_time.seconds, envelope.received_time.nanos = received_seconds, received_nanos
        if station_time is None:
            envelope.station_time.seconds, envelope.station_time.nanos = received_seconds, received_nanos
        else:
            if station_time.tzinfo is None:
                station_time = station_time.replace(tzinfo=UTC)
            delta = station_time - _EPOCH
            envelope.station_time.seconds = delta.days * 86_400 + delta.seconds
            envelope.station_time.nanos = delta.microseconds * 1000
        envelope.traceparent, envelope.tracestate = tel.current_trace_headers()
        return envelope

    def stream_for(self, envelope: EventEnvelope) -> str:
        """The stream an envelope is published to."""
        return self._route(envelope)[1]

    async def publish(self, envelope: EventEnvelope) -> str:
        """Append one event; returns its stream entry id.

        The PRODUCER span is a child of the envelope's recorded context (the work that built it,
        usually the current span), and the entry carries the producer span's own context, so a
        consumer's span hangs under the publish span: work -> publish -> process -> writes.
        The caller's envelope is not modified.
        """
        kind, stream = self._route(envelope)
        parent, _ = tel.remote_span_context(envelope.traceparent, envelope.tracestate)
        with tel.tracer.start_as_current_span(
            f"{stream} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                attrs.MESSAGING_SYSTEM: tel.MESSAGING_SYSTEM,
                attrs.MESSAGING_DESTINATION: stream,
                attrs.MESSAGING_OPERATION: "publish",
                attrs.MESSAGING_BATCH_COUNT: 1,
                attrs.EVENT_ID: envelope.event_id,
                attrs.EVENT_TYPE: envelope.event_type,
                attrs.STATION_ID: envelope.station_id,
            },
        ) as span:
            traceparent, tracestate = tel.current_trace_headers()
            if not traceparent:  # no SDK / not recording: keep whatever the envelope had
                traceparent, tracestate = envelope.traceparent, envelope.tracestate
            fields = self._fields(envelope, traceparent, tracestate)
            entry_id = text(await self._redis.xadd(stream, fields, maxlen=self.max_len, approximate=True))
            span.set_attribute(attrs.MESSAGING_MESSAGE_ID, entry_id)
        tel.count_published(kind.family.value)
        return entry_id

    async def publish_many(self, envelopes: Iterable[EventEnvelope]) -> list[str]:
        """Append several events in one pipeline round trip; returns entry ids in input order.

        One PRODUCER span covers the batch. Envelopes keep the trace context recorded by
        `envelope()`; one without any gets the batch span's. The pipeline is not a transaction:
        on error some events may have been appended, and re-publishing them is safe because
        consumers are idempotent by event id.
        """
        batch = [(envelope, *self._route(envelope)) for envelope in envelopes]
        if not batch:
            return []
        destinations = {stream for _, _, stream in batch}
        only = next(iter(destinations)) if len(destinations) == 1 else None
        span_attributes: dict[str, str | int] = {
            attrs.MESSAGING_SYSTEM: tel.MESSAGING_SYSTEM,
            attrs.MESSAGING_OPERATION: "publish",
            attrs.MESSAGING_BATCH_COUNT: len(batch),
        }
        if only is not None:
            span_attributes[attrs.MESSAGING_DESTINATION] = only
        with tel.tracer.start_as_current_span(
            f"{only} publish" if only is not None else "publish", kind=SpanKind.PRODUCER, attributes=span_attributes
        ):
            batch_traceparent, batch_tracestate = tel.current_trace_headers()
            pipe = self._redis.pipeline(transaction=False)
            for envelope, _, stream in batch:
                if envelope.traceparent:
                    fields = self._fields(envelope, envelope.traceparent, envelope.tracestate)
                else:
                    fields = self._fields(envelope, batch_traceparent, batch_tracestate)
                pipe.xadd(stream, fields, maxlen=self.max_len, approximate=True)
            entry_ids = [text(entry_id) for entry_id in await pipe.execute()]
        tel.count_published_each(kind.family.value for _, kind, _ in batch)
        return entry_ids

    def entry(self, envelope: EventEnvelope) -> tuple[str, dict[FieldT, EncodableT]]:
        """The stream and the fields `publish_many` appends for this envelope, as it is.

        For a caller that sends the XADD over its own connection (with `max_len` as `MAXLEN ~`, as
        here); it counts what it appended with `count_published`, in aggregate.
        """
        return self._route(envelope)[1], self._fields(envelope, envelope.traceparent, envelope.tracestate)

    @staticmethod
    def count_published(family: str, count: int) -> None:
        """Add `count` events of a family (`StreamFamily.value`) to the published-events counter."""
        tel.count_published(family, count)

    # -- the hot path: prepared events -----------------------------------------------------------
    def prepare(
        self,
        station_id: str,
        payload: Message | EncodedPayload,
        *,
        tenant_id: str = "",
        station_time: datetime | None = None,
        late: bool = False,
        event_id: str | None = None,
        traceparent: str | None = None,
        tracestate: str = "",
    ) -> PreparedEvent:
        """An event as `envelope()` would build it, written straight to the XADD that appends it.

        `traceparent` / `tracestate` are the trace context the event belongs to; without them,
        the current span's (as `envelope()` records it).
        """
        if isinstance(payload, EncodedPayload):
            message_type: type[Message] = payload.message_type
            data = payload.data
        else:
            message_type = type(payload)
            data = payload.SerializeToString()
        codec = self._codecs.get(message_type)
        if codec is None:
            # kind_of_payload reads only the message's DESCRIPTOR, which its class has too.
            codec = self._codecs[message_type] = _codec(kind_of_payload(message_type))  # type: ignore[arg-type]
        family = codec.kind.family
        partition = 0 if self.partitions == 1 else partition_for(station_id, self.partitions)
        route = self._routes.get((family, partition))
        if route is None:
            stream = stream_name(family, partition)
            route = self._routes[(family, partition)] = (stream, self._command_head(stream))
        stream, head = route
        if traceparent is None:
            traceparent, tracestate = tel.current_trace_headers()
        if event_id is None:
            event_id = _event_ids.next()
        received_seconds, received_nanos = divmod(time.time_ns(), 1_000_000_000)
        received = timestamp_body(received_seconds, received_nanos)
        station = received if station_time is None else timestamp_body(*datetime_parts(station_time))
        identifier, station_bytes, trace = event_id.encode(), station_id.encode(), traceparent.encode()
        id_size, station_size, trace_size, data_size = len(identifier), len(station_bytes), len(trace), len(data)
        # The EventEnvelope's fields in field-number order, as protobuf writes them (empty strings
        # and false left out); what `_envelope` writes, with the lengths inlined (all but the
        # payload's are short).
        envelope = b"".join(
            (
                (_EVENT_ID + (_ONE_BYTE[id_size] if id_size < 0x80 else varint(id_size)) + identifier)
                if id_size
                else b"",
                codec.type_and_version,
                (_STATION_ID + (_ONE_BYTE[station_size] if station_size < 0x80 else varint(station_size)))
                + station_bytes
                if station_size
                else b"",
                _string(_TENANT_ID, tenant_id) if tenant_id else b"",
                _STATION_TIME,
                _ONE_BYTE[len(station)],
                station,
                _RECEIVED_TIME,
                _ONE_BYTE[len(received)],
                received,
                (_TRACEPARENT + (_ONE_BYTE[trace_size] if trace_size < 0x80 else varint(trace_size)) + trace)
                if trace_size
                else b"",
                _string(_TRACESTATE, tracestate) if tracestate else b"",
                self._producer_field,
                _LATE_TRUE if late else b"",
                codec.payload_tag,
                _ONE_BYTE[data_size] if data_size < 0x80 else varint(data_size),
                data,
            )
        )
        command = b"".join(
            (
                head,
                b"$%d\r\n%s\r\n" % (id_size, identifier),
                codec.type_field,
                _MIDDLE % (station_size, station_bytes, trace_size, trace, len(envelope)),
                envelope,
                b"\r\n",
            )
        )
        # W3C trace-flags: the last two hex digits; bit 0 is "sampled".
        sampled = len(traceparent) == 55 and traceparent[-1] in "13579bdf"
        return PreparedEvent(stream, family.value, event_id, traceparent, tracestate, sampled, command)

    def _command_head(self, stream: str) -> bytes:
        trim = [b"MAXLEN", b"~", str(self.max_len).encode()] if self.max_len is not None else []
        words = [b"XADD", stream.encode(), *trim, b"*"]
        # The words above, then five field / value pairs.
        return b"*%d\r\n" % (len(words) + 10) + b"".join(bulk(w) for w in words) + _FIELD_ID

    async def aclose(self) -> None:
        """Close the connection `append` keeps (the client's pool is the caller's to close)."""
        await self._packed.aclose()

    async def append(self, events: Sequence[PreparedEvent], *, entry_ids: bool = True) -> list[str]:
        """Append prepared events in one round trip on one connection; returns their entry ids in order.

        With `entry_ids` False it returns an empty list: a caller that only needs to know Redis
        took the events saves decoding an id per event.

        As with `publish_many`, this is not a transaction: when Redis refuses one command the
        others may have been appended, and the first refusal is raised after every reply is read
        (the connection stays usable). A connection error or a cancellation (a caller's timeout)
        closes the connection, so no half-read replies are left on it.

        A PRODUCER span covers the batch only when one of its events belongs to a sampled trace:
        it is a child of the first such event's context. The events keep their own trace context.
        """
        if not events:
            return []
        sampled = next((event for event in events if event.sampled), None)
        if sampled is None:
            ids = await self._send(events, entry_ids)
        else:
            destinations = {event.stream for event in events}
            only = next(iter(destinations)) if len(destinations) == 1 else None
            span_attributes: dict[str, str | int] = {
                attrs.MESSAGING_SYSTEM: tel.MESSAGING_SYSTEM,
                attrs.MESSAGING_OPERATION: "publish",
                attrs.MESSAGING_BATCH_COUNT: len(events),
            }
            if only is not None:
                span_attributes[attrs.MESSAGING_DESTINATION] = only
            parent, _ = tel.remote_span_context(sampled.traceparent, sampled.tracestate)
            with tel.tracer.start_as_current_span(
                f"{only} publish" if only is not None else "publish",
                context=parent,
                kind=SpanKind.PRODUCER,
                attributes=span_attributes,
            ):
                ids = await self._send(events, entry_ids)
        tel.count_published_each(event.family for event in events)
        return ids

    async def _send(self, events: Sequence[PreparedEvent], entry_ids: bool = True) -> list[str]:
        replies = await self._packed.execute(b"".join(event.command for event in events), len(events))
        refusal = next((reply for reply in replies if isinstance(reply, ResponseError)), None)
        if refusal is not None:
            raise refusal
        return [text(reply) for reply in replies] if entry_ids else []

    # -- internals ------------------------------------------------------------------------------
    def _route(self, envelope: EventEnvelope) -> tuple[EventKind, str]:
        kind = kind_of_envelope(envelope)
        return kind, stream_name(kind.family, partition_for(envelope.station_id, self.partitions))

    @staticmethod
    def _fields(envelope: EventEnvelope, traceparent: str, tracestate: str) -> dict[FieldT, EncodableT]:
        """The entry's fields; `data` is the envelope carrying the given trace context.

        The trace fields are swapped in just for serialising, so the caller's envelope is left
        as it was (publishing it again gives it a fresh producer span, not a chain of them).
        """
        if (traceparent, tracestate) == (envelope.traceparent, envelope.tracestate):
            data = envelope.SerializeToString()
        else:
            original = envelope.traceparent, envelope.tracestate
            envelope.traceparent, envelope.tracestate = traceparent, tracestate
            try:
                data = envelope.SerializeToString()
            finally:
                envelope.traceparent, envelope.tracestate = original
        return {
            "id": envelope.event_id,
            "type": envelope.event_type,
            "station": envelope.station_id,
            "traceparent": traceparent,
            "data": data,
        }
