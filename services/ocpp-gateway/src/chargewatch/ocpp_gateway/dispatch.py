"""One inbound WebSocket message, start to answer: frame, route, validate, handle, validate, answer.

Every CALL is handled inside a SERVER span `ocpp {action}` that stays current while its handler
publishes, so each event's traceparent descends from it. Every message a station gets wrong is
answered with the CALLERROR its version prescribes, recorded on the security stream, and the
socket stays up.
"""

from __future__ import annotations

import logging
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from chargewatch.observability import attributes as attrs
from chargewatch.ocpp_gateway import instruments
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents, SecurityEventType
from chargewatch.ocpp_gateway.handlers import TABLES, CallContext, HandlerTable
from chargewatch.ocpp_gateway.handlers.common import utc_now
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
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.ocpp_gateway.validation import schemas

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


class Dispatcher:
    def __init__(
        self,
        settings: GatewaySettings,
        events: GatewayEvents,
        tables: dict[OcppVersion, HandlerTable] | None = None,
    ) -> None:
        self.settings = settings
        self.events = events
        self.tables = tables or TABLES

    def warm(self) -> None:
        """Compile the validators of every handled action (and of the commands) before serving."""
        for version, table in self.tables.items():
            schemas(version).warm(table.handlers)

    async def handle(self, session: StationSession, data: bytes | str) -> bytes | None:
        """Handle one message; returns the frame to answer with (None for a station's answer to us)."""
        try:
            frame = parse_frame(data)
        except FrameError as error:
            self._count(session.version, instruments.UNKNOWN_ACTION, error_code(error.kind, session.version))
            await self._invalid_message(session, error, message_id=error.message_id, action="")
            return encode_error(error.message_id, error, session.version)
        if isinstance(frame, Call):
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
        with tracer.start_as_current_span(
            f"ocpp {action}",
            kind=SpanKind.SERVER,
            attributes={
                attrs.OCPP_ACTION: call.action[:_MAX_ATTRIBUTE_LENGTH],
                attrs.OCPP_MESSAGE_ID: call.message_id,
                attrs.OCPP_VERSION: version.label,
                attrs.STATION_ID: session.station_id,
                attrs.TENANT_ID: session.tenant_id,
            },
        ) as span:
            try:
                handler = self.tables[version].get(call.action)
                if handler is None:
                    if not known:
                        raise OcppError(ErrorKind.NOT_IMPLEMENTED, f"{call.action[:64]} is not an OCPP action")
                    raise OcppError(ErrorKind.NOT_SUPPORTED, f"{call.action} is not supported by this gateway")
                schema_set.validate(call.action, call.payload)
                context = CallContext(session, call, self.events, self.settings, utc_now())
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
            return encode_result(call.message_id, response)

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
        instruments.messages.add(
            1,
            {
                instruments.VERSION_LABEL: version.label,
                instruments.ACTION_LABEL: action,
                instruments.OUTCOME_LABEL: outcome,
            },
        )
