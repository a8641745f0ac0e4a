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
* The acknowledgement of a batch and the read of the next one go to Redis in one pipeline (the
  read does not block; an empty answer is followed by a blocking read), so a busy consumer pays
  one round trip per batch. A handler may return `StreamAppend`s: entries appended by one
  server-side script that then acknowledges the batch, so the acknowledgement happens only if
  every append succeeded (a failed append leaves the batch pending, as a failed handler does).

Tracing costs next to nothing for entries whose producer did not sample its trace: each handler
call gets one CONSUMER span for the batch (a root span, sampled by the configured sampler), linked
to the producer spans of the sampled entries in it; only those sampled entries get a span of their
own, a child of their producer span, which `event_context` makes current for the handler's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import redis.asyncio as aioredis
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Link, NonRecordingSpan, Span, SpanKind, Status, StatusCode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, KeyT, StreamIdT

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
# Links from a batch span to the producer spans of its sampled entries (the SDK keeps 128 by default).
_MAX_BATCH_LINKS: Final = 128
# The trace-flags byte of a W3C traceparent with the "sampled" bit set ("01", "03", ... "ff").
_SAMPLED_FLAGS: Final = frozenset(f"{flags:02x}" for flags in range(1, 256, 2))

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

# A batch's commit: append the handler's entries, then acknowledge the batch. A failing XADD raises,
# which ends the script before any XACK: the batch stays pending and is delivered again. Returns the
# ids of the appended entries, in order. The ids of a stream travel as one space-separated argument:
# redis-py packs each argument of a command in Python (about 1.5 us each), the server splits them.
# KEYS: the stream of each append, in order, then each stream acknowledged in.
# ARGV: group, number of appends; per append: max len (0 = none), field count, field/value...;
#       per acknowledged stream: its ids, separated by spaces.
_COMMIT_SCRIPT: Final = """
local group = ARGV[1]
local appends = tonumber(ARGV[2])
local a = 3
local added = {}
for k = 1, appends do
  local max_len = ARGV[a]
  local last = a + 1 + 2 * tonumber(ARGV[a + 1])
  local xadd = {'XADD', KEYS[k]}
  if tonumber(max_len) > 0 then
    xadd[#xadd + 1] = 'MAXLEN'
    xadd[#xadd + 1] = '~'
    xadd[#xadd + 1] = max_len
  end
  xadd[#xadd + 1] = '*'
  for i = a + 2, last do
    xadd[#xadd + 1] = ARGV[i]
  end
  added[k] = redis.call(unpack(xadd))
  a = last + 1
end
for k = appends + 1, #KEYS do
  local ids = {}
  for id in string.gmatch(ARGV[a], '%S+') do
    ids[#ids + 1] = id
    if #ids == 1000 then
      redis.call('XACK', KEYS[k], group, unpack(ids))
      ids = {}
    end
  end
  if #ids > 0 then
    redis.call('XACK', KEYS[k], group, unpack(ids))
  end
  a = a + 1
end
return added
"""


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """An entry a handler asks to append together with the acknowledgement of its batch.

    Return a sequence of these from the handler: the worker appends them, in order, and then
    acknowledges the batch, in one server-side script (one round trip). The acknowledgement happens
    only if every append succeeded, so an append can carry the handler's durable effect (a journal
    entry, an alert). On Redis Cluster the streams must share the hash tag of the batch's partition.
    """

    stream: str
    fields: Mapping[str | bytes, EncodableT]
    # Approximate MAXLEN for the XADD; None: no trimming.
    max_len: int | None = None
    # Counted in the published-events metric under this family (None: not an event, not counted).
    family: StreamFamily | None = None
    # Called with the entry id once the append (and the acknowledgement) succeeded.
    on_added: Callable[[str], None] | None = None


Handler = Callable[[Sequence["Event"]], Awaitable[Sequence[StreamAppend] | None]]


@dataclass(slots=True)
class Event:
    """One decoded stream entry, as handed to a handler."""

    stream: str
    entry_id: str
    envelope: EventEnvelope
    delivery_count: int
    # This entry's CONSUMER span while the worker processes it, when its producer sampled the
    # trace (INVALID_SPAN otherwise); see `event_context`.
    span: Span = field(default=INVALID_SPAN, repr=False, compare=False)
    # The envelope's payload field, found once when decoding ("" when not known yet).
    kind: str = field(default="", repr=False, compare=False)

    @property
    def payload_kind(self) -> str:
        """The name of the envelope's payload field (e.g. "status"), "" when none is set."""
        return self.kind or self.envelope.WhichOneof("payload") or ""

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
    raised here are only propagated, not recorded twice. An event whose producer did not sample
    its trace has no span: its unsampled remote context is made current instead, so the work
    done for it is not sampled either; an event that carries no trace context leaves the batch's
    span current.
    """
    span = event.span
    if not span.get_span_context().is_valid:
        _, remote = tel.remote_span_context(event.envelope.traceparent, event.envelope.tracestate)
        if remote is None:
            yield span
            return
        span = NonRecordingSpan(remote)
    with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        yield span


def _sampled(traceparent: str) -> bool:
    """Whether a W3C traceparent has its sampled flag set (looked up without parsing the rest)."""
    return len(traceparent) >= 55 and traceparent[53:55] in _SAMPLED_FLAGS


class _Entry:
    """A raw entry delivered to this consumer; its fields are empty when it was deleted meanwhile.

    `raw` holds the fields as redis-py's parsed dict, or as the flat [field, value, ...] list of an
    unparsed reply, made into a dict only when needed (dead-lettering): the hot path reads `data`.
    """

    __slots__ = ("delivery_count", "entry_id", "raw", "stream")

    def __init__(self, stream: str, entry_id: str, raw: Fields | list[bytes], delivery_count: int) -> None:
        self.stream = stream
        self.entry_id = entry_id
        self.raw = raw
        self.delivery_count = delivery_count

    @property
    def fields(self) -> Fields:
        raw = self.raw
        if isinstance(raw, dict):
            return raw
        pairs = iter(raw)
        fields: Fields = dict(zip(pairs, pairs, strict=False))
        self.raw = fields
        return fields

    def data(self) -> bytes | None:
        raw = self.raw
        if isinstance(raw, dict):
            return raw.get(b"data")
        # Publishers write `data` last: look from the end, at field positions only.
        for index in range(len(raw) - 2, -1, -2):
            if raw[index] == b"data":
                return raw[index + 1]
        return None


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


def _unparsed(response: Any, **_options: Any) -> Any:
    """Response callback that keeps XREADGROUP's reply as the server sent it (no dict per entry)."""
    return response


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
        # The same connection pool, with XREADGROUP's reply left unparsed: redis-py would build a
        # dict per entry, and the hot path only needs the `data` field.
        self._raw = aioredis.Redis(connection_pool=redis.connection_pool)
        self._raw.set_response_callback("XREADGROUP", _unparsed)
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
        self._stream_of_key: dict[bytes, str] = {stream.encode(): stream for stream in self.streams}
        self._dead_letter = redis.register_script(_DEAD_LETTER_SCRIPT)
        self._commit_script = redis.register_script(_COMMIT_SCRIPT)
        self._errors: dict[tuple[str, str], str] = {}
        self._claim_cursors = dict.fromkeys(self.streams, "0-0")
        self._new_cursors: dict[KeyT, StreamIdT] = dict.fromkeys(self.streams, ">")
        self._groups_ready = False
        self._recovered = False
        self._stopping = False
        self._running = False
        self._wake = asyncio.Event()
        self._labels = {tel.GROUP_LABEL: group}
        self._family_labels = {
            family: {**self._labels, tel.FAMILY_LABEL: family.value} for family in set(self._family_of.values())
        }
        self._duration_labels = {
            outcome: {tel.GROUP_LABEL: group, tel.OUTCOME_LABEL: outcome} for outcome in ("ok", "error")
        }
        # The unparsed reply of the read that went with the last acknowledgement, not handled yet.
        self._ahead: Any = None

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
            # A batch read ahead before stop() was called is handled too: it is delivered to us.
            while not self._stopping or self._ahead:
                try:
                    if not self._groups_ready:
                        await self.start()
                    if not self._recovered:
                        await self._recover_own_pending()
                        self._recovered = True
                    # Never while entries read ahead wait: XAUTOCLAIM could take our own.
                    if not self._ahead and loop.time() >= next_claim:
                        await self._claim_abandoned()
                        next_claim = loop.time() + self.claim_interval_s
                    if self._stopping and not self._ahead:
                        break
                    # Entries read along with the previous acknowledgement first, in stream order.
                    reply, self._ahead = self._ahead, None
                    if not reply:
                        reply = await self._read()
                    # No read ahead once a claim pass is due, so that it runs next.
                    self._ahead = await self._process_reply(reply, read_ahead=loop.time() < next_claim)
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
                    self._ahead = None
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
    async def _read(self) -> Any:
        """Wait up to `block_ms` for new entries; the reply unparsed."""
        return await self._raw.xreadgroup(
            self.group,
            self.consumer,
            self._new_cursors,
            count=self.batch_size,
            block=self.block_ms,
        )

    async def _read_new(self) -> list[_Entry]:
        return self._entries(await self._read())

    def _entries(self, reply: Any) -> list[_Entry]:
        """An unparsed XREADGROUP reply (RESP2 list or RESP3 map) as entries, in stream order."""
        if not reply:
            return []
        names = self._stream_of_key
        out: list[_Entry] = []
        for key, rows in reply.items() if isinstance(reply, Mapping) else reply:
            stream = names.get(key) or text(key)
            for row in rows:
                entry_id = row[0]
                if entry_id is not None:
                    out.append(_Entry(stream, entry_id.decode(), row[1] or [], 1))
        return out

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
    async def _process_reply(self, reply: Any, *, read_ahead: bool) -> Any:
        """Decode an unparsed XREADGROUP reply straight into events (the hot path: no `_Entry`
        unless an entry is undecodable) and handle them; returns the reply read ahead, if any."""
        events: list[Event] = []
        undecodable: list[tuple[_Entry, str]] = []
        if reply:
            names = self._stream_of_key
            parse = EventEnvelope.FromString
            for key, rows in reply.items() if isinstance(reply, Mapping) else reply:
                stream = names.get(key) or text(key)
                for row in rows:
                    raw_id = row[0]
                    if raw_id is None:
                        continue
                    fields = row[1] or []
                    # Publishers write `data` last; anything else is looked for.
                    data = fields[-1] if len(fields) >= 2 and fields[-2] == b"data" else _data_of(fields)
                    reason = ""
                    if data is None:
                        reason = "undecodable: entry has no data field"
                    else:
                        try:
                            envelope = parse(data)
                        except Exception as exc:  # DecodeError, or anything else the parser raises: unusable
                            reason = f"undecodable: {_error_text(exc)}"
                        else:
                            kind = envelope.WhichOneof("payload")
                            if kind is not None:
                                events.append(Event(stream, raw_id.decode(), envelope, 1, INVALID_SPAN, kind))
                                continue
                            reason = _no_payload(envelope)
                    undecodable.append((_Entry(stream, raw_id.decode(), fields, 1), reason))
        return await self._handle_events(events, undecodable, read_ahead=read_ahead)

    async def _process(self, entries: list[_Entry]) -> None:
        """Decode entries (each parsed once), dead-letter the undecodable, handle the rest in batches."""
        events: list[Event] = []
        undecodable: list[tuple[_Entry, str]] = []
        parse = EventEnvelope.FromString
        for entry in entries:
            data = entry.data()
            if data is None:
                undecodable.append((entry, "undecodable: entry has no data field"))
                continue
            try:
                envelope = parse(data)
            except Exception as exc:  # DecodeError, or anything else the parser raises: unusable
                undecodable.append((entry, f"undecodable: {_error_text(exc)}"))
                continue
            kind = envelope.WhichOneof("payload")
            if kind is None:
                undecodable.append((entry, _no_payload(envelope)))
                continue
            events.append(Event(entry.stream, entry.entry_id, envelope, entry.delivery_count, INVALID_SPAN, kind))
        await self._handle_events(events, undecodable, read_ahead=False)

    async def _handle_events(
        self, events: list[Event], undecodable: list[tuple[_Entry, str]], *, read_ahead: bool
    ) -> Any:
        """Dead-letter the undecodable, handle the events in batches. With `read_ahead`, the last
        batch's acknowledgement also reads the next entries (without blocking): their unparsed reply
        is returned, to be handled next."""
        if undecodable:
            await self._move_to_dead_letter(undecodable)
        ahead: Any = None
        for start in range(0, len(events), self.batch_size):
            last = start + self.batch_size >= len(events)
            ahead = await self._handle_batch(events[start : start + self.batch_size], read_ahead=read_ahead and last)
        return ahead

    async def _handle_batch(self, events: list[Event], *, read_ahead: bool = False) -> Any:
        links: list[Link] = []
        for event in events:
            envelope = event.envelope
            # Only entries whose producer sampled the trace get a span: the rest cost nothing here.
            if _sampled(envelope.traceparent):
                parent, producer = tel.remote_span_context(envelope.traceparent, envelope.tracestate)
                if parent is not None and producer is not None:
                    event.span = self._start_span(event, parent, producer)
                    if len(links) < _MAX_BATCH_LINKS:
                        links.append(Link(producer))
        failures: dict[int, Exception] = {}
        acked = False
        ahead: Any = None
        try:
            error, appends = await self._call_handler(events, links)
            if error is not None:
                appends = []
                if len(events) == 1:
                    failures[0] = error
                else:
                    # Find the poison: retry alone each event of the failed batch.
                    for index, event in enumerate(events):
                        single_error, single_appends = await self._call_handler([event], _links_of(event))
                        if single_error is not None:
                            failures[index] = single_error
                        else:
                            appends.extend(single_appends)
            done = events if not failures else [event for index, event in enumerate(events) if index not in failures]
            commit_error: Exception | None
            ahead, commit_error = await self._commit(done, appends, read_ahead=read_ahead and not self._stopping)
            if commit_error is not None:
                # The appends failed, so nothing was acknowledged: like a failed handler, the batch
                # stays pending and is delivered again (and dead-lettered if it keeps failing).
                log.warning(
                    "stream batch commit failed; left pending",
                    extra={"group": self.group, "batch": len(done), "error": _error_text(commit_error)},
                )
                for index in range(len(events)):
                    if index not in failures:
                        failures[index] = commit_error
            for index, exc in failures.items():
                self._remember_error(events[index], exc)  # the reason, should it end in dead letter
            acked = True
        finally:
            for index, event in enumerate(events):
                span = event.span
                if span is INVALID_SPAN:
                    continue
                failure = failures.get(index)
                if failure is not None:
                    span.record_exception(failure)
                    span.set_status(Status(StatusCode.ERROR, _error_text(failure)))
                elif not acked:
                    span.set_status(Status(StatusCode.ERROR, "not acknowledged"))
                span.end()
        return ahead

    async def _call_handler(
        self, events: list[Event], links: list[Link]
    ) -> tuple[Exception | None, list[StreamAppend]]:
        """Run the handler under the batch's span; returns the exception it raised (cancellation
        still propagates) or the appends it asked for."""
        started = time.perf_counter()
        outcome = "ok"
        span = self._start_batch_span(events, links)
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                appends = await self._handler(events)
        except Exception as exc:
            outcome = "error"
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, _error_text(exc)))
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
            return exc, []
        finally:
            span.end()
            tel.handler_duration.record(time.perf_counter() - started, self._duration_labels[outcome])
        return None, list(appends or ())

    def _start_batch_span(self, events: list[Event], links: list[Link]) -> Span:
        """One CONSUMER span per handler call: a root span, linked to the sampled entries' producers."""
        streams = {event.stream for event in events} if len(events) > 1 else {events[0].stream}
        only = next(iter(streams)) if len(streams) == 1 else None
        attributes: dict[str, str | int] = {
            attrs.MESSAGING_SYSTEM: tel.MESSAGING_SYSTEM,
            attrs.MESSAGING_OPERATION: "process",
            attrs.MESSAGING_CONSUMER_GROUP: self.group,
            attrs.MESSAGING_BATCH_COUNT: len(events),
        }
        if only is not None:
            attributes[attrs.MESSAGING_DESTINATION] = only
        return tel.tracer.start_span(
            f"{only or self.group} process batch",
            context=Context(),
            kind=SpanKind.CONSUMER,
            links=links or None,
            attributes=attributes,
        )

    def _start_span(self, event: Event, parent: Context, producer: trace.SpanContext) -> Span:
        envelope = event.envelope
        return tel.tracer.start_span(
            f"{event.stream} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=[Link(producer)],
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
    async def _commit(
        self, events: list[Event], appends: list[StreamAppend], *, read_ahead: bool
    ) -> tuple[Any, Exception | None]:
        """Acknowledge handled events (after the handler's appends, if any), in one round trip that
        also reads the next entries when `read_ahead` (without blocking).

        Returns the unparsed reply of the read ahead (None without) and the error of the script
        (then nothing was acknowledged); a NOGROUP or connection error is raised.
        """
        ids_by_stream: dict[str, list[str]] = {}
        first_of: dict[str, Event] = {}  # each stream's earliest appended event in the batch
        for event in events:
            ids = ids_by_stream.get(event.stream)
            if ids is None:
                ids = ids_by_stream[event.stream] = []
                first_of[event.stream] = event
            ids.append(event.entry_id)
        if not ids_by_stream and not appends and not read_ahead:
            return None, None
        pipe = self._raw.pipeline(transaction=False)
        # One script call even without appends: it takes the ids as one argument per stream.
        keys, args = self._commit_arguments(appends, ids_by_stream)
        if keys:
            pipe.evalsha(self._commit_script.sha, len(keys), *keys, *args)
        if read_ahead:
            pipe.xreadgroup(self.group, self.consumer, self._new_cursors, count=self.batch_size)
        acked_at = time.time()
        results = await pipe.execute(raise_on_error=False)
        reply = results.pop() if read_ahead else None
        commit_error: Exception | None = None
        if keys:
            added = results[0]
            if isinstance(added, NoScriptError):
                # The server lost its script cache (a restart, SCRIPT FLUSH): nothing ran; load it, again.
                try:
                    added = await self._commit_script(keys=keys, args=args)
                except ResponseError as exc:
                    added = exc
            if isinstance(added, ResponseError):
                if "NOGROUP" in str(added):
                    raise added
                commit_error = added
            else:
                self._appended(appends, added)
        if commit_error is None and events:
            self._acknowledged(ids_by_stream, first_of, acked_at)
        if isinstance(reply, Exception):
            raise reply
        return reply, commit_error

    def _commit_arguments(
        self, appends: list[StreamAppend], ids_by_stream: dict[str, list[str]]
    ) -> tuple[list[KeyT], list[EncodableT]]:
        keys: list[KeyT] = [append.stream for append in appends]
        args: list[EncodableT] = [self.group, len(appends)]
        for append in appends:
            args += (append.max_len or 0, len(append.fields))
            for name, value in append.fields.items():
                args += (name, value)
        for stream, ids in ids_by_stream.items():
            keys.append(stream)
            args.append(" ".join(ids))
        return keys, args

    def _appended(self, appends: list[StreamAppend], added: Any) -> None:
        for append, entry_id in zip(appends, added or (), strict=False):
            if append.family is not None:
                tel.count_published(append.family.value)
            if append.on_added is not None:
                append.on_added(text(entry_id))

    def _acknowledged(self, ids_by_stream: dict[str, list[str]], first_of: dict[str, Event], acked_at: float) -> None:
        """Metrics of an acknowledged batch; forget the errors of its entries.

        The lag is taken from each stream's first event in the batch: entries are in the order they
        were appended, so the first has waited longest for the group (not every event's clock read).
        """
        if self._errors:
            for stream, entry_ids in ids_by_stream.items():
                for entry_id in entry_ids:
                    self._errors.pop((stream, entry_id), None)
        counts: dict[StreamFamily, int] = {}
        oldest: dict[StreamFamily, float] = {}
        for stream, entry_ids in ids_by_stream.items():
            family = self._family_of[stream]
            counts[family] = counts.get(family, 0) + len(entry_ids)
            stamp = first_of[stream].envelope.received_time
            received = stamp.seconds + stamp.nanos * 1e-9
            if received and received < oldest.get(family, acked_at):
                oldest[family] = received
        for family, count in counts.items():
            labels = self._family_labels[family]
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


def _data_of(fields: list[bytes]) -> bytes | None:
    """The `data` value of a flat [field, value, ...] list (at field positions only)."""
    for index in range(0, len(fields) - 1, 2):
        if fields[index] == b"data":
            return fields[index + 1]
    return None


def _no_payload(envelope: EventEnvelope) -> str:
    # Most likely a payload added to the contract after this build: parked until the consumer is
    # upgraded rather than acknowledged unseen.
    return f"undecodable: no known payload (event_type={envelope.event_type!r})"


def _links_of(event: Event) -> list[Link]:
    """The link of a sampled event to its producer span (none for an unsampled one)."""
    if event.span is INVALID_SPAN:
        return []
    _, producer = tel.remote_span_context(event.envelope.traceparent, event.envelope.tracestate)
    return [Link(producer)] if producer is not None else []


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_TEXT]
