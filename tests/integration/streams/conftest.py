"""Tracing for the stream tests: the SDK provider is process-global, so it is installed once."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.tracing import install_span_exporter


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return install_span_exporter()
