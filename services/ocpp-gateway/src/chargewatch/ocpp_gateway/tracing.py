"""Root spans of station messages, decided before anything is built.

Every CALL a station sends starts a trace (a SERVER span "ocpp <action>"), sampled at the head by
the tracer provider's sampler (the chart: one in ten). Asking the SDK for a span costs about as
much as validating the message, sampled or not: ids, the sampler, an attribute dict, a
non-recording span object, a context copy. Here the ids are drawn first (as the SDK's random id
generator draws them) and the provider's sampler's rule applied to the trace id; only a message
it samples gets a real span, built by the SDK with that very trace id, so the SDK's decision is
the same. An unsampled message gets just its W3C traceparent ("00-<trace id>-<span id>-<flags
without 'sampled'>"), which its events carry so every consumer makes the same decision, and
nothing else. `MessageTrace.activate` makes it the current span context when the handler does
more than publish (a gRPC call, Redis commands), so those follow the decision too.

A kind of message may be traced less often than the sampler's ratio (`start`'s `limit`, from
`ratio_limit`): MeterValues are most of a gateway's traffic and the least telling of its traces, and
a sampled span costs the gateway about ten unsampled messages' work (and the collector its export).
The limit lowers the bound the trace id is compared with, so whatever it samples the SDK's sampler
samples too; it can never raise the sampler's ratio.

This applies to the SDK's samplers that decide a root span on its trace id (always on, always
off, trace id ratio, each under ParentBased) with its random id generator. With anything else
(a sampler that reads span attributes, a custom id generator) or a parent span already current,
every message takes the SDK's ordinary path, and limits do not apply.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import (
    NonRecordingSpan,
    ProxyTracerProvider,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)
from opentelemetry.util.types import AttributeValue

_RANDOM_TRACE_ID: Final = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_LOW_64: Final = (1 << 64) - 1
# What TraceIdRatioBased compares the low 64 bits of a trace id with; ALWAYS_ON samples all.
_ALL: Final = 1 << 64

_Call = TypeVar("_Call")
_Session = TypeVar("_Session")
# The span's attributes from the message and its session; called only for a recording span (a
# module function and its two arguments, not a closure: no function object made per message).
Attributes = Callable[[_Call, _Session], Mapping[str, AttributeValue]]
# `start`'s limit when the sampler's ratio stands.
NO_LIMIT: Final = _ALL


def ratio_limit(ratio: float) -> int:
    """`start`'s limit for tracing at most `ratio` (0 to 1) of a kind of message (TraceIdRatioBased's bound)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"a trace ratio is between 0 and 1, not {ratio}")
    return TraceIdRatioBased.get_bound_for_rate(ratio)


class _PresetTraceIds(IdGenerator):
    """The provider's id generator, except that the next trace id may be given.

    Installed on the gateway's own SDK tracer only, so a sampled message's span gets the trace id
    its sampling decision was made on.
    """

    def __init__(self, inner: IdGenerator) -> None:
        self.inner = inner
        self.preset: int | None = None

    def generate_span_id(self) -> int:
        return self.inner.generate_span_id()

    def generate_trace_id(self) -> int:
        preset = self.preset
        if preset is not None:
            self.preset = None
            return preset
        return self.inner.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        is_random = getattr(self.inner, "is_trace_id_random", None)
        return bool(is_random()) if is_random is not None else False


class MessageTrace:
    """The trace of one station message: its W3C traceparent, and its recording span when sampled."""

    __slots__ = ("span", "traceparent", "tracestate")

    def __init__(self, traceparent: str, tracestate: str, span: Span | None) -> None:
        # "" when tracing is off (no SDK): events then carry no trace context, as without the gateway's.
        self.traceparent = traceparent
        self.tracestate = tracestate
        self.span = span

    def activate(self) -> object | None:
        """Make this trace the current span context (for instrumented calls); returns the detach token."""
        span = self.span
        if span is None:
            if not self.traceparent:
                return None
            _, trace_id, span_id, flags = self.traceparent.split("-")
            span = NonRecordingSpan(
                SpanContext(
                    int(trace_id, 16),
                    int(span_id, 16),
                    is_remote=False,
                    trace_flags=TraceFlags(int(flags, 16)),
                    trace_state=TraceState.from_header([self.tracestate]) if self.tracestate else None,
                )
            )
        return otel_context.attach(trace.set_span_in_context(span))


_NO_TRACE: Final = MessageTrace("", "", None)


class MessageTracer:
    """Starts the root span of each station message (see the module's description)."""

    def __init__(self, scope: str, provider: trace.TracerProvider | None = None) -> None:
        self.scope = scope
        self._fixed_provider = provider
        self._provider: object | None = None
        self._tracer: trace.Tracer = trace.NoOpTracer()
        self._sdk = False
        # Set when the fast decision applies: an SDK provider whose root sampler decides on the
        # trace id alone (sampled when its low 64 bits are below `_bound`) with random ids.
        self._bound: int | None = None
        self._ids: _PresetTraceIds | None = None
        self._unsampled_flags = "00"
        self._final = False

    def _resolve(self) -> None:
        """Follow the global tracer provider (installed after this object may be made, then for good)."""
        provider = self._fixed_provider or trace.get_tracer_provider()
        if provider is self._provider:
            return
        self._provider = provider
        # Only the proxy (no provider yet) can still change.
        self._final = not isinstance(provider, ProxyTracerProvider)
        self._tracer = provider.get_tracer(self.scope)
        self._sdk = isinstance(provider, SdkTracerProvider)
        self._bound = self._ids = None
        tracer = self._tracer
        if isinstance(provider, SdkTracerProvider) and isinstance(tracer, SdkTracer):
            bound = _root_bound(provider.sampler)
            ids = tracer.id_generator
            # The provider hands every MessageTracer of a scope the same SDK tracer: another one (a
            # second dispatcher in the process) may have installed the preset ids already.
            if bound is not None and type(ids) is RandomIdGenerator:
                ids = tracer.id_generator = _PresetTraceIds(ids)
            if bound is not None and type(ids) is _PresetTraceIds and type(ids.inner) is RandomIdGenerator:
                self._ids = ids
                self._bound = bound
                self._unsampled_flags = f"{_RANDOM_TRACE_ID:02x}"

    def start(
        self,
        name: str,
        attributes: Attributes[_Call, _Session],
        call: _Call,
        session: _Session,
        limit: int = NO_LIMIT,
    ) -> MessageTrace:
        """The trace of a message about to be handled; `attributes(call, session)` only for a recording span.

        `limit` (from `ratio_limit`) traces fewer of these messages than the sampler would.
        """
        if not self._final:
            self._resolve()
        bound = self._bound
        # An empty context (a station's session, as a rule) holds no span: skip looking one up.
        if bound is None or (otel_context.get_current() and trace.get_current_span().get_span_context().is_valid):
            return self._ordinary(name, attributes, call, session)
        # Trace id (the high 128 bits) and span id (the low 64) in one draw, from the same random
        # source as the SDK's RandomIdGenerator.
        bits = random.getrandbits(192)
        trace_id = bits >> 64
        if not trace_id or not bits & _LOW_64:  # an invalid id: one chance in 2**64
            return self._ordinary(name, attributes, call, session)
        low = trace_id & _LOW_64  # what the SDK's ratio sampler compares
        if low < bound and low < limit:
            ids = self._ids
            assert ids is not None
            ids.preset = trace_id
            try:
                span = self._tracer.start_span(name, kind=SpanKind.SERVER, attributes=attributes(call, session))
            finally:
                ids.preset = None
            return _of_span(span)
        ids_hex = f"{bits:048x}"
        return MessageTrace(f"00-{ids_hex[:32]}-{ids_hex[32:]}-{self._unsampled_flags}", "", None)

    def _ordinary(
        self, name: str, attributes: Attributes[_Call, _Session], call: _Call, session: _Session
    ) -> MessageTrace:
        if not self._sdk:
            return _NO_TRACE  # no SDK: no trace, and events carry no traceparent (as before)
        span = self._tracer.start_span(name, kind=SpanKind.SERVER, attributes=attributes(call, session))
        return _of_span(span)


def _of_span(span: Span) -> MessageTrace:
    context = span.get_span_context()
    if not context.is_valid:
        return _NO_TRACE
    state = context.trace_state.to_header() if context.trace_state else ""
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    return MessageTrace(traceparent, state, span if span.is_recording() else None)


def _root_bound(sampler: Sampler) -> int | None:
    """For a sampler that decides a root span on its trace id alone: the bound its low 64 bits must be under.

    Messages start traces, so only the root decision matters here; None for any other sampler.
    """
    if isinstance(sampler, ParentBased):
        root = getattr(sampler, "_root", None)
        return _root_bound(root) if isinstance(root, Sampler) else None
    if sampler is ALWAYS_ON:
        return _ALL
    if sampler is ALWAYS_OFF:
        return 0
    if type(sampler) is TraceIdRatioBased:
        return sampler.bound
    return None
