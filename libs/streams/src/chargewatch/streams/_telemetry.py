"""The library's tracer and instruments.

They come from the global providers through OpenTelemetry's proxies, so importing this module
before `setup_observability` runs is fine: spans and measurements flow once providers are set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanContext

from chargewatch.observability import attributes as attrs

SCOPE: Final = "chargewatch.streams"
MESSAGING_SYSTEM: Final = "redis"
# Metric attribute keys: short, because they become Prometheus labels.
FAMILY_LABEL: Final = "family"
GROUP_LABEL: Final = "group"
OUTCOME_LABEL: Final = "outcome"
REASON_LABEL: Final = "reason"

tracer = trace.get_tracer(SCOPE)
_meter = metrics.get_meter(SCOPE)

# Events appended, per family: a plain dict the publishers add to, read by the metric reader when
# it collects. A counter's `add` (attribute hashing, the SDK's locks) on every batch was a few per
# cent of a gateway's CPU in a reconnect storm, where batches are small and many.
_published_totals: Counter[str] = Counter()


def count_published(family: str, count: int = 1) -> None:
    """Count `count` events appended to a stream of `family` (a `StreamFamily.value`)."""
    _published_totals[family] += count


def count_published_each(families: Iterable[str]) -> None:
    """Count one event appended per item of `families` (each a `StreamFamily.value`)."""
    _published_totals.update(families)  # counted in C, no Counter built per batch


def _observe_published(_options: CallbackOptions) -> Iterable[Observation]:
    # A copy: the reader's thread collects while the event loop counts.
    return [Observation(total, {FAMILY_LABEL: family}) for family, total in list(_published_totals.items())]


published = _meter.create_observable_counter(
    attrs.METRIC_STREAM_PUBLISHED,
    callbacks=[_observe_published],
    unit="{event}",
    description="Events appended to a stream.",
)
consumed = _meter.create_counter(
    attrs.METRIC_STREAM_CONSUMED, unit="{event}", description="Events handled and acknowledged by a consumer group."
)
dead_lettered = _meter.create_counter(
    attrs.METRIC_STREAM_DEAD_LETTERED,
    unit="{event}",
    description="Entries a consumer group gave up on and moved to its dead-letter stream.",
)
handler_duration = _meter.create_histogram(
    attrs.METRIC_STREAM_HANDLER_DURATION,
    unit="s",
    description="Time a consumer's handler took for one call (a batch, or one event when retried alone).",
    # The SDK's default buckets are sized for milliseconds; ours are seconds.
    explicit_bucket_boundaries_advisory=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
)
# From a healthy few milliseconds to an hour-old backlog.
_LAG_BUCKETS_S: Final = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0]
consumer_lag = _meter.create_histogram(
    attrs.METRIC_STREAM_CONSUMER_LAG,
    unit="s",
    description="Age of the oldest event of each acknowledged batch, per family: from its receipt by the platform "
    "(envelope received_time) to its acknowledgement by the consumer group.",
    explicit_bucket_boundaries_advisory=_LAG_BUCKETS_S,
)


def current_trace_headers() -> tuple[str, str]:
    """(traceparent, tracestate) of the current span, in the W3C Trace Context format.

    Written directly from the span context: the same text the W3C propagator injects, without
    building a carrier per event (this runs for every event a gateway publishes).
    """
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return "", ""
    traceparent = f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{span_context.trace_flags:02x}"
    return traceparent, span_context.trace_state.to_header() if span_context.trace_state else ""


def remote_span_context(traceparent: str, tracestate: str) -> tuple[Context | None, SpanContext | None]:
    """The context carried by an entry, and its span context when valid (for links)."""
    if not traceparent:
        return None, None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    context = extract(carrier)
    span_context = trace.get_current_span(context).get_span_context()
    return context, span_context if span_context.is_valid else None
