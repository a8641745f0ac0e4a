"""Settings shared by every ChargeWatch service.

Each service declares one `pydantic-settings` class deriving from `ServiceSettings` with its
own environment prefix (`CW_AUTHZ_`, `CW_TELEMETRY_`, ...). Infrastructure endpoints that every
service shares (`REDIS_URL`, `MONGO_URL`, `KEYCLOAK_URL`, `CHARGEWATCH_MODE`) are read without a
prefix so one environment configures the whole platform, as the Helm chart does.
"""

from __future__ import annotations

import enum
import os
import socket
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CallerTokenSettings", "Mode", "ServiceSettings", "instance_name", "shared"]


class Mode(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


# Values that must never reach production: the development defaults of secrets.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "development", "dev", "secret", "password"})


def shared(name: str, *, default: Any = ..., description: str = "", **kwargs: Any) -> Any:
    """A field read from an unprefixed environment variable shared by all services."""
    return Field(default, validation_alias=AliasChoices(name), description=description, **kwargs)


def instance_name() -> str:
    """A stable name for this process: the pod name in Kubernetes, host and pid elsewhere."""
    pod = os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{pod}-{os.getpid()}"


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set `model_config` with their `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="CW_", extra="ignore", populate_by_name=True)

    # Subclasses list secret fields that must not keep a development placeholder in production.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    mode: Mode = shared("CHARGEWATCH_MODE", default=Mode.PRODUCTION, description="development or production")
    redis_url: str = shared("REDIS_URL", default="redis://127.0.0.1:6379/0", description="Redis for streams and caches")
    stream_partitions: int = shared(
        "CW_STREAM_PARTITIONS", default=1, ge=1, le=1024, description="Partitions per stream family"
    )
    stream_max_len: int = shared(
        "CW_STREAM_MAX_LEN", default=1_000_000, ge=1000, description="Approximate entries kept per stream partition"
    )
    grpc_host: str = Field("0.0.0.0", description="Address the gRPC server binds")
    grpc_port: int = Field(50050, ge=0, le=65535, description="gRPC port (0 picks a free one)")
    ops_host: str = Field("0.0.0.0", description="Address of /healthz, /readyz and /metrics")
    ops_port: int = Field(9100, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    shutdown_grace_seconds: float = Field(20.0, ge=0, description="Time to finish in-flight work on SIGTERM")
    health_check_interval_seconds: float = Field(2.0, gt=0, description="How often dependencies are probed")
    log_level: str = shared("LOG_LEVEL", default="INFO", description="Python log level")

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Self:
        if self.is_production:
            for name in self.secret_fields:
                value = getattr(self, name)
                raw = value.get_secret_value() if isinstance(value, SecretStr) else value
                if raw is None or str(raw).strip().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(f"{name} must be set to a real secret in production mode")
        return self


class CallerTokenSettings(ServiceSettings):
    """A gRPC server that authenticates every caller by its bearer access token (docs/architecture.md,
    "Who calls whom"): where the tokens come from, and the development-only switch to turn it off."""

    keycloak_url: str = shared("KEYCLOAK_URL", default="http://127.0.0.1:8180", description="Keycloak base URL")
    keycloak_realm: str = shared("KEYCLOAK_REALM", default="chargewatch", description="Keycloak realm")
    api_audience: str = shared(
        "CW_API_AUDIENCE", default="chargewatch-partner-api", description="Audience callers' access tokens must carry"
    )
    require_caller_token: bool = Field(
        True,
        description="Authenticate every gRPC caller by its bearer access token (false: development and "
        "in-process tests only; refused in production mode)",
    )

    @model_validator(mode="after")
    def _caller_tokens_outside_development(self) -> Self:
        if self.is_production and not self.require_caller_token:
            raise ValueError("require_caller_token may be false in development mode only")
        return self

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"


class ServiceAccountSettings(CallerTokenSettings):
    """A service that also calls the others as the platform's service account: the client
    credentials its bearer tokens come from (docs/architecture.md, "Who calls whom")."""

    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret",)

    token_url: str = Field(
        "", description="Token endpoint for client credentials (empty: the realm's endpoint under keycloak_url)"
    )
    client_id: str = Field(
        "chargewatch-services", description="Client this service authenticates to the others as (client credentials)"
    )
    client_secret: SecretStr = Field(SecretStr(""), description="Secret of client_id (from a Kubernetes Secret)")

    @property
    def effective_token_url(self) -> str:
        return self.token_url or f"{self.issuer}/protocol/openid-connect/token"
