"""Settings of the OCPP gateway; every field from an environment variable (`CW_GATEWAY_*`)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings, instance_name

# Subprotocols this gateway can speak, in the order it prefers them when a station offers several.
KNOWN_SUBPROTOCOLS = ("ocpp2.0.1", "ocpp1.6")


class GatewaySettings(ServiceSettings):
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
    open_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a connection has to complete the opening handshake, authentication included"
    )
    close_timeout_seconds: float = Field(
        5.0, gt=0, description="Time a closing handshake (and a replaced session's clean-up) may take"
    )
    trust_forwarded_for: bool = Field(
        False, description="Take the remote address from X-Forwarded-For (only behind a trusted proxy)"
    )

    authz_target: str = Field("127.0.0.1:50051", description="host:port of the Authz gRPC service")
    authz_deadline_seconds: float = Field(
        2.0, gt=0, description="Deadline of AuthenticateStation at the handshake; past it the station gets 503"
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

    @field_validator("ocpp_path_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        prefix = "/" + value.strip("/")
        return "" if prefix == "/" else prefix

    @field_validator("ocpp_subprotocols")
    @classmethod
    def _known_subprotocols(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in KNOWN_SUBPROTOCOLS]
        if unknown or not value:
            raise ValueError(f"ocpp_subprotocols must be a non-empty subset of {KNOWN_SUBPROTOCOLS}, got {value}")
        return list(dict.fromkeys(value))
