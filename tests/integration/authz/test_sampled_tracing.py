"""Server spans only for the calls the sampler records; the caller's trace still reaches the stream.

The SDK's default sampler follows the caller (parent-based): the gateway's unsampled calls get no
span in authz, its sampled ones get the Authorize span and the decision's PRODUCER span, and every
decision on the stream carries the caller's trace id.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from chargewatch.rpc import GrpcServer
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, events_pb2
from tests.integration.authz.conftest import Harness
from tests.integration.authz.test_authorize import create_token, decisions
from tests.support.tracing import install_span_exporter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return install_span_exporter()


def traceparent(sampled: bool) -> tuple[str, int, int]:
    trace_id, span_id = random.getrandbits(128) | 1, random.getrandbits(64) | 1
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}", trace_id, span_id


class Seen(authz_pb2_grpc.AuthzServicer):
    """Answers Authorize and records the trace context its handler ran in."""

    def __init__(self) -> None:
        self.contexts: list[tuple[int, bool]] = []

    async def Authorize(self, request: Any, context: Any) -> Any:
        span = trace.get_current_span()
        self.contexts.append((span.get_span_context().trace_id, span.is_recording()))
        return authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Seen, grpc.aio.Channel]]:
    seen = Seen()  # type: ignore[abstract]
    server = GrpcServer("127.0.0.1", 0, sampled_tracing=True, generic_handlers_only=True)
    server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, seen, "chargewatch.v1.Authz")
    await server.start()
    await server.set_serving(True)
    # A bare channel: the test sets the traceparent itself.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    yield seen, channel
    await channel.close(None)
    await server.stop(0)


async def test_only_sampled_and_new_traces_get_a_server_span(
    served: tuple[Seen, grpc.aio.Channel], span_exporter: InMemorySpanExporter
) -> None:
    seen, channel = served
    stub = authz_pb2_grpc.AuthzStub(channel)
    request = authz_pb2.AuthorizeRequest(station_id="CP-T", id_token="AB")
    span_exporter.clear()

    unsampled, unsampled_trace, _ = traceparent(sampled=False)
    await stub.Authorize(request, metadata=(("traceparent", unsampled),))
    sampled, sampled_trace, sampled_parent = traceparent(sampled=True)
    await stub.Authorize(request, metadata=(("traceparent", sampled),))
    await stub.Authorize(request)  # no parent: the sampler decides on a new trace (always, by default)
    malformed = "00-zz" + unsampled[5:]
    await stub.Authorize(request, metadata=(("traceparent", malformed),))  # left to OpenTelemetry

    # The unsampled call ran in the caller's trace, without a span of its own.
    assert seen.contexts[0] == (unsampled_trace, False)
    assert seen.contexts[1][0] == sampled_trace and seen.contexts[1][1] is True
    assert seen.contexts[2][1] is True
    server_spans = [s for s in span_exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert len(server_spans) == 3
    traced = {s.context.trace_id: s for s in server_spans}
    assert unsampled_trace not in traced
    parent = traced[sampled_trace].parent
    assert parent is not None and parent.span_id == sampled_parent
    assert traced[sampled_trace].name == "/chargewatch.v1.Authz/Authorize"


async def test_health_and_reflection_are_served_from_generic_handlers(served: tuple[Seen, grpc.aio.Channel]) -> None:
    _, channel = served
    health = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="chargewatch.v1.Authz"), timeout=5
    )
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    answer = await call.read()
    await call.done_writing()
    names = {s.name for s in answer.list_services_response.service}
    assert {"chargewatch.v1.Authz", "grpc.health.v1.Health"} <= names
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await channel.unary_unary("/chargewatch.v1.Authz/NoSuchMethod", None, None)(b"", timeout=5)
    assert missing.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_processes_can_share_a_port() -> None:
    first, second = Seen(), Seen()  # type: ignore[abstract]
    servers: list[GrpcServer] = []
    for seen, port in ((first, 0), (second, None)):
        server = GrpcServer("127.0.0.1", port if port is not None else servers[0].port, reuse_port=True)
        server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, seen, "chargewatch.v1.Authz")
        await server.start()
        servers.append(server)
    assert servers[0].port == servers[1].port
    # The kernel spreads connections over the listeners: twenty connections reach both.
    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{servers[0].port}", options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(20)
    ]
    try:
        for channel in channels:
            await authz_pb2_grpc.AuthzStub(channel).Authorize(authz_pb2.AuthorizeRequest(), timeout=5)
        assert first.contexts and second.contexts
        assert len(first.contexts) + len(second.contexts) == 20
    finally:
        for channel in channels:
            await channel.close(None)
        for server in servers:
            await server.stop(0)


async def test_a_decision_on_the_stream_carries_the_callers_trace(
    authz: Harness, span_exporter: InMemorySpanExporter
) -> None:
    await authz.register("CP-TR")
    card = uuid.uuid4().hex[:14].upper()
    await create_token(authz, card)
    span_exporter.clear()
    unsampled, unsampled_trace, _ = traceparent(sampled=False)
    sampled, sampled_trace, _ = traceparent(sampled=True)
    for header in (unsampled, sampled):
        # The harness's channel has the client interceptors: a caller's span is made current for them.
        parent = trace.NonRecordingSpan(
            trace.SpanContext(
                int(header[3:35], 16), int(header[36:52], 16), True, trace.TraceFlags(int(header[53:55], 16))
            )
        )
        with trace.use_span(parent):
            assert (await authz.authorize("CP-TR", card)).status == events_pb2.AUTHORIZATION_STATUS_ACCEPTED
    published = await decisions(authz)
    assert [e.traceparent[3:35] for e in published] == [f"{unsampled_trace:032x}", f"{sampled_trace:032x}"]
    assert published[0].traceparent.endswith("-00")
    spans = [s for s in span_exporter.get_finished_spans() if s.context.trace_id in (unsampled_trace, sampled_trace)]
    assert {s.context.trace_id for s in spans} == {sampled_trace}
    producer = next(s for s in spans if s.kind is SpanKind.PRODUCER)
    assert next(s for s in spans if s.kind is SpanKind.SERVER).name == "/chargewatch.v1.Authz/Authorize"
    # The entry hangs under its PRODUCER span, as the streams library's own publishes do.
    assert published[1].traceparent == f"00-{sampled_trace:032x}-{producer.context.span_id:016x}-01"
