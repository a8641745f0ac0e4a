"""The facts the gateway publishes, built in one place: connections, refusals, security events,
and whatever handlers turn station messages into.

Every publish goes through one `PublishBatcher`: what all sessions publish while a Redis round
trip is in flight leaves together in the next pipeline. Each caller still waits until Redis has
taken its own entries (a station is answered only after its fact is recorded), but thousands of
stations cost a few round trips, not one each (see the gateway benchmark). Events are written
straight to their XADD commands (`EventPublisher.prepare`), carrying the trace of the message
that made them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from google.protobuf.message import Message
from opentelemetry.instrumentation.utils import suppress_instrumentation

from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.streams import EventPublisher
from chargewatch.streams.publisher import EncodedPayload, PreparedEvent
from chargewatch.v1 import common_pb2, events_pb2

log = logging.getLogger(__name__)

REPORTED_BY: Final = "ocpp-gateway"
# SecurityEvent.reported_by of what a station reports itself (SecurityEventNotification).
REPORTED_BY_STATION: Final = "station"

Payload = Message | EncodedPayload


class SecurityEventType:
    """ChargeWatch's own security event types raised by the gateway."""

    UNKNOWN_STATION: Final = "UnknownStation"
    INVALID_CREDENTIALS: Final = "InvalidCredentials"
    PROFILE_TOO_LOW: Final = "SecurityProfileTooLow"
    QUARANTINED_STATION: Final = "QuarantinedStationRefused"
    INVALID_PATH: Final = "InvalidPath"
    INVALID_MESSAGE: Final = "InvalidMessage"
    OVERSIZE_MESSAGE: Final = "OversizeMessage"
    REPLAYED_MESSAGE_ID: Final = "ReplayedMessageId"
    MESSAGE_RATE_EXCEEDED: Final = "MessageRateExceeded"
    NOT_ACCEPTED_STATION_CALL: Final = "CallWhileNotAccepted"
    INVALID_CSR: Final = "InvalidCertificateSigningRequest"


@dataclass(frozen=True, slots=True)
class Fact:
    """One payload to publish with its envelope options."""

    payload: Payload
    station_time: datetime | None = None
    late: bool = False
    event_id: str | None = None


# Envelopes sent in one pipeline at most; a longer queue leaves in several.
MAX_BATCH_ENVELOPES: Final = 512
DEFAULT_PUBLISH_TIMEOUT_SECONDS: Final = 5.0


class _BatchFuture(asyncio.Future[None]):
    """Settled when Redis has taken a batch; every publish in the batch waits on this one future.

    Shared, it must not be cancelled by one waiter's cancellation (a station's session ending):
    `cancel` is refused, and a cancelled waiter is cancelled once the batch is settled, within
    the publish timeout. One future per batch instead of one per publish. Every waiter of a failed
    batch gets the same PublishFailed; the waiters' frames do not pile up on it (a future raises
    its exception from the traceback it was set with, every time).
    """

    def cancel(self, msg: object | None = None) -> bool:
        return False


class _Batch:
    __slots__ = ("events", "future", "unattended")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.events: list[PreparedEvent] = []
        self.future = _BatchFuture(loop=loop)
        # What nobody waits for (`send`): (what, station id) per event, logged if the batch fails.
        self.unattended: list[tuple[str, str]] | None = None


class PublishBatcher:
    """Coalesces concurrent publishes into Redis pipelines, one in flight at a time.

    The first publish after an idle moment starts a flush; each pipeline leaves one turn of the
    event loop after the one it was due in, so that turn's publishes join it (a pipeline costs
    far more than an entry in it; idle, a turn takes microseconds). Whatever is published while
    a pipeline is in flight goes in the next. One pipeline at a time keeps the streams in the
    order publishes were called. A failed pipeline fails every caller in it (some entries may
    have been appended: consumers drop duplicates by event id, and a station retries what was
    not answered).

    A batch gets a PRODUCER span (from `EventPublisher.append`) only when it carries an event of
    a sampled trace, in that trace; every entry keeps the trace context of the work that made it.

    `timeout_seconds` bounds each pipeline as a whole: one timer per batch, so the publisher's
    Redis client can leave out the per-reply read timeout redis-py otherwise arms for every entry.
    """

    def __init__(
        self,
        publisher: EventPublisher,
        *,
        max_batch: int = MAX_BATCH_ENVELOPES,
        timeout_seconds: float = DEFAULT_PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        self.publisher = publisher
        self.max_batch = max_batch
        self.timeout_seconds = timeout_seconds
        # Batches not sent yet, oldest first (the one in flight has left the queue).
        self._queue: deque[_Batch] = deque()
        self._flusher: asyncio.Task[None] | None = None

    async def publish(self, events: Sequence[PreparedEvent]) -> None:
        """Append the events to their streams; returns once Redis has taken them, else raises PublishFailed."""
        await self.submit(events)

    def send(self, event: PreparedEvent, what: str, station_id: str) -> None:
        """Queue a best-effort event nobody waits for; it is logged if its batch fails.

        It still goes out in order: ahead of everything published after it.
        """
        self.submit((event,))
        batch = self._queue[-1]
        if batch.unattended is None:
            batch.unattended = []
        batch.unattended.append((what, station_id))

    def submit(self, events: Sequence[PreparedEvent]) -> asyncio.Future[None]:
        """Queue the events; the future (shared by their batch) is settled once Redis has taken them.

        Awaiting it raises PublishFailed when Redis did not take the batch.
        """
        queue = self._queue
        batch = queue[-1] if queue else None
        if batch is None or (batch.events and len(batch.events) + len(events) > self.max_batch):
            batch = _Batch(asyncio.get_running_loop())
            queue.append(batch)
        batch.events.extend(events)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="publish-batcher")
        return batch.future

    async def _flush(self) -> None:
        try:
            while self._queue:
                if len(self._queue[0].events) < self.max_batch:
                    await asyncio.sleep(0)  # one more turn's publishes join this pipeline
                batch = self._queue.popleft()
                try:
                    # The batch's PRODUCER span stands for the pipeline; the Redis instrumentation's
                    # own span would spell out every XADD of the batch, at a cost per message.
                    with suppress_instrumentation():
                        async with asyncio.timeout(self.timeout_seconds):
                            await self.publisher.append(batch.events, entry_ids=False)
                except BaseException as error:
                    # Cancelled (the loop is closing) counts as not taken, like a Redis error.
                    failure = error if isinstance(error, Exception) else PublishFailed("publishing was cancelled")
                    _settle(batch, failure)
                    _log_unattended(batch, failure)
                    if not isinstance(error, Exception):
                        raise
                else:
                    batch.future.set_result(None)
        finally:
            self._flusher = None
            while self._queue:  # only after a cancellation: nobody will send these
                batch = self._queue.popleft()
                cancelled = PublishFailed("publishing was cancelled")
                _settle(batch, cancelled)
                _log_unattended(batch, cancelled)


class PublishFailed(ConnectionError):
    """Redis did not take a batch of events; `__cause__` says why (a Redis error, a timeout...)."""


def _settle(batch: _Batch, error: Exception) -> None:
    if batch.future.done():
        return
    failed = PublishFailed(f"events not published: {type(error).__name__}: {error}")
    failed.__cause__ = error
    batch.future.set_exception(failed)
    # Nobody may be waiting any more (every caller cancelled): do not report "never retrieved".
    batch.future.exception()


def _log_unattended(batch: _Batch, error: BaseException) -> None:
    for what, station_id in batch.unattended or ():
        log.error("could not publish %s event", what, extra={"station_id": station_id, "error": str(error)})


class GatewayEvents:
    def __init__(
        self,
        publisher: EventPublisher,
        gateway_instance: str,
        *,
        publish_timeout_seconds: float = DEFAULT_PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        self.publisher = publisher
        self.gateway_instance = gateway_instance
        self.batcher = PublishBatcher(publisher, timeout_seconds=publish_timeout_seconds)

    # -- from station messages (handlers) ----------------------------------------------------------
    def publish(
        self,
        session: StationSession,
        payload: Payload,
        *,
        station_time: datetime | None = None,
        late: bool = False,
        event_id: str | None = None,
        traceparent: str | None = None,
        tracestate: str = "",
    ) -> Awaitable[None]:
        """Publish one fact about a session's station; the awaitable raises when Redis does not take it.

        `late` marks a fact the station queued while offline; a deterministic `event_id` lets
        consumers drop a fact published twice (a retried transaction message). The trace
        context is the message's (`traceparent`), else the current span's. The event is prepared
        (and queued) at the call; awaiting waits for Redis. Not a coroutine: this is every station
        message's publish, and a coroutine per layer costs a frame made, and resumed through.
        """
        event = self.publisher.prepare(
            session.station_id,
            payload,
            tenant_id=session.tenant_id,
            station_time=station_time,
            late=late,
            event_id=event_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )
        return self.batcher.submit((event,))

    async def publish_many(
        self,
        session: StationSession,
        facts: Sequence[Fact | Payload],
        *,
        traceparent: str | None = None,
        tracestate: str = "",
    ) -> None:
        """Publish several facts in one round trip (e.g. a transaction's end and its meter values)."""
        events = []
        for fact in facts:
            if not isinstance(fact, Fact):
                fact = Fact(fact)
            events.append(
                self.publisher.prepare(
                    session.station_id,
                    fact.payload,
                    tenant_id=session.tenant_id,
                    station_time=fact.station_time,
                    late=fact.late,
                    event_id=fact.event_id,
                    traceparent=traceparent,
                    tracestate=tracestate,
                )
            )
        await self.batcher.publish(events)

    # -- connection life -------------------------------------------------------------------------
    def _connection(
        self,
        kind: events_pb2.StationConnection.Kind,
        *,
        version: OcppVersion | None,
        profile: common_pb2.SecurityProfile,
        remote_address: str,
        reason: str = "",
        close_code: int = 0,
        client_certificate_sha256: str = "",
    ) -> events_pb2.StationConnection:
        return events_pb2.StationConnection(
            kind=kind,
            ocpp_version=version.proto if version is not None else common_pb2.OCPP_VERSION_UNSPECIFIED,
            security_profile=profile,
            remote_address=remote_address,
            gateway_instance=self.gateway_instance,
            reason=reason,
            close_code=close_code,
            client_certificate_sha256=client_certificate_sha256,
        )

    def connected(self, session: StationSession, *, client_certificate_sha256: str = "") -> None:
        """Queue the station's connection, without waiting for Redis (a failure is logged): batches
        go in order, so it reaches the stream ahead of whatever the session publishes next.

        `client_certificate_sha256`: the certificate a mutual-TLS (profile 3) station presented.
        """
        payload = self._connection(
            events_pb2.StationConnection.KIND_CONNECTED,
            version=session.version,
            profile=session.identity.security_profile,
            remote_address=session.remote_address,
            client_certificate_sha256=client_certificate_sha256,
        )
        try:
            event = self.publisher.prepare(session.station_id, payload, tenant_id=session.tenant_id)
            self.batcher.send(event, "connected", session.station_id)
        except Exception:
            log.exception("could not publish connected event", extra={"station_id": session.station_id})

    async def disconnected(self, session: StationSession, close_code: int, reason: str) -> None:
        payload = self._connection(
            events_pb2.StationConnection.KIND_DISCONNECTED,
            version=session.version,
            profile=session.identity.security_profile,
            remote_address=session.remote_address,
            reason=reason,
            close_code=close_code,
        )
        await self._best_effort(session.station_id, session.tenant_id, [payload], "disconnected")

    async def refused(
        self,
        station_id: str,
        *,
        version: OcppVersion | None,
        profile: common_pb2.SecurityProfile,
        remote_address: str,
        reason: str,
        http_status: int,
        security_type: str | None = None,
        tenant_id: str = "",
        details: Mapping[str, str] | None = None,
    ) -> None:
        """A refused handshake: a KIND_REFUSED connection event and, for a security reason, a security event.

        Without a station id (a path that names none) only the security event is published.
        """
        payloads: list[Message] = []
        if station_id:
            payloads.append(
                self._connection(
                    events_pb2.StationConnection.KIND_REFUSED,
                    version=version,
                    profile=profile,
                    remote_address=remote_address,
                    reason=reason,
                    close_code=http_status,
                )
            )
        if security_type is not None:
            payloads.append(
                self.security_event(
                    security_type,
                    reason,
                    remote_address=remote_address,
                    severity=common_pb2.SEVERITY_MEDIUM,
                    attributes={"http_status": str(http_status), **(details or {})},
                )
            )
        await self._best_effort(station_id, tenant_id, payloads, "refused")

    # -- security --------------------------------------------------------------------------------
    def security_event(
        self,
        event_type: str,
        tech_info: str,
        *,
        remote_address: str,
        severity: common_pb2.Severity = common_pb2.SEVERITY_LOW,
        attributes: Mapping[str, str] | None = None,
    ) -> events_pb2.SecurityEvent:
        return events_pb2.SecurityEvent(
            type=event_type,
            # OCPP's techInfo is at most 255 characters; ours follow suit.
            tech_info=tech_info[:255],
            severity=severity,
            reported_by=REPORTED_BY,
            remote_address=remote_address,
            attributes=dict(attributes or {}),
        )

    async def security(
        self,
        station_id: str,
        event_type: str,
        tech_info: str,
        *,
        remote_address: str,
        tenant_id: str = "",
        severity: common_pb2.Severity = common_pb2.SEVERITY_LOW,
        attributes: Mapping[str, str] | None = None,
        traceparent: str | None = None,
        tracestate: str = "",
    ) -> None:
        """A security event; in the trace `traceparent` names (a message's), else the current span's."""
        payload = self.security_event(
            event_type, tech_info, remote_address=remote_address, severity=severity, attributes=attributes
        )
        await self._best_effort(station_id, tenant_id, [payload], "security", traceparent, tracestate)

    async def _best_effort(
        self,
        station_id: str,
        tenant_id: str,
        payloads: Sequence[Message],
        what: str,
        traceparent: str | None = None,
        tracestate: str = "",
    ) -> None:
        """Publish facts whose loss must not stop the gateway (it keeps serving while Redis is away)."""
        if not payloads:
            return
        try:
            events = [
                self.publisher.prepare(
                    station_id, p, tenant_id=tenant_id, traceparent=traceparent, tracestate=tracestate
                )
                for p in payloads
            ]
            await self.batcher.publish(events)
        except Exception:
            log.exception("could not publish %s event", what, extra={"station_id": station_id})

    # -- commands (grpc_api) -----------------------------------------------------------------------
    async def command_audit(self, station_id: str, tenant_id: str, audit: events_pb2.CommandAudit) -> None:
        """One command's audit record on the "audit" family; its arguments must come already redacted."""
        await self._best_effort(station_id, tenant_id, [audit], "command audit")
