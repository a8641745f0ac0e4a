"""Tracer and meter providers configured from the standard OTEL_* variables.

Spans go to an OTLP/HTTP exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific
variable) is set; metrics are always readable at `/metrics` through the Prometheus reader.
Instrumentation of redis and pymongo is switched on here; gRPC and FastAPI are instrumented
where their servers and clients are built.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from chargewatch.config import instance_name
from chargewatch.observability.logs import configure_logging

log = logging.getLogger(__name__)


@dataclass
class Observability:
    service_name: str
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        """Flush spans and stop exporters; call once at process exit."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _otlp_span_exporter() -> SpanExporter | None:
    if not (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp") == "none":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _instrument_clients() -> None:
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        if not RedisInstrumentor().is_instrumented_by_opentelemetry:
            RedisInstrumentor().instrument()
    except ImportError:  # the service does not use redis
        pass
    try:
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

        if not PymongoInstrumentor().is_instrumented_by_opentelemetry:
            PymongoInstrumentor().instrument()
    except ImportError:  # the service does not use MongoDB
        pass


_current: Observability | None = None


def setup_observability(service_name: str, *, version: str = "0.1.0", log_level: str = "INFO") -> Observability:
    """Install the global providers once per process and return them."""
    global _current
    if _current is not None:
        return _current
    service_name = os.environ.get("OTEL_SERVICE_NAME", service_name)
    configure_logging(service_name, log_level)
    attributes: dict[str, str] = {
        SERVICE_NAME: service_name,
        SERVICE_NAMESPACE: "chargewatch",
        SERVICE_VERSION: version,
        SERVICE_INSTANCE_ID: instance_name(),
    }
    if pod := os.environ.get("POD_NAME"):
        attributes["k8s.pod.name"] = pod
    if namespace := os.environ.get("POD_NAMESPACE"):
        attributes["k8s.namespace.name"] = namespace
    # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES.
    resource = Resource.create(attributes)

    tracer_provider = TracerProvider(resource=resource)
    exporter = _otlp_span_exporter()
    if exporter is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)

    meter_provider = MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    metrics.set_meter_provider(meter_provider)

    _instrument_clients()
    _current = Observability(service_name, tracer_provider, meter_provider)
    log.info("observability ready", extra={"otlp": exporter is not None})
    return _current
