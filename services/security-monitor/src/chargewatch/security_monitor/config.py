"""Settings of the security-monitor service; every field from an environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceAccountSettings, shared
from chargewatch.security_monitor.catalogue import Parameters, check_rule_ids
from chargewatch.security_monitor.engine import MaintenanceWindows


class SecurityMonitorSettings(ServiceAccountSettings):
    model_config = SettingsConfigDict(env_prefix="CW_SECURITY_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50055, ge=0, le=65535, description="gRPC port of the Security service")
    ops_port: int = Field(9105, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_security", description="Database holding this service's collections")
    consumer_group: str = Field("security-monitor", description="Redis Streams consumer group")
    batch_size: int = Field(500, ge=1, le=5000, description="Stream entries read per batch")
    claim_idle_ms: int = Field(30_000, ge=100, description="Reclaim entries a consumer left pending this long")
    max_deliveries: int = Field(5, ge=1, description="Deliveries before an entry goes to the dead-letter stream")
    leader_lease_seconds: float = Field(
        10.0, gt=0, description="Lease of the active monitor; a standby takes over this long after it dies"
    )
    checkpoint_seconds: float = Field(
        30.0, gt=0, description="How often learned station and principal profiles are written to MongoDB"
    )
    alert_retention_days: int = Field(365, ge=1, description="Days closed alerts and incidents are kept (TTL)")

    authz_target: str = Field("127.0.0.1:50051", description="gRPC address of authz (blocks and quarantines)")
    gateway_target: str = Field("127.0.0.1:50052", description="gRPC address of the gateway's GatewayCommands")
    telemetry_target: str = Field("127.0.0.1:50053", description="gRPC address of telemetry (station locations)")
    rpc_deadline_seconds: float = Field(5.0, gt=0, description="Deadline of every call to authz, gateway, telemetry")
    station_refresh_seconds: float = Field(
        600.0, gt=0, description="How often station locations and tenants are listed from telemetry"
    )

    response_mode: Literal["enforce", "dry_run", "off"] = Field(
        "enforce",
        description="enforce: policies act (each may still be a dry run); dry_run: every automatic action is "
        "only recorded; off: no automatic responses (analysts can still respond by hand)",
    )
    disabled_rules: list[str] = Field(default_factory=list, description="Rule ids not to run (JSON list)")
    rule_parameters: dict[str, float] = Field(
        default_factory=dict,
        description="Rule parameter overrides, JSON object of name to number (see ListRules and docs/security.md)",
    )
    maintenance_windows: list[str] = Field(
        default_factory=lambda: ["1-7 00:00-06:00"],
        description="When firmware may be updated: JSON list of 'ISO-weekdays HH:MM-HH:MM' (empty: any time)",
    )
    maintenance_timezone: str = Field("UTC", description="IANA time zone of the maintenance windows")
    certificate_files: list[Path] = Field(
        default_factory=list,
        description="PEM files with the CSMS server certificate, its CA chain and the client CA (JSON list of paths)",
    )
    crl_files: list[Path] = Field(default_factory=list, description="CRL files (PEM or DER) for those CAs")
    certificate_scan_seconds: float = Field(3600.0, gt=0, description="How often the certificate inventory is rebuilt")

    @field_validator("disabled_rules")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        return check_rule_ids(value)

    @field_validator("rule_parameters")
    @classmethod
    def _known_parameters(cls, value: dict[str, float]) -> dict[str, float]:
        Parameters(value)
        return value

    @field_validator("maintenance_windows")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for spec in value:
            MaintenanceWindows.parse(spec)
        return value
