"""The gateway's AuthorizeChannel: calls multiplexed over one AuthorizeStream, and its failures.

Real gRPC servers on free ports, each with a small servicer playing one part of authz: answering,
ending the stream with calls in flight, never answering, or not serving the stream at all (an
older authz): the caller always gets an answer or an AuthorizeFailed with the right code, in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry import trace

from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel, AuthorizeFailed
from chargewatch.rpc import GrpcServer, stream_channel
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, events_pb2

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
BLOCKED = events_pb2.AUTHORIZATION_STATUS_BLOCKED


class PlayedAuthz(authz_pb2_grpc.AuthzServicer):
    """Answers by token: "OK*" accepted, "SILENT*" never, "FAIL*" ends the stream UNAVAILABLE."""

    def __init__(self, *, streams: bool = True) -> None:
        self.streams_served = streams
        self.streams_opened = 0
        self.unary_calls = 0
        self.messages: list[authz_pb2.AuthorizeCalls] = []

    @staticmethod
    def answer(request: authz_pb2.AuthorizeRequest) -> authz_pb2.AuthorizeResponse:
        status = ACCEPTED if request.id_token.startswith("OK") else BLOCKED
        return authz_pb2.AuthorizeResponse(status=status, reason=f"for {request.id_token}")

    async def Authorize(self, request: authz_pb2.AuthorizeRequest, context: Any) -> authz_pb2.AuthorizeResponse:
        self.unary_calls += 1
        return self.answer(request)

    async def AuthorizeStream(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        if not self.streams_served:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        self.streams_opened += 1
        async for message in request_iterator:
            self.messages.append(message)
            answers = []
            for call in message.calls:
                token = call.request.id_token
                if token.startswith("FAIL"):
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "authz is stopping")
                if token.startswith("BAD"):
                    answers.append(
                        authz_pb2.AuthorizeAnswer(
                            call_id=call.call_id, status_code=grpc.StatusCode.INVALID_ARGUMENT.value[0]
                        )
                    )
                elif not token.startswith("SILENT"):
                    answers.append(authz_pb2.AuthorizeAnswer(call_id=call.call_id, response=self.answer(call.request)))
            if answers:
                yield authz_pb2.AuthorizeAnswers(answers=answers)


@pytest.fixture
async def played() -> AsyncIterator[tuple[PlayedAuthz, GrpcServer, AuthorizeChannel]]:
    servicer = PlayedAuthz()
    server = GrpcServer("127.0.0.1", 0, sampled_tracing=True, generic_handlers_only=True)
    server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, servicer, "chargewatch.v1.Authz")
    await server.start()
    channel = stream_channel(f"127.0.0.1:{server.port}")
    authorize = AuthorizeChannel(authz_pb2_grpc.AuthzStub(channel), retry_stream_seconds=0.5)
    yield servicer, server, authorize
    await authorize.close()
    await channel.close(None)
    await server.stop(0)


def request(token: str) -> authz_pb2.AuthorizeRequest:
    return authz_pb2.AuthorizeRequest(station_id="CP-1", id_token=token, id_token_type="ISO14443")


async def test_concurrent_calls_share_one_stream_and_get_their_own_answers(
    played: tuple[PlayedAuthz, GrpcServer, AuthorizeChannel],
) -> None:
    servicer, _, authorize = played
    tokens = [f"OK{i}" if i % 3 else f"NO{i}" for i in range(200)]
    answers = await asyncio.gather(*(authorize.authorize(request(t), 5.0) for t in tokens))
    assert [a.reason for a in answers] == [f"for {t}" for t in tokens]
    assert [a.status for a in answers] == [ACCEPTED if t.startswith("OK") else BLOCKED for t in tokens]
    assert servicer.streams_opened == 1 and servicer.unary_calls == 0
    # Calls made while a write was in progress went out together.
    assert len(servicer.messages) < len(tokens)
    sent = [c for m in servicer.messages for c in m.calls]
    assert len({c.call_id for c in sent}) == len(tokens)
    assert all(0 < c.timeout_ms <= 5000 for c in sent)


async def test_a_call_carries_the_callers_trace_context(
    played: tuple[PlayedAuthz, GrpcServer, AuthorizeChannel],
) -> None:
    servicer, _, authorize = played
    parent = trace.SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    with trace.use_span(trace.NonRecordingSpan(parent)):
        await authorize.authorize(request("OK-traced"), 5.0)
    await authorize.authorize(request("OK-untraced"), 5.0)
    sent = {c.request.id_token: c for m in servicer.messages for c in m.calls}
    assert sent["OK-traced"].traceparent == f"00-{0xABC:032x}-{0xDEF:016x}-01"
    assert sent["OK-untraced"].traceparent == ""


async def test_a_refused_call_fails_alone_with_its_code(
    played: tuple[PlayedAuthz, GrpcServer, AuthorizeChannel],
) -> None:
    _, _, authorize = played
    bad, good = await asyncio.gather(
        authorize.authorize(request("BAD"), 5.0), authorize.authorize(request("OK"), 5.0), return_exceptions=True
    )
    assert isinstance(bad, AuthorizeFailed) and bad.code is grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(good, authz_pb2.AuthorizeResponse) and good.status == ACCEPTED


async def test_an_unanswered_call_fails_at_its_deadline_and_the_stream_goes_on(
    played: tuple[PlayedAuthz, GrpcServer, AuthorizeChannel],
) -> None:
    servicer, _, authorize = played
    started = time.monotonic()
    with pytest.raises(AuthorizeFailed) as failed:
        await authorize.authorize(request("SILENT"), 0.3)
    assert failed.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.25 <= time.monotonic() - started < 2.0
    assert (await authorize.authorize(request("OK-after"), 5.0)).status == ACCEPTED
    assert servicer.streams_opened == 1


async def test_calls_in_flight_fail_unavailable_when_the_stream_ends_and_the_next_call_reopens_it(
    played: tuple[PlayedAuthz, GrpcServer, AuthorizeChannel],
) -> None:
    servicer, _, authorize = played
    waiting = asyncio.create_task(authorize.authorize(request("SILENT-in-flight"), 30.0))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(AuthorizeFailed) as ended:
        await authorize.authorize(request("FAIL"), 30.0)
    assert ended.value.code is grpc.StatusCode.UNAVAILABLE
    with pytest.raises(AuthorizeFailed) as in_flight:
        await waiting
    assert in_flight.value.code is grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 5.0  # at once, not at the 30 s deadline
    assert (await authorize.authorize(request("OK-again"), 5.0)).status == ACCEPTED
    assert servicer.streams_opened == 2


async def test_an_authz_without_the_stream_is_asked_by_unary_calls() -> None:
    servicer = PlayedAuthz(streams=False)
    server = GrpcServer("127.0.0.1", 0, generic_handlers_only=True)
    server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, servicer, "chargewatch.v1.Authz")
    await server.start()
    channel = stream_channel(f"127.0.0.1:{server.port}")
    authorize = AuthorizeChannel(authz_pb2_grpc.AuthzStub(channel), retry_stream_seconds=0.5)
    try:
        answers = await asyncio.gather(*(authorize.authorize(request(f"OK{i}"), 5.0) for i in range(5)))
        assert {a.status for a in answers} == {ACCEPTED}
        assert servicer.unary_calls == 5  # the calls in flight were asked again, none lost
        await authorize.authorize(request("OK-unary"), 5.0)
        assert servicer.unary_calls == 6 and servicer.streams_opened == 0
        # After the retry interval the stream is tried again (an upgraded authz serves it).
        servicer.streams_served = True
        await asyncio.sleep(0.6)
        assert (await authorize.authorize(request("OK-stream"), 5.0)).status == ACCEPTED
        assert servicer.streams_opened == 1 and servicer.unary_calls == 6
    finally:
        await authorize.close()
        await channel.close(None)
        await server.stop(0)
