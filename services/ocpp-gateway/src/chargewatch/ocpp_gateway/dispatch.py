"""One inbound WebSocket message, start to answer: frame, rate limit, replay check, registration
check, route, validate, handle, validate, answer.

Every CALL is handled inside a SERVER span `ocpp {action}` that stays current while its handler
publishes, so each event's traceparent descends from it. Every message a station gets wrong is
answered with the CALLERROR its version prescribes, recorded on the security stream, and the
socket stays up.

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
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from chargewatch.observability import attributes as attrs
from chargewatch.ocpp_gateway import instruments
from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents, SecurityEventType
from chargewatch.ocpp_gateway.handlers import TABLES, CallContext, HandlerTable
from chargewatch.ocpp_gateway.handlers.base import Services
from chargewatch.ocpp_gateway.handlers.common import registry_status, utc_now
from chargewatch.ocpp_gateway.protocol import (
    Call,
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
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.ocpp_gateway.validation import SchemaSet, schemas
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

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

    def warm(self) -> None:
        """Compile the validators of every handled action (and of the commands) before serving."""
        for version, table in self.tables.items():
            schemas(version).warm(table.handlers)

    async def handle(self, session: StationSession, data: bytes | str) -> bytes | None:
        """Handle one message; returns the frame to answer with (None for a station's answer to us)."""
        try:
            frame = parse_frame(data)
        except FrameError as error:
            # Garbage costs a token too, and past the limit it earns no InvalidMessage event each.
            if not self._admit(session):
                return await self._rate_limited(session, error.message_id)
            self._count(session.version, instruments.UNKNOWN_ACTION, error_code(error.kind, session.version))
            await self._invalid_message(session, error, message_id=error.message_id, action="")
            return encode_error(error.message_id, error, session.version)
        if isinstance(frame, Call):
            if not self._admit(session):
                return await self._rate_limited(session, frame.message_id)
            return await self._call(session, frame)
        action = session.pending_action(frame.message_id) or instruments.UNKNOWN_ACTION
        matched = session.resolve(frame)
        outcome = instruments.OUTCOME_RESULT if matched else instruments.OUTCOME_UNMATCHED
        self._count(session.version, action, outcome)
        if not matched:
            log.debug("answer to no pending call", extra={"station_id": session.station_id})
        return None

    async def _call(self, session: StationSession, call: Call) -> bytes:
        version = session.version
        schema_set = schemas(version)
        known = schema_set.knows(call.action)
        action = call.action if known else instruments.UNKNOWN_ACTION
        # Started and made current by hand: the same span as `start_as_current_span` gives, for a
        # third less time per message (every exception is handled below, so nothing escapes
        # that its context manager would have recorded).
        span = tracer.start_span(
            f"ocpp {action}",
            kind=SpanKind.SERVER,
            attributes={
                attrs.OCPP_ACTION: call.action[:_MAX_ATTRIBUTE_LENGTH],
                attrs.OCPP_MESSAGE_ID: call.message_id,
                attrs.OCPP_VERSION: version.label,
                attrs.STATION_ID: session.station_id,
                attrs.TENANT_ID: session.tenant_id,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await self._handle_call(session, call, span, schema_set, known, action)
        finally:
            otel_context.detach(token)
            span.end()

    async def _handle_call(
        self, session: StationSession, call: Call, span: Span, schema_set: SchemaSet, known: bool, action: str
    ) -> bytes:
        version = session.version
        state = session.message_state
        now = time.monotonic()
        fingerprint = call_fingerprint(call.action, call.payload)
        try:
            seen, cached = state.recent_calls.check(
                call.message_id, fingerprint, now, self.settings.replay_window_seconds
            )
            if seen is Seen.RETRY and cached is not None:
                span.set_attribute("ocpp.retry", True)
                self._count(version, action, OUTCOME_RETRY_ANSWERED)
                return cached
            if seen is Seen.CONFLICT:
                await self._replayed(session, call)
                raise OcppError(ErrorKind.SECURITY, "MessageId was already used for a different CALL")
            if call.action != _BOOT and not self._registered(session):
                await self._not_accepted(session, call)
                raise OcppError(ErrorKind.SECURITY, "Station is not accepted: only BootNotification is allowed")
            handler = self.tables[version].get(call.action)
            if handler is None:
                if not known:
                    raise OcppError(ErrorKind.NOT_IMPLEMENTED, f"{call.action[:64]} is not an OCPP action")
                raise OcppError(ErrorKind.NOT_SUPPORTED, f"{call.action} is not supported by this gateway")
            schema_set.validate(call.action, call.payload)
            context = CallContext(session, call, self.events, self.settings, utc_now(), self.services)
            response = await handler(context, call.payload)
            try:
                schema_set.validate(call.action, response, response=True)
            except OcppError as own:
                # Our answer breaks the schema: a bug here, never the station's fault.
                log.error(
                    "handler answer breaks the schema",
                    extra={"action": call.action, "error": own.description, "station_id": session.station_id},
                )
                raise OcppError(ErrorKind.INTERNAL) from own
        except OcppError as error:
            code = error_code(error.kind, version)
            span.set_status(Status(StatusCode.ERROR, code))
            span.set_attribute("ocpp.error_code", code)
            self._count(version, action, code)
            if error.kind in _STATION_FAULTS:
                await self._invalid_message(session, error, message_id=call.message_id, action=call.action)
            return encode_error(call.message_id, error, version)
        except Exception as exc:
            # A failed publish (Redis away) or a handler bug: the station may retry, so tell it
            # the truth (InternalError) rather than acknowledge a fact that was not recorded.
            log.exception("handling failed", extra={"action": call.action, "station_id": session.station_id})
            span.record_exception(exc)
            internal = OcppError(ErrorKind.INTERNAL)
            code = error_code(internal.kind, version)
            span.set_status(Status(StatusCode.ERROR, code))
            self._count(version, action, code)
            return encode_error(call.message_id, internal, version)
        self._count(version, action, instruments.OUTCOME_ANSWERED)
        answer = encode_result(call.message_id, response)
        # Only answered CALLs are remembered: a retry of a failed one is handled afresh.
        state.recent_calls.remember(
            call.message_id,
            fingerprint,
            answer,
            now,
            capacity=self.settings.replay_cache_size,
            max_answer=self.settings.replay_cached_answer_bytes,
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

    @staticmethod
    def _registered(session: StationSession) -> bool:
        return registry_status(session.identity.registration_status) == common_pb2.REGISTRATION_STATUS_ACCEPTED

    async def _not_accepted(self, session: StationSession, call: Call) -> None:
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
        )

    async def _replayed(self, session: StationSession, call: Call) -> None:
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
        )

    async def _invalid_message(
        self, session: StationSession, error: OcppError, *, message_id: str, action: str
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
        )

    @staticmethod
    def _count(version: OcppVersion, action: str, outcome: str) -> None:
        instruments.tally.count(version.label, action, outcome)
