"""Settings of the sla-engine service; every field from an environment variable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings, shared


class SlaEngineSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_SLA_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50054, ge=0, le=65535, description="gRPC port of the Sla service")
    ops_port: int = Field(9104, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_sla", description="Database holding this service's collections")
