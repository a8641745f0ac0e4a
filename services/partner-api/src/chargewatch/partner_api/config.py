"""Settings of the partner API; every field from an environment variable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings, shared


class PartnerApiSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_PARTNER_API_", extra="ignore", populate_by_name=True)

    http_host: str = Field("0.0.0.0", description="Address the HTTP API binds")
    http_port: int = Field(
        8080, ge=0, le=65535, description="Port of the public HTTP API (also /healthz, /readyz, /metrics)"
    )
    public_url: str = Field("http://127.0.0.1:8080", description="Base URL partners use, for links and OpenAPI servers")
    keycloak_url: str = shared("KEYCLOAK_URL", default="http://127.0.0.1:8180", description="Keycloak base URL")
    keycloak_realm: str = shared("KEYCLOAK_REALM", default="chargewatch", description="Keycloak realm")
    api_audience: str = shared(
        "CW_API_AUDIENCE", default="chargewatch-partner-api", description="Audience access tokens must carry"
    )
    authz_target: str = Field("127.0.0.1:50051", description="gRPC address of authz")
    gateway_target: str = Field("127.0.0.1:50052", description="gRPC address of the OCPP gateway's commands")
    telemetry_target: str = Field("127.0.0.1:50053", description="gRPC address of telemetry")
    sla_target: str = Field("127.0.0.1:50054", description="gRPC address of the SLA engine")
    security_target: str = Field("127.0.0.1:50055", description="gRPC address of the security monitor")
    grpc_deadline_seconds: float = Field(5.0, gt=0, description="Deadline of every call to another service")
    max_page_size: int = Field(500, ge=1, le=1000, description="Largest page a list route returns")

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"
