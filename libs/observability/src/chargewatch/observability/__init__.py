"""One OpenTelemetry bootstrap for every service: traces, metrics, JSON logs and the ops endpoints."""

from chargewatch.observability.bootstrap import Observability, setup_observability
from chargewatch.observability.logs import JsonLogFormatter, configure_logging
from chargewatch.observability.ops_server import OpsServer, Readiness

__all__ = [
    "JsonLogFormatter",
    "Observability",
    "OpsServer",
    "Readiness",
    "configure_logging",
    "setup_observability",
]
