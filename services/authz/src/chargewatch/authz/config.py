"""Settings of the authz service; every field from an environment variable."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from chargewatch.config import CallerTokenSettings, shared


class AuthzSettings(CallerTokenSettings):
    model_config = SettingsConfigDict(env_prefix="CW_AUTHZ_", extra="ignore", populate_by_name=True)
    secret_fields: ClassVar[tuple[str, ...]] = ("keycloak_client_secret",)

    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port of the Authz service")
    ops_port: int = Field(9101, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_authz", description="Database holding authz's own collections")
    keycloak_client_id: str = Field("chargewatch-services", description="Client used for Keycloak admin calls")
    keycloak_client_secret: SecretStr = Field(
        SecretStr(""), description="Secret of keycloak_client_id (from a Kubernetes Secret)"
    )
    keycloak_timeout_seconds: float = Field(
        2.0, gt=0, le=30, description="Timeout of one Keycloak admin call (an uncached Authorize waits for it)"
    )
    grpc_reuse_port: bool = Field(
        False,
        description="Let several authz processes serve one gRPC port (SO_REUSEPORT), e.g. one per core "
        "on one machine; each needs its own ops port",
    )
    gateway_target: str = Field("127.0.0.1:50052", description="gRPC address of the OCPP gateway's GatewayCommands")
    gateway_deadline_seconds: float = Field(
        30.0, gt=0, description="Deadline of a command sent to a station through the gateway"
    )
    new_station_registration: Literal["Accepted", "Pending"] = Field(
        "Accepted", description="Registration status a newly registered station's BootNotification gets"
    )
    token_refresh_seconds: float = Field(
        30.0,
        gt=0,
        description="A cached token decision older than this is refreshed from MongoDB and Keycloak "
        "(the longest a change made directly in Keycloak takes to apply)",
    )
    token_cache_seconds: float = Field(
        86_400.0,
        gt=0,
        description="How long a cached token is kept at all; past token_refresh_seconds it is still "
        "answered while Keycloak is unreachable",
    )
    gc_young_threshold: int = Field(
        0,
        ge=0,
        description="Python's youngest-generation GC threshold (0 keeps Python's 700: short pauses, which a "
        "decision's p99 needs more than fewer collections); the objects made before serving are frozen out",
    )
    password_hash_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="Threads checking station passwords (argon2id); 0: half the cores the process may use",
    )
    local_token_cache_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long a process answers a token from its own memory before reading Redis again "
        "(a change made on another replica shows here within it; 0: always read Redis)",
    )
    tracked_token_cache_seconds: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="How long a process answers a token from its own memory when Redis tracks the keys it read "
        "(server-assisted client-side caching: a change anywhere drops the entry at once; 0: no tracking, "
        "local_token_cache_seconds only)",
    )
    unknown_token_cache_seconds: float = Field(
        5.0, ge=0, description="How long an unknown token's Invalid answer is cached (0: never)"
    )
    policy_refresh_seconds: float = Field(
        5.0, gt=0, description="How often access policies and blocks are reloaded (changes by other replicas)"
    )
    default_max_concurrent_sessions: int = Field(
        1, ge=1, le=100, description="Concurrent sessions per token where no policy says otherwise"
    )
    default_max_session_seconds: int = Field(
        86_400, ge=60, description="A session never ended by the gateway stops counting after this long"
    )
    identity_provider_check_seconds: float = Field(
        5.0, gt=0, description="How often Keycloak is probed for the degraded health status"
    )
