"""Our own span attribute and metric names, declared once (semantic conventions first)."""

from typing import Final

# OpenTelemetry messaging semantic conventions, used on stream producer and consumer spans.
MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_DESTINATION: Final = "messaging.destination.name"
MESSAGING_OPERATION: Final = "messaging.operation.type"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"
MESSAGING_CONSUMER_GROUP: Final = "messaging.consumer.group.name"
MESSAGING_BATCH_COUNT: Final = "messaging.batch.message_count"

# ChargeWatch attributes.
STATION_ID: Final = "chargewatch.station.id"
TENANT_ID: Final = "chargewatch.tenant.id"
EVENT_ID: Final = "chargewatch.event.id"
EVENT_TYPE: Final = "chargewatch.event.type"
OCPP_ACTION: Final = "ocpp.action"
OCPP_MESSAGE_ID: Final = "ocpp.message.id"
OCPP_VERSION: Final = "ocpp.version"

# Metric names (Prometheus renders dots as underscores).
METRIC_STREAM_PUBLISHED: Final = "chargewatch.stream.published"
METRIC_STREAM_CONSUMED: Final = "chargewatch.stream.consumed"
METRIC_STREAM_DEAD_LETTERED: Final = "chargewatch.stream.dead_lettered"
METRIC_STREAM_HANDLER_DURATION: Final = "chargewatch.stream.handler.duration"
METRIC_STREAM_CONSUMER_LAG: Final = "chargewatch.stream.consumer.lag"
METRIC_OCPP_MESSAGES: Final = "chargewatch.ocpp.messages"
METRIC_OCPP_CONNECTIONS: Final = "chargewatch.ocpp.connections"
METRIC_SLA_PORTS: Final = "chargewatch.sla.ports"
