"""MessageTracer: the gateway's own sampling decision agrees with the SDK's, and a per-action limit only lowers it."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

from chargewatch.ocpp_gateway.tracing import NO_LIMIT, MessageTrace, MessageTracer, ratio_limit

MESSAGES = 4000
LOW_64 = (1 << 64) - 1


def _attributes(call: str, session: str) -> dict[str, str]:
    return {"call": call, "session": session}


def _traced(sampler_ratio: float | None, limit: int) -> tuple[list[MessageTrace], InMemorySpanExporter]:
    """MESSAGES traces started under a provider of its own (ALWAYS_ON for None), with their exported spans."""
    sampler = ParentBased(ALWAYS_ON if sampler_ratio is None else TraceIdRatioBased(sampler_ratio))
    provider = TracerProvider(sampler=sampler)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = MessageTracer("test", provider)
    traces = []
    for _ in range(MESSAGES):
        trace = tracer.start("ocpp MeterValues", _attributes, "call", "session", limit)
        if trace.span is not None:
            trace.span.end()
        traces.append(trace)
    return traces, exporter


def _low_bits(trace: MessageTrace) -> int:
    return int(trace.traceparent.split("-")[1], 16) & LOW_64


def _sampled(trace: MessageTrace) -> bool:
    return int(trace.traceparent.split("-")[3], 16) & 1 == 1


@pytest.mark.parametrize(("sampler_ratio", "limit_ratio", "expected"), [(None, 0.25, 0.25), (0.1, 0.5, 0.1)])
def test_a_limit_samples_the_lower_of_its_ratio_and_the_samplers(
    sampler_ratio: float | None, limit_ratio: float, expected: float
) -> None:
    traces, exporter = _traced(sampler_ratio, ratio_limit(limit_ratio))
    recording = [t for t in traces if t.span is not None]
    # Binomial, 4000 draws: five standard deviations either side.
    spread = 5 * (expected * (1 - expected) / MESSAGES) ** 0.5
    assert abs(len(recording) / MESSAGES - expected) < spread
    bound = ratio_limit(expected)
    # The decision follows the trace id, as the SDK's sampler (and every service downstream) makes it.
    assert all(_low_bits(t) < bound and _sampled(t) for t in recording)
    assert all(_low_bits(t) >= bound and not _sampled(t) for t in traces if t.span is None)
    # Every sampled trace got its span from the SDK, with the attributes, under the very trace id.
    spans = exporter.get_finished_spans()
    assert sorted(s.context.trace_id for s in spans) == sorted(int(t.traceparent.split("-")[1], 16) for t in recording)
    assert all(s.attributes == {"call": "call", "session": "session"} for s in spans)


def test_a_zero_limit_traces_nothing_and_no_limit_leaves_the_sampler_alone() -> None:
    nothing, exporter = _traced(None, ratio_limit(0.0))
    assert all(t.span is None and t.traceparent and not _sampled(t) for t in nothing)
    assert exporter.get_finished_spans() == ()
    everything, exporter = _traced(None, NO_LIMIT)
    assert all(t.span is not None and _sampled(t) for t in everything)
    assert len(exporter.get_finished_spans()) == MESSAGES


def test_a_second_tracer_of_the_same_scope_decides_on_its_own_too() -> None:
    # The provider hands both the same SDK tracer, whose id generator the first one wrapped.
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON))
    first, second = MessageTracer("test", provider), MessageTracer("test", provider)
    assert first.start("a", _attributes, "call", "session").span is not None
    unsampled = [second.start("b", _attributes, "call", "session", ratio_limit(0.0)) for _ in range(50)]
    assert all(t.span is None and not _sampled(t) for t in unsampled)
    assert second.start("c", _attributes, "call", "session").span is not None


@pytest.mark.parametrize("ratio", [-0.1, 1.01])
def test_a_ratio_outside_0_to_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ratio_limit(ratio)
