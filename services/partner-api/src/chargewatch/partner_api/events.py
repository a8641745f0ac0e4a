"""Live events for partners: stream entries rendered once, fanned out to every open event stream.

One `EventHub` per process reads the status and connection streams with plain XREAD (no consumer
group: every replica, and every client of it, must see every event) and hands each rendered event
to the subscriptions whose filter admits it. A subscription is confined to its caller's tenant the
moment it is made, so an event of another tenant never reaches its queue. A client that cannot
keep up loses its subscription (its queue is bounded) and resumes with `Last-Event-ID`, which
`backlog` answers from the streams themselves.

The alert family carries the SLA engine's incident and budget alerts (`incident.*`, `uptime.at_risk`:
a partner's own, like station events) and the security monitor's alerts (`alert.*`: for the operator
and security-analyst roles only, which `types_for` decides when a stream or webhook is made).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chargewatch.partner_api.convert import STATUS_NAMES
from chargewatch.streams import StreamFamily, stream_names
from chargewatch.v1 import common_pb2, events_pb2

log = logging.getLogger(__name__)

# The stream entry's `type` field of events that never become public ones: skipped undecoded.
_SKIPPED_TYPES: Final = frozenset({b"station.heartbeat"})


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """An event as partners see it; `body` is its JSON, rendered once for every subscriber."""

    id: str
    event_id: str
    type: str
    tenant_id: str
    station_id: str
    body: bytes

    @property
    def order(self) -> tuple[int, int]:
        return stream_order(self.id)


def stream_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def valid_event_id(value: str) -> bool:
    ms, sep, seq = value.partition("-")
    return bool(sep) and ms.isdigit() and seq.isdigit() and len(value) <= 41


def _status(envelope: events_pb2.EventEnvelope) -> tuple[str, dict[str, Any]] | None:
    change = envelope.status
    return "station.status", {
        "evse_id": change.evse_id,
        "connector_id": change.connector_id,
        "status": STATUS_NAMES.get(change.status, "Unknown"),
        "error_code": change.error_code or None,
    }


def _connection(envelope: events_pb2.EventEnvelope) -> tuple[str, dict[str, Any]] | None:
    kind = envelope.connection.kind
    if kind not in (events_pb2.StationConnection.KIND_CONNECTED, events_pb2.StationConnection.KIND_DISCONNECTED):
        return None  # refused connections are security events, not a partner's business
    online = kind == events_pb2.StationConnection.KIND_CONNECTED
    return "station.connection", {"online": online, "reason": envelope.connection.reason or None}


_SLA_SOURCE: Final = "sla-engine"
_ALERT_STATES: Final = {
    events_pb2.ALERT_STATE_OPEN: "open",
    events_pb2.ALERT_STATE_ACKNOWLEDGED: "acknowledged",
    events_pb2.ALERT_STATE_RESOLVED: "resolved",
    events_pb2.ALERT_STATE_FALSE_POSITIVE: "false_positive",
}
_SEVERITIES: Final = {
    common_pb2.SEVERITY_INFO: "info",
    common_pb2.SEVERITY_LOW: "low",
    common_pb2.SEVERITY_MEDIUM: "medium",
    common_pb2.SEVERITY_HIGH: "high",
    common_pb2.SEVERITY_CRITICAL: "critical",
}


def _sla_type(alert: events_pb2.Alert) -> str | None:
    if alert.rule == "sla.port_down":
        return "incident.opened" if alert.state == events_pb2.ALERT_STATE_OPEN else "incident.resolved"
    if alert.rule.startswith("sla.incident_"):
        return "incident.overdue"
    if alert.rule.startswith("sla.uptime_"):
        return "uptime.at_risk"
    return None


def _alert(envelope: events_pb2.EventEnvelope) -> tuple[str, dict[str, Any]] | None:
    alert = envelope.alert
    data: dict[str, Any] = {
        "rule": alert.rule,
        "severity": _SEVERITIES.get(alert.severity, "medium"),
        "state": _ALERT_STATES.get(alert.state, "open"),
        "title": alert.title,
        "explanation": alert.explanation,
        "subject_kind": alert.subject_kind,
        "subject_id": alert.subject_id,
    }
    if alert.source_service == _SLA_SOURCE:
        public_type = _sla_type(alert)
        if public_type is None:
            return None
        # sla.port_down alerts carry the incident's id; the overdue ones "<incident id>:<kind>".
        key = "incident_id" if public_type.startswith("incident.") else "alert_id"
        incident_id = alert.alert_id.split(":", 1)[0] if key == "incident_id" else None
        return public_type, {key: incident_id or alert.alert_id, **data}
    public_type = "alert.raised" if alert.state == events_pb2.ALERT_STATE_OPEN else "alert.updated"
    return public_type, {
        "alert_id": alert.alert_id,
        **data,
        "mitre_technique": alert.mitre_technique or None,
        "risk_score": alert.risk_score,
    }


# Payload field of the envelope -> its public type and data.
RENDERERS: Final[dict[str, Callable[[events_pb2.EventEnvelope], tuple[str, dict[str, Any]] | None]]] = {
    "status": _status,
    "connection": _connection,
    "alert": _alert,
}
FAMILIES: Final = (StreamFamily.STATUS, StreamFamily.CONNECTION, StreamFamily.ALERT)
STATION_TYPES: Final = frozenset({"station.status", "station.connection"})
INCIDENT_TYPES: Final = frozenset({"incident.opened", "incident.resolved", "incident.overdue", "uptime.at_risk"})
# Security alerts: the operator and security-analyst roles only.
ALERT_TYPES: Final = frozenset({"alert.raised", "alert.updated"})
PUBLIC_TYPES: Final = STATION_TYPES | INCIDENT_TYPES
ALL_TYPES: Final = PUBLIC_TYPES | ALERT_TYPES
ALERT_ROLES: Final = frozenset({"operator", "security-analyst"})


def types_for(roles: frozenset[str] | set[str]) -> frozenset[str]:
    """The event types a caller with these roles may receive."""
    return ALL_TYPES if roles & ALERT_ROLES else PUBLIC_TYPES


def render(entry_id: str, fields: dict[bytes, bytes]) -> PublicEvent | None:
    """A stream entry as a public event; None for entries partners do not see (or cannot be read)."""
    if fields.get(b"type") in _SKIPPED_TYPES:
        return None
    data = fields.get(b"data")
    if data is None:
        return None
    try:
        envelope = events_pb2.EventEnvelope.FromString(data)
    except Exception:  # a corrupt entry is the producer's bug; the stream goes on
        log.warning("undecodable stream entry skipped", extra={"entry_id": entry_id})
        return None
    return render_envelope(entry_id, envelope)


def render_envelope(entry_id: str, envelope: events_pb2.EventEnvelope) -> PublicEvent | None:
    renderer = RENDERERS.get(envelope.WhichOneof("payload") or "")
    rendered = renderer(envelope) if renderer is not None else None
    if rendered is None:
        return None
    public_type, payload = rendered
    stamp = envelope.station_time if envelope.HasField("station_time") else envelope.received_time
    body = {
        "id": entry_id,
        "event_id": envelope.event_id,
        "type": public_type,
        "time": stamp.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "station_id": envelope.station_id,
        "tenant_id": envelope.tenant_id,
        "data": payload,
    }
    return PublicEvent(
        entry_id, envelope.event_id, public_type, envelope.tenant_id, envelope.station_id, orjson.dumps(body)
    )


@dataclass(eq=False)
class Subscription:
    tenant_id: str | None
    types: frozenset[str]
    station_ids: frozenset[str] | None
    queue: asyncio.Queue[PublicEvent]
    overflowed: bool = False
    last_order: tuple[int, int] = field(default=(0, 0))

    def admits(self, event: PublicEvent) -> bool:
        if self.tenant_id is not None and event.tenant_id != self.tenant_id:
            return False
        if event.type not in self.types:
            return False
        return self.station_ids is None or event.station_id in self.station_ids


class EventHub:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        partitions: int,
        queue_size: int = 1000,
        block_ms: int = 1000,
        families: Iterable[StreamFamily] = FAMILIES,
    ) -> None:
        self._redis = redis
        self.streams = stream_names(families, partitions)
        self.queue_size = queue_size
        self.block_ms = block_ms
        self._subscribers: set[Subscription] = set()
        self._stopping = False
        self._started = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(
        self, tenant_id: str | None, types: frozenset[str], station_ids: frozenset[str] | None = None
    ) -> Subscription:
        subscription = Subscription(tenant_id, types, station_ids, asyncio.Queue(self.queue_size))
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, event: PublicEvent) -> None:
        for subscription in list(self._subscribers):
            if subscription.overflowed or not subscription.admits(event):
                continue
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                # Too slow a reader: end its stream (it resumes from its Last-Event-ID).
                subscription.overflowed = True
                self._subscribers.discard(subscription)
                with contextlib.suppress(asyncio.QueueEmpty):
                    subscription.queue.get_nowait()
                subscription.queue.put_nowait(event)

    async def started(self) -> None:
        await self._started.wait()

    async def backlog(self, after: str, subscription: Subscription, limit: int) -> list[PublicEvent]:
        """Events after `after` (an event id from this API) that the subscription admits, oldest first."""
        if limit <= 0:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xrange(stream, min=f"({after}", max="+", count=limit * 4)
        events: list[PublicEvent] = []
        for entries in await pipe.execute():
            for entry_id, fields in entries:
                event = render(entry_id.decode() if isinstance(entry_id, bytes) else entry_id, fields)
                if event is not None and subscription.admits(event):
                    events.append(event)
        events.sort(key=lambda e: e.order)
        return events[:limit]

    async def _tails(self) -> dict[str, str]:
        """Where each stream ends now: the hub delivers what comes after (no replay of history)."""
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xrevrange(stream, count=1)
        tails: dict[str, str] = {}
        for stream, last in zip(self.streams, await pipe.execute(), strict=True):
            entry_id = last[0][0] if last else b"0-0"
            tails[stream] = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        return tails

    async def run(self) -> None:
        last: dict[str, str] | None = None
        while not self._stopping:
            try:
                if last is None:
                    last = await self._tails()
                    self._started.set()
                reply = await self._redis.xread(last, count=500, block=self.block_ms)  # type: ignore[arg-type]
            except (RedisError, OSError) as exc:
                log.warning("event stream read failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
                continue
            for stream, entries in _pairs(reply):
                for entry_id, fields in entries:
                    last[stream] = entry_id
                    if fields:
                        event = render(entry_id, fields)
                        if event is not None:
                            self.publish(event)

    def stop(self) -> None:
        self._stopping = True


def _pairs(reply: Any) -> list[tuple[str, list[tuple[str, dict[bytes, bytes]]]]]:
    """XREAD's reply (the hub's client speaks RESP2) as [(stream, [(id, fields)])] with text names."""
    pairs = []
    for stream, entries in reply or ():
        name = stream.decode() if isinstance(stream, bytes) else stream
        rows = [(i.decode() if isinstance(i, bytes) else i, f or {}) for i, f in entries if i is not None]
        pairs.append((name, rows))
    return pairs


def sse_message(event: PublicEvent) -> bytes:
    return b"id: " + event.id.encode() + b"\nevent: " + event.type.encode() + b"\ndata: " + event.body + b"\n\n"
