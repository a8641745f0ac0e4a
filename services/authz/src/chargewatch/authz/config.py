"""Settings of the authz service; every field from an environment variable."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings, shared


class AuthzSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_AUTHZ_", extra="ignore", populate_by_name=True)
    secret_fields: ClassVar[tuple[str, ...]] = ("keycloak_client_secret",)

    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port of the Authz service")
    ops_port: int = Field(9101, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_authz", description="Database holding authz's own collections")
    keycloak_url: str = shared("KEYCLOAK_URL", default="http://127.0.0.1:8180", description="Keycloak base URL")
    keycloak_realm: str = shared("KEYCLOAK_REALM", default="chargewatch", description="Keycloak realm")
    api_audience: str = shared(
        "CW_API_AUDIENCE", default="chargewatch-partner-api", description="Audience partner access tokens must carry"
    )
    keycloak_client_id: str = Field("chargewatch-services", description="Client used for Keycloak admin calls")
    keycloak_client_secret: SecretStr = Field(
        SecretStr(""), description="Secret of keycloak_client_id (from a Kubernetes Secret)"
    )

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"
