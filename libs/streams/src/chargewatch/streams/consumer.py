"""Consuming events with a consumer group: at-least-once, acknowledged after the handler's effect.

Delivery guarantees, and why each step is where it is:

* An entry is acknowledged only after the handler returned for it. Handlers make their effect
  durable and idempotent by event id, so a redelivery is harmless and a lost ack is repaired.
* A batch whose handler raises is retried one event at a time, so one poison entry does not hold
  back the others; the ones that fail stay pending with their error remembered.
* Pending entries idle longer than `claim_idle_ms` (a dead consumer's, or our own failures) are
  taken over with XAUTOCLAIM every `claim_interval_s`. On start the consumer first finishes its
  own pending entries, so a restart under the same name resumes where it stopped.
* An entry delivered more than `max_deliveries` times, or one that cannot be decoded, moves to
  the group's dead-letter stream with the reason. The move is one server-side script that checks
  the entry is still pending, appends it to the dead-letter stream and acknowledges it, so it is
  neither lost nor dead-lettered twice when two consumers race for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import redis.asyncio as aioredis
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind, Status, StatusCode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import KeyT, StreamIdT

from chargewatch.observability import attributes as attrs
from chargewatch.streams import _telemetry as tel
from chargewatch.streams._redis import Fields, read_reply, require_bytes_client, text
from chargewatch.streams.families import (
    EVENT_KINDS,
    StreamFamily,
    dead_letter_stream,
    partition_numbers,
    stream_name,
)
from chargewatch.v1.events_pb2 import EventEnvelope

log = logging.getLogger(__name__)

# Error texts kept for entries left pending; bounded so a storm of failures cannot grow memory.
_MAX_REMEMBERED_ERRORS: Final = 10_000
_MAX_ERROR_TEXT: Final = 1_000
_MAX_BACKOFF_S: Final = 5.0

# Atomically: if the entry is still pending in the group, copy it to the dead-letter stream, then
# acknowledge it. XADD runs before XACK so a failing XADD cannot lose the entry; the pending check
# makes a second consumer racing for the same entry a no-op instead of a duplicate.
# KEYS: source stream, dead-letter stream. ARGV: group, entry id, max len (0 = none), field/value...
_DEAD_LETTER_SCRIPT: Final = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then
  return false
end
local xadd = {'XADD', KEYS[2]}
if tonumber(ARGV[3]) > 0 then
  xadd[#xadd + 1] = 'MAXLEN'
  xadd[#xadd + 1] = '~'
  xadd[#xadd + 1] = ARGV[3]
end
xadd[#xadd + 1] = '*'
for i = 4, #ARGV do
  xadd[#xadd + 1] = ARGV[i]
end
local dead_id = redis.call(unpack(xadd))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return dead_id
"""

Handler = Callable[[Sequence["Event"]], Awaitable[None]]


@dataclass(slots=True)
class Event:
    """One decoded stream entry, as handed to a handler."""

    stream: str
    entry_id: str
    envelope: EventEnvelope
    delivery_count: int
    # This entry's CONSUMER span while the worker processes it; see `event_context`.
    span: Span = field(default=INVALID_SPAN, repr=False, compare=False)

    @property
    def payload_kind(self) -> str:
        """The name of the envelope's payload field (e.g. "status"), "" when none is set."""
        return self.envelope.WhichOneof("payload") or ""

    @property
    def payload(self) -> Message:
        """The payload message set in the envelope."""
        kind = self.payload_kind
        if not kind:
            raise ValueError(f"event {self.envelope.event_id!r} carries no known payload")
        return cast(Message, getattr(self.envelope, kind))

    @property
    def family(self) -> StreamFamily:
        return EVENT_KINDS[self.payload_kind].family


@contextlib.contextmanager
def event_context(event: Event) -> Iterator[Span]:
    """Make an event's consumer span current, so spans started inside are its children.

    Handlers get a batch; one that works event by event wraps each in `with event_context(ev):`
    and its MongoDB or gRPC spans land under that event's consumer span, which sits under the
    producer's span. The worker ends the span and sets its status after the ack, so exceptions
    raised here are only propagated, not recorded twice.
    """
    span = event.span
    if not span.get_span_context().is_valid:
        yield span
        return
    with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        yield span


@dataclass(slots=True)
class _Entry:
    """A raw entry delivered to this consumer; `fields` is empty when it was deleted meanwhile."""

    stream: str
    entry_id: str
    fields: Fields
    delivery_count: int


@dataclass(slots=True)
class _Redelivery:
    """Entries delivered to us again (own pending, or claimed) and the id range they came from.

    `end` is inclusive unless `end_exclusive`; the range may hold more of our pending entries
    than were delivered (our own recent failures, not yet idle enough to be claimed).
    """

    stream: str
    start: str
    end: str
    end_exclusive: bool
    entries: list[_Entry]
    # XAUTOCLAIM on Redis < 7 claims entries deleted from the stream but replies nil for them.
    saw_deleted: bool = False


class ConsumerGroupWorker:
    """Reads the streams of some families and partitions as one consumer of a group.

    Use: `await worker.run()` in a task, `worker.stop()` to finish gracefully. `run()` creates the
    groups itself (see `start`). Redis must be a bytes client (`decode_responses=False`) whose
    socket timeout, if any, is longer than `block_ms`. All streams are read with one XREADGROUP:
    on Redis Cluster give each worker the partitions of one slot (e.g. `partitions=[p]`), since
    the hash tag only co-locates the families of a partition.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        group: str,
        consumer: str,
        families: Sequence[StreamFamily],
        handler: Handler,
        partitions: int | Sequence[int] = 1,
        batch_size: int = 200,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        claim_interval_s: float = 5.0,
        max_deliveries: int = 5,
        dead_letter_max_len: int = 100_000,
    ) -> None:
        require_bytes_client(redis)
        if not group or not consumer:
            raise ValueError("group and consumer names are required")
        if batch_size < 1 or max_deliveries < 1:
            raise ValueError("batch_size and max_deliveries must be >= 1")
        if block_ms < 1:
            # BLOCK 0 waits forever, which would make stop() wait for the next event.
            raise ValueError("block_ms must be >= 1")
        if claim_idle_ms < 0 or claim_interval_s <= 0:
            raise ValueError("claim_idle_ms must be >= 0 and claim_interval_s > 0")
        self._redis = redis
        self.group = group
        self.consumer = consumer
        self._handler = handler
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.claim_interval_s = claim_interval_s
        self.max_deliveries = max_deliveries
        self.dead_letter_max_len = dead_letter_max_len
        self.dead_letter_stream = dead_letter_stream(group)
        unique_families = tuple(dict.fromkeys(StreamFamily(f) for f in families))
        if not unique_families:
            raise ValueError("at least one stream family is needed")
        self._family_of: dict[str, StreamFamily] = {
            stream_name(f, p): f for p in partition_numbers(partitions) for f in unique_families
        }
        self.streams: tuple[str, ...] = tuple(self._family_of)
        self._dead_letter = redis.register_script(_DEAD_LETTER_SCRIPT)
        self._errors: dict[tuple[str, str], str] = {}
        self._claim_cursors = dict.fromkeys(self.streams, "0-0")
        self._new_cursors: dict[KeyT, StreamIdT] = dict.fromkeys(self.streams, ">")
        self._groups_ready = False
        self._recovered = False
        self._stopping = False
        self._running = False
        self._wake = asyncio.Event()
        self._labels = {tel.GROUP_LABEL: group}

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Create the group on every stream (and the stream itself) if missing.

        New groups start at id 0, so events published before the service first ran are handled.
        """
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xgroup_create(stream, self.group, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result
        self._groups_ready = True

    def stop(self) -> None:
        """Ask `run()` to return after the batch in hand is handled and acknowledged.

        Idempotent; call it from the event loop's thread. No read is started after it, and a
        blocking read in flight returns within `block_ms`. A stopped worker stays stopped.
        """
        self._stopping = True
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self) -> None:
        """Consume until `stop()`; survives Redis outages by retrying with a capped backoff."""
        if self._running:
            raise RuntimeError("this worker is already running")
        self._running = True
        loop = asyncio.get_running_loop()
        next_claim = 0.0
        backoff = 0.1
        try:
            while not self._stopping:
                try:
                    if not self._groups_ready:
                        await self.start()
                    if not self._recovered:
                        await self._recover_own_pending()
                        self._recovered = True
                    if loop.time() >= next_claim:
                        await self._claim_abandoned()
                        next_claim = loop.time() + self.claim_interval_s
                    if self._stopping:
                        break
                    await self._process(await self._read_new())
                    backoff = 0.1
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    log.warning("stream consumer lost redis, retrying", extra={"group": self.group, "error": str(exc)})
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF_S)
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    # The stream or group was deleted under us (FLUSHDB, manual cleanup): recreate.
                    log.warning("consumer group vanished, recreating", extra={"group": self.group})
                    self._groups_ready = False
        finally:
            self._running = False

    # -- readiness and metrics helpers ----------------------------------------------------------
    async def pending_count(self) -> int:
        """Entries delivered to the group but not acknowledged yet, over all its streams."""
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xpending(stream, self.group)
        total = 0
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception):
                if "NOGROUP" in str(result):
                    continue
                raise result
            total += int(result["pending"])
        return total

    async def lag(self, *, limit: int = 1_000) -> int:
        """Entries in the streams not delivered to the group yet.

        Exact on Redis >= 7 (XINFO GROUPS reports it). Older servers do not, so there the
        undelivered entries are counted per stream with XRANGE, up to `limit` each.
        """
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xinfo_groups(stream)
        total = 0
        for stream, groups in zip(self.streams, await pipe.execute(raise_on_error=False), strict=True):
            if isinstance(groups, Exception):
                if "no such key" in str(groups):
                    continue
                raise groups
            info = next((g for g in groups if text(g["name"]) == self.group), None)
            if info is None:
                total += await self._redis.xlen(stream)
            elif info.get("lag") is not None:
                total += int(info["lag"])
            else:
                after = "(" + text(info["last-delivered-id"])
                total += len(await self._redis.xrange(stream, min=after, max="+", count=limit) or ())
        return total

    # -- reading --------------------------------------------------------------------------------
    async def _read_new(self) -> list[_Entry]:
        reply = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            self._new_cursors,
            count=self.batch_size,
            block=self.block_ms,
        )
        return [
            _Entry(stream, entry_id, fields or {}, 1)
            for stream, entries in read_reply(reply)
            for entry_id, fields in entries
        ]

    async def _recover_own_pending(self) -> None:
        """Handle entries delivered to this consumer name before and never acknowledged."""
        cursors = dict.fromkeys(self.streams, "0")
        while cursors and not self._stopping:
            request: dict[KeyT, StreamIdT] = dict(cursors.items())
            reply = await self._redis.xreadgroup(self.group, self.consumer, request, count=self.batch_size)
            got = {stream: entries for stream, entries in read_reply(reply) if entries}
            redeliveries: list[_Redelivery] = []
            for stream in list(cursors):
                entries = got.get(stream)
                if not entries:
                    del cursors[stream]
                    continue
                cursors[stream] = entries[-1][0]
                # History reads return our pending entries in id order, so [first, last] is exact.
                redeliveries.append(
                    _Redelivery(
                        stream,
                        entries[0][0],
                        entries[-1][0],
                        False,
                        [_Entry(stream, entry_id, fields or {}, 0) for entry_id, fields in entries],
                    )
                )
            if redeliveries:
                log.info("resuming own pending entries", extra={"group": self.group, "consumer": self.consumer})
                await self._handle_redeliveries(redeliveries)

    async def _claim_abandoned(self) -> None:
        """XAUTOCLAIM idle pending entries of every stream, a page at a time, and handle them."""
        streams = list(self.streams)
        while streams and not self._stopping:
            pipe = self._redis.pipeline(transaction=False)
            for stream in streams:
                pipe.xautoclaim(
                    stream,
                    self.group,
                    self.consumer,
                    self.claim_idle_ms,
                    start_id=self._claim_cursors[stream],
                    count=self.batch_size,
                )
            replies = await pipe.execute()
            redeliveries: list[_Redelivery] = []
            unfinished: list[str] = []
            for stream, reply in zip(streams, replies, strict=True):
                start = self._claim_cursors[stream]
                cursor = text(reply[0])
                self._claim_cursors[stream] = cursor
                if cursor != "0-0":
                    unfinished.append(stream)
                claimed = [(text(i), f) for i, f in reply[1] if i is not None]
                saw_deleted = len(claimed) < len(reply[1])
                if claimed or saw_deleted:
                    entries = [_Entry(stream, entry_id, fields or {}, 0) for entry_id, fields in claimed]
                    wrapped = cursor == "0-0"
                    redeliveries.append(
                        _Redelivery(stream, start, "+" if wrapped else cursor, not wrapped, entries, saw_deleted)
                    )
            if redeliveries:
                await self._handle_redeliveries(redeliveries)
            streams = unfinished

    async def _handle_redeliveries(self, redeliveries: list[_Redelivery]) -> None:
        """Dead-letter what was delivered too often, drop what was deleted, handle the rest."""
        pending = await self._own_pending(redeliveries)
        gone: list[_Entry] = []
        exhausted: list[tuple[_Entry, str]] = []
        fresh: list[_Entry] = []
        for redelivery in redeliveries:
            delivered = {entry.entry_id for entry in redelivery.entries}
            for entry in redelivery.entries:
                count = pending.get((entry.stream, entry.entry_id))
                if count is None:
                    continue  # no longer ours: acknowledged or claimed by another consumer meanwhile
                entry.delivery_count = count
                if not entry.fields:
                    gone.append(entry)
                elif count > self.max_deliveries:
                    reason = self._errors.get((entry.stream, entry.entry_id), "exceeded max deliveries")
                    exhausted.append((entry, reason))
                else:
                    fresh.append(entry)
            if redelivery.saw_deleted:
                # Candidates: our pending ids in the scanned range that XAUTOCLAIM did not name.
                candidates = [
                    entry_id
                    for (stream, entry_id) in pending
                    if stream == redelivery.stream and entry_id not in delivered
                ]
                gone.extend(await self._deleted_entries(redelivery.stream, candidates))
        if gone:
            # Nothing left to handle: the stream was trimmed past them (trim_unacknowledged, or the
            # publisher's MAXLEN guard). Acknowledge so they stop pinning the trimmer's floor.
            log.warning("acknowledging pending entries deleted from their stream", extra={"count": len(gone)})
            await self._ack_entries(gone)
        if exhausted:
            await self._move_to_dead_letter(exhausted)
        if fresh:
            await self._process(fresh)

    async def _own_pending(self, redeliveries: list[_Redelivery]) -> dict[tuple[str, str], int]:
        """Delivery counts of this consumer's pending entries in the redelivered ranges (XPENDING)."""
        counts: dict[tuple[str, str], int] = {}
        todo = [(r, r.start, len(r.entries) + 16) for r in redeliveries]
        while todo:
            pipe = self._redis.pipeline(transaction=False)
            for redelivery, start, page in todo:
                end = ("(" + redelivery.end) if redelivery.end_exclusive else redelivery.end
                pipe.xpending_range(
                    redelivery.stream, self.group, min=start, max=end, count=page, consumername=self.consumer
                )
            next_todo = []
            for (redelivery, _, page), rows in zip(todo, await pipe.execute(), strict=True):
                for row in rows:
                    counts[(redelivery.stream, text(row["message_id"]))] = int(row["times_delivered"])
                if len(rows) == page:  # a full page: there may be more in the range
                    next_todo.append((redelivery, "(" + text(rows[-1]["message_id"]), page * 2))
            todo = next_todo
        return counts

    async def _deleted_entries(self, stream: str, entry_ids: list[str]) -> list[_Entry]:
        if not entry_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xrange(stream, min=entry_id, max=entry_id, count=1)
        found = await pipe.execute()
        return [_Entry(stream, entry_id, {}, 0) for entry_id, rows in zip(entry_ids, found, strict=True) if not rows]

    # -- handling -------------------------------------------------------------------------------
    async def _process(self, entries: list[_Entry]) -> None:
        """Decode entries (each parsed once), dead-letter the undecodable, handle the rest in batches."""
        events: list[Event] = []
        undecodable: list[tuple[_Entry, str]] = []
        for entry in entries:
            data = entry.fields.get(b"data")
            if data is None:
                undecodable.append((entry, "undecodable: entry has no data field"))
                continue
            try:
                envelope = EventEnvelope.FromString(data)
            except Exception as exc:  # DecodeError, or anything else the parser raises: unusable
                undecodable.append((entry, f"undecodable: {_error_text(exc)}"))
                continue
            if envelope.WhichOneof("payload") is None:
                # Most likely a payload added to the contract after this build; park it until
                # the consumer is upgraded rather than acknowledge it unseen.
                undecodable.append((entry, f"undecodable: no known payload (event_type={envelope.event_type!r})"))
                continue
            events.append(Event(entry.stream, entry.entry_id, envelope, entry.delivery_count))
        if undecodable:
            await self._move_to_dead_letter(undecodable)
        for start in range(0, len(events), self.batch_size):
            await self._handle_batch(events[start : start + self.batch_size])

    async def _handle_batch(self, events: list[Event]) -> None:
        for event in events:
            event.span = self._start_span(event)
        failures: dict[int, Exception] = {}
        acked = False
        try:
            error = await self._call_handler(events)
            if error is not None:
                if len(events) == 1:
                    failures[0] = error
                else:
                    # Find the poison: retry alone each event of the failed batch.
                    for index, event in enumerate(events):
                        single_error = await self._call_handler([event])
                        if single_error is not None:
                            failures[index] = single_error
            for index, exc in failures.items():
                self._remember_error(events[index], exc)  # the reason, should it end in dead letter
            await self._ack_events([event for index, event in enumerate(events) if index not in failures])
            acked = True
        finally:
            for index, event in enumerate(events):
                span = event.span
                failure = failures.get(index)
                if failure is not None:
                    span.record_exception(failure)
                    span.set_status(Status(StatusCode.ERROR, _error_text(failure)))
                elif not acked:
                    span.set_status(Status(StatusCode.ERROR, "not acknowledged"))
                span.end()

    async def _call_handler(self, events: list[Event]) -> Exception | None:
        """Run the handler; an exception it raises is returned (cancellation still propagates)."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            await self._handler(events)
        except Exception as exc:
            outcome = "error"
            if len(events) == 1:
                event = events[0]
                log.warning(
                    "stream handler failed",
                    exc_info=True,
                    extra={
                        "group": self.group,
                        "stream": event.stream,
                        "entry_id": event.entry_id,
                        "event_id": event.envelope.event_id,
                        "delivery_count": event.delivery_count,
                    },
                )
            else:
                log.info(
                    "stream handler failed on a batch, retrying its events one by one",
                    extra={"group": self.group, "batch": len(events), "error": _error_text(exc)},
                )
            return exc
        finally:
            tel.handler_duration.record(
                time.perf_counter() - started, {tel.GROUP_LABEL: self.group, tel.OUTCOME_LABEL: outcome}
            )
        return None

    def _start_span(self, event: Event) -> Span:
        envelope = event.envelope
        parent, producer = tel.remote_span_context(envelope.traceparent, envelope.tracestate)
        return tel.tracer.start_span(
            f"{event.stream} process",
            # No producer context: a root span, not a child of whatever the worker loop runs in.
            context=parent if parent is not None else Context(),
            kind=SpanKind.CONSUMER,
            links=[Link(producer)] if producer is not None else None,
            attributes={
                attrs.MESSAGING_SYSTEM: tel.MESSAGING_SYSTEM,
                attrs.MESSAGING_DESTINATION: event.stream,
                attrs.MESSAGING_OPERATION: "process",
                attrs.MESSAGING_CONSUMER_GROUP: self.group,
                attrs.MESSAGING_MESSAGE_ID: event.entry_id,
                attrs.EVENT_ID: envelope.event_id,
                attrs.EVENT_TYPE: envelope.event_type,
                attrs.STATION_ID: envelope.station_id,
                "messaging.message.delivery_count": event.delivery_count,
            },
        )

    def _remember_error(self, event: Event, exc: Exception) -> None:
        key = (event.stream, event.entry_id)
        self._errors.pop(key, None)
        while len(self._errors) >= _MAX_REMEMBERED_ERRORS:
            self._errors.pop(next(iter(self._errors)))
        self._errors[key] = _error_text(exc)

    # -- acknowledging and dead-lettering -------------------------------------------------------
    async def _ack_events(self, events: list[Event]) -> None:
        if not events:
            return
        await self._ack(_group_ids((e.stream, e.entry_id) for e in events))
        acked_at = time.time()
        counts: Counter[StreamFamily] = Counter()
        oldest: dict[StreamFamily, float] = {}
        for event in events:
            family = self._family_of[event.stream]
            counts[family] += 1
            stamp = event.envelope.received_time
            received = stamp.seconds + stamp.nanos * 1e-9
            if received and received < oldest.get(family, acked_at):
                oldest[family] = received
        for family, count in counts.items():
            labels = {**self._labels, tel.FAMILY_LABEL: family.value}
            tel.consumed.add(count, labels)
            # One observation per batch and family (not per event): the lag of the group is its oldest event's age.
            tel.consumer_lag.record(acked_at - oldest.get(family, acked_at), labels)

    async def _ack_entries(self, entries: list[_Entry]) -> None:
        await self._ack(_group_ids((e.stream, e.entry_id) for e in entries))

    async def _ack(self, ids_by_stream: dict[str, list[str]]) -> None:
        """XACK per stream, all in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for stream, entry_ids in ids_by_stream.items():
            pipe.xack(stream, self.group, *entry_ids)
        await pipe.execute()
        for stream, entry_ids in ids_by_stream.items():
            for entry_id in entry_ids:
                self._errors.pop((stream, entry_id), None)

    async def _move_to_dead_letter(self, entries: list[tuple[_Entry, str]]) -> None:
        failed_at = datetime.now(UTC).isoformat()
        pipe = self._redis.pipeline(transaction=False)
        for entry, reason in entries:
            fields: dict[bytes, bytes | str] = dict(entry.fields)
            fields.update(
                {
                    b"source_stream": entry.stream,
                    b"source_id": entry.entry_id,
                    b"group": self.group,
                    b"reason": reason,
                    b"failed_at": failed_at,
                }
            )
            args: list[Any] = [self.group, entry.entry_id, self.dead_letter_max_len]
            for key, value in fields.items():
                args += (key, value)
            # Queues EVALSHA on the pipeline (the pipeline loads the script if the server lacks it).
            await self._dead_letter(keys=[entry.stream, self.dead_letter_stream], args=args, client=pipe)
        results = await pipe.execute()
        for (entry, reason), dead_id in zip(entries, results, strict=True):
            self._errors.pop((entry.stream, entry.entry_id), None)
            if dead_id is None:
                continue  # another consumer acknowledged or dead-lettered it first
            family = self._family_of[entry.stream]
            kind = "undecodable" if reason.startswith("undecodable") else "max_deliveries"
            tel.dead_lettered.add(1, {**self._labels, tel.FAMILY_LABEL: family.value, tel.REASON_LABEL: kind})
            log.warning(
                "stream entry moved to dead letter",
                extra={
                    "group": self.group,
                    "stream": entry.stream,
                    "entry_id": entry.entry_id,
                    "event_id": text(entry.fields.get(b"id", b"")),
                    "delivery_count": entry.delivery_count,
                    "reason": reason,
                    "dead_letter_id": text(dead_id),
                },
            )

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when stop() is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def _group_ids(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for stream, entry_id in keys:
        grouped.setdefault(stream, []).append(entry_id)
    return grouped


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_TEXT]
