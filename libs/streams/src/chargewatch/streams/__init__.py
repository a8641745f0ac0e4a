"""Redis Streams event bus: publish and consume with consumer groups, XAUTOCLAIM and dead letters.

* `EventPublisher` builds `EventEnvelope`s and appends them to `cw:<family>:{<partition>}`.
* `ConsumerGroupWorker` consumes them at least once, acknowledging after the handler returned,
  reclaiming abandoned entries and dead-lettering poison ones; `event_context` puts handler
  spans under an event's consumer span; a handler's `StreamAppend`s are appended atomically
  with the acknowledgement of its batch.
* `StreamTrimmer` trims by age and length without dropping what a group has not acknowledged.
"""

from chargewatch.streams.consumer import ConsumerGroupWorker, Event, Handler, StreamAppend, event_context
from chargewatch.streams.families import (
    EVENT_KINDS,
    EventKind,
    StreamFamily,
    dead_letter_stream,
    kind_of_envelope,
    kind_of_payload,
    partition_for,
    stream_name,
    stream_names,
)
from chargewatch.streams.publisher import EventPublisher
from chargewatch.streams.trimmer import StreamTrimmer

__all__ = [
    "EVENT_KINDS",
    "ConsumerGroupWorker",
    "Event",
    "EventKind",
    "EventPublisher",
    "Handler",
    "StreamAppend",
    "StreamFamily",
    "StreamTrimmer",
    "dead_letter_stream",
    "event_context",
    "kind_of_envelope",
    "kind_of_payload",
    "partition_for",
    "stream_name",
    "stream_names",
]
