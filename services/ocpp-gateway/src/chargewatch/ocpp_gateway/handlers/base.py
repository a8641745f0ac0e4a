"""What a message handler gets and how it is registered.

A handler is one async function per action: it receives the call's context and the validated
payload (camelCase, as on the wire), publishes the facts it learned, and returns the response
payload, which the dispatcher validates and sends. It raises `OcppError` to answer a CALLERROR.
Adding an action is one decorated function in the version's module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import Fact, GatewayEvents
from chargewatch.ocpp_gateway.meter import MeterLimits
from chargewatch.ocpp_gateway.protocol import Call, OcppVersion
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.ocpp_gateway.tracing import MessageTrace
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.ocpp_gateway.validation import schemas
from chargewatch.streams.publisher import EncodedPayload

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers use beyond the event stream: authz, the transaction store, and the meter limits."""

    authorizer: Authorizer
    transactions: TransactionStore
    meter_limits: MeterLimits
    # A message stamped before its session's connect time minus this was queued while offline.
    late_tolerance: timedelta

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, authorizer: Authorizer, transactions: TransactionStore
    ) -> Services:
        return cls(
            authorizer,
            transactions,
            MeterLimits(settings.clock_skew_tolerance_seconds, settings.max_power_watts),
            timedelta(seconds=settings.late_tolerance_seconds),
        )


@dataclass(slots=True)
class CallContext:
    session: StationSession
    call: Call
    events: GatewayEvents
    settings: GatewaySettings
    # When the message arrived: nanoseconds since the epoch (time.time_ns()).
    received_ns: int
    services: Services
    # The message's trace: its events carry this traceparent.
    trace: MessageTrace

    def is_late(self, station_time: datetime | None) -> bool:
        """True for a fact stamped before this session connected (less the tolerance): an offline queue's."""
        return station_time is not None and station_time < self.session.connected_at - self.services.late_tolerance

    def publish(
        self,
        payload: Message | EncodedPayload,
        *,
        station_time: datetime | None = None,
        late: bool = False,
        event_id: str | None = None,
    ) -> Awaitable[None]:
        """Publish a fact about the station (await the result); it carries the station's tenant and this call's trace.

        It is marked late when `late` is given or its station time is older than the session. A
        fact with a deterministic `event_id` is published once: a retry finds it published.
        Not a coroutine: it hands back the events' own awaitable (one frame less per message).
        """
        if event_id is not None:
            return self._publish_once(Fact(payload, station_time, late, event_id))
        trace = self.trace
        return self.events.publish(
            self.session,
            payload,
            station_time=station_time,
            late=late or self.is_late(station_time),
            traceparent=trace.traceparent,
            tracestate=trace.tracestate,
        )

    async def _publish_once(self, fact: Fact) -> None:
        await self.publish_many([fact])

    async def publish_many(
        self, facts: Sequence[Fact], *, published: set[str] | None = None, mark: bool = True
    ) -> list[str]:
        """Publish several facts in one round trip; each is marked late as `publish` would.

        Facts with a deterministic event id that were published before (the station retries a
        message whose answer it lost) are left out, and recorded as published once Redis has them.
        `published`: those ids, when the handler read them with its own state in one round trip
        (else they are looked up here). With `mark` False the handler records the returned ids as
        published itself, with its own writes; until it has, a retry publishes them again (same ids).
        """
        station_id = self.session.station_id
        transactions = self.services.transactions
        if published is None:
            published = await transactions.published(station_id, [f.event_id for f in facts if f.event_id is not None])
        fresh = [
            fact if fact.late or not self.is_late(fact.station_time) else replace(fact, late=True)
            for fact in facts
            if fact.event_id is None or fact.event_id not in published
        ]
        if not fresh:
            return []
        trace = self.trace
        await self.events.publish_many(self.session, fresh, traceparent=trace.traceparent, tracestate=trace.tracestate)
        ids = [f.event_id for f in fresh if f.event_id is not None]
        if mark:
            await transactions.mark_published(station_id, ids)
        return ids


Handler = Callable[[CallContext, Payload], Awaitable[Payload]]


class HandlerTable:
    """The actions one OCPP version's stations may send, and the handlers registered for them."""

    def __init__(self, version: OcppVersion, station_actions: frozenset[str]) -> None:
        unknown = station_actions - schemas(version).actions
        if unknown:
            raise ValueError(f"OCPP {version.label} has no actions {sorted(unknown)}")
        self.version = version
        self.station_actions = station_actions
        self._handlers: dict[str, Handler] = {}
        self._publishing_only: set[str] = set()

    def on(self, action: str, *, publishes_only: bool = False) -> Callable[[Handler], Handler]:
        """Register the handler of `action`.

        `publishes_only`: the handler does no I/O but `ctx.publish` without event ids (which take
        the trace from the context object). Its unsampled messages then skip making their trace
        the current span context, which only instrumented calls (gRPC, Redis commands) read.
        """
        if action not in self.station_actions:
            raise ValueError(f"{action} is not an action an OCPP {self.version.label} station sends")

        def register(handler: Handler) -> Handler:
            if action in self._handlers:
                raise ValueError(f"{action} already has a handler")
            self._handlers[action] = handler
            if publishes_only:
                self._publishing_only.add(action)
            return handler

        return register

    def get(self, action: str) -> Handler | None:
        return self._handlers.get(action)

    def publishes_only(self, action: str) -> bool:
        return action in self._publishing_only

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return dict(self._handlers)

    def for_version(self, version: OcppVersion) -> HandlerTable:
        """The same handlers for a later version whose messages they read alike (2.1 after 2.0.1)."""
        table = HandlerTable(version, self.station_actions)
        table._handlers = dict(self._handlers)
        table._publishing_only = set(self._publishing_only)
        return table
