"""Stream families, their partitioned stream names and the one table from payload to event type.

Everything that decides *where* an event goes lives here, so the publisher, the consumers and the
trimmer cannot disagree about a stream's name.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from google.protobuf.message import Message

from chargewatch.v1 import events_pb2


class StreamFamily(enum.StrEnum):
    """One stream family per kind of fact (see ARCHITECTURE.md, "Events")."""

    CONNECTION = "connection"
    BOOT = "boot"
    STATUS = "status"
    METER = "meter"
    TRANSACTION = "transaction"
    SECURITY = "security"
    AUTHORIZATION = "authorization"
    ALERT = "alert"
    NOTIFICATION = "notification"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True)
class EventKind:
    """What an envelope's payload makes of it: its type name, its family and its schema version."""

    payload_field: str
    event_type: str
    family: StreamFamily
    schema_version: int


# The single table: EventEnvelope.payload oneof field -> kind. Bump a schema_version when the
# payload message changes incompatibly, so consumers can tell old entries still in the stream.
EVENT_KINDS: Final[Mapping[str, EventKind]] = MappingProxyType(
    {
        kind.payload_field: kind
        for kind in (
            EventKind("connection", "station.connection", StreamFamily.CONNECTION, 1),
            EventKind("heartbeat", "station.heartbeat", StreamFamily.CONNECTION, 1),
            EventKind("boot", "station.boot", StreamFamily.BOOT, 1),
            EventKind("status", "connector.status", StreamFamily.STATUS, 1),
            EventKind("meter_values", "meter.values", StreamFamily.METER, 1),
            EventKind("transaction", "transaction.event", StreamFamily.TRANSACTION, 1),
            EventKind("security", "security.event", StreamFamily.SECURITY, 1),
            EventKind("authorization", "authorization.decision", StreamFamily.AUTHORIZATION, 1),
            EventKind("alert", "alert.raised", StreamFamily.ALERT, 1),
            EventKind("notification", "station.notification", StreamFamily.NOTIFICATION, 1),
            EventKind("command", "command.audit", StreamFamily.AUDIT, 1),
        )
    }
)


# Payload message full name -> kind, so `EventPublisher.envelope` can take the bare payload message.
def _kinds_by_message() -> dict[str, EventKind]:
    by_message: dict[str, EventKind] = {}
    for field, kind in EVENT_KINDS.items():
        message_type = events_pb2.EventEnvelope.DESCRIPTOR.fields_by_name[field].message_type
        assert message_type is not None, f"EventEnvelope.{field} is not a message field"
        by_message[message_type.full_name] = kind
    return by_message


_KIND_BY_MESSAGE: Final[Mapping[str, EventKind]] = MappingProxyType(_kinds_by_message())


def kind_of_payload(payload: Message) -> EventKind:
    """The kind for a payload message; TypeError when the envelope has no slot for it."""
    kind = _KIND_BY_MESSAGE.get(payload.DESCRIPTOR.full_name)
    if kind is None:
        raise TypeError(f"{payload.DESCRIPTOR.full_name} is not an EventEnvelope payload")
    return kind


def kind_of_envelope(envelope: events_pb2.EventEnvelope) -> EventKind:
    """The kind of the payload set in an envelope; ValueError when none (or an unknown one) is set."""
    field = envelope.WhichOneof("payload")
    kind = EVENT_KINDS.get(field) if field is not None else None
    if kind is None:
        raise ValueError(f"event {envelope.event_id!r} ({envelope.event_type!r}) carries no known payload")
    return kind


def stream_name(family: StreamFamily, partition: int) -> str:
    """`cw:<family>:{<partition>}`.

    The partition is a Redis Cluster hash tag: every family of one partition lives in one slot,
    so a consumer can read several families of a partition with one XREADGROUP on a cluster.
    """
    return f"cw:{family}:{{{partition}}}"


def partition_for(station_id: str, partitions: int) -> int:
    """The partition of a station: CRC-32 of its id, which (unlike `hash`) is stable across processes."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    return zlib.crc32(station_id.encode("utf-8")) % partitions


def dead_letter_stream(group: str) -> str:
    """The stream where a consumer group parks entries it gave up on (one per group)."""
    return f"cw:dead-letter:{group}"


def partition_numbers(partitions: int | Sequence[int]) -> tuple[int, ...]:
    """`partitions` as given to workers: a count (all of 0..n-1) or the explicit partitions to serve."""
    if isinstance(partitions, int):
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        return tuple(range(partitions))
    numbers = tuple(dict.fromkeys(partitions))  # de-duplicated, order kept
    if not numbers or any(p < 0 for p in numbers):
        raise ValueError(f"partitions must be non-empty and non-negative, got {partitions!r}")
    return numbers


def stream_names(families: Iterable[StreamFamily], partitions: int | Sequence[int]) -> tuple[str, ...]:
    """Every stream of the given families and partitions, grouped by partition."""
    unique_families = tuple(dict.fromkeys(StreamFamily(f) for f in families))
    if not unique_families:
        raise ValueError("at least one stream family is needed")
    return tuple(stream_name(f, p) for p in partition_numbers(partitions) for f in unique_families)
