"""One inbound WebSocket message, start to answer: frame, rate limit, replay check, registration
check, route, validate, handle, validate, answer.

Every CALL starts a trace, a SERVER span `ocpp {action}` when the sampler samples it (see
`tracing`; `trace_ratio_by_action` samples an action less often); each event it publishes
carries its traceparent, so consumers' spans descend from it (or, unsampled, make the same
decision). Every message a station gets wrong is answered with the CALLERROR its version
prescribes, recorded on the security stream, and the socket stays up.

Robustness, per session and in memory only (a few hundred bytes per station):
- a token bucket per station; a CALL beyond it is answered GenericError "rate limit exceeded".
  Neither version has a code for it: GenericError ("any other error") is the honest one, and a
  station treats it like any failed CALL (transaction messages are retried by its own retry
  policy, so nothing is lost), whereas SecurityError would read as an authentication failure.
  At most one MessageRateExceeded security event per station per window, however long the flood;
- the recent CALLs' message ids: an identical retry (same id, action and payload) gets the
  cached answer again without being handled twice; a different CALL reusing an id is refused
  with SecurityError and a ReplayedMessageId security event;
- a station the registry holds Pending or Rejected may only send BootNotification: anything else
  is SecurityError (OCPP 2.0.1 B02.FR.09 / B03.FR.07, applied to 1.6 alike), recorded on the
  security stream. A station the registry accepts needs no new boot after reconnecting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from chargewatch.observability import attributes as attrs
from chargewatch.ocpp_gateway import instruments
from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents, SecurityEventType
from chargewatch.ocpp_gateway.handlers import TABLES, CallContext, Handler, HandlerTable
from chargewatch.ocpp_gateway.handlers.base import Services
from chargewatch.ocpp_gateway.handlers.common import registry_status
from chargewatch.ocpp_gateway.protocol import (
    Call,
    CallError,
    CallResult,
    ErrorKind,
    FrameError,
    OcppError,
    OcppVersion,
    encode_error,
    encode_result,
    error_code,
    parse_frame,
)
from chargewatch.ocpp_gateway.replay import Seen, call_fingerprint
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.ocpp_gateway.tracing import NO_LIMIT, MessageTrace, MessageTracer, ratio_limit
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.ocpp_gateway.validation import Checks, check, schemas
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)

# Errors that are the station's fault and worth a security event (a station that stays silent
# about what it cannot parse is how a fuzzer or a broken firmware shows itself).
_STATION_FAULTS: Final = frozenset(
    {
        ErrorKind.NOT_IMPLEMENTED,
        ErrorKind.FORMAT,
        ErrorKind.PROPERTY_CONSTRAINT,
        ErrorKind.OCCURRENCE_CONSTRAINT,
        ErrorKind.TYPE_CONSTRAINT,
        ErrorKind.RPC_FRAMEWORK,
        ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED,
        ErrorKind.PROTOCOL,
    }
)
# Attribute values taken from a frame are cut to this length.
_MAX_ATTRIBUTE_LENGTH: Final = 64
# The one action a station the registry has not accepted may send.
_BOOT: Final = "BootNotification"
# Outcomes of `messages` added here: an identical retry answered from the replay window, and a
# CALL refused by the rate limit (counted under this action name: its action is not looked at).
OUTCOME_RETRY_ANSWERED: Final = "retry_answered"
RATE_LIMITED_ACTION: Final = "rate_limited"
# Stations remembered for the one-report-per-window rule before old entries are swept.
_MAX_RATE_REPORTS: Final = 4096


# Registration statuses that let a station send more than BootNotification (unspecified: Accepted).
_ACCEPTED: Final = frozenset({common_pb2.REGISTRATION_STATUS_UNSPECIFIED, common_pb2.REGISTRATION_STATUS_ACCEPTED})
tally = instruments.tally.add


class _Route:
    """How one action of one version is handled: looked up once per message, worked out once per action."""

    __slots__ = (
        "action",
        "answered",
        "handler",
        "known",
        "publishes_only",
        "request",
        "response",
        "span_name",
        "trace_limit",
    )

    def __init__(
        self,
        version: OcppVersion,
        action: str,
        known: bool,
        handler: Handler | None,
        publishes_only: bool,
        request: Checks | None,
        response: Checks | None,
        trace_limit: int = NO_LIMIT,
    ) -> None:
        # The action as metrics and span names see it ("unknown" for any action OCPP does not define).
        self.action = action
        self.known = known
        self.handler = handler
        self.publishes_only = publishes_only
        self.request = request
        self.response = response
        self.span_name = f"ocpp {action}"
        # What MessageTracer.start samples this action's messages under.
        self.trace_limit = trace_limit
        # The `messages` key of an answered call.
        self.answered = (version.label, action, instruments.OUTCOME_ANSWERED)


def _span_attributes(call: Call, session: StationSession) -> dict[str, AttributeValue]:
    """A message span's attributes (only a recording span asks for them)."""
    return {
        attrs.OCPP_ACTION: call.action[:_MAX_ATTRIBUTE_LENGTH],
        attrs.OCPP_MESSAGE_ID: call.message_id,
        attrs.OCPP_VERSION: session.version.label,
        attrs.STATION_ID: session.station_id,
        attrs.TENANT_ID: session.tenant_id,
    }


def trace_limits(ratios: Mapping[str, float], tables: Mapping[OcppVersion, HandlerTable]) -> dict[str, int]:
    """`MessageTracer.start`'s limit per action from `trace_ratio_by_action`; an action no station sends is refused."""
    sent = frozenset[str]().union(*(table.station_actions for table in tables.values()))
    unknown = sorted(set(ratios) - sent)
    if unknown:
        # A misspelt action would silently be traced at the sampler's full ratio.
        raise ValueError(f"trace_ratio_by_action names actions no station sends: {unknown}")
    return {action: ratio_limit(ratio) for action, ratio in ratios.items()}


class Dispatcher:
    def __init__(
        self,
        settings: GatewaySettings,
        events: GatewayEvents,
        tables: dict[OcppVersion, HandlerTable] | None = None,
        *,
        authorizer: Authorizer,
        transactions: TransactionStore,
    ) -> None:
        self.settings = settings
        self.events = events
        self.tables = tables or TABLES
        self.services = Services.from_settings(settings, authorizer, transactions)
        # station id -> monotonic time of its last MessageRateExceeded event (flooding stations only).
        self._rate_reported: dict[str, float] = {}
        self._tracer = MessageTracer(__name__)
        self._routes: dict[OcppVersion, dict[str, _Route]] = {}
        self._trace_limits = trace_limits(settings.trace_ratio_by_action, self.tables)

    def warm(self) -> None:
        """Compile the validators of every handled action (and of the commands) before serving."""
        for version, table in self.tables.items():
            schemas(version).warm(table.handlers)

    def handle(self, session: StationSession, data: bytes | str) -> Awaitable[bytes | None]:
        """Handle one message; the awaitable gives the frame to answer with (None for a station's answer to us).

        Not a coroutine itself: a CALL's handling is the coroutine handed back (one frame less to
        make and to resume through on every message).
        """
        try:
            frame = parse_frame(data)
        except FrameError as error:
            return self._unreadable(session, error)
        if type(frame) is Call:
            if not self._admit(session):
                return self._rate_limited(session, frame.message_id)
            return self._call(session, frame)
        return self._answer(session, frame)  # type: ignore[arg-type]  # a CallResult or a CallError

    async def _unreadable(self, session: StationSession, error: FrameError) -> bytes:
        # Garbage costs a token too, and past the limit it earns no InvalidMessage event each.
        if not self._admit(session):
            return await self._rate_limited(session, error.message_id)
        self._count(session.version, instruments.UNKNOWN_ACTION, error_code(error.kind, session.version))
        await self._invalid_message(session, error, message_id=error.message_id, action="")
        return encode_error(error.message_id, error, session.version)

    async def _answer(self, session: StationSession, frame: CallResult | CallError) -> None:
        """A station's answer to a call of ours."""
        action = session.pending_action(frame.message_id) or instruments.UNKNOWN_ACTION
        matched = session.resolve(frame)
        outcome = instruments.OUTCOME_RESULT if matched else instruments.OUTCOME_UNMATCHED
        self._count(session.version, action, outcome)
        if not matched:
            log.debug("answer to no pending call", extra={"station_id": session.station_id})

    def _route(self, version: OcppVersion, action: str) -> _Route:
        """What handling `action` takes, worked out once per known action (unknown ones share one)."""
        routes = self._routes.setdefault(version, {})
        schema_set = schemas(version)
        if action not in schema_set.actions:
            route = routes.get(instruments.UNKNOWN_ACTION)
            if route is None:
                route = routes[instruments.UNKNOWN_ACTION] = _Route(
                    version, instruments.UNKNOWN_ACTION, False, None, False, None, None
                )
            return route
        table = self.tables[version]
        handler = table.get(action)
        route = routes[action] = _Route(
            version,
            action,
            True,
            handler,
            table.publishes_only(action),
            schema_set.checks(action, response=False) if handler is not None else None,
            schema_set.checks(action, response=True) if handler is not None else None,
            self._trace_limits.get(action, NO_LIMIT),
        )
        return route

    async def _call(self, session: StationSession, call: Call) -> bytes:
        version = session.version
        routes = self._routes.get(version)
        route = routes.get(call.action) if routes is not None else None
        if route is None:
            route = self._route(version, call.action)
        action = route.action

        trace = self._tracer.start(route.span_name, _span_attributes, call, session, route.trace_limit)
        span = trace.span
        # The trace becomes the current span context for what reads it (instrumented gRPC and
        # Redis calls, logs); a handler that only publishes is given it explicitly instead.
        token = trace.activate() if span is not None or not route.publishes_only else None
        state = session.message_state
        now = time.monotonic()
        fingerprint = call_fingerprint(call.action, call.payload)
        settings = self.settings
        try:
            seen, cached = state.recent_calls.check(call.message_id, fingerprint, now, settings.replay_window_seconds)
            if seen is Seen.RETRY and cached is not None:
                if span is not None:
                    span.set_attribute("ocpp.retry", True)
                self._count(version, action, OUTCOME_RETRY_ANSWERED)
                return cached
            if seen is Seen.CONFLICT:
                await self._replayed(session, call, trace)
                raise OcppError(ErrorKind.SECURITY, "MessageId was already used for a different CALL")
            if call.action != _BOOT and session.identity.registration_status not in _ACCEPTED:
                await self._not_accepted(session, call, trace)
                raise OcppError(ErrorKind.SECURITY, "Station is not accepted: only BootNotification is allowed")
            handler = route.handler
            if handler is None:
                if not route.known:
                    raise OcppError(ErrorKind.NOT_IMPLEMENTED, f"{call.action[:64]} is not an OCPP action")
                raise OcppError(ErrorKind.NOT_SUPPORTED, f"{call.action} is not supported by this gateway")
            payload = call.payload
            fast, full = route.request  # type: ignore[misc]  # set with the handler
            if fast is None or not fast(payload):
                check(full, payload)
            context = CallContext(session, call, self.events, settings, time.time_ns(), self.services, trace)
            response = await handler(context, payload)
            fast, full = route.response  # type: ignore[misc]
            if fast is None or not fast(response):
                try:
                    check(full, response)
                except OcppError as own:
                    # Our answer breaks the schema: a bug here, never the station's fault.
                    log.error(
                        "handler answer breaks the schema",
                        extra={"action": call.action, "error": own.description, "station_id": session.station_id},
                    )
                    raise OcppError(ErrorKind.INTERNAL) from own
        except OcppError as error:
            code = error_code(error.kind, version)
            if span is not None:
                span.set_status(Status(StatusCode.ERROR, code))
                span.set_attribute("ocpp.error_code", code)
            self._count(version, action, code)
            if error.kind in _STATION_FAULTS:
                await self._invalid_message(session, error, message_id=call.message_id, action=call.action, trace=trace)
            return encode_error(call.message_id, error, version)
        except Exception as exc:
            # A failed publish (Redis away) or a handler bug: the station may retry, so tell it
            # the truth (InternalError) rather than acknowledge a fact that was not recorded.
            log.exception("handling failed", extra={"action": call.action, "station_id": session.station_id})
            internal = OcppError(ErrorKind.INTERNAL)
            code = error_code(internal.kind, version)
            if span is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, code))
            self._count(version, action, code)
            return encode_error(call.message_id, internal, version)
        finally:
            if token is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
            if span is not None:
                span.end()
        tally(route.answered)
        answer = encode_result(call.message_id, response)
        # Only answered CALLs are remembered: a retry of a failed one is handled afresh.
        state.recent_calls.remember(
            call.message_id,
            fingerprint,
            answer,
            now,
            capacity=settings.replay_cache_size,
            max_answer=settings.replay_cached_answer_bytes,
        )
        return answer

    # -- admission ---------------------------------------------------------------------------------
    def _admit(self, session: StationSession) -> bool:
        return session.message_state.bucket.take(
            time.monotonic(), self.settings.rate_limit_messages_per_second, self.settings.rate_limit_burst
        )

    async def _rate_limited(self, session: StationSession, message_id: str) -> bytes:
        version = session.version
        settings = self.settings
        retry_after = session.message_state.bucket.retry_after(settings.rate_limit_messages_per_second)
        error = OcppError(
            ErrorKind.GENERIC, "rate limit exceeded", {"retryAfterSeconds": round(max(retry_after, 0.001), 3)}
        )
        self._count(version, RATE_LIMITED_ACTION, error_code(error.kind, version))
        now = time.monotonic()
        window = settings.rate_limit_report_window_seconds
        last = self._rate_reported.get(session.station_id)
        if last is None or now - last >= window:
            if len(self._rate_reported) >= _MAX_RATE_REPORTS:
                self._rate_reported = {k: t for k, t in self._rate_reported.items() if now - t < window}
            self._rate_reported[session.station_id] = now
            await self.events.security(
                session.station_id,
                SecurityEventType.MESSAGE_RATE_EXCEEDED,
                f"more than {settings.rate_limit_messages_per_second:g} messages/s "
                f"(burst {settings.rate_limit_burst}); further excess in the next {window:g} s is not reported",
                remote_address=session.remote_address,
                tenant_id=session.tenant_id,
                severity=common_pb2.SEVERITY_MEDIUM,
                attributes={
                    "rate_per_second": f"{settings.rate_limit_messages_per_second:g}",
                    "burst": str(settings.rate_limit_burst),
                    "window_seconds": f"{window:g}",
                    "ocpp_version": version.label,
                },
            )
        return encode_error(message_id, error, version)

    async def _not_accepted(self, session: StationSession, call: Call, trace: MessageTrace) -> None:
        status = registry_status(session.identity.registration_status)
        await self.events.security(
            session.station_id,
            SecurityEventType.NOT_ACCEPTED_STATION_CALL,
            f"{call.action[:_MAX_ATTRIBUTE_LENGTH]} from a station the registry holds "
            f"{common_pb2.RegistrationStatus.Name(status)}",
            remote_address=session.remote_address,
            tenant_id=session.tenant_id,
            attributes={
                "action": call.action[:_MAX_ATTRIBUTE_LENGTH],
                "message_id": call.message_id,
                "registration_status": common_pb2.RegistrationStatus.Name(status),
                "ocpp_version": session.version.label,
            },
            traceparent=trace.traceparent,
            tracestate=trace.tracestate,
        )

    async def _replayed(self, session: StationSession, call: Call, trace: MessageTrace) -> None:
        await self.events.security(
            session.station_id,
            SecurityEventType.REPLAYED_MESSAGE_ID,
            "a CALL reused the message id of an earlier, different CALL on this connection",
            remote_address=session.remote_address,
            tenant_id=session.tenant_id,
            severity=common_pb2.SEVERITY_MEDIUM,
            attributes={
                "action": call.action[:_MAX_ATTRIBUTE_LENGTH],
                "message_id": call.message_id,
                "ocpp_version": session.version.label,
            },
            traceparent=trace.traceparent,
            tracestate=trace.tracestate,
        )

    async def _invalid_message(
        self,
        session: StationSession,
        error: OcppError,
        *,
        message_id: str,
        action: str,
        trace: MessageTrace | None = None,
    ) -> None:
        code = error_code(error.kind, session.version)
        await self.events.security(
            session.station_id,
            SecurityEventType.INVALID_MESSAGE,
            f"{code}: {error.description}",
            remote_address=session.remote_address,
            tenant_id=session.tenant_id,
            attributes={
                "error_code": code,
                "message_id": message_id[:_MAX_ATTRIBUTE_LENGTH],
                "action": action[:_MAX_ATTRIBUTE_LENGTH],
                "ocpp_version": session.version.label,
            },
            traceparent=trace.traceparent if trace is not None else None,
            tracestate=trace.tracestate if trace is not None else "",
        )

    @staticmethod
    def _count(version: OcppVersion, action: str, outcome: str) -> None:
        instruments.tally.count(version.label, action, outcome)
