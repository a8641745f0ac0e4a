"""The gateway's metric instruments (names declared in chargewatch.observability.attributes).

They come from the global meter provider through OpenTelemetry's proxies, so importing this
module before the runtime installs the providers is fine.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import metrics

from chargewatch.observability import attributes as attrs

# Metric attribute keys: short, because they become Prometheus labels.
VERSION_LABEL: Final = "version"
ACTION_LABEL: Final = "action"
OUTCOME_LABEL: Final = "outcome"

# Outcomes of `messages` besides the CALLERROR codes the gateway answered with.
OUTCOME_ANSWERED: Final = "answered"
OUTCOME_RESULT: Final = "result"
OUTCOME_UNMATCHED: Final = "unmatched"
# An action a station may send that is not a known OCPP action is counted under this name, so
# a station cannot create metric series at will.
UNKNOWN_ACTION: Final = "unknown"

_meter = metrics.get_meter("chargewatch.ocpp_gateway")

connections = _meter.create_up_down_counter(
    attrs.METRIC_OCPP_CONNECTIONS, unit="{connection}", description="Station WebSockets open on this gateway."
)
messages = _meter.create_counter(
    attrs.METRIC_OCPP_MESSAGES,
    unit="{message}",
    description="OCPP messages received from stations, by action and outcome (answered, or the CALLERROR code).",
)
