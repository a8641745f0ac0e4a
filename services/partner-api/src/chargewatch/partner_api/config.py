"""Settings of the partner API; every field from an environment variable."""

from __future__ import annotations

from pydantic import Field, field_validator
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
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB (webhooks)")
    mongo_database: str = Field("chargewatch_partner_api", description="Database holding the API's own collections")
    authz_target: str = Field("127.0.0.1:50051", description="gRPC address of authz")
    gateway_target: str = Field("127.0.0.1:50052", description="gRPC address of the OCPP gateway's commands")
    telemetry_target: str = Field("127.0.0.1:50053", description="gRPC address of telemetry")
    sla_target: str = Field("127.0.0.1:50054", description="gRPC address of the SLA engine")
    security_target: str = Field("127.0.0.1:50055", description="gRPC address of the security monitor")
    grpc_deadline_seconds: float = Field(5.0, gt=0, description="Deadline of every call to another service")
    command_deadline_seconds: float = Field(
        35.0, gt=0, description="Deadline of a remote command (the station's answer included)"
    )
    max_page_size: int = Field(500, ge=1, le=1000, description="Largest page a list route returns")
    token_leeway_seconds: float = Field(
        30.0, ge=0, le=300, description="Clock skew allowed when checking an access token's expiry"
    )
    principal_cache_size: int = Field(
        10_000, ge=0, description="Validated access tokens kept (until they expire) so each is verified once"
    )
    cors_allow_origins: str = Field(
        "",
        description="Comma-separated origins browsers may call the API from (empty: none; dashboard is same-origin)",
    )
    rate_limit_per_minute: int = Field(
        1200, ge=0, description="Requests per minute per client (token subject and client id); 0 switches it off"
    )
    response_cache_seconds: float = Field(
        1.0, ge=0, le=60, description="How long a station list or detail answer is reused for the same caller scope"
    )
    response_cache_stale_seconds: float = Field(
        5.0, ge=0, le=300, description="How long after that it is still served while one background fetch renews it"
    )
    dashboard_client_id: str = Field(
        "chargewatch-dashboard", description="Public Keycloak client the dashboard signs in with (code + PKCE)"
    )
    identity_provider_public_url: str = Field(
        "", description="Keycloak base URL as browsers reach it (default: KEYCLOAK_URL)"
    )
    sse_heartbeat_seconds: float = Field(15.0, gt=0, description="Comment line sent on an idle event stream")
    sse_max_streams_per_client: int = Field(10, ge=1, description="Open event streams one client may hold")
    sse_backlog_limit: int = Field(1000, ge=0, description="Events replayed at most after a Last-Event-ID reconnect")
    webhook_consumer_group: str = Field("partner-api-webhooks", description="Consumer group feeding webhooks")
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Deliveries tried per event before giving up")
    webhook_backoff_seconds: float = Field(2.0, gt=0, description="First retry delay; doubles at every attempt")
    webhook_backoff_max_seconds: float = Field(900.0, gt=0, description="Longest delay between two attempts")
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="Time a receiver has to answer one delivery")
    webhook_allow_insecure_urls: bool = Field(
        False,
        description="Accept http://, loopback and private webhook URLs on any port (development and tests only)",
    )
    webhook_allowed_hosts: str = Field(
        "", description="Comma-separated host names webhooks may target (empty: any public host)"
    )
    webhook_allowed_ports: str = Field(
        "443",
        pattern=r"^\s*\d{1,5}\s*(,\s*\d{1,5}\s*)*$",
        description="Comma-separated ports https webhook URLs may use: those the chart's NetworkPolicy opens "
        "(networkPolicy.publicEgress.ports)",
    )
    max_export_rows: int = Field(100_000, ge=1, description="Rows one CSV export returns at most")

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"

    @property
    def public_issuer(self) -> str:
        base = (self.identity_provider_public_url or self.keycloak_url).rstrip("/")
        return f"{base}/realms/{self.keycloak_realm}"

    @property
    def webhook_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip())

    @property
    def webhook_ports(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.webhook_allowed_ports.split(","))

    @field_validator("webhook_allowed_ports")
    @classmethod
    def _ports_in_range(cls, value: str) -> str:
        if not all(1 <= int(p) <= 65535 for p in value.split(",")):
            raise ValueError("webhook ports must lie between 1 and 65535")
        return value

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_allow_origins.split(",") if origin.strip()]
