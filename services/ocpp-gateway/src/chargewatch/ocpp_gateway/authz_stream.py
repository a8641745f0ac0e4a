"""Authz/Authorize calls multiplexed over one `AuthorizeStream`, unary where authz does not serve it.

A Python gRPC client spends about 400 us of CPU on a unary call, and the server as much again; a
message on an open stream costs a quarter of that on each side (authz's `authorize_stream.py`).
So the gateway keeps one stream open per process and sends every Authorize over it: calls made
while a write is in progress go out together in the next message, and answers are matched to
their calls by id. Each call keeps its own deadline (its future fails with DEADLINE_EXCEEDED,
and authz, told the caller's patience, does not decide a call that waited past it) and its own
trace context (the caller's current span, as a unary call's `traceparent`).

Authentication: with a `bearer` token source (the gateway's client-credentials token), the
stream is opened, and each unary fallback call made, with `authorization: Bearer <token>`; authz
checks it when the stream opens and answers UNAUTHENTICATED, undecided, each call it reads after
the token has expired. Such an answer retires the stream (its calls in flight are still
answered, then it is closed) and the call is asked again, once, over a new stream opened with
the token source's current token (the client-credentials token is renewed before it expires).

Failure handling: when the stream ends (authz restarted, the connection dropped), every call in
flight fails with UNAVAILABLE and the caller's offline policy decides; the next call opens a new
stream. An authz that does not serve the stream (UNIMPLEMENTED: an older version during a
rolling upgrade) is asked by unary calls, the calls in flight included (none was decided), and
the stream is tried again after `retry_stream_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import grpc
from opentelemetry import trace

from chargewatch.v1 import authz_pb2, authz_pb2_grpc

log = logging.getLogger(__name__)

_UNAVAILABLE: Final = grpc.StatusCode.UNAVAILABLE
_UNAUTHENTICATED: Final = grpc.StatusCode.UNAUTHENTICATED
_UNAUTHENTICATED_CODE: Final = _UNAUTHENTICATED.value[0]
_CODES: Final = {code.value[0]: code for code in grpc.StatusCode}
# Calls sent in one stream message at most; more wait for the next message.
_MAX_CALLS_PER_MESSAGE: Final = 256

TokenSource = Callable[[], Awaitable[str | None]]


class AuthorizeFailed(Exception):
    """authz did not decide: the call's status code (UNAVAILABLE, DEADLINE_EXCEEDED, ...) and why."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class _StreamTokenExpired(AuthorizeFailed):
    """A call refused UNAUTHENTICATED on a stream that authz admitted: its token expired since."""


def traceparent() -> str:
    """The current span's W3C trace context, or "" outside a valid one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return ""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


class _Stream:
    """One open AuthorizeStream: its writer and reader tasks and the calls waiting for answers."""

    def __init__(self, open_call: Callable[[], Awaitable[Any]], on_end: Any) -> None:
        self.call: Any = None
        self.on_end = on_end
        self.waiting: dict[int, asyncio.Future[authz_pb2.AuthorizeResponse]] = {}
        # Calls not written yet (their futures are in `waiting`).
        self.outbox: list[authz_pb2.AuthorizeCall] = []
        self.wake = asyncio.Event()
        self.ended: AuthorizeFailed | None = None
        # Takes no new calls (its token expired): those written are answered, then it closes.
        self.retired = False
        self.reader: asyncio.Task[None] | None = None
        self.writer = asyncio.create_task(self._write(open_call))

    def send(self, message: authz_pb2.AuthorizeCall, future: asyncio.Future[authz_pb2.AuthorizeResponse]) -> None:
        self.waiting[message.call_id] = future
        self.outbox.append(message)
        self.wake.set()

    async def _write(self, open_call: Callable[[], Awaitable[Any]]) -> None:
        try:
            self.call = await open_call()
        except Exception as exc:  # no service token (the identity provider is away): nothing was sent
            log.warning("authorize stream not opened", extra={"error": str(exc)})
            self.end(AuthorizeFailed(_UNAVAILABLE, "the authorize stream could not be opened"))
            return
        self.reader = asyncio.create_task(self._read())
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox:
                    batch = self.outbox[:_MAX_CALLS_PER_MESSAGE]
                    del self.outbox[:_MAX_CALLS_PER_MESSAGE]
                    await self.call.write(authz_pb2.AuthorizeCalls(calls=batch))
                if self.retired:
                    await self.call.done_writing()  # authz ends the stream once it has answered
                    return
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError) as exc:
            # The reader sees the stream's status; this only stops writing.
            log.debug("authorize stream write failed", extra={"error": str(exc)})

    async def _read(self) -> None:
        failure = AuthorizeFailed(_UNAVAILABLE, "the authorize stream ended")
        try:
            async for message in self.call:
                waiting = self.waiting
                for answer in message.answers:
                    future = waiting.pop(answer.call_id, None)
                    if future is None or future.done():  # timed out meanwhile
                        continue
                    if answer.status_code == _UNAUTHENTICATED_CODE:
                        self.retire()
                        future.set_exception(_StreamTokenExpired(_UNAUTHENTICATED, answer.status_message))
                    elif answer.status_code:
                        code = _CODES.get(answer.status_code, grpc.StatusCode.UNKNOWN)
                        future.set_exception(AuthorizeFailed(code, answer.status_message))
                    else:
                        future.set_result(answer.response)
        except grpc.aio.AioRpcError as error:
            failure = AuthorizeFailed(error.code(), error.details() or "the authorize stream failed")
        except asyncio.CancelledError:
            failure = AuthorizeFailed(_UNAVAILABLE, "the authorize stream was closed")
            raise
        finally:
            self.end(failure)

    def retire(self) -> None:
        """Take no more calls; write those queued, then end the stream's writing side."""
        self.retired = True
        self.wake.set()

    def end(self, failure: AuthorizeFailed) -> None:
        """Fail every call in flight (once); the owner opens a new stream for the next call."""
        if self.ended is not None:
            return
        self.ended = failure
        self.writer.cancel()
        waiting, self.waiting = self.waiting, {}
        self.outbox.clear()
        for future in waiting.values():
            if not future.done():
                future.set_exception(failure)
        self.on_end(self, failure, waiting)

    async def close(self) -> None:
        if self.call is not None:
            self.call.cancel()
        for task in (self.writer, self.reader):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class AuthorizeChannel:
    """`authorize(request, deadline_seconds)`: authz's answer, or AuthorizeFailed with the status code."""

    def __init__(
        self,
        stub: authz_pb2_grpc.AuthzAsyncStub,
        *,
        retry_stream_seconds: float = 60.0,
        bearer: TokenSource | None = None,
    ) -> None:
        self.stub = stub
        self.bearer = bearer
        self.retry_stream_seconds = retry_stream_seconds
        self._stream: _Stream | None = None
        self._ids = itertools.count(1)
        # Until this monotonic time, authz is asked by unary calls (it answered UNIMPLEMENTED).
        self._unary_until = 0.0

    async def authorize(
        self, request: authz_pb2.AuthorizeRequest, deadline_seconds: float
    ) -> authz_pb2.AuthorizeResponse:
        if self._unary_until and time.monotonic() < self._unary_until:
            return await self._unary(request, deadline_seconds)
        deadline = time.monotonic() + deadline_seconds
        try:
            return await self._over_stream(request, deadline_seconds)
        except _StreamTokenExpired:
            # Not decided: once more, over a new stream opened with the current token.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AuthorizeFailed(grpc.StatusCode.DEADLINE_EXCEEDED, "authz did not answer in time") from None
            return await self._over_stream(request, remaining)

    async def _over_stream(
        self, request: authz_pb2.AuthorizeRequest, deadline_seconds: float
    ) -> authz_pb2.AuthorizeResponse:
        stream = self._stream
        if stream is None or stream.ended is not None or stream.retired:
            stream = self._stream = _Stream(self._open_stream, self._stream_ended)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[authz_pb2.AuthorizeResponse] = loop.create_future()
        call_id = next(self._ids)
        stream.send(
            authz_pb2.AuthorizeCall(
                call_id=call_id, request=request, traceparent=traceparent(), timeout_ms=int(deadline_seconds * 1000)
            ),
            future,
        )
        timer = loop.call_later(deadline_seconds, self._expire, stream, call_id, future)
        try:
            return await future
        except AuthorizeFailed as failed:
            if failed.code is grpc.StatusCode.UNIMPLEMENTED:
                # Not decided by anyone: ask again, the unary way.
                return await self._unary(request, deadline_seconds)
            raise
        finally:
            timer.cancel()
            stream.waiting.pop(call_id, None)  # cancelled by our caller: no answer is awaited

    @staticmethod
    def _expire(stream: _Stream, call_id: int, future: asyncio.Future[authz_pb2.AuthorizeResponse]) -> None:
        stream.waiting.pop(call_id, None)
        if not future.done():
            future.set_exception(AuthorizeFailed(grpc.StatusCode.DEADLINE_EXCEEDED, "authz did not answer in time"))

    def _stream_ended(self, stream: _Stream, failure: AuthorizeFailed, waiting: dict[int, Any]) -> None:
        if self._stream is stream:
            self._stream = None
        if failure.code is grpc.StatusCode.UNIMPLEMENTED:
            log.warning("authz does not serve AuthorizeStream; asking by unary calls for a while")
            self._unary_until = time.monotonic() + self.retry_stream_seconds
        elif waiting:
            log.warning(
                "authorize stream ended with calls in flight",
                extra={"calls": len(waiting), "grpc_code": failure.code.name},
            )

    async def _metadata(self) -> tuple[tuple[str, str], ...] | None:
        token = await self.bearer() if self.bearer is not None else None
        return (("authorization", f"Bearer {token}"),) if token else None

    async def _open_stream(self) -> Any:
        # Writer style (call.write), so no request iterator: the stubs' types do not know it.
        return self.stub.AuthorizeStream(metadata=await self._metadata())  # type: ignore[call-arg]

    async def _unary(self, request: authz_pb2.AuthorizeRequest, deadline_seconds: float) -> authz_pb2.AuthorizeResponse:
        try:
            response: authz_pb2.AuthorizeResponse = await self.stub.Authorize(
                request, timeout=deadline_seconds, metadata=await self._metadata()
            )
        except grpc.aio.AioRpcError as error:
            raise AuthorizeFailed(error.code(), error.details() or "") from error
        return response

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.end(AuthorizeFailed(_UNAVAILABLE, "the gateway is stopping"))
            await stream.close()
