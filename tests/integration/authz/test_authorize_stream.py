"""AuthorizeStream: many Authorize calls over one stream, answered as the unary calls would be.

Against the real authz servicer (real Redis, the MongoDB-wire store, the dev IdP): decisions,
per-call errors that leave the other calls alone, a call past its caller's patience left
undecided, per-call trace context and spans, and the decisions on the authorization stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from chargewatch.authz import authorize_stream
from chargewatch.authz.authorize_stream import AuthorizeStream
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, authz_pb2_grpc
from tests.integration.authz.conftest import Harness
from tests.integration.authz.test_authorize import (
    ACCEPTED,
    BLOCKED,
    CONCURRENT,
    INVALID,
    create_token,
    decisions,
    set_status,
    uid,
)
from tests.integration.authz.test_sampled_tracing import traceparent
from tests.support.tracing import install_span_exporter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return install_span_exporter()


@pytest.fixture
async def bare_stub(authz: Harness) -> AsyncIterator[authz_pb2_grpc.AuthzAsyncStub]:
    # No client interceptors: the calls carry their own trace context, as the gateway's do.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{authz.server.port}")
    yield authz_pb2_grpc.AuthzStub(channel)
    await channel.close(None)


async def exchange(
    stub: authz_pb2_grpc.AuthzAsyncStub, *messages: list[authz_pb2.AuthorizeCall]
) -> dict[int, authz_pb2.AuthorizeAnswer]:
    """Send each list of calls as one message; every answer, by call id, once all are in."""
    call = stub.AuthorizeStream()  # type: ignore[call-arg]
    expected = {c.call_id for calls in messages for c in calls}
    for calls in messages:
        await call.write(authz_pb2.AuthorizeCalls(calls=calls))
    answers: dict[int, authz_pb2.AuthorizeAnswer] = {}
    async with asyncio.timeout(10):
        while set(answers) != expected:
            message = await call.read()
            assert message is not grpc.aio.EOF
            for answer in message.answers:
                assert answer.call_id not in answers, "answered twice"
                answers[answer.call_id] = answer
    await call.done_writing()
    assert await call.read() is grpc.aio.EOF  # the server ends the stream once its calls are answered
    assert await call.code() is grpc.StatusCode.OK
    return answers


def calling(call_id: int, station: str, card: str, tx: str = "", **extra: object) -> authz_pb2.AuthorizeCall:
    request = authz_pb2.AuthorizeRequest(station_id=station, id_token=card, id_token_type="ISO14443", transaction_id=tx)
    return authz_pb2.AuthorizeCall(call_id=call_id, request=request, **extra)  # type: ignore[arg-type]


async def test_each_call_is_answered_as_the_unary_call_would_be(
    authz: Harness, bare_stub: authz_pb2_grpc.AuthzAsyncStub
) -> None:
    await authz.register("CP-S1")
    await authz.register("CP-S2")
    active, blocked, card = uid(), uid(), uid()
    for token in (active, blocked, card):
        await create_token(authz, token)
    await set_status(authz, blocked, "blocked")
    unknown = uid()

    answers = await exchange(
        bare_stub,
        [
            calling(1, "CP-S1", active),
            calling(2, "CP-S1", blocked),
            calling(3, "CP-S1", unknown),
            calling(4, "bad station id!", active),  # refused alone: the others are decided
            calling(5, "CP-S1", card, tx="tx-1"),
        ],
        # The same card starting a second session elsewhere while the first runs.
        [calling(6, "CP-S2", card, tx="tx-2")],
    )
    assert answers[1].response.status == ACCEPTED and answers[1].response.HasField("expiry")
    assert (answers[2].response.status, answers[2].response.reason) == (BLOCKED, "test")
    assert answers[3].response.status == INVALID
    assert answers[4].status_code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "station_id" in answers[4].status_message and not answers[4].HasField("response")
    assert answers[5].response.status == ACCEPTED
    assert (answers[6].response.status, answers[6].response.reason) == (CONCURRENT, "concurrent_session_limit")
    # The same decisions by unary calls (plain Authorize: no session reserved).
    for call_id, token in ((1, active), (2, blocked), (3, unknown)):
        unary = await authz.authorize("CP-S1", token)
        assert (unary.status, unary.reason) == (answers[call_id].response.status, answers[call_id].response.reason)
    # Every decided call is on the authorization stream once; the refused one is not.
    published = await decisions(authz)
    assert len(published) == 5 + 3


async def test_a_call_that_waited_past_its_callers_patience_is_not_decided(authz: Harness) -> None:
    await authz.register("CP-S3")
    card = uid()
    await create_token(authz, card)
    stream = AuthorizeStream(authz.authorizer)
    late = calling(7, "CP-S3", card, timeout_ms=50)
    on_time = calling(8, "CP-S3", card, timeout_ms=5_000)
    received = time.monotonic()
    await stream._decide(late, received - 0.2)  # received 200 ms ago, its caller gave up after 50
    await stream._decide(on_time, received)
    late_answer, on_time_answer = stream._answers
    assert late_answer.status_code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert on_time_answer.response.status == ACCEPTED
    assert len(await decisions(authz)) == 1  # only the call decided in time was published


async def test_each_call_follows_its_own_trace(
    authz: Harness, bare_stub: authz_pb2_grpc.AuthzAsyncStub, span_exporter: InMemorySpanExporter
) -> None:
    await authz.register("CP-S4")
    card = uid()
    await create_token(authz, card)
    unsampled, unsampled_trace, _ = traceparent(sampled=False)
    sampled, sampled_trace, sampled_parent = traceparent(sampled=True)
    span_exporter.clear()
    answers = await exchange(
        bare_stub,
        [calling(1, "CP-S4", card, traceparent=unsampled), calling(2, "CP-S4", card, traceparent=sampled)],
    )
    assert {a.response.status for a in answers.values()} == {ACCEPTED}
    published = await decisions(authz)
    assert sorted(e.traceparent[3:35] for e in published) == sorted(
        [f"{unsampled_trace:032x}", f"{sampled_trace:032x}"]
    )
    spans = span_exporter.get_finished_spans()
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    # One server span, for the sampled call only, under the caller's span; none for the stream itself.
    assert [s.context.trace_id for s in servers] == [sampled_trace]
    assert servers[0].name == "chargewatch.v1.Authz/Authorize"
    assert servers[0].parent is not None and servers[0].parent.span_id == sampled_parent
    assert not any(s.context.trace_id == unsampled_trace for s in spans)
    assert not any("AuthorizeStream" in s.name for s in spans)


async def test_a_caller_that_does_not_take_its_answers_is_not_read_from(
    authz: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authorize_stream, "MAX_IN_FLIGHT", 4)
    await authz.register("CP-S5")
    card = uid()
    await create_token(authz, card)
    taken: list[int] = []

    async def messages() -> AsyncIterator[authz_pb2.AuthorizeCalls]:
        for call_id in range(1, 11):
            taken.append(call_id)
            yield authz_pb2.AuthorizeCalls(calls=[calling(call_id, "CP-S5", card)])

    # The servicer's answers, taken one message at a time, as gRPC takes them when it can write.
    answers = AuthorizeStream(authz.authorizer).serve(messages())
    first = await anext(answers)
    await asyncio.sleep(0.5)
    # While answers wait to be written, no more than four calls are read (and decided).
    assert len(taken) == 4
    assert len(await authz.redis.xrange(stream_name(StreamFamily.AUTHORIZATION, 0))) == 4
    answered = {a.call_id for a in first.answers} | {a.call_id async for m in answers for a in m.answers}
    assert answered == set(range(1, 11)) and taken == list(range(1, 11))
    assert len(await decisions(authz)) == 10
