"""Settings of the telemetry service; every field from an environment variable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings, shared


class TelemetrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_TELEMETRY_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50053, ge=0, le=65535, description="gRPC port of the Telemetry service")
    ops_port: int = Field(9103, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_telemetry", description="Database holding telemetry's collections")
    consumer_group: str = Field("telemetry", description="Redis Streams consumer group")
    batch_size: int = Field(200, ge=1, le=5000, description="Stream entries read per batch")
    claim_idle_ms: int = Field(30_000, ge=100, description="Reclaim entries a consumer left pending this long")
    max_deliveries: int = Field(5, ge=1, description="Deliveries before an entry goes to the dead-letter stream")
    status_history_days: int = Field(400, ge=1, description="Days of connector status history kept (TTL)")
