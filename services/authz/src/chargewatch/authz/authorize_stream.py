"""Authorize, unary and multiplexed over one stream (`AuthorizeStream`): the wire to the decision.

Why a stream: on a Python gRPC server a unary call costs about 400 us of CPU before the handler
runs, and as much again in a Python client; a message on an open stream costs about a quarter of
that on each side. The gateway sends every Authorize of its process over one stream, so a cached
decision is answered in a few hundred microseconds of CPU instead of a millisecond.

One stream, many calls in flight: every received call is decided in a task of its own (the calls
of one message in the same turn of the event loop, so their Redis commands share a round trip on
the pipelined connection), and answers are written as they complete, those completed while the
previous write was in progress together in one message. Each call carries its own trace context:
a span is opened only when the sampler records it, as for unary calls (`chargewatch.rpc.tracing`).
A call that cannot be decided is answered with the status code the unary call would have ended
with; a call that waited past its caller's patience is answered DEADLINE_EXCEEDED without being
decided (its caller's offline policy has decided by then, and published that it did).

The caller's token is checked when the stream opens (`grpc_api`); a stream outlives no token:
once it expires, each call read is answered UNAUTHENTICATED without being decided, and the
caller (the gateway's `AuthorizeChannel`) asks again over a stream opened with its fresh token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Final

import grpc
from opentelemetry import trace
from opentelemetry.context import attach
from opentelemetry.trace import NonRecordingSpan, SpanKind

from chargewatch.authz.authorizer import Authorizer, DecisionNotRecorded
from chargewatch.authz.pipelined_redis import RedisUnavailable
from chargewatch.observability import attributes as attrs
from chargewatch.rpc.tracing import records, remote_parent
from chargewatch.v1 import authz_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("chargewatch.authz")

# The same rule the gateway applies to the URL path: OCPP identities are short and printable.
STATION_ID: Final = re.compile(r"^[A-Za-z0-9._:\-]{1,48}$")
METHOD: Final = "chargewatch.v1.Authz/Authorize"
STREAM_METHOD: Final = "chargewatch.v1.Authz/AuthorizeStream"
_UNAVAILABLE_MESSAGE: Final = "authorization is unavailable (Redis); retry or decide offline"
_EXPIRED_MESSAGE: Final = "the stream's token has expired: open a new stream with a fresh token; not decided"
# Calls read from one stream and not yet answered on it. Past it the stream is not read until
# answers have been written: HTTP/2 flow control then holds the caller back, so a caller that
# sends without reading cannot make authz hold unbounded work or unbounded answers.
MAX_IN_FLIGHT: Final = 4096


class CallRefused(Exception):
    """The call is answered with a status code instead of a decision."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def decide(authorizer: Authorizer, request: authz_pb2.AuthorizeRequest) -> authz_pb2.AuthorizeResponse:
    """Validate, decide (the decision is on the authorization stream when this returns), answer."""
    if not STATION_ID.match(request.station_id):
        raise CallRefused(grpc.StatusCode.INVALID_ARGUMENT, "station_id must be 1-48 of [A-Za-z0-9._:-]")
    if not request.id_token or len(request.id_token) > 64 or len(request.transaction_id) > 64:
        raise CallRefused(grpc.StatusCode.INVALID_ARGUMENT, "id_token is 1-64 and transaction_id 0-64 characters")
    try:
        decision = await authorizer.authorize(
            request.station_id,
            request.id_token,
            request.id_token_type,
            evse_id=request.evse_id,
            transaction_id=request.transaction_id,
        )
    except (DecisionNotRecorded, RedisUnavailable) as exc:
        # Not decided, or decided but not on the stream: the caller's offline policy decides.
        log.warning("authorize unavailable", extra={"station_id": request.station_id, "error": str(exc)})
        raise CallRefused(grpc.StatusCode.UNAVAILABLE, _UNAVAILABLE_MESSAGE) from exc
    response = authz_pb2.AuthorizeResponse(
        status=decision.status,  # type: ignore[arg-type]
        group_id=decision.group_id,
        reason=decision.reason,
        max_session_seconds=decision.max_session_seconds,
    )
    if decision.expires_at is not None:
        # Field by field: FromDatetime costs several times more, on every answer.
        seconds = int(decision.expires_at)
        response.expiry.seconds = seconds
        response.expiry.nanos = int((decision.expires_at - seconds) * 1e9)
    return response


class AuthorizeStream:
    """One `AuthorizeStream` call: reads calls, decides each in its own task, writes the answers."""

    def __init__(self, authorizer: Authorizer, *, expires_at: float | None = None) -> None:
        self.authorizer = authorizer
        # Epoch second the caller's token expires at (None: the stream was opened without one).
        self.expires_at = expires_at
        self._answers: list[authz_pb2.AuthorizeAnswer] = []
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._in_flight = 0  # read and not yet written
        self._reading = True
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, calls: AsyncIterator[authz_pb2.AuthorizeCalls]) -> AsyncIterator[authz_pb2.AuthorizeAnswers]:
        reader = asyncio.create_task(self._read(calls))
        try:
            # Until the caller has sent its last call and every call read is answered.
            while self._reading or self._in_flight:
                await self._ready.wait()
                self._ready.clear()
                if self._answers:
                    answers, self._answers = self._answers, []
                    yield authz_pb2.AuthorizeAnswers(answers=answers)
                    self._in_flight -= len(answers)
                    if self._in_flight < MAX_IN_FLIGHT:
                        self._room.set()
        finally:
            # The caller went away (or the server stops): its pending decisions are finished or
            # cancelled with it; a decision already on the authorization stream stays there.
            reader.cancel()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader  # a failed read ends the call with its error

    async def _read(self, calls: AsyncIterator[authz_pb2.AuthorizeCalls]) -> None:
        try:
            async for message in calls:
                received = time.monotonic()
                if self.expires_at is not None and time.time() >= self.expires_at:
                    self._refuse(message.calls, grpc.StatusCode.UNAUTHENTICATED, _EXPIRED_MESSAGE)
                else:
                    for call in message.calls:
                        self._in_flight += 1
                        task = asyncio.create_task(self._decide(call, received))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                if self._in_flight >= MAX_IN_FLIGHT:
                    self._room.clear()
                    await self._room.wait()
        finally:
            self._reading = False
            self._ready.set()

    def _refuse(self, calls: Iterable[authz_pb2.AuthorizeCall], code: grpc.StatusCode, message: str) -> None:
        """Answer calls with a status code at once, without deciding them."""
        for call in calls:
            self._in_flight += 1
            self._answers.append(
                authz_pb2.AuthorizeAnswer(call_id=call.call_id, status_code=code.value[0], status_message=message)
            )
        self._ready.set()

    async def _decide(self, call: authz_pb2.AuthorizeCall, received: float) -> None:
        answer = authz_pb2.AuthorizeAnswer(call_id=call.call_id)
        try:
            if call.timeout_ms and time.monotonic() - received > call.timeout_ms / 1000:
                raise CallRefused(grpc.StatusCode.DEADLINE_EXCEEDED, "the call waited past its timeout; not decided")
            parent = remote_parent((("traceparent", call.traceparent),)) if call.traceparent else None
            if parent is not None:
                context = trace.set_span_in_context(NonRecordingSpan(parent))
                if records(context, parent.trace_id, METHOD):
                    with tracer.start_as_current_span(
                        METHOD,
                        context=context,
                        kind=SpanKind.SERVER,
                        attributes={
                            # As OpenTelemetry's gRPC instrumentation names a unary call's span.
                            "rpc.system": "grpc",
                            "rpc.service": "chargewatch.v1.Authz",
                            "rpc.method": "Authorize",
                            attrs.STATION_ID: call.request.station_id,
                        },
                    ):
                        answer.response.CopyFrom(await decide(self.authorizer, call.request))
                    return
                # Unsampled: the caller's context only, so what is published carries its trace id.
                # Not detached: this task, and the context with it, ends with the call.
                attach(context)
            answer.response.CopyFrom(await decide(self.authorizer, call.request))
        except CallRefused as refused:
            answer.status_code = refused.code.value[0]
            answer.status_message = refused.message
        except Exception:
            log.exception("authorize failed", extra={"station_id": call.request.station_id})
            answer.status_code = grpc.StatusCode.INTERNAL.value[0]
            answer.status_message = "authorization failed"
        finally:
            self._answers.append(answer)
            self._ready.set()
