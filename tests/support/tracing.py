"""Tracing for tests: the SDK tracer provider is process-global, so it is installed once."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def install_span_exporter() -> InMemorySpanExporter:
    """An exporter collecting every finished span; clear it at the start of a test that reads it.

    For a session-scoped fixture. Skips the test when a non-SDK tracer provider is installed.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        # Only the first call in a process takes effect; another test may have set one already.
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        pytest.skip("a non-SDK tracer provider is installed in this process")
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
