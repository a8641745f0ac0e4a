"""Settings of the OCPP gateway; every field from an environment variable (`CW_GATEWAY_*`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceAccountSettings, instance_name

# Subprotocols this gateway can speak, in the order it prefers them when a station offers several.
# 2.0.1 before 2.1: a station offering both gets the version the gateway handles in full (2.1
# stations are served by the 2.0.1 handlers; what only 2.1 has is answered NotSupported).
KNOWN_SUBPROTOCOLS = ("ocpp2.0.1", "ocpp2.1", "ocpp1.6")


class GatewaySettings(ServiceAccountSettings):
    model_config = SettingsConfigDict(env_prefix="CW_GATEWAY_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50052, ge=0, le=65535, description="gRPC port of the GatewayCommands service")
    ops_port: int = Field(9102, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")

    ocpp_host: str = Field("0.0.0.0", description="Address the OCPP WebSocket server binds")
    ocpp_port: int = Field(9000, ge=0, le=65535, description="Port of the OCPP WebSocket server (0 picks a free one)")
    ocpp_path_prefix: str = Field(
        "/ocpp", description="URL path before the station id: stations connect to {prefix}/{station_id}"
    )
    ocpp_subprotocols: list[str] = Field(
        default_factory=lambda: list(KNOWN_SUBPROTOCOLS),
        description="OCPP subprotocols offered, most preferred first (JSON list in the environment)",
    )
    max_frame_bytes: int = Field(
        65_536, ge=1024, description="Largest inbound WebSocket message; a larger one closes the socket with 1009"
    )
    ws_compression: bool = Field(
        False, description="Offer permessage-deflate (costs ~100 KiB per station; stations rarely use it)"
    )
    ws_ping_interval_seconds: float | None = Field(
        60.0, gt=0, description="Interval of WebSocket keep-alive pings; unset disables them"
    )
    ws_ping_timeout_seconds: float | None = Field(
        30.0, gt=0, description="Time a station has to answer a ping before its socket is closed"
    )
    ocpp_listen_backlog: int = Field(
        4096,
        ge=16,
        le=65535,
        description="Connections the kernel queues for the OCPP port until accepted (capped by net.core.somaxconn): "
        "a short queue overflows in a reconnect storm and stations wait for TCP to resend their SYN",
    )
    open_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a connection has to complete the opening handshake, authentication included"
    )
    close_timeout_seconds: float = Field(
        5.0, gt=0, description="Time a closing handshake (and a replaced session's clean-up) may take"
    )
    trust_forwarded_for: bool = Field(
        False, description="Take the remote address from X-Forwarded-For (only behind a trusted proxy)"
    )
    gc_young_threshold: int = Field(
        20_000,
        ge=0,
        description="Python's youngest-generation GC threshold (0 keeps Python's 700); the objects made before "
        "serving are frozen out of collections",
    )

    authz_target: str = Field("127.0.0.1:50051", description="host:port of the Authz gRPC service")
    authz_deadline_seconds: float = Field(
        2.0, gt=0, description="Deadline of AuthenticateStation at the handshake; past it the station gets 503"
    )
    auth_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="A station authz accepted reconnects without asking authz again within this long of its "
        "acceptance or of its last session's end (same credentials; Disconnect forgets it; 0: always ask)",
    )
    authz_reconnect_backoff_seconds: float = Field(
        1.0,
        ge=0.1,
        le=120,
        description="Longest wait between reconnects to authz while it is away (stations get 503 meanwhile)",
    )

    redis_max_connections: int = Field(
        64, ge=1, description="Most Redis connections this process opens; more concurrent commands wait for one"
    )
    redis_pool_timeout_seconds: float = Field(
        5.0, gt=0, description="Longest wait for a free Redis connection before the operation fails"
    )
    publish_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="Longest a batch of events may take to reach Redis; past it the messages get InternalError",
    )

    heartbeat_interval_seconds: int = Field(
        300, ge=1, description="Heartbeat interval answered to an accepted BootNotification"
    )
    command_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for a station's answer to a command when the caller sets no deadline"
    )
    gateway_instance: str = Field(
        default_factory=instance_name, description="Name of this replica in events and connection info"
    )

    # -- transport security (security profiles 2 and 3) ----------------------------------------
    tls_certificate_file: Path | None = Field(
        None, description="PEM server certificate (chain) of the OCPP endpoint; set, the endpoint serves wss://"
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_certificate_file")
    tls_client_ca_file: Path | None = Field(
        None, description="PEM bundle of the CAs station client certificates chain to (enables profile 3)"
    )
    ocpp_plain_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="With TLS on, also serve plain ws:// (profile 1 only) on this port (0 picks one); unset: TLS only",
    )

    # -- ownership across replicas and commands ------------------------------------------------
    advertised_grpc_address: str = Field(
        "",
        description="host:port other replicas reach this one's GatewayCommands at; default POD_IP (or host):grpc_port",
    )
    ownership_lease_ttl_seconds: float = Field(
        30.0,
        ge=1.0,
        description="TTL of a station's ownership lease in Redis; renewed at a third of it while connected",
    )
    command_reply_ttl_seconds: float = Field(
        300.0, gt=0, description="How long a command's reply is remembered for retries with the same idempotency_key"
    )

    # -- station-initiated messages (issue 3) ---------------------------------------------------
    boot_pending_interval_seconds: int = Field(
        60, ge=1, description="Interval answered to a BootNotification while the registry says Pending"
    )
    boot_rejected_interval_seconds: int = Field(
        900, ge=1, description="Interval answered to a BootNotification while the registry says Rejected"
    )
    authorize_deadline_seconds: float = Field(
        2.0, gt=0, description="Deadline of Authz/Authorize for a driver token; past it the offline policy decides"
    )
    offline_authorization_policy: Literal["reject", "accept", "accept_known"] = Field(
        "accept_known",
        description=(
            "Who may charge while authz cannot answer: nobody (reject), everybody (accept), or tokens this "
            "gateway saw accepted within offline_known_token_hours (accept_known)"
        ),
    )
    offline_known_token_hours: float = Field(
        24.0, gt=0, description="How long an accepted token stays known to the accept_known offline policy"
    )
    transaction_retention_hours: float = Field(
        168.0, gt=0, description="How long transaction ids and start-retry records are kept in Redis"
    )
    late_tolerance_seconds: float = Field(
        30.0, ge=0, description="A message stamped earlier than its session's connect time minus this is marked late"
    )
    clock_skew_tolerance_seconds: float = Field(
        300.0, gt=0, description="A meter value stamped further than this from its receive time is flagged clock_skew"
    )
    max_power_watts: float = Field(
        1_000_000.0, gt=0, description="A power reading above this is flagged power_implausible"
    )
    rate_limit_messages_per_second: float = Field(
        10.0, gt=0, description="Sustained rate of CALLs a station may send (token bucket refill rate)"
    )
    rate_limit_burst: int = Field(
        100, ge=1, description="CALLs a station may send in a burst (token bucket size), e.g. its offline queue"
    )
    rate_limit_report_window_seconds: float = Field(
        60.0, gt=0, description="At most one MessageRateExceeded security event per station in this window"
    )
    replay_window_seconds: float = Field(
        300.0, gt=0, description="How long a CALL's message id is remembered to catch replays and answer retries"
    )
    replay_cache_size: int = Field(
        8,
        ge=1,
        le=64,
        description="Most recent CALLs remembered per session (OCPP-J allows one CALL in flight, so few suffice)",
    )
    replay_cached_answer_bytes: int = Field(
        512,
        ge=0,
        le=4096,
        description="Largest answer kept to re-send to an identical retry (a larger one is handled again)",
    )
    trace_ratio_by_action: dict[str, float] = Field(
        default_factory=lambda: {"MeterValues": 0.01},
        description="Share of a station action's messages traced, capping the tracer's own ratio "
        "(OTEL_TRACES_SAMPLER_ARG) for that action; MeterValues, most of the traffic, one in a hundred by default "
        '(JSON object in the environment, e.g. {"MeterValues": 0.01, "Heartbeat": 0}; {} traces every action at '
        "the tracer's ratio)",
    )

    @field_validator("ocpp_path_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        prefix = "/" + value.strip("/")
        return "" if prefix == "/" else prefix

    @model_validator(mode="after")
    def _tls_files_and_address(self) -> Self:
        if (self.tls_certificate_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_certificate_file and tls_key_file go together")
        if self.tls_certificate_file is None and (
            self.tls_client_ca_file is not None or self.ocpp_plain_port is not None
        ):
            raise ValueError("tls_client_ca_file and ocpp_plain_port need tls_certificate_file and tls_key_file")
        if not self.advertised_grpc_address:
            host = os.environ.get("POD_IP") or socket.gethostname()
            self.advertised_grpc_address = f"{host}:{self.grpc_port}"
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.tls_certificate_file is not None

    @field_validator("trace_ratio_by_action")
    @classmethod
    def _trace_ratios(cls, value: dict[str, float]) -> dict[str, float]:
        # Which actions a station may send is the dispatcher's to check (it knows the handler tables).
        wrong = {action: ratio for action, ratio in value.items() if not 0.0 <= ratio <= 1.0}
        if wrong:
            raise ValueError(f"trace ratios are between 0 and 1: {wrong}")
        return value

    @field_validator("ocpp_subprotocols")
    @classmethod
    def _known_subprotocols(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in KNOWN_SUBPROTOCOLS]
        if unknown or not value:
            raise ValueError(f"ocpp_subprotocols must be a non-empty subset of {KNOWN_SUBPROTOCOLS}, got {value}")
        return list(dict.fromkeys(value))
